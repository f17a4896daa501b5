// AlertFormatter; see alert_document.h. Tested by alert_document_test.cc.
#include "kestrel/actions/alert_document.h"

#include <algorithm>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "kestrel/base/time.h"
#include "kestrel/event/json_encoder.h"
#include "kestrel/event/json_writer.h"

namespace kestrel::actions {
namespace {

using event::AppendJsonInt;
using event::AppendJsonString;

void Key(std::string* out, std::string_view k, bool comma = true) {
  if (comma) out->push_back(',');
  AppendJsonString(out, k);
  out->push_back(':');
}

void StringArray(std::string* out, const std::vector<std::string>& v) {
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) out->push_back(',');
    AppendJsonString(out, v[i]);
  }
  out->push_back(']');
}

// ATT&CK reference URLs: T1059.004 -> techniques/T1059/004/, TA0002 -> tactics/TA0002/.
std::string Reference(std::string_view id, bool tactic) {
  std::string path(id);
  for (char& c : path) {
    if (c == '.') c = '/';
  }
  return fmt::format("https://attack.mitre.org/{}/{}/", tactic ? "tactics" : "techniques", path);
}

void AppendThreat(std::string* out, const std::vector<rules::ThreatMapping>& threat) {
  out->push_back('[');
  for (size_t t = 0; t < threat.size(); ++t) {
    const rules::ThreatMapping& m = threat[t];
    bool attack = m.framework == "MITRE ATT&CK";
    if (t > 0) out->push_back(',');
    out->push_back('{');
    Key(out, "framework", false);
    AppendJsonString(out, m.framework);
    if (!m.tactic_id.empty() || !m.tactic_name.empty()) {
      Key(out, "tactic");
      out->push_back('{');
      Key(out, "id", false);
      AppendJsonString(out, m.tactic_id);
      Key(out, "name");
      AppendJsonString(out, m.tactic_name);
      if (attack && !m.tactic_id.empty()) {
        Key(out, "reference");
        AppendJsonString(out, Reference(m.tactic_id, true));
      }
      out->push_back('}');
    }
    // Techniques, each with the sub-techniques (ids with a '.') that follow it.
    Key(out, "technique");
    out->push_back('[');
    bool open_technique = false, open_sub = false;
    for (size_t i = 0; i < m.technique_ids.size(); ++i) {
      const std::string& id = m.technique_ids[i];
      const std::string& name = i < m.technique_names.size() ? m.technique_names[i] : id;
      bool sub = id.find('.') != std::string::npos && open_technique;
      if (!sub) {
        if (open_sub) out->push_back(']');
        if (open_technique) out->append("},");
        open_sub = false;
        open_technique = true;
        out->push_back('{');
      } else {
        out->append(open_sub ? "," : ",\"subtechnique\":[");
        open_sub = true;
        out->push_back('{');
      }
      Key(out, "id", false);
      AppendJsonString(out, id);
      Key(out, "name");
      AppendJsonString(out, name.empty() ? id : name);
      if (attack) {
        Key(out, "reference");
        AppendJsonString(out, Reference(id, false));
      }
      if (sub) out->push_back('}');
    }
    if (open_sub) out->push_back(']');
    if (open_technique) out->push_back('}');
    out->append("]}");
  }
  out->push_back(']');
}

// The top-level members of a JSON object's text (the event encoder's output, or any valid
// JSON object): raw key text (without the quotes, escapes kept) and value text.
std::vector<std::pair<std::string_view, std::string_view>> Members(std::string_view obj) {
  std::vector<std::pair<std::string_view, std::string_view>> out;
  size_t i = 0, n = obj.size();
  auto skip_ws = [&] {
    while (i < n && (obj[i] == ' ' || obj[i] == '\n' || obj[i] == '\t' || obj[i] == '\r')) ++i;
  };
  auto skip_string = [&] {  // at '"'; leaves i after the closing quote
    for (++i; i < n; ++i) {
      if (obj[i] == '\\') {
        ++i;
      } else if (obj[i] == '"') {
        ++i;
        return;
      }
    }
  };
  skip_ws();
  if (i >= n || obj[i] != '{') return out;
  ++i;
  while (true) {
    skip_ws();
    if (i >= n || obj[i] != '"') return out;
    size_t key_begin = i + 1;
    skip_string();
    std::string_view key = obj.substr(key_begin, i - 1 - key_begin);
    skip_ws();
    if (i >= n || obj[i] != ':') return out;
    ++i;
    skip_ws();
    size_t value_begin = i;
    int depth = 0;
    while (i < n) {
      char c = obj[i];
      if (c == '"') {
        skip_string();
        continue;
      }
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (depth == 0) break;
        --depth;
      }
      if (c == ',' && depth == 0) break;
      ++i;
    }
    std::string_view value = obj.substr(value_begin, i - value_begin);
    while (!value.empty() && (value.back() == ' ' || value.back() == '\n')) value.remove_suffix(1);
    out.emplace_back(key, value);
    if (i >= n || obj[i] != ',') return out;
    ++i;
  }
}

std::string_view Member(std::string_view obj, std::string_view key) {
  for (const auto& [k, v] : Members(obj)) {
    if (k == key) return v;
  }
  return {};
}

// `obj` (an object's text) with `extra` members ("\"k\":v,...") added before its end.
void AppendObjectWith(std::string* out, std::string_view obj, std::string_view extra) {
  if (extra.empty()) {
    out->append(obj);
    return;
  }
  if (obj.size() < 2) {
    out->push_back('{');
    out->append(extra);
    out->push_back('}');
    return;
  }
  out->append(obj.substr(0, obj.size() - 1));
  if (obj.size() > 2) out->push_back(',');
  out->append(extra);
  out->push_back('}');
}

void AppendProcess(std::string* out, const engine::AlertProcess& p) {
  out->push_back('{');
  bool first = true;
  auto key = [&](std::string_view k) {
    if (!first) out->push_back(',');
    first = false;
    AppendJsonString(out, k);
    out->push_back(':');
  };
  if (!p.command_line.empty()) {
    key("command_line");
    AppendJsonString(out, p.command_line);
  }
  if (!p.entity_id.empty()) {
    key("entity_id");
    AppendJsonString(out, p.entity_id);
  }
  if (!p.executable.empty()) {
    key("executable");
    AppendJsonString(out, p.executable);
  }
  if (!p.name.empty()) {
    key("name");
    AppendJsonString(out, p.name);
  }
  if (p.pid >= 0) {
    key("pid");
    AppendJsonInt(out, p.pid);
  }
  out->push_back('}');
}

// The rule's own object, shared by both formats: {"id","name","description","severity",
// "risk_score","version","file","tags","references","threat"} (empty values left out).
void AppendRuleObject(std::string* out, const engine::Alert& alert, const rules::RuleSpec& rule) {
  out->append("{\"id\":");
  AppendJsonString(out, alert.rule_id);
  Key(out, "name");
  AppendJsonString(out, alert.rule_name);
  if (!rule.description.empty()) {
    Key(out, "description");
    AppendJsonString(out, rule.description);
  }
  Key(out, "severity");
  AppendJsonString(out, engine::SeverityName(alert.severity));
  Key(out, "risk_score");
  AppendJsonInt(out, rule.risk_score);
  if (!rule.version.empty()) {
    Key(out, "version");
    AppendJsonString(out, rule.version);
  }
  if (!rule.file.empty()) {
    Key(out, "file");
    AppendJsonString(out, rule.file);
  }
  Key(out, "tags");
  StringArray(out, rule.tags);
  Key(out, "references");
  StringArray(out, rule.references);
  if (!rule.threat.empty()) {
    Key(out, "threat");
    AppendThreat(out, rule.threat);
  }
  out->push_back('}');
}

}  // namespace

std::optional<AlertFormat> ParseAlertFormat(std::string_view name) {
  if (name == "kestrel") return AlertFormat::kKestrel;
  if (name == "ecs") return AlertFormat::kEcs;
  return std::nullopt;
}

AlertFormatter::AlertFormatter(const schema::Schema* schema)
    : schema_(schema), host_name_(schema->Find("host.name")) {}

std::string_view AlertFormatter::HostName(const engine::Alert& alert) const {
  if (!host_name_) return {};
  for (auto it = alert.events.rbegin(); it != alert.events.rend(); ++it) {
    const event::Value* v = (*it)->Find(*host_name_);
    if (v != nullptr && v->kind() == event::ValueKind::kString) return v->as_string();
  }
  return {};
}

void AlertFormatter::Append(AlertFormat format, const engine::Alert& alert,
                            const rules::RuleSpec* rule, std::string* out) const {
  if (format == AlertFormat::kKestrel) {
    AppendKestrel(alert, rule, out);
  } else {
    AppendEcs(alert, rule, out);
  }
}

std::string_view AlertFormatter::LastObject(const engine::Alert& alert, std::string_view key,
                                            std::string* scratch) const {
  for (size_t i = alert.events.size(); i-- > 0;) {
    std::string_view fields;
    if (alert.encoded_fields.size() == alert.events.size()) {
      fields = alert.encoded_fields[i];
    } else {
      scratch->clear();
      event::AppendEventJson(*alert.events[i], *schema_, scratch);
      fields = *scratch;
    }
    std::string_view v = Member(fields, key);
    if (!v.empty() && v.front() == '{') return v;
  }
  return {};
}

void AlertFormatter::AppendKestrel(const engine::Alert& alert, const rules::RuleSpec* rule,
                                   std::string* out) const {
  size_t begin = out->size();
  engine::AppendAlertJson(*schema_, alert, out);
  if (out->size() == begin || out->back() != '}') return;
  out->pop_back();
  // The machine (host.*, agent.*) of the last evidence event that says.
  std::string scratch;
  for (std::string_view k : {"host", "agent"}) {
    std::string_view obj = LastObject(alert, k, &scratch);
    if (obj.empty()) continue;
    std::string copy(obj);  // scratch may be reused
    Key(out, k);
    out->append(copy);
  }
  if (rule != nullptr) {
    Key(out, "rule");
    AppendRuleObject(out, alert, *rule);
  }
  out->push_back('}');
}

void AlertFormatter::AppendEcs(const engine::Alert& alert, const rules::RuleSpec* rule,
                               std::string* out) const {
  std::string_view severity = engine::SeverityName(alert.severity);
  int risk = rule != nullptr ? rule->risk_score : rules::DefaultRiskScore(alert.severity);
  static const std::vector<std::string> kNoTags;
  const std::vector<std::string>& tags = rule != nullptr ? rule->tags : kNoTags;
  out->push_back('{');
  Key(out, "@timestamp", false);
  AppendJsonString(out, base::FormatTimestamp(alert.timestamp_ns, 9));
  Key(out, "message");
  AppendJsonString(out, alert.message.empty() ? alert.title : alert.message);
  Key(out, "ecs");
  out->append("{\"version\":\"8.11.0\"}");
  // The last evidence event's fields, for the top-level ECS objects (alerts-as-data copies the
  // source event's process, user, host, file, destination, ... into the alert).
  std::string scratch;
  std::string_view last;
  if (!alert.events.empty()) {
    if (alert.encoded_fields.size() == alert.events.size()) {
      last = alert.encoded_fields.back();
    } else {
      event::AppendEventJson(*alert.events.back(), *schema_, &scratch);
      last = scratch;
    }
  }
  const engine::AlertProcessTree* tree = nullptr;
  for (const engine::AlertProcessTree& t : alert.process_tree) {
    if (t.event + 1 == alert.events.size()) tree = &t;
  }
  // event: the signal's own keys, then the source event's (category, type, action, ...).
  Key(out, "event");
  out->append("{\"kind\":\"signal\",\"module\":\"kestrel\",\"dataset\":\"kestrel.alert\"");
  Key(out, "id");
  AppendJsonString(out, alert.id);
  Key(out, "severity");
  AppendJsonInt(out, risk);
  Key(out, "risk_score");
  AppendJsonInt(out, risk);
  if (!alert.action.empty()) {
    Key(out, "action");
    AppendJsonString(out, alert.action);
    Key(out, "outcome");
    AppendJsonString(out, alert.outcome.empty() ? std::string_view("unknown") : alert.outcome);
  }
  for (const auto& [k, v] : Members(Member(last, "event"))) {
    static constexpr std::string_view kOwn[] = {"kind", "module",   "dataset",
                                                "id",   "severity", "risk_score"};
    if (std::find(std::begin(kOwn), std::end(kOwn), k) != std::end(kOwn)) continue;
    if (!alert.action.empty() && (k == "action" || k == "outcome")) continue;
    out->push_back(',');
    out->push_back('"');
    out->append(k);
    out->append("\":");
    out->append(v);
  }
  out->push_back('}');
  static constexpr std::string_view kCopied[] = {"agent",   "container", "destination", "dns",
                                                 "file",    "group",     "host",        "network",
                                                 "process", "source",    "url",         "user"};
  for (std::string_view k : kCopied) {
    std::string_view v = Member(last, k);
    std::string extra;
    if (k == "process" && tree != nullptr) {
      if (!tree->sha256.empty() && Member(v, "hash").empty()) {
        extra += "\"hash\":{\"sha256\":";
        AppendJsonString(&extra, tree->sha256);
        extra += '}';
      }
      if (!tree->ancestors.empty() && Member(v, "parent").empty()) {
        if (!extra.empty()) extra += ',';
        extra += "\"parent\":";
        AppendProcess(&extra, tree->ancestors.front());
      }
    }
    if (k == "container" && tree != nullptr && !tree->container_id.empty() && v.empty()) {
      extra += "\"id\":";
      AppendJsonString(&extra, tree->container_id);
    }
    if (v.empty() && extra.empty()) continue;
    if (!v.empty() && v.front() != '{') continue;
    Key(out, k);
    AppendObjectWith(out, v.empty() ? std::string_view("{}") : v, extra);
  }
  {
    Key(out, "rule");
    out->append("{\"id\":");
    AppendJsonString(out, alert.rule_id);
    Key(out, "uuid");
    AppendJsonString(out, alert.rule_id);
    Key(out, "name");
    AppendJsonString(out, alert.rule_name);
    if (rule != nullptr && !rule->description.empty()) {
      Key(out, "description");
      AppendJsonString(out, rule->description);
    }
    if (rule != nullptr && !rule->version.empty()) {
      Key(out, "version");
      AppendJsonString(out, rule->version);
    }
    if (rule != nullptr && !rule->references.empty()) {
      Key(out, "reference");
      AppendJsonString(out, rule->references.front());
    }
    Key(out, "ruleset");
    AppendJsonString(out, "kestrel");
    out->push_back('}');
  }
  Key(out, "tags");
  StringArray(out, tags);
  Key(out, "kibana");
  out->append("{\"alert\":{\"uuid\":");
  AppendJsonString(out, alert.id);
  Key(out, "status");
  AppendJsonString(out, "active");
  Key(out, "workflow_status");
  AppendJsonString(out, "open");
  Key(out, "severity");
  AppendJsonString(out, severity);
  Key(out, "risk_score");
  AppendJsonInt(out, risk);
  Key(out, "reason");
  AppendJsonString(out, alert.message.empty() ? alert.title : alert.message);
  if (!alert.events.empty()) {
    Key(out, "original_time");
    AppendJsonString(out, base::FormatTimestamp(alert.events.front()->wall_ns(), 9));
  }
  Key(out, "depth");
  AppendJsonInt(out, 1);
  // The source events, as Elastic lists the documents an alert was built from.
  Key(out, "ancestors");
  out->push_back('[');
  for (size_t i = 0; i < alert.events.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"id\":");
    AppendJsonString(out, fmt::format("{}:{}", alert.id, i));
    out->append(",\"type\":\"event\",\"index\":\"kestrel\",\"depth\":0}");
  }
  out->push_back(']');
  if (alert.suppressing) {
    Key(out, "suppression");
    out->append("{\"terms\":[");
    for (size_t i = 0; i < alert.suppression_terms.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append("{\"field\":");
      AppendJsonString(out, alert.suppression_terms[i].first);
      out->append(",\"value\":");
      out->append(alert.suppression_terms[i].second);
      out->push_back('}');
    }
    out->append("],\"start\":");
    AppendJsonString(out, base::FormatTimestamp(alert.suppression_start_ns, 9));
    Key(out, "end");
    AppendJsonString(out, base::FormatTimestamp(alert.suppression_end_ns, 9));
    Key(out, "docs_count");
    AppendJsonInt(out, static_cast<int64_t>(alert.suppressed));
    out->push_back('}');
  }
  Key(out, "rule");
  out->append("{\"rule_id\":");
  AppendJsonString(out, alert.rule_id);
  Key(out, "uuid");
  AppendJsonString(out, alert.rule_id);
  Key(out, "name");
  AppendJsonString(out, alert.rule_name);
  if (rule != nullptr && !rule->description.empty()) {
    Key(out, "description");
    AppendJsonString(out, rule->description);
  }
  Key(out, "severity");
  AppendJsonString(out, severity);
  Key(out, "risk_score");
  AppendJsonInt(out, risk);
  Key(out, "tags");
  StringArray(out, tags);
  if (rule != nullptr) {
    if (!rule->version.empty()) {
      Key(out, "version");
      AppendJsonString(out, rule->version);
    }
    Key(out, "references");
    StringArray(out, rule->references);
    Key(out, "false_positives");
    StringArray(out, rule->false_positives);
  }
  Key(out, "type");
  AppendJsonString(out, "eql");
  Key(out, "producer");
  AppendJsonString(out, "kestrel");
  if (rule != nullptr && !rule->threat.empty()) {
    Key(out, "threat");
    AppendThreat(out, rule->threat);
  }
  out->append("}}}");
  if (rule != nullptr && !rule->threat.empty()) {
    Key(out, "threat");
    AppendThreat(out, rule->threat);
  }
  Key(out, "kestrel");
  out->append("{\"alert\":{\"entity_key\":");
  AppendJsonString(out, alert.entity_key);
  if (alert.degraded > 0) {
    Key(out, "degraded");
    AppendJsonInt(out, static_cast<int64_t>(alert.degraded));
  }
  if (!alert.flight_recording.empty()) {
    Key(out, "flight_recording");
    AppendJsonString(out, alert.flight_recording);
  }
  out->push_back('}');
  if (rule != nullptr && !rule->file.empty()) {
    Key(out, "rule");
    out->append("{\"file\":");
    AppendJsonString(out, rule->file);
    out->push_back('}');
  }
  if (alert.suppressing) {
    Key(out, "suppressed");
    AppendJsonInt(out, static_cast<int64_t>(alert.suppressed));
  }
  if (!alert.process_tree.empty()) {
    Key(out, "process_tree");
    engine::AppendProcessTreeJson(alert, out);
  }
  Key(out, "evidence");
  out->push_back('[');
  std::string encoded;
  for (size_t i = 0; i < alert.events.size(); ++i) {
    const event::Event& e = *alert.events[i];
    if (i > 0) out->push_back(',');
    std::string_view fields;
    if (alert.encoded_fields.size() == alert.events.size()) {
      fields = alert.encoded_fields[i];
    } else {
      encoded.clear();
      event::AppendEventJson(e, *schema_, &encoded);
      fields = encoded;
    }
    // The event's own fields, with its time as @timestamp (unless it has one at the top).
    std::string_view body = fields.size() >= 2 ? fields.substr(1, fields.size() - 2) : "";
    bool has_timestamp = body.starts_with("\"@timestamp\":") ||
                         body.find(",\"@timestamp\":") != std::string_view::npos;
    out->push_back('{');
    if (!has_timestamp) {
      out->append("\"@timestamp\":");
      AppendJsonString(out, base::FormatTimestamp(e.wall_ns(), 9));
      if (!body.empty()) out->push_back(',');
    }
    out->append(body);
    out->push_back('}');
  }
  out->append("]}}");
}

}  // namespace kestrel::actions
