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

std::string FormatLoadDiagnostic(const LoadDiagnostic& d) {
  if (d.pos.line == 0) {
    return fmt::format("{}: {}: {}", d.file, DiagnosticKindName(d.kind), d.message);
  }
  return fmt::format("{}:{}:{}: {}: {}", d.file, d.pos.line, d.pos.column,
                     DiagnosticKindName(d.kind), d.message);
}

}  // namespace kestrel::rules
