// Names of the rule enums, default risk scores, query position lookup, diagnostic rendering.
// Tested by rule_file_test.cc.
#include "kestrel/rules/rule_spec.h"

#include <algorithm>

#include <fmt/format.h>

#include "kestrel/rules/source_text.h"

namespace kestrel::rules {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

}  // namespace

std::string_view RuleActionName(RuleAction action) {
  switch (action) {
    case RuleAction::kAlert:
      return "alert";
    case RuleAction::kBlock:
      return "block";
    case RuleAction::kKill:
      return "kill";
  }
  return "alert";
}

std::string_view RuleDialectName(RuleDialect dialect) {
  switch (dialect) {
    case RuleDialect::kElasticsearch:
      return "elasticsearch";
    case RuleDialect::kEndgame:
      return "endgame";
  }
  return "elasticsearch";
}

std::string_view RuleFormatName(RuleFormat format) {
  switch (format) {
    case RuleFormat::kEql:
      return "eql";
    case RuleFormat::kJson:
      return "json";
    case RuleFormat::kYaml:
      return "yaml";
    case RuleFormat::kToml:
      return "toml";
    case RuleFormat::kSigma:
      return "sigma";
  }
  return "eql";
}

std::optional<RuleAction> ParseRuleAction(std::string_view name) {
  for (RuleAction a : {RuleAction::kAlert, RuleAction::kBlock, RuleAction::kKill}) {
    if (EqualsIgnoreCase(name, RuleActionName(a))) return a;
  }
  return std::nullopt;
}

std::optional<RuleDialect> ParseRuleDialect(std::string_view name) {
  for (RuleDialect d : {RuleDialect::kElasticsearch, RuleDialect::kEndgame}) {
    if (EqualsIgnoreCase(name, RuleDialectName(d))) return d;
  }
  return std::nullopt;
}

int DefaultRiskScore(engine::Severity severity) {
  switch (severity) {
    case engine::Severity::kLow:
      return 21;
    case engine::Severity::kMedium:
      return 47;
    case engine::Severity::kHigh:
      return 73;
    case engine::Severity::kCritical:
      return 99;
  }
  return 47;
}

SourcePosition RuleSpec::PositionOf(size_t query_offset) const {
  if (query_map.empty()) return query_start;
  query_offset = std::min(query_offset, query.size());
  auto it = std::upper_bound(
      query_map.begin(), query_map.end(), query_offset,
      [](size_t offset, const QueryAnchor& anchor) { return offset < anchor.offset; });
  if (it == query_map.begin()) return query_map.front().position;
  return Extrapolate(*(it - 1), query, query_offset);
}

std::string_view DiagnosticKindName(LoadDiagnostic::Kind kind) {
  switch (kind) {
    case LoadDiagnostic::Kind::kError:
      return "error";
    case LoadDiagnostic::Kind::kWarning:
      return "warning";
    case LoadDiagnostic::Kind::kSkipped:
      return "skipped";
  }
  return "error";
}

std::string CheckMessageTemplate(std::string_view text, size_t* offset) {
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '}') {
      if (i + 1 < text.size() && text[i + 1] == '}') {
        ++i;
        continue;
      }
      *offset = i;
      return "unmatched '}' in 'message' (write '}}' for a literal brace)";
    }
    if (text[i] != '{') continue;
    if (i + 1 < text.size() && text[i + 1] == '{') {
      ++i;
      continue;
    }
    size_t close = text.find('}', i + 1);
    if (close == std::string_view::npos) {
      *offset = i;
      return "unclosed '{' in 'message' (write '{{' for a literal brace)";
    }
    std::string_view name = text.substr(i + 1, close - i - 1);
    bool ok = !name.empty() && name.size() <= 256;
    for (char c : name) {
      bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '@' || c == '-';
      ok = ok && word;
    }
    if (!ok) {
      *offset = i;
      return fmt::format("'{{{}}}' in 'message' is not a field name", name);
    }
    i = close;
  }
  return "";
}

std::optional<int64_t> ParseRuleDuration(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  size_t digits = 0;
  int64_t value = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    if (value > 1'000'000'000) return std::nullopt;
    value = value * 10 + (text[digits] - '0');
    ++digits;
  }
  if (digits == 0) return std::nullopt;
  std::string_view unit = text.substr(digits);
  int64_t scale = 0;
  if (unit == "ms") scale = 1'000'000;
  if (unit == "s") scale = 1'000'000'000;
  if (unit == "m") scale = int64_t{60} * 1'000'000'000;
  if (unit == "h") scale = int64_t{3600} * 1'000'000'000;
  if (unit == "d") scale = int64_t{86400} * 1'000'000'000;
  if (scale == 0 || value > INT64_MAX / scale) return std::nullopt;
  return value * scale;
}

std::string FormatLoadDiagnostic(const LoadDiagnostic& d) {
  if (d.pos.line == 0) {
    return fmt::format("{}: {}: {}", d.file, DiagnosticKindName(d.kind), d.message);
  }
  return fmt::format("{}:{}:{}: {}: {}", d.file, d.pos.line, d.pos.column,
                     DiagnosticKindName(d.kind), d.message);
}

}  // namespace kestrel::rules
