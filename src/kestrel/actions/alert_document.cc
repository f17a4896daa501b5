// AlertFormatter; see alert_document.h. Tested by alert_document_test.cc.
#include "kestrel/actions/alert_document.h"

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
    engine::AppendAlertJson(*schema_, alert, out);
  } else {
    AppendEcs(alert, rule, out);
  }
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
  AppendJsonString(out, alert.title);
  Key(out, "event");
  out->append("{\"kind\":\"signal\",\"module\":\"kestrel\",\"dataset\":\"kestrel.alert\"");
  Key(out, "id");
  AppendJsonString(out, alert.id);
  Key(out, "severity");
  AppendJsonInt(out, risk);
  Key(out, "risk_score");
  AppendJsonInt(out, risk);
  out->push_back('}');
  if (std::string_view host = HostName(alert); !host.empty()) {
    Key(out, "host");
    out->append("{\"name\":");
    AppendJsonString(out, host);
    out->push_back('}');
  }
  Key(out, "rule");
  out->append("{\"id\":");
  AppendJsonString(out, alert.rule_id);
  Key(out, "name");
  AppendJsonString(out, alert.rule_name);
  if (rule != nullptr && !rule->description.empty()) {
    Key(out, "description");
    AppendJsonString(out, rule->description);
  }
  out->push_back('}');
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
  AppendJsonString(out, alert.title);
  if (!alert.events.empty()) {
    Key(out, "original_time");
    AppendJsonString(out, base::FormatTimestamp(alert.events.front()->wall_ns(), 9));
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
