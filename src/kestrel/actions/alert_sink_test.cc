#include "kestrel/actions/alert_sink.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace kestrel::actions {
namespace {

TEST(JsonLinesSinkTest, AppendsOneLinePerAlert) {
  schema::Schema schema;
  std::string path = ::testing::TempDir() + "alert_sink_test.jsonl";
  std::remove(path.c_str());
  {
    auto sink = JsonLinesSink::Open(&schema, path);
    ASSERT_TRUE(sink.ok()) << sink.status();
    engine::Alert a;
    a.rule_id = "r1";
    a.rule_name = "Rule one";
    a.events.push_back(std::make_shared<const event::Event>(
        event::EventBuilder(schema).Time(5).Str("process.name", "sh").Build()));
    engine::FinalizeAlert(schema, &a);
    ASSERT_TRUE((*sink)->Write(a).ok());
    ASSERT_TRUE((*sink)->Write(a).ok());
    EXPECT_EQ((*sink)->written(), 2u);
  }
  std::ifstream in(path);
  std::string line;
  int lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    EXPECT_EQ(line.rfind("{\"id\":\"", 0), 0u);
    EXPECT_NE(line.find("\"rule_id\":\"r1\""), std::string::npos);
  }
  EXPECT_EQ(lines, 2);
}

TEST(JsonLinesSinkTest, UnwritablePathIsAnError) {
  schema::Schema schema;
  auto sink = JsonLinesSink::Open(&schema, "/nonexistent-dir/alerts.jsonl");
  ASSERT_FALSE(sink.ok());
  EXPECT_NE(sink.status().message().find("/nonexistent-dir/alerts.jsonl"), std::string::npos);
}

}  // namespace
}  // namespace kestrel::actions
