// BuildRule: the canonical rule map (docs/rules.md) -> RuleSpec, with defaults and validation.
//
// Every reader ends here: JSON and YAML documents are already in the canonical shape, the EQL
// header and Elastic TOML readers build a canonical map. Validation collects every error of a
// rule before rejecting it, so one run reports all mistakes; the query is aligned with its source
// text last (source_text.h). Linear in the size of the rule.
// Tested by rule_file_test.cc.
#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "kestrel/engine/alert.h"
#include "kestrel/rules/document.h"

namespace kestrel::rules {
namespace {

constexpr std::string_view kKnownKeys[] = {
    "id",     "name",       "description",     "severity", "risk_score", "tags",
    "threat", "references", "false_positives", "action",   "dialect",    "language",
    "query",  "version",    "message",         "suppress"};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
  return out;
}

std::vector<std::string> SplitCommas(std::string_view s) {
  std::vector<std::string> out;
  while (true) {
    size_t comma = s.find(',');
    std::string_view part = Trim(s.substr(0, comma));
    if (!part.empty()) out.emplace_back(part);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

// Validates one rule map; remembers whether any error was reported.
class RuleBuilder {
 public:
  RuleBuilder(const DocNode& rule, const RuleDefaults& defaults, FileContext* ctx)
      : rule_(rule), defaults_(defaults), ctx_(ctx) {}

  void Build() {
    LoadResult* result = ctx_->result();
    if (rule_.kind != DocNode::Kind::kMap) {
      ctx_->Error(rule_.position,
                  fmt::format("a rule must be a map of keys, found a {}", rule_.KindName()));
      ++result->failed;
      return;
    }
    spec_.file = ctx_->file();
    spec_.format = ctx_->format();
    spec_.position = rule_.position;
    if (defaults_.warn_unknown_keys) WarnUnknownKeys();
    ReadIdentity();
    ReadSeverity();
    ReadTags();
    ReadThreat();
    ReadEnums();
    ReadAlertKeys();
    const DocNode* query = rule_.Find("query");
    if (ok_ && spec_.language != "eql") {
      ctx_->Skipped(spec_.position, fmt::format("rule '{}' is written in '{}', not EQL; not loaded",
                                                spec_.id, spec_.language));
      ++result->skipped;
      return;
    }
    if (query == nullptr) {
      Fail(rule_.position, fmt::format("rule '{}' has no 'query'", spec_.id));
    } else if (auto text = String(*query, "query")) {
      if (text->find_first_not_of(" \t\r\n") == std::string::npos) {
        Fail(query->position, "'query' is empty");
      } else {
        spec_.query = std::move(*text);
        spec_.query_map =
            AlignValue(ctx_->lines(), query->content_offset, spec_.query, query->escapes);
        spec_.query_start = spec_.PositionOf(0);
      }
    }
    if (!ok_) {
      ++result->failed;
      return;
    }
    result->rules.push_back(std::move(spec_));
  }

 private:
  void Fail(SourcePosition pos, std::string message) {
    ctx_->Error(pos, std::move(message));
    ok_ = false;
  }

  std::optional<std::string> String(const DocNode& node, std::string_view what) {
    auto s = node.AsString();
    if (!s)
      Fail(node.position, fmt::format("'{}' must be a string, found a {}", what, node.KindName()));
    return s;
  }

  void WarnUnknownKeys() {
    for (const DocNode::Entry& e : rule_.entries) {
      if (std::find(std::begin(kKnownKeys), std::end(kKnownKeys), e.key) == std::end(kKnownKeys)) {
        ctx_->Warning(e.key_position, fmt::format("unknown key '{}' is ignored", e.key));
      }
    }
  }

  void ReadIdentity() {
    if (const DocNode* id = rule_.Find("id")) {
      spec_.position = id->position;
      if (auto s = String(*id, "id")) {
        spec_.id = std::string(Trim(*s));
        if (spec_.id.empty()) Fail(id->position, "'id' is empty");
      }
    } else if (!defaults_.id.empty()) {
      spec_.id = defaults_.id;
    } else {
      Fail(rule_.position, "rule has no 'id'");
    }
    if (const DocNode* name = rule_.Find("name")) {
      if (auto s = String(*name, "name")) spec_.name = std::move(*s);
    }
    if (spec_.name.empty()) spec_.name = spec_.id;
    if (const DocNode* d = rule_.Find("description")) {
      if (auto s = String(*d, "description")) spec_.description = std::move(*s);
    }
  }

  void ReadSeverity() {
    if (const DocNode* node = rule_.Find("severity")) {
      if (auto s = String(*node, "severity")) {
        if (auto severity = engine::ParseSeverity(Trim(*s))) {
          spec_.severity = *severity;
        } else {
          Fail(node->position, fmt::format("unknown severity '{}' (expected low, medium, high or "
                                           "critical)",
                                           *s));
        }
      }
    }
    spec_.risk_score = DefaultRiskScore(spec_.severity);
    if (const DocNode* node = rule_.Find("risk_score")) {
      auto score = node->AsInt();
      if (!score || *score < 0 || *score > 100) {
        Fail(node->position,
             fmt::format("'risk_score' must be an integer from 0 to 100, found '{}'", node->text));
      } else {
        spec_.risk_score = static_cast<int>(*score);
      }
    }
  }

  // A list of strings, or one comma-separated string.
  std::vector<std::string> StringList(const DocNode& node, std::string_view what) {
    std::vector<std::string> out;
    if (node.kind == DocNode::Kind::kList) {
      for (const DocNode& item : node.items) {
        if (auto s = String(item, what)) out.push_back(std::move(*s));
      }
    } else if (node.kind == DocNode::Kind::kString) {
      out = SplitCommas(node.text);
    } else {
      Fail(node.position,
           fmt::format("'{}' must be a list of strings, found a {}", what, node.KindName()));
    }
    return out;
  }

  void ReadTags() {
    if (const DocNode* tags = rule_.Find("tags")) spec_.tags = StringList(*tags, "tags");
    if (const DocNode* refs = rule_.Find("references")) {
      spec_.references = StringList(*refs, "references");
    }
    // Notes are prose (they may hold commas): one string is one note.
    if (const DocNode* fp = rule_.Find("false_positives")) {
      if (fp->kind == DocNode::Kind::kString) {
        if (!Trim(fp->text).empty()) spec_.false_positives.emplace_back(Trim(fp->text));
      } else {
        spec_.false_positives = StringList(*fp, "false_positives");
      }
    }
  }

  // `node` is "ID", or a map {id, name}.
  bool IdAndName(const DocNode& node, std::string_view what, std::string* id, std::string* name) {
    if (node.kind == DocNode::Kind::kMap) {
      const DocNode* id_node = node.Find("id");
      if (id_node == nullptr) {
        Fail(node.position, fmt::format("'{}' has no 'id'", what));
        return false;
      }
      auto s = String(*id_node, what);
      if (!s) return false;
      *id = std::move(*s);
      if (const DocNode* n = node.Find("name")) {
        if (auto s2 = String(*n, "name")) *name = std::move(*s2);
      }
      return true;
    }
    auto s = String(node, what);
    if (s) *id = std::string(Trim(*s));
    return s.has_value();
  }

  void AddTechniques(const DocNode& node, std::string_view what, ThreatMapping* threat) {
    auto add = [&](const DocNode& item) {
      std::string id, name;
      if (!IdAndName(item, what, &id, &name)) return;
      threat->technique_ids.push_back(std::move(id));
      threat->technique_names.push_back(std::move(name));
      if (item.kind != DocNode::Kind::kMap) return;
      for (std::string_view key : {"subtechniques", "subtechnique"}) {
        if (const DocNode* sub = item.Find(key)) AddTechniques(*sub, "subtechnique", threat);
      }
    };
    if (node.kind == DocNode::Kind::kList) {
      for (const DocNode& item : node.items) add(item);
    } else if (node.kind == DocNode::Kind::kString) {
      // "T1059, T1059.004 Unix Shell": each item is an id, optionally followed by its name.
      for (const std::string& item : SplitCommas(node.text)) {
        size_t space = item.find_first_of(" \t");
        threat->technique_ids.push_back(item.substr(0, space));
        threat->technique_names.emplace_back(space == std::string::npos
                                                 ? std::string_view()
                                                 : Trim(std::string_view(item).substr(space)));
      }
    } else {
      add(node);
    }
  }

  void ReadThreat() {
    const DocNode* threat = rule_.Find("threat");
    if (threat == nullptr) return;
    std::vector<const DocNode*> entries;
    if (threat->kind == DocNode::Kind::kList) {
      for (const DocNode& e : threat->items) entries.push_back(&e);
    } else {
      entries.push_back(threat);
    }
    for (const DocNode* e : entries) {
      if (e->kind != DocNode::Kind::kMap) {
        Fail(e->position, fmt::format("a 'threat' entry must be a map, found a {}", e->KindName()));
        continue;
      }
      ThreatMapping mapping;
      if (const DocNode* f = e->Find("framework")) {
        if (auto s = String(*f, "framework")) mapping.framework = std::move(*s);
      }
      if (const DocNode* t = e->Find("tactic")) {
        IdAndName(*t, "tactic", &mapping.tactic_id, &mapping.tactic_name);
      }
      for (std::string_view key : {"techniques", "technique"}) {
        if (const DocNode* t = e->Find(key)) AddTechniques(*t, "technique", &mapping);
      }
      spec_.threat.push_back(std::move(mapping));
    }
  }

  void ReadEnums() {
    if (const DocNode* node = rule_.Find("action")) {
      if (auto s = String(*node, "action")) {
        if (auto action = ParseRuleAction(Trim(*s))) {
          spec_.action = *action;
        } else {
          Fail(node->position,
               fmt::format("unknown action '{}' (expected alert, block or kill)", *s));
        }
      }
    }
    if (const DocNode* node = rule_.Find("dialect")) {
      if (auto s = String(*node, "dialect")) {
        if (auto dialect = ParseRuleDialect(Trim(*s))) {
          spec_.dialect = *dialect;
          spec_.dialect_set = true;
        } else {
          Fail(node->position,
               fmt::format("unknown dialect '{}' (expected elasticsearch or endgame)", *s));
        }
      }
    }
    if (const DocNode* node = rule_.Find("language")) {
      if (auto s = String(*node, "language")) spec_.language = Lower(Trim(*s));
    }
  }

  // version, message, suppress (docs/rules.md).
  void ReadAlertKeys() {
    if (const DocNode* v = rule_.Find("version")) {
      if (auto s = String(*v, "version")) spec_.version = std::string(Trim(*s));
    }
    if (const DocNode* m = rule_.Find("message")) {
      if (auto s = String(*m, "message")) {
        size_t offset = 0;
        std::string why = CheckMessageTemplate(*s, &offset);
        if (!why.empty()) {
          SourcePosition pos = m->position;
          if (m->kind == DocNode::Kind::kString && !m->escapes && pos.line > 0 &&
              s->find('\n') == std::string::npos) {
            pos = ctx_->lines().PositionAt(m->content_offset + offset);
          }
          Fail(pos, std::move(why));
        } else if (s->size() > 1024) {
          Fail(m->position, "'message' is longer than 1024 bytes");
        } else {
          spec_.message = std::move(*s);
        }
      }
    }
    if (const DocNode* node = rule_.Find("suppress")) ReadSuppress(*node);
  }

  // {by: [fields] or "a, b", for: DURATION}, or off/false/none.
  void ReadSuppress(const DocNode& node) {
    if (node.is_scalar()) {
      std::string v = Lower(Trim(node.AsString().value_or("")));
      if (v == "off" || v == "false" || v == "none") {
        spec_.suppress = Suppression{};
      } else {
        Fail(node.position, "'suppress' must be a map {by: [fields], for: 5m}, or off");
      }
      return;
    }
    if (node.kind != DocNode::Kind::kMap) {
      Fail(node.position, "'suppress' must be a map {by: [fields], for: 5m}, or off");
      return;
    }
    Suppression s;
    for (const DocNode::Entry& e : node.entries) {
      if (e.key != "by" && e.key != "for") {
        ctx_->Warning(e.key_position,
                      fmt::format("unknown key '{}' in 'suppress' is ignored (by, for)", e.key));
      }
    }
    if (const DocNode* by = node.Find("by")) {
      s.by = StringList(*by, "suppress.by");
      if (s.by.size() > 8) Fail(by->position, "'suppress.by' names more than 8 fields");
      for (const std::string& f : s.by) {
        if (f.empty() || f.size() > 256 || f.find_first_of(" \t{}") != std::string::npos) {
          Fail(by->position, fmt::format("'suppress.by': '{}' is not a field name", f));
        }
      }
    }
    const DocNode* window = node.Find("for");
    if (window == nullptr) {
      Fail(node.position, "'suppress' has no 'for' (a duration such as 5m)");
      return;
    }
    auto text = window->AsString();
    std::optional<int64_t> ns = text ? ParseRuleDuration(*text) : std::nullopt;
    if (!ns || *ns <= 0) {
      Fail(window->position,
           fmt::format("'suppress.for': '{}' is not a duration with a unit (such as 30s, 5m, 1h)",
                       text.value_or(std::string(window->KindName()))));
      return;
    }
    s.for_ns = *ns;
    spec_.suppress = std::move(s);
  }

  const DocNode& rule_;
  const RuleDefaults& defaults_;
  FileContext* ctx_;
  RuleSpec spec_;
  bool ok_ = true;
};

}  // namespace

void BuildRule(const DocNode& rule, const RuleDefaults& defaults, FileContext* ctx) {
  RuleBuilder(rule, defaults, ctx).Build();
}

void BuildRulesFromDocument(const DocNode& root, FileContext* ctx) {
  const RuleDefaults defaults;
  switch (root.kind) {
    case DocNode::Kind::kNull:
      ctx->Warning({}, "the file holds no rules");
      return;
    case DocNode::Kind::kList:
      for (const DocNode& rule : root.items) BuildRule(rule, defaults, ctx);
      return;
    case DocNode::Kind::kMap:
      break;
    default:
      ctx->Error(root.position,
                 fmt::format("expected a rule map or a 'rules' list, found a {}", root.KindName()));
      ++ctx->result()->failed;
      return;
  }
  const DocNode* rules = root.Find("rules");
  if (rules == nullptr) {
    BuildRule(root, defaults, ctx);
    return;
  }
  for (const DocNode::Entry& e : root.entries) {
    if (e.key != "rules") {
      ctx->Warning(e.key_position, fmt::format("unknown top-level key '{}' is ignored", e.key));
    }
  }
  if (rules->kind != DocNode::Kind::kList) {
    ctx->Error(rules->position,
               fmt::format("'rules' must be a list of rules, found a {}", rules->KindName()));
    ++ctx->result()->failed;
    return;
  }
  if (rules->items.empty()) ctx->Warning(rules->position, "'rules' is empty");
  for (const DocNode& rule : rules->items) BuildRule(rule, defaults, ctx);
}

}  // namespace kestrel::rules
