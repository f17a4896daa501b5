// The Sigma reader (docs/sigma.md): a YAML rule file whose documents have Sigma's `logsource` and
// `detection` keys (or `correlation`) is read as Sigma. Each rule's detection and condition become
// one EQL query in the `elasticsearch` dialect (sigma_detection.cc, sigma_condition.cc), its
// metadata the canonical rule map of document.h (title -> name, level -> severity, tags ->
// ATT&CK tactics and techniques, ...), which BuildRule validates like every other format. The
// query map anchors each part of the query at the Sigma value it came from, so a compiler error
// points into the Sigma file. Correlation rules (temporal_ordered, event_count) become sequences
// over the rules they name in the same file; what EQL cannot express is skipped with a reason.
// Tested by sigma_test.cc.
#include <algorithm>

#include <fmt/format.h>

#include "kestrel/rules/formats.h"
#include "kestrel/rules/sigma_internal.h"

namespace kestrel::rules {
namespace {

using sigma::Fragment;
using sigma::Problem;

struct Tactic {
  std::string_view sigma, id, name;
};
// Sigma's tactic tags (sigma-specification, appendix/sigma-tags-appendix.md; `-` or `_`), with
// ATT&CK v19's split of Defense Evasion: `stealth` keeps TA0005, `defense-impairment` is TA0112.
// The pre-v19 `defense-evasion` stays TA0005 under its old name.
constexpr Tactic kTactics[] = {
    {"reconnaissance", "TA0043", "Reconnaissance"},
    {"resource_development", "TA0042", "Resource Development"},
    {"initial_access", "TA0001", "Initial Access"},
    {"execution", "TA0002", "Execution"},
    {"persistence", "TA0003", "Persistence"},
    {"privilege_escalation", "TA0004", "Privilege Escalation"},
    {"defense_evasion", "TA0005", "Defense Evasion"},
    {"stealth", "TA0005", "Stealth"},
    {"defense_impairment", "TA0112", "Defense Impairment"},
    {"credential_access", "TA0006", "Credential Access"},
    {"discovery", "TA0007", "Discovery"},
    {"lateral_movement", "TA0008", "Lateral Movement"},
    {"collection", "TA0009", "Collection"},
    {"command_and_control", "TA0011", "Command and Control"},
    {"exfiltration", "TA0010", "Exfiltration"},
    {"impact", "TA0040", "Impact"},
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

DocNode Str(std::string text, SourcePosition pos = {}) {
  DocNode n;
  n.kind = DocNode::Kind::kString;
  n.text = std::move(text);
  n.position = pos;
  return n;
}

DocNode List() {
  DocNode n;
  n.kind = DocNode::Kind::kList;
  return n;
}

void Put(DocNode* map, std::string key, DocNode value) {
  map->entries.push_back({std::move(key), value.position, std::move(value)});
}

std::optional<std::string> ScalarOf(const DocNode& doc, std::string_view key) {
  const DocNode* n = doc.Find(key);
  if (n == nullptr || !n->is_scalar() || n->kind == DocNode::Kind::kNull) return std::nullopt;
  return n->text;
}

// A string or a list of strings, as a list of strings.
std::vector<std::string> StringsOf(const DocNode& doc, std::string_view key) {
  std::vector<std::string> out;
  const DocNode* n = doc.Find(key);
  if (n == nullptr) return out;
  if (n->kind == DocNode::Kind::kList) {
    for (const DocNode& item : n->items) {
      if (item.is_scalar() && item.kind != DocNode::Kind::kNull) out.push_back(item.text);
    }
  } else if (n->is_scalar() && n->kind != DocNode::Kind::kNull) {
    out.push_back(n->text);
  }
  return out;
}

// One Sigma document being converted.
struct Converted {
  const DocNode* doc = nullptr;
  std::string name;  // Sigma's `name` (what correlations refer to), may be empty
  std::string id;
  const SigmaLogsource* logsource = nullptr;
  std::optional<Fragment> query;  // the event query, when it converted
  std::optional<Problem> problem;
  bool referenced = false;  // a correlation uses it (and does not ask to `generate` it)
};

class SigmaReader {
 public:
  SigmaReader(FileContext* ctx, const SigmaMapping& mapping) : ctx_(ctx), mapping_(mapping) {}

  void Read(const std::vector<DocNode>& roots) {
    // Rules first (correlations name them), then everything in file order.
    std::vector<Converted> rules;
    std::vector<std::pair<const DocNode*, Converted>> correlations;
    for (const DocNode& root : roots) {
      if (root.kind != DocNode::Kind::kMap || root.Find("correlation") == nullptr) {
        rules.push_back(ConvertRule(root));
      }
    }
    for (const DocNode& root : roots) {
      if (root.kind != DocNode::Kind::kMap || root.Find("correlation") == nullptr) continue;
      Converted c;
      c.doc = &root;
      Problem problem;
      c.query = Correlation(root, &rules, &problem);
      if (!c.query) c.problem = problem;
      correlations.emplace_back(&root, std::move(c));
    }
    size_t next_rule = 0;
    for (const DocNode& root : roots) {
      const Converted* r = nullptr;
      for (const auto& [doc, c] : correlations) {
        if (doc == &root) r = &c;
      }
      if (r == nullptr) {
        r = &rules[next_rule++];
        if (r->referenced && !r->problem) continue;
      }
      if (r->problem) {
        Report(*r->doc, *r->problem);
      } else {
        Emit(*r->doc, *r->query);
      }
    }
  }

 private:
  std::string Title(const DocNode& doc) {
    auto title = ScalarOf(doc, "title");
    return title ? *title : std::string("(untitled)");
  }

  void Report(const DocNode& doc, const Problem& p) {
    std::string message = fmt::format("Sigma rule '{}': {}", Title(doc), p.message);
    SourcePosition pos = p.pos.line != 0 ? p.pos : doc.position;
    if (p.kind == Problem::Kind::kUnsupported) {
      ctx_->Skipped(pos, fmt::format("{}; not loaded", message));
      ++ctx_->result()->skipped;
    } else {
      ctx_->Error(pos, std::move(message));
      ++ctx_->result()->failed;
    }
  }

  Converted ConvertRule(const DocNode& doc) {
    Converted out;
    out.doc = &doc;
    Problem problem;
    auto fail = [&](Problem::Kind kind, SourcePosition pos, std::string message) {
      out.problem = Problem{kind, pos, std::move(message)};
      return out;
    };
    if (doc.kind != DocNode::Kind::kMap) {
      return fail(Problem::Kind::kError, doc.position,
                  fmt::format("a Sigma rule must be a map, found a {}", doc.KindName()));
    }
    out.name = ScalarOf(doc, "name").value_or("");
    out.id = ScalarOf(doc, "id").value_or("");
    const DocNode* logsource = doc.Find("logsource");
    const DocNode* detection = doc.Find("detection");
    if (logsource == nullptr || logsource->kind != DocNode::Kind::kMap) {
      return fail(Problem::Kind::kError, doc.position, "no 'logsource' map");
    }
    if (detection == nullptr || detection->kind != DocNode::Kind::kMap) {
      return fail(Problem::Kind::kError, doc.position, "no 'detection' map");
    }
    std::string category = ScalarOf(*logsource, "category").value_or("");
    std::string product = ScalarOf(*logsource, "product").value_or("");
    std::string service = ScalarOf(*logsource, "service").value_or("");
    out.logsource = mapping_.Find(category, product, service);
    if (out.logsource == nullptr) {
      std::string what;
      for (auto [k, v] : {std::pair{"category", &category}, std::pair{"product", &product},
                          std::pair{"service", &service}}) {
        if (!v->empty()) what += fmt::format("{}{}: {}", what.empty() ? "" : ", ", k, *v);
      }
      return fail(Problem::Kind::kUnsupported, logsource->position,
                  fmt::format("logsource {{{}}} is not one Kestrel's sources serve (docs/sigma.md "
                              "lists the mapped ones)",
                              what));
    }
    const DocNode* condition = detection->Find("condition");
    if (condition == nullptr) {
      return fail(Problem::Kind::kError, detection->position, "the detection has no 'condition'");
    }
    sigma::DetectionCompiler compiler(*out.logsource, &problem);
    std::vector<std::pair<std::string, Fragment>> items;
    for (const DocNode::Entry& e : detection->entries) {
      if (e.key == "condition" || e.key == "timeframe") continue;
      auto f = compiler.Item(e.value);
      if (!f) {
        out.problem = problem;
        return out;
      }
      items.emplace_back(e.key, std::move(*f));
    }
    auto cond = sigma::CompileCondition(*condition, items, &problem);
    if (!cond) {
      out.problem = problem;
      return out;
    }
    if (detection->Find("timeframe") != nullptr) {
      ctx_->Warning(detection->Find("timeframe")->position,
                    "'timeframe' is ignored (it only bounds aggregations, which are not "
                    "supported; a correlation rule's 'timespan' is)");
    }
    Fragment q;
    q.Mark(logsource->position);
    const std::string& head = out.logsource->query;
    size_t where = head.find(" where ");
    if (where == std::string::npos) {
      q.text = head + " where ";
      q.Append(*cond, 3);
    } else {
      std::string filter = head.substr(where + 7);
      bool paren = filter.find(" or ") != std::string::npos;
      q.text = head.substr(0, where + 7) + (paren ? "(" + filter + ")" : filter) + " and ";
      q.Append(*cond, 2);
    }
    out.query = std::move(q);
    return out;
  }

  std::optional<Fragment> Correlation(const DocNode& doc, std::vector<Converted>* rules,
                                      Problem* problem) {
    const DocNode& c = *doc.Find("correlation");
    auto fail = [&](Problem::Kind kind, SourcePosition pos, std::string message) {
      *problem = {kind, pos.line != 0 ? pos : c.position, std::move(message)};
      return std::nullopt;
    };
    if (c.kind != DocNode::Kind::kMap) {
      return fail(Problem::Kind::kError, c.position, "'correlation' must be a map");
    }
    std::string type = ScalarOf(c, "type").value_or("");
    const DocNode* type_node = c.Find("type");
    SourcePosition type_pos = type_node ? type_node->position : c.position;
    bool generate = c.Find("generate") && c.Find("generate")->kind == DocNode::Kind::kBool &&
                    c.Find("generate")->bool_value;
    // The rules it names, in order: each must be a Sigma rule of this file.
    std::vector<Converted*> used;
    const DocNode* rules_node = c.Find("rules");
    for (const std::string& ref : StringsOf(c, "rules")) {
      Converted* found = nullptr;
      for (Converted& r : *rules) {
        if (!ref.empty() && (r.name == ref || r.id == ref)) found = &r;
      }
      if (found == nullptr) {
        return fail(Problem::Kind::kUnsupported, rules_node ? rules_node->position : c.position,
                    fmt::format("the correlation names rule '{}', which is not in this file "
                                "(Kestrel reads a correlation with the rules it names)",
                                ref));
      }
      if (!generate) found->referenced = true;
      used.push_back(found);
    }
    if (used.empty())
      return fail(Problem::Kind::kError, c.position, "the correlation names no 'rules'");
    if (type == "value_count") {
      return fail(Problem::Kind::kUnsupported, type_pos,
                  "value_count correlations count distinct values in a window, which EQL cannot "
                  "express");
    }
    if (type == "temporal") {
      return fail(Problem::Kind::kUnsupported, type_pos,
                  "temporal correlations match in any order; EQL sequences are ordered (write "
                  "temporal_ordered)");
    }
    if (type != "temporal_ordered" && type != "event_count") {
      return fail(Problem::Kind::kError, type_pos,
                  fmt::format("unknown correlation type '{}' (expected event_count, value_count, "
                              "temporal or temporal_ordered)",
                              type));
    }
    if (c.Find("aliases") != nullptr) {
      return fail(Problem::Kind::kUnsupported, c.Find("aliases")->position,
                  "correlation field 'aliases' are not supported");
    }
    for (Converted* r : used) {
      if (r->problem) {
        return fail(
            r->problem->kind, r->problem->pos,
            fmt::format("its rule '{}' does not convert: {}", Title(*r->doc), r->problem->message));
      }
    }
    // timespan: N followed by s, m, h or d (EQL's units).
    std::string timespan = ScalarOf(c, "timespan").value_or("");
    const DocNode* ts_node = c.Find("timespan");
    if (timespan.size() < 2 ||
        !std::all_of(timespan.begin(), timespan.end() - 1,
                     [](char ch) { return ch >= '0' && ch <= '9'; }) ||
        std::string_view("smhd").find(timespan.back()) == std::string_view::npos) {
      return fail(ts_node ? Problem::Kind::kUnsupported : Problem::Kind::kError,
                  ts_node ? ts_node->position : c.position,
                  fmt::format("the correlation needs a 'timespan' of a number and s, m, h or d "
                              "(found '{}')",
                              timespan));
    }
    // group-by: every rule's mapping must give each field the same ECS name.
    std::vector<std::string> keys;
    const DocNode* group_node = c.Find("group-by");
    for (const std::string& g : StringsOf(c, "group-by")) {
      std::string ecs;
      for (Converted* r : used) {
        sigma::DetectionCompiler compiler(*r->logsource, problem);
        const SigmaField* f = compiler.Field(g, group_node ? group_node->position : c.position);
        if (f == nullptr) return std::nullopt;
        if (!ecs.empty() && f->ecs != ecs) {
          return fail(Problem::Kind::kUnsupported, group_node->position,
                      fmt::format("group-by field '{}' maps to {} and {} in the rules' logsources",
                                  g, ecs, f->ecs));
        }
        ecs = f->ecs;
      }
      keys.push_back(ecs);
    }
    Fragment q;
    q.Mark(c.position);
    q.text = "sequence";
    for (size_t i = 0; i < keys.size(); ++i) q.text += (i ? ", " : " by ") + keys[i];
    q.text += " with maxspan=" + timespan;
    if (type == "temporal_ordered") {
      if (used.size() < 2) {
        return fail(Problem::Kind::kError, c.position,
                    "a temporal_ordered correlation names at least two rules");
      }
      for (Converted* r : used) {
        q.text += "\n  [";
        q.Append(*r->query, 3);
        q.text += "]";
      }
      return q;
    }
    // event_count: `condition: {gte: N}` (or gt) over one rule is N runs of its query.
    const DocNode* cond = c.Find("condition");
    if (used.size() != 1) {
      return fail(Problem::Kind::kUnsupported, c.position,
                  "an event_count correlation over several rules is not supported");
    }
    std::optional<int64_t> n;
    if (cond != nullptr && cond->kind == DocNode::Kind::kMap && cond->entries.size() == 1) {
      const DocNode::Entry& e = cond->entries[0];
      if (auto v = e.value.AsInt(); v && (e.key == "gte" || e.key == "gt")) {
        n = e.key == "gt" ? *v + 1 : *v;
      } else {
        return fail(Problem::Kind::kUnsupported, e.key_position,
                    fmt::format("event_count condition '{}' needs a count of events below or at "
                                "a threshold; Kestrel's sequences count at least N (gte, gt)",
                                e.key));
      }
    }
    if (!n || *n < 1 || *n > 256) {
      return fail(Problem::Kind::kUnsupported, cond ? cond->position : c.position,
                  "an event_count correlation needs a 'condition' of gte (or gt) 1..256");
    }
    q.text += "\n  [";
    q.Append(*used[0]->query, 3);
    q.text += fmt::format("] with runs={}", *n);
    return q;
  }

  void AddThreat(const DocNode& doc, DocNode* rule) {
    std::vector<const Tactic*> tactics;
    DocNode techniques = List();
    for (const std::string& tag : StringsOf(doc, "tags")) {
      std::string t = Lower(tag);
      if (!t.starts_with("attack.")) continue;
      std::string rest = t.substr(7);
      std::replace(rest.begin(), rest.end(), '-', '_');
      if (rest.size() >= 5 && rest[0] == 't' && rest[1] >= '0' && rest[1] <= '9') {
        std::string id = "T" + rest.substr(1);
        for (char& ch : id) {
          if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 32);
        }
        techniques.items.push_back(Str(id));
        continue;
      }
      for (const Tactic& tactic : kTactics) {
        // Once per tactic id (`defense-evasion` and `stealth` are both TA0005).
        if (rest == tactic.sigma &&
            std::none_of(tactics.begin(), tactics.end(),
                         [&](const Tactic* t) { return t->id == tactic.id; })) {
          tactics.push_back(&tactic);
        }
      }
    }
    if (tactics.empty() && techniques.items.empty()) return;
    DocNode threat = List();
    // Sigma does not pair techniques with tactics: they go with the first tactic.
    for (size_t i = 0; i < std::max<size_t>(tactics.size(), 1); ++i) {
      DocNode entry;
      entry.kind = DocNode::Kind::kMap;
      if (i < tactics.size()) {
        DocNode tactic;
        tactic.kind = DocNode::Kind::kMap;
        Put(&tactic, "id", Str(std::string(tactics[i]->id)));
        Put(&tactic, "name", Str(std::string(tactics[i]->name)));
        Put(&entry, "tactic", std::move(tactic));
      }
      if (i == 0 && !techniques.items.empty()) Put(&entry, "techniques", techniques);
      threat.items.push_back(std::move(entry));
    }
    Put(rule, "threat", std::move(threat));
  }

  void Emit(const DocNode& doc, const Fragment& query) {
    DocNode rule;
    rule.kind = DocNode::Kind::kMap;
    const DocNode* id = doc.Find("id");
    rule.position = id ? id->position : doc.position;
    std::string title = Title(doc);
    std::string rule_id = ScalarOf(doc, "id").value_or("");
    if (rule_id.empty()) {
      rule_id = fmt::format("{}-{}", ctx_->file(), doc.position.line);
      ctx_->Warning(doc.position,
                    fmt::format("Sigma rule '{}' has no 'id'; using '{}'", title, rule_id));
    }
    Put(&rule, "id", Str(rule_id, rule.position));
    Put(&rule, "name", Str(title));
    if (auto d = ScalarOf(doc, "description")) Put(&rule, "description", Str(*d));
    std::string level = Lower(ScalarOf(doc, "level").value_or("medium"));
    int risk = -1;
    if (level == "informational") {
      level = "low";
      risk = 0;
    }
    const DocNode* level_node = doc.Find("level");
    Put(&rule, "severity", Str(level, level_node ? level_node->position : rule.position));
    if (risk >= 0) {
      DocNode r;
      r.kind = DocNode::Kind::kInt;
      r.int_value = risk;
      r.text = std::to_string(risk);
      Put(&rule, "risk_score", std::move(r));
    }
    DocNode tags = List();
    for (const std::string& t : StringsOf(doc, "tags")) tags.items.push_back(Str(t));
    tags.items.push_back(Str("sigma"));
    if (auto s = ScalarOf(doc, "status")) tags.items.push_back(Str("sigma.status:" + *s));
    if (auto a = ScalarOf(doc, "author")) tags.items.push_back(Str("sigma.author:" + *a));
    Put(&rule, "tags", std::move(tags));
    AddThreat(doc, &rule);
    DocNode refs = List();
    for (const std::string& r : StringsOf(doc, "references")) refs.items.push_back(Str(r));
    if (!refs.items.empty()) Put(&rule, "references", std::move(refs));
    DocNode fps = List();
    for (const std::string& f : StringsOf(doc, "falsepositives")) fps.items.push_back(Str(f));
    if (!fps.items.empty()) Put(&rule, "false_positives", std::move(fps));
    Put(&rule, "dialect", Str("elasticsearch"));
    Put(&rule, "query", Str(query.text, rule.position));
    size_t before = ctx_->result()->rules.size();
    BuildRule(rule, RuleDefaults{rule_id, false}, ctx_);
    if (ctx_->result()->rules.size() == before) return;
    RuleSpec& spec = ctx_->result()->rules.back();
    spec.format = RuleFormat::kSigma;
    spec.query_map = query.anchors;
    if (spec.query_map.empty() || spec.query_map[0].offset != 0) {
      spec.query_map.insert(spec.query_map.begin(), QueryAnchor{0, rule.position});
    }
    // Anchors are added in text order, except a fragment reused by the condition; keep the map
    // sorted as RuleSpec requires.
    std::stable_sort(
        spec.query_map.begin(), spec.query_map.end(),
        [](const QueryAnchor& a, const QueryAnchor& b) { return a.offset < b.offset; });
    spec.query_start = spec.PositionOf(0);
  }

  FileContext* ctx_;
  const SigmaMapping& mapping_;
};

}  // namespace

bool IsSigmaDocuments(const std::vector<DocNode>& roots) {
  for (const DocNode& root : roots) {
    if (root.kind != DocNode::Kind::kMap) continue;
    if ((root.Find("logsource") != nullptr && root.Find("detection") != nullptr) ||
        root.Find("correlation") != nullptr) {
      return true;
    }
  }
  return false;
}

void ReadSigmaDocuments(const std::vector<DocNode>& roots, FileContext* ctx) {
  const SigmaMapping* mapping = ctx->sigma_mapping();
  SigmaReader(ctx, mapping != nullptr ? *mapping : SigmaMapping::Default()).Read(roots);
}

}  // namespace kestrel::rules
