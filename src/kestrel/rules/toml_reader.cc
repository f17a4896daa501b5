// The .toml reader, for Elastic detection-rules files:
//
//   [metadata]                 maturity = "deprecated" -> skipped
//   [rule]                     rule_id -> id; name, description, severity, risk_score, tags,
//                              language, query (usually a ''' literal); type != "eql" -> skipped
//   [[rule.threat]]            framework; [rule.threat.tactic] id/name;
//   [[rule.threat.technique]]  id/name, nested [[rule.threat.technique.subtechnique]]
//
// toml++ parses (its exceptions are caught here); the table is converted to DocNodes, positions
// taken from node.source().begin (toml++ counts columns in code points; they are converted to
// byte columns). The [rule] table is renamed into the canonical rule map and built by BuildRule;
// Elastic's other keys (author, index, from, note, ...) are ignored without warnings. A
// TOML file without a [rule] table is read like a JSON/YAML document (a rule map or `rules`).
// Conversion is bounded by a DocumentBudget (document.h); linear in the file size.
// Tested by rule_file_test.cc.
#include <algorithm>
#include <sstream>
#include <string>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "kestrel/rules/formats.h"

namespace kestrel::rules {
namespace {

class Converter {
 public:
  explicit Converter(FileContext* ctx) : ctx_(ctx) {}

  size_t OffsetOf(const toml::source_region& source) const {
    return ctx_->lines().OffsetOfCodePointColumn(source.begin.line, source.begin.column);
  }

  bool Convert(const toml::node& node, int depth, DocNode* out) {
    const LineIndex& lines = ctx_->lines();
    size_t offset = OffsetOf(node.source());
    out->position = lines.PositionAt(offset);
    if (!budget_.Admit(depth, out->position, ctx_)) return false;
    if (const auto* table = node.as_table()) {
      out->kind = DocNode::Kind::kMap;
      for (const auto& [key, value] : *table) {
        DocNode::Entry& e = out->entries.emplace_back();
        e.key = std::string(key.str());
        e.key_position = lines.PositionAt(OffsetOf(key.source()));
        if (!Convert(value, depth + 1, &e.value)) return false;
      }
    } else if (const auto* array = node.as_array()) {
      out->kind = DocNode::Kind::kList;
      for (const toml::node& item : *array) {
        if (!Convert(item, depth + 1, &out->items.emplace_back())) return false;
      }
    } else if (const auto* s = node.as_string()) {
      out->kind = DocNode::Kind::kString;
      out->text = s->get();
      SetContentOffset(offset, out);
    } else if (const auto* i = node.as_integer()) {
      out->kind = DocNode::Kind::kInt;
      out->int_value = i->get();
      out->text = std::to_string(i->get());
    } else if (const auto* b = node.as_boolean()) {
      out->kind = DocNode::Kind::kBool;
      out->bool_value = b->get();
      out->text = b->get() ? "true" : "false";
    } else {  // floats, dates, times
      std::ostringstream os;
      node.visit([&os](const auto& v) { os << v; });
      out->kind = node.is_floating_point() ? DocNode::Kind::kFloat : DocNode::Kind::kString;
      out->text = os.str();
    }
    return true;
  }

 private:
  // Past the opening delimiter; a multi-line string's first newline is trimmed by TOML.
  void SetContentOffset(size_t offset, DocNode* out) const {
    std::string_view text = ctx_->lines().text();
    std::string_view rest = text.substr(std::min(offset, text.size()));
    size_t begin = offset;
    if (rest.starts_with("'''") || rest.starts_with("\"\"\"")) {
      begin += 3;
      if (text.substr(begin, 1) == "\n") {
        begin += 1;
      } else if (text.substr(begin, 2) == "\r\n") {
        begin += 2;
      }
    } else if (rest.starts_with('\'') || rest.starts_with('"')) {
      begin += 1;
    }
    out->content_offset = begin;
    out->escapes = rest.starts_with('"');
  }

  FileContext* ctx_;
  DocumentBudget budget_;
};

constexpr std::string_view kCanonicalKeys[] = {
    "name",       "description",     "severity", "risk_score", "tags",
    "threat",     "language",        "query",    "action",     "dialect",
    "references", "false_positives", "version",  "message",    "suppress"};

// Elastic's [rule.alert_suppression] {group_by = [...], duration = {value = 5, unit = "m"}} as
// Kestrel's `suppress` map; nullopt when it has no duration (per-execution suppression, which a
// streaming engine does not have).
std::optional<DocNode> ElasticSuppression(const DocNode& s) {
  const DocNode* duration = s.Find("duration");
  if (duration == nullptr || duration->kind != DocNode::Kind::kMap) return std::nullopt;
  const DocNode* value = duration->Find("value");
  const DocNode* unit = duration->Find("unit");
  if (value == nullptr || unit == nullptr) return std::nullopt;
  DocNode out;
  out.kind = DocNode::Kind::kMap;
  out.position = s.position;
  DocNode window;
  window.kind = DocNode::Kind::kString;
  window.position = duration->position;
  window.text = value->AsString().value_or("") + unit->AsString().value_or("");
  if (const DocNode* by = s.Find("group_by")) out.entries.push_back({"by", by->position, *by});
  out.entries.push_back({"for", duration->position, std::move(window)});
  return out;
}

void BuildElasticRule(const DocNode& root, const DocNode& rule, FileContext* ctx) {
  if (rule.kind != DocNode::Kind::kMap) {
    ctx->Error(rule.position, fmt::format("'rule' must be a table, found a {}", rule.KindName()));
    ++ctx->result()->failed;
    return;
  }
  DocNode canonical;
  canonical.kind = DocNode::Kind::kMap;
  canonical.position = rule.position;
  std::string id;
  for (const DocNode::Entry& e : rule.entries) {
    if (e.key == "rule_id") {
      canonical.entries.push_back({"id", e.key_position, e.value});
      if (auto s = e.value.AsString()) id = *s;
    } else if (std::find(std::begin(kCanonicalKeys), std::end(kCanonicalKeys), e.key) !=
               std::end(kCanonicalKeys)) {
      canonical.entries.push_back(e);
    } else if (e.key == "alert_suppression" && rule.Find("suppress") == nullptr) {
      if (auto s = ElasticSuppression(e.value)) {
        canonical.entries.push_back({"suppress", e.key_position, std::move(*s)});
      }
    }
  }
  if (const DocNode* metadata = root.Find("metadata")) {
    const DocNode* maturity = metadata->Find("maturity");
    if (maturity != nullptr && maturity->AsString() == "deprecated") {
      ctx->Skipped(maturity->position, fmt::format("rule '{}' is deprecated; not loaded", id));
      ++ctx->result()->skipped;
      return;
    }
  }
  if (const DocNode* type = rule.Find("type")) {
    auto name = type->AsString();
    if (name && *name != "eql") {
      const DocNode* language = rule.Find("language");
      std::string written_in;
      if (language != nullptr && language->AsString()) {
        written_in = fmt::format(" (language '{}')", *language->AsString());
      }
      ctx->Skipped(type->position, fmt::format("rule '{}' is a '{}' rule{}, not EQL; not loaded",
                                               id, *name, written_in));
      ++ctx->result()->skipped;
      return;
    }
  }
  BuildRule(canonical, RuleDefaults{.id = "", .warn_unknown_keys = false}, ctx);
}

}  // namespace

void ReadTomlFile(FileContext* ctx) {
  if (auto over = PrescanToml(ctx->lines().text())) {
    ctx->Error(ctx->lines().PositionAt(over->offset), std::move(over->reason));
    ++ctx->result()->failed;
    return;
  }
  toml::table table;
  try {
    table = toml::parse(ctx->lines().text(), std::string_view(ctx->file()));
  } catch (const toml::parse_error& e) {
    const toml::source_position& begin = e.source().begin;
    SourcePosition pos;
    if (begin.line > 0) {
      pos = ctx->lines().PositionAt(ctx->lines().OffsetOfCodePointColumn(begin.line, begin.column));
    }
    ctx->Error(pos, fmt::format("invalid TOML: {}", e.description()));
    ++ctx->result()->failed;
    return;
  } catch (const std::exception& e) {
    ctx->Error({}, fmt::format("invalid TOML: {}", e.what()));
    ++ctx->result()->failed;
    return;
  }
  DocNode root;
  if (!Converter(ctx).Convert(table, 0, &root)) {
    ++ctx->result()->failed;
    return;
  }
  root.position = {1, 1};
  if (const DocNode* rule = root.Find("rule")) {
    BuildElasticRule(root, *rule, ctx);
  } else if (root.entries.empty()) {
    ctx->Warning({}, "the file holds no rules");
  } else {
    BuildRulesFromDocument(root, ctx);
  }
}

}  // namespace kestrel::rules
