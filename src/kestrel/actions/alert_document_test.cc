// Tests both alert formats: the ECS document's fields (parsed back as JSON), threat.* from the
// rule's ATT&CK metadata, nested evidence, determinism; and the Kestrel shape unchanged.
#include "kestrel/actions/alert_document.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kestrel/event/event.h"

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

TEST(AlertDocument, KestrelFormatIsTheAlertLine) {
  Fixture f;
  AlertFormatter formatter(&f.schema);
  std::string out, expected;
  formatter.Append(AlertFormat::kKestrel, f.alert, &f.rule, &out);
  engine::AppendAlertJson(f.schema, f.alert, &expected);
  EXPECT_EQ(out, expected);
}

TEST(AlertDocument, ParsesFormatNames) {
  EXPECT_EQ(ParseAlertFormat("ecs"), AlertFormat::kEcs);
  EXPECT_EQ(ParseAlertFormat("kestrel"), AlertFormat::kKestrel);
  EXPECT_FALSE(ParseAlertFormat("xml").has_value());
}

}  // namespace
}  // namespace kestrel::actions
