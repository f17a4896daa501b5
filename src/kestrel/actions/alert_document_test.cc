// Tests both alert formats: the ECS document's fields (parsed back as JSON), threat.* from the
// rule's ATT&CK metadata, nested evidence, determinism; and the Kestrel shape unchanged.
#include "kestrel/actions/alert_document.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kestrel/base/time.h"
#include "kestrel/event/event.h"
#include "kestrel/schema/field.h"

namespace kestrel::actions {
namespace {

struct Fixture {
  schema::Schema schema;
  engine::Alert alert;
  rules::RuleSpec rule;
  Fixture() {
    alert.rule_id = "linux-shell-reads-passwd";
    alert.rule_name = "Shell reads /etc/passwd";
    alert.severity = engine::Severity::kHigh;
    alert.entity_key = "process.entity_id=\"p-1\"";
    alert.events.push_back(std::make_shared<const event::Event>(event::EventBuilder(schema)
                                                                    .Time(1735732830000000000)
                                                                    .Str("process.name", "bash")
                                                                    .Str("host.name", "web-1")
                                                                    .Build()));
    alert.events.push_back(std::make_shared<const event::Event>(event::EventBuilder(schema)
                                                                    .Time(1735732830400000000)
                                                                    .Str("file.path", "/etc/passwd")
                                                                    .Str("host.name", "web-2")
                                                                    .Build()));
    engine::FinalizeAlert(schema, &alert);
    rule.id = alert.rule_id;
    rule.name = alert.rule_name;
    rule.description = "A shell read the password file.";
    rule.severity = engine::Severity::kHigh;
    rule.risk_score = 73;
    rule.tags = {"linux", "credential-access"};
    rules::ThreatMapping t;
    t.tactic_id = "TA0006";
    t.tactic_name = "Credential Access";
    t.technique_ids = {"T1003", "T1003.008", "T1552"};
    t.technique_names = {"OS Credential Dumping", "/etc/passwd and /etc/shadow", ""};
    rule.threat.push_back(t);
  }
};

TEST(AlertDocument, EcsDocumentCarriesSignalRuleThreatAndEvidence) {
  Fixture f;
  AlertFormatter formatter(&f.schema);
  std::string out;
  formatter.Append(AlertFormat::kEcs, f.alert, &f.rule, &out);
  auto doc = nlohmann::json::parse(out);
  EXPECT_EQ(doc["@timestamp"], "2025-01-01T12:00:30.400000000Z");
  EXPECT_EQ(doc["event"]["kind"], "signal");
  EXPECT_EQ(doc["event"]["id"], f.alert.id);
  EXPECT_EQ(doc["host"]["name"], "web-2");  // the last event's host
  EXPECT_EQ(doc["rule"]["id"], "linux-shell-reads-passwd");
  EXPECT_EQ(doc["kibana"]["alert"]["uuid"], f.alert.id);
  EXPECT_EQ(doc["kibana"]["alert"]["severity"], "high");
  EXPECT_EQ(doc["kibana"]["alert"]["risk_score"], 73);
  EXPECT_EQ(doc["kibana"]["alert"]["original_time"], "2025-01-01T12:00:30.000000000Z");
  EXPECT_EQ(doc["kibana"]["alert"]["rule"]["name"], "Shell reads /etc/passwd");
  EXPECT_EQ(doc["kibana"]["alert"]["rule"]["description"], "A shell read the password file.");
  EXPECT_EQ(doc["kibana"]["alert"]["rule"]["tags"][1], "credential-access");
  const auto& threat = doc["threat"];
  ASSERT_EQ(threat.size(), 1u);
  EXPECT_EQ(threat[0]["framework"], "MITRE ATT&CK");
  EXPECT_EQ(threat[0]["tactic"]["id"], "TA0006");
  EXPECT_EQ(threat[0]["tactic"]["reference"], "https://attack.mitre.org/tactics/TA0006/");
  ASSERT_EQ(threat[0]["technique"].size(), 2u);
  EXPECT_EQ(threat[0]["technique"][0]["id"], "T1003");
  EXPECT_EQ(threat[0]["technique"][0]["subtechnique"][0]["id"], "T1003.008");
  EXPECT_EQ(threat[0]["technique"][0]["subtechnique"][0]["reference"],
            "https://attack.mitre.org/techniques/T1003/008/");
  EXPECT_EQ(threat[0]["technique"][1]["id"], "T1552");
  EXPECT_EQ(threat[0]["technique"][1]["name"], "T1552");  // no name given: the id
  EXPECT_EQ(doc["kibana"]["alert"]["rule"]["threat"], threat);
  const auto& evidence = doc["kestrel"]["evidence"];
  ASSERT_EQ(evidence.size(), 2u);
  EXPECT_EQ(evidence[0]["process"]["name"], "bash");
  EXPECT_EQ(evidence[0]["@timestamp"], "2025-01-01T12:00:30.000000000Z");
  EXPECT_EQ(evidence[1]["file"]["path"], "/etc/passwd");
  EXPECT_EQ(doc["kestrel"]["alert"]["entity_key"], "process.entity_id=\"p-1\"");
  // Deterministic: the same alert gives the same bytes.
  std::string again;
  formatter.Append(AlertFormat::kEcs, f.alert, &f.rule, &again);
  EXPECT_EQ(out, again);
}

TEST(AlertDocument, EcsWithoutRuleMetadataStillValid) {
  Fixture f;
  AlertFormatter formatter(&f.schema);
  std::string out;
  formatter.Append(AlertFormat::kEcs, f.alert, nullptr, &out);
  auto doc = nlohmann::json::parse(out);
  EXPECT_FALSE(doc.contains("threat"));
  EXPECT_EQ(doc["kibana"]["alert"]["risk_score"], 73);  // the severity's default
}

TEST(AlertDocument, KestrelFormatIsTheAlertLineThenHostAgentAndRule) {
  Fixture f;
  AlertFormatter formatter(&f.schema);
  std::string out, expected;
  formatter.Append(AlertFormat::kKestrel, f.alert, &f.rule, &out);
  engine::AppendAlertJson(f.schema, f.alert, &expected);
  expected.pop_back();
  EXPECT_EQ(out.substr(0, expected.size()), expected);  // the alert line, keys added after
  auto doc = nlohmann::json::parse(out);
  EXPECT_EQ(doc["host"]["name"], "web-2");  // the last evidence event's
  EXPECT_EQ(doc["rule"]["description"], "A shell read the password file.");
  EXPECT_EQ(doc["rule"]["risk_score"], 73);
  EXPECT_EQ(doc["rule"]["threat"][0]["tactic"]["id"], "TA0006");
  EXPECT_EQ(doc["rule"]["threat"][0]["technique"][0]["id"], "T1003");
  EXPECT_EQ(doc["rule"]["tags"][1], "credential-access");
  // Without the rule: no rule object, still valid.
  std::string bare;
  formatter.Append(AlertFormat::kKestrel, f.alert, nullptr, &bare);
  EXPECT_FALSE(nlohmann::json::parse(bare).contains("rule"));
}

// --- The ECS document's schema check (issue 22's acceptance) ------------------------------------
// Every leaf the document sets is checked: ECS fields against the types of the ECS catalogue
// Kestrel's schema is generated from (schema/ecs_fields.inc, scripts/gen_ecs_fields.py), and
// `kibana.*` / `kestrel.*` against the table below (Elastic's alert schema for kibana.alert.*).

enum class Json { kString, kInteger, kNumber, kDate, kBool };

struct Expected {
  std::string_view path;
  Json type;
};

constexpr Expected kAlertTable[] = {
    {"kibana.alert.uuid", Json::kString},
    {"kibana.alert.status", Json::kString},
    {"kibana.alert.workflow_status", Json::kString},
    {"kibana.alert.severity", Json::kString},
    {"kibana.alert.risk_score", Json::kNumber},
    {"kibana.alert.reason", Json::kString},
    {"kibana.alert.original_time", Json::kDate},
    {"kibana.alert.depth", Json::kInteger},
    {"kibana.alert.ancestors.id", Json::kString},
    {"kibana.alert.ancestors.type", Json::kString},
    {"kibana.alert.ancestors.index", Json::kString},
    {"kibana.alert.ancestors.depth", Json::kInteger},
    {"kibana.alert.suppression.terms.field", Json::kString},
    {"kibana.alert.suppression.terms.value", Json::kString},
    {"kibana.alert.suppression.start", Json::kDate},
    {"kibana.alert.suppression.end", Json::kDate},
    {"kibana.alert.suppression.docs_count", Json::kInteger},
    {"kibana.alert.rule.rule_id", Json::kString},
    {"kibana.alert.rule.uuid", Json::kString},
    {"kibana.alert.rule.name", Json::kString},
    {"kibana.alert.rule.description", Json::kString},
    {"kibana.alert.rule.severity", Json::kString},
    {"kibana.alert.rule.risk_score", Json::kNumber},
    {"kibana.alert.rule.tags", Json::kString},
    {"kibana.alert.rule.version", Json::kString},
    {"kibana.alert.rule.references", Json::kString},
    {"kibana.alert.rule.false_positives", Json::kString},
    {"kibana.alert.rule.type", Json::kString},
    {"kibana.alert.rule.producer", Json::kString},
    {"kestrel.alert.entity_key", Json::kString},
    {"kestrel.alert.degraded", Json::kInteger},
    {"kestrel.alert.flight_recording", Json::kString},
    {"kestrel.rule.file", Json::kString},
    {"kestrel.suppressed", Json::kInteger},
    {"kestrel.process_tree.event", Json::kInteger},
    {"kestrel.process_tree.sha256", Json::kString},
    {"kestrel.process_tree.container_id", Json::kString},
};
// Process objects inside kestrel.process_tree (process and ancestors).
constexpr Expected kProcessTable[] = {{"command_line", Json::kString},
                                      {"entity_id", Json::kString},
                                      {"executable", Json::kString},
                                      {"name", Json::kString},
                                      {"pid", Json::kInteger}};

bool Matches(const nlohmann::json& v, Json type) {
  switch (type) {
    case Json::kString:
      return v.is_string();
    case Json::kInteger:
      return v.is_number_integer();
    case Json::kNumber:
      return v.is_number();
    case Json::kBool:
      return v.is_boolean();
    case Json::kDate:
      return v.is_string() && base::ParseTimestamp(v.get<std::string>()).has_value();
  }
  return false;
}

bool MatchesEcs(const nlohmann::json& v, schema::FieldType type) {
  switch (type) {
    case schema::FieldType::kKeyword:
      return v.is_string();
    case schema::FieldType::kLong:
    case schema::FieldType::kUnsigned:
      return v.is_number_integer();
    case schema::FieldType::kDouble:
      return v.is_number();
    case schema::FieldType::kBoolean:
      return v.is_boolean();
    case schema::FieldType::kIp:
      return v.is_string() && event::IpAddress::Parse(v.get<std::string>()).has_value();
    case schema::FieldType::kDate:
      return v.is_string() && base::ParseTimestamp(v.get<std::string>()).has_value();
  }
  return false;
}

class SchemaCheck {
 public:
  // Checks the leaves of `doc` (an ECS document, or an evidence event) under `prefix`.
  void Walk(const nlohmann::json& v, const std::string& path) {
    if (path == "kestrel.evidence") {  // nested ECS documents: checked as ECS
      for (const auto& e : v) Walk(e, "");
      return;
    }
    if (path.starts_with("kibana.alert.rule.threat")) {
      Walk(v, path.substr(std::string_view("kibana.alert.rule.").size()));
      return;
    }
    if (path.starts_with("kestrel.process_tree.process") ||
        path.starts_with("kestrel.process_tree.ancestors")) {
      for (const auto& item : v.is_array() ? v : nlohmann::json::array({v})) {
        for (const auto& entry : item.items()) {
          const std::string& k = entry.key();
          const nlohmann::json& x = entry.value();
          ++checked;
          auto it = std::find_if(std::begin(kProcessTable), std::end(kProcessTable),
                                 [&](const Expected& e) { return e.path == k; });
          if (it == std::end(kProcessTable) || !Matches(x, it->type)) {
            errors.push_back(path + "." + k + ": not in the process table or wrong type");
          }
        }
      }
      return;
    }
    if (v.is_object()) {
      for (const auto& [k, x] : v.items()) Walk(x, path.empty() ? k : path + "." + k);
      return;
    }
    if (v.is_array()) {
      for (const auto& x : v) Walk(x, path);
      return;
    }
    Leaf(v, path);
  }

  std::vector<std::string> errors;
  size_t checked = 0;

 private:
  void Leaf(const nlohmann::json& v, const std::string& path) {
    ++checked;
    if (path.starts_with("kibana.") || path.starts_with("kestrel.")) {
      auto it = std::find_if(std::begin(kAlertTable), std::end(kAlertTable),
                             [&](const Expected& e) { return e.path == path; });
      if (it == std::end(kAlertTable)) {
        errors.push_back(path + ": not in the kibana/kestrel table");
      } else if (!Matches(v, it->type)) {
        errors.push_back(path + ": wrong JSON type " + v.dump());
      }
      return;
    }
    for (const schema::CatalogueEntry& e : schema::kEcsCatalogue) {
      if (e.name != path) continue;
      if (!MatchesEcs(v, e.type)) {
        errors.push_back(path + ": " + v.dump() + " is not a " +
                         std::string(schema::FieldTypeName(e.type)));
      }
      return;
    }
    errors.push_back(path + ": not an ECS field (not in the catalogue)");
  }
};

// An alert as a live run makes it: host and agent identity, a process with its parent, user,
// file, destination, the process tree with hash and container, suppression, full rule metadata.
struct RichFixture {
  schema::Schema schema;
  engine::Alert alert;
  rules::RuleSpec rule;
  RichFixture() {
    event::EventBuilder b(schema);
    b.Time(1735732830400000000).Category("process");
    b.Strs("event.category", {"process"}).Strs("event.type", {"start"});
    b.Str("event.action", "exec").Str("event.kind", "event").Str("event.outcome", "success");
    b.Str("host.name", "web-1").Str("host.id", "3f1c2a9e8d7b4c6a").Str("host.hostname", "web-1");
    b.Ip("host.ip", "192.0.2.10").Str("host.os.kernel", "6.1.0").Str("host.os.type", "linux");
    b.Str("agent.id", "a-1").Str("agent.type", "kestrel").Str("agent.version", "0.22.0");
    b.Str("process.name", "bash").Int("process.pid", 3301).Str("process.executable", "/bin/bash");
    b.Str("process.command_line", "bash -i").Str("process.entity_id", "p-3301");
    b.Strs("process.args", {"bash", "-i"});
    b.Str("process.parent.name", "nginx").Int("process.parent.pid", 880);
    b.Str("user.name", "www-data").Str("user.id", "33");
    b.Str("file.path", "/etc/passwd").Ip("destination.ip", "203.0.113.7");
    b.Int("destination.port", 443);
    alert.rule_id = "linux-web-shell";
    alert.rule_name = "Web server spawns a shell";
    alert.severity = engine::Severity::kHigh;
    alert.events.push_back(std::make_shared<const event::Event>(b.Build()));
    engine::FinalizeAlert(schema, &alert);
    alert.message = "nginx spawned bash";
    engine::AlertProcessTree t;
    t.process.name = "bash";
    t.process.pid = 3301;
    engine::AlertProcess nginx;
    nginx.name = "nginx";
    nginx.pid = 880;
    nginx.executable = "/usr/sbin/nginx";
    nginx.command_line = "nginx: worker process";
    t.ancestors = {nginx};
    t.sha256 = std::string(64, 'a');
    t.container_id = std::string(64, 'b');
    alert.process_tree.push_back(t);
    alert.suppressing = true;
    alert.suppressed = 3;
    alert.suppression_start_ns = alert.timestamp_ns;
    alert.suppression_end_ns = alert.timestamp_ns + 1000;
    alert.suppression_terms = {{"host.name", "\"web-1\""}};
    alert.degraded = 2;
    rule.id = alert.rule_id;
    rule.name = alert.rule_name;
    rule.file = "rules/linux/web_shell.eql";
    rule.description = "A web server started a shell.";
    rule.severity = engine::Severity::kHigh;
    rule.risk_score = 73;
    rule.version = "3";
    rule.tags = {"linux"};
    rule.references = {"https://attack.mitre.org/techniques/T1505/003/"};
    rule.false_positives = {"admin scripts"};
    rules::ThreatMapping m;
    m.tactic_id = "TA0003";
    m.tactic_name = "Persistence";
    m.technique_ids = {"T1505", "T1505.003"};
    m.technique_names = {"Server Software Component", "Web Shell"};
    rule.threat.push_back(m);
  }
};

TEST(AlertDocument, EcsDocumentPassesTheSchemaCheck) {
  RichFixture f;
  AlertFormatter formatter(&f.schema);
  std::string out;
  formatter.Append(AlertFormat::kEcs, f.alert, &f.rule, &out);
  auto doc = nlohmann::json::parse(out);
  SchemaCheck check;
  check.Walk(doc, "");
  EXPECT_TRUE(check.errors.empty()) << ::testing::PrintToString(check.errors) << "\n" << out;
  EXPECT_GT(check.checked, 60u);
  // The alerts-as-data shape: the source event's objects at the top level.
  EXPECT_EQ(doc["process"]["name"], "bash");
  EXPECT_EQ(doc["process"]["parent"]["name"], "nginx");  // the event's own parent wins
  EXPECT_EQ(doc["process"]["hash"]["sha256"], std::string(64, 'a'));
  EXPECT_EQ(doc["container"]["id"], std::string(64, 'b'));
  EXPECT_EQ(doc["user"]["name"], "www-data");
  EXPECT_EQ(doc["host"]["id"], "3f1c2a9e8d7b4c6a");
  EXPECT_EQ(doc["agent"]["id"], "a-1");
  EXPECT_EQ(doc["file"]["path"], "/etc/passwd");
  EXPECT_EQ(doc["destination"]["port"], 443);
  EXPECT_EQ(doc["event"]["kind"], "signal");
  EXPECT_EQ(doc["event"]["action"], "exec");
  EXPECT_EQ(doc["message"], "nginx spawned bash");
  EXPECT_EQ(doc["kibana"]["alert"]["reason"], "nginx spawned bash");
  EXPECT_EQ(doc["kibana"]["alert"]["rule"]["version"], "3");
  EXPECT_EQ(doc["kibana"]["alert"]["suppression"]["docs_count"], 3);
  EXPECT_EQ(doc["kibana"]["alert"]["ancestors"][0]["type"], "event");
  EXPECT_EQ(doc["kestrel"]["suppressed"], 3);
  EXPECT_EQ(doc["kestrel"]["process_tree"][0]["ancestors"][0]["command_line"],
            "nginx: worker process");
  EXPECT_EQ(doc["threat"][0]["technique"][0]["subtechnique"][0]["id"], "T1505.003");
  EXPECT_EQ(doc["rule"]["version"], "3");
  EXPECT_EQ(doc["rule"]["reference"], "https://attack.mitre.org/techniques/T1505/003/");
}

TEST(AlertDocument, SchemaCheckCatchesWrongTypesAndUnknownFields) {
  SchemaCheck check;
  check.Walk(nlohmann::json::parse(
                 R"({"process":{"pid":"not a number"},"host":{"ip":"nope"},"no":{"such":1},)"
                 R"("kibana":{"alert":{"depth":"x","made_up":1}}})"),
             "");
  EXPECT_EQ(check.errors.size(), 5u) << ::testing::PrintToString(check.errors);
}

TEST(AlertDocument, ParsesFormatNames) {
  EXPECT_EQ(ParseAlertFormat("ecs"), AlertFormat::kEcs);
  EXPECT_EQ(ParseAlertFormat("kestrel"), AlertFormat::kKestrel);
  EXPECT_FALSE(ParseAlertFormat("xml").has_value());
}

}  // namespace
}  // namespace kestrel::actions
