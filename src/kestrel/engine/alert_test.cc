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
      R"({"event_type_id":0,"timestamp_ns":1000,"fields":{"process":{"name":"bash","pid":42}}},)"
      R"({"event_type_id":1,"timestamp_ns":2000,"fields":{"file":{"path":"/etc/passwd"}}}],)"
      R"("context":{"entity_key":"process.entity_id=abc"}})";
  EXPECT_EQ(line, want);
  // And it is valid JSON with exactly the top-level keys of the contract, in order.
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  ASSERT_EQ(parser.parse(line).get(doc), simdjson::SUCCESS);
  std::vector<std::string> keys;
  for (auto field : doc.get_object()) keys.emplace_back(field.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"id", "rule_id", "rule_name", "severity", "title",
                                            "timestamp_ns", "events", "context"}));
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

TEST(AlertTest, SeverityNames) {
  EXPECT_EQ(ParseSeverity("HIGH"), Severity::kHigh);
  EXPECT_EQ(ParseSeverity("critical"), Severity::kCritical);
  EXPECT_FALSE(ParseSeverity("urgent").has_value());
  EXPECT_EQ(SeverityName(Severity::kLow), "low");
}

}  // namespace
}  // namespace kestrel::engine
