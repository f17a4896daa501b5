#include "kestrel/engine/alert.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace kestrel::engine {
namespace {

using event::EventBuilder;
using schema::Schema;

Alert MakeAlert(Schema& schema) {
  Alert a;
  a.rule_id = "linux-shell-reads-passwd";
  a.rule_name = "Shell reads /etc/passwd";
  a.severity = Severity::kHigh;
  a.entity_key = "process.entity_id=abc";
  a.events.push_back(std::make_shared<const event::Event>(EventBuilder(schema)
                                                              .Time(1'000)
                                                              .Category("process")
                                                              .Str("process.name", "bash")
                                                              .Int("process.pid", 42)
                                                              .Build()));
  a.events.push_back(std::make_shared<const event::Event>(
      EventBuilder(schema).Time(2'000).Category("file").Str("file.path", "/etc/passwd").Build()));
  return a;
}

TEST(AlertTest, JsonLineHasTheDocumentedShape) {
  Schema schema;
  Alert a = MakeAlert(schema);
  FinalizeAlert(schema, &a);
  std::string line;
  AppendAlertJson(schema, a, &line);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  std::string want =
      R"({"id":")" + a.id +
      R"(","rule_id":"linux-shell-reads-passwd","rule_name":"Shell reads /etc/passwd",)"
      R"("severity":"high","title":"Shell reads /etc/passwd","timestamp_ns":2000,"events":[)"
      R"({"event_type_id":0,"timestamp_ns":1000,"fields":{"process":{"name":"bash","pid":42}},)"
      R"("@timestamp":"1970-01-01T00:00:00.000001000Z"},)"
      R"({"event_type_id":1,"timestamp_ns":2000,"fields":{"file":{"path":"/etc/passwd"}},)"
      R"("@timestamp":"1970-01-01T00:00:00.000002000Z"}],)"
      R"("context":{"entity_key":"process.entity_id=abc"},)"
      R"("@timestamp":"1970-01-01T00:00:00.000002000Z"})";
  EXPECT_EQ(line, want);
  // And it is valid JSON with exactly the top-level keys of the contract, in order.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS);
  std::vector<std::string> keys;
  for (auto field : doc.get_object()) keys.emplace_back(field.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "rule_id", "rule_name", "severity", "title",
                                            "timestamp_ns", "events", "context", "@timestamp"}));
}

TEST(AlertTest, MessageProcessTreeAndSuppressionFollowTheContractKeys) {
  Schema schema;
  Alert a = MakeAlert(schema);
  FinalizeAlert(schema, &a);
  std::string id = a.id;
  a.message = "bash read /etc/passwd";
  AlertProcessTree t;
  t.event = 0;
  t.process.name = "bash";
  t.process.pid = 42;
  AlertProcess parent;
  parent.name = "sshd";
  parent.executable = "/usr/sbin/sshd";
  parent.pid = 7;
  parent.command_line = "sshd: alice";
  t.ancestors.push_back(parent);
  a.process_tree.push_back(t);
  a.suppressing = true;
  a.suppressed = 599;
  a.suppression_start_ns = 1'000;
  a.suppression_end_ns = 60'000'000'000;
  a.suppression_terms = {{"process.name", "\"bash\""}};
  FinalizeAlert(schema, &a);
  EXPECT_EQ(a.id, id);  // none of it is part of the id
  std::string line;
  AppendAlertJson(schema, a, &line);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS) << line;
  EXPECT_EQ(std::string_view(doc["message"]), "bash read /etc/passwd");
  EXPECT_EQ(std::string_view(doc["process_tree"].at(0)["ancestors"].at(0)["name"]), "sshd");
  EXPECT_EQ(int64_t(doc["process_tree"].at(0)["ancestors"].at(0)["pid"]), 7);
  EXPECT_EQ(uint64_t(doc["kestrel"]["suppressed"]), 599u);
  EXPECT_EQ(std::string_view(doc["kestrel"]["suppression"]["end"]),
            "1970-01-01T00:01:00.000000000Z");
  EXPECT_EQ(std::string_view(doc["kestrel"]["suppression"]["terms"].at(0)["value"]), "bash");
}

TEST(AlertTest, IdIsDeterministicAndDependsOnEvidence) {
  Schema schema;
  Alert a = MakeAlert(schema), b = MakeAlert(schema);
  FinalizeAlert(schema, &a);
  FinalizeAlert(schema, &b);
  EXPECT_EQ(a.id.size(), 32u);
  EXPECT_EQ(a.id, b.id);
  Alert c = MakeAlert(schema);
  c.events[1] = std::make_shared<const event::Event>(
      EventBuilder(schema).Time(2'000).Str("file.path", "/etc/shadow").Build());
  FinalizeAlert(schema, &c);
  EXPECT_NE(a.id, c.id);
  Alert d = MakeAlert(schema);
  d.rule_id = "other";
  FinalizeAlert(schema, &d);
  EXPECT_NE(a.id, d.id);
}

TEST(LossLedgerTest, AlertsOverlappingLostEventsAreDegraded) {
  Schema schema;
  LossLedger ledger;
  Alert a = MakeAlert(schema);  // events at 1000 and 2000
  FinalizeAlert(schema, &a);
  std::string id = a.id;
  ledger.Mark(&a);
  EXPECT_EQ(a.degraded, 0u);
  ledger.Record(2'500, 3'000, 7);  // after the window
  ledger.Mark(&a);
  EXPECT_EQ(a.degraded, 0u);
  ledger.Record(1'500, 1'600, 3);  // inside
  ledger.Record(500, 1'000, 2);    // touches the first event
  ledger.Mark(&a);
  EXPECT_EQ(a.degraded, 5u);
  EXPECT_EQ(ledger.total(), 12u);
  std::string line;
  AppendAlertJson(schema, a, &line);
  EXPECT_NE(line.find(R"("context":{"entity_key":"process.entity_id=abc","degraded":5},)"),
            std::string::npos)
      << line;
  FinalizeAlert(schema, &a);
  EXPECT_EQ(a.id, id);  // the loss does not change the detection's id
}

TEST(AlertTest, BlockingVerdictIsWrittenAsEventActionAndOutcome) {
  Schema schema;
  Alert a = MakeAlert(schema);
  FinalizeAlert(schema, &a);
  std::string id = a.id, plain;
  AppendAlertJson(schema, a, &plain);
  EXPECT_EQ(plain.find("\"event\":{"), std::string::npos) << plain;
  a.action = "deny";
  a.outcome = "success";
  std::string line;
  AppendAlertJson(schema, a, &line);
  EXPECT_NE(line.find(R"(},"event":{"action":"deny","outcome":"success"},"@timestamp":)"),
            std::string::npos)
      << line;
  FinalizeAlert(schema, &a);
  EXPECT_EQ(a.id, id);  // the verdict is not part of the id
}

TEST(LossLedgerTest, BoundedByMergingTheOldestSpans) {
  LossLedger ledger(3);
  ledger.Record(10, 20, 1);
  ledger.Record(30, 40, 1);
  ledger.Record(50, 60, 1);
  ledger.Record(70, 80, 1);            // merges [10,20] and [30,40] into [10,40]
  EXPECT_EQ(ledger.Lost(25, 26), 2u);  // coarser: the merged span covers the gap
  EXPECT_EQ(ledger.Lost(0, 100), 4u);
  EXPECT_EQ(ledger.Lost(61, 69), 0u);
  EXPECT_EQ(ledger.total(), 4u);
}

TEST(AlertTest, SeverityNames) {
  EXPECT_EQ(ParseSeverity("HIGH"), Severity::kHigh);
  EXPECT_EQ(ParseSeverity("critical"), Severity::kCritical);
  EXPECT_FALSE(ParseSeverity("urgent").has_value());
  EXPECT_EQ(SeverityName(Severity::kLow), "low");
}

}  // namespace
}  // namespace kestrel::engine
