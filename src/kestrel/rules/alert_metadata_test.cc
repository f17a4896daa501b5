// The alert metadata keys of issue 22 — `version`, `message`, `suppress` — in every rule format
// (.eql header, YAML, JSON, TOML with Kestrel's keys or Elastic's [rule.alert_suppression]), and
// their errors with file:line:col.
#include <gtest/gtest.h>

#include <string>

#include "kestrel/rules/rule_file.h"
#include "kestrel/rules/rule_file_test_util.h"

namespace kestrel::rules {
namespace {

constexpr int64_t kMinute = int64_t{60} * 1'000'000'000;

void ExpectAlertKeys(const LoadResult& r) {
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  const RuleSpec& rule = r.rules[0];
  EXPECT_EQ(rule.version, "3");
  EXPECT_EQ(rule.message, "{process.name} spawned a shell from {process.parent.executable}");
  ASSERT_TRUE(rule.suppress.has_value());
  EXPECT_EQ(rule.suppress->by, (std::vector<std::string>{"host.id", "process.executable"}));
  EXPECT_EQ(rule.suppress->for_ns, 5 * kMinute);
  EXPECT_EQ(Diagnostics(r), "");
}

TEST(AlertMetadata, EqlHeader) {
  ExpectAlertKeys(
      LoadRuleText("r.eql", RuleFormat::kEql,
                   "// version: 3\n"
                   "// message: {process.name} spawned a shell from {process.parent.executable}\n"
                   "// suppress: {by: [host.id, process.executable], for: 5m}\n"
                   "process where true\n"));
}

TEST(AlertMetadata, Yaml) {
  ExpectAlertKeys(
      LoadRuleText("r.yaml", RuleFormat::kYaml,
                   "id: r\nversion: 3\n"
                   "message: \"{process.name} spawned a shell from {process.parent.executable}\"\n"
                   "suppress: {by: [host.id, process.executable], for: 5m}\n"
                   "query: process where true\n"));
}

TEST(AlertMetadata, Json) {
  ExpectAlertKeys(
      LoadRuleText("r.json", RuleFormat::kJson,
                   R"({"id":"r","version":3,)"
                   R"("message":"{process.name} spawned a shell from {process.parent.executable}",)"
                   R"("suppress":{"by":["host.id","process.executable"],"for":"5m"},)"
                   R"("query":"process where true"})"));
}

TEST(AlertMetadata, TomlKestrelKeysAndElasticAlertSuppression) {
  ExpectAlertKeys(
      LoadRuleText("r.toml", RuleFormat::kToml,
                   "[rule]\nrule_id = \"r\"\nversion = 3\ntype = \"eql\"\nlanguage = \"eql\"\n"
                   "message = \"{process.name} spawned a shell from {process.parent.executable}\"\n"
                   "query = \"process where true\"\n"
                   "[rule.suppress]\nby = [\"host.id\", \"process.executable\"]\nfor = \"5m\"\n"));
  LoadResult r = LoadRuleText("e.toml", RuleFormat::kToml,
                              "[rule]\nrule_id = \"e\"\ntype = \"eql\"\nlanguage = \"eql\"\n"
                              "query = \"process where true\"\n"
                              "[rule.alert_suppression]\ngroup_by = [\"host.name\"]\n"
                              "[rule.alert_suppression.duration]\nvalue = 30\nunit = \"s\"\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  ASSERT_TRUE(r.rules[0].suppress.has_value());
  EXPECT_EQ(r.rules[0].suppress->by, std::vector<std::string>{"host.name"});
  EXPECT_EQ(r.rules[0].suppress->for_ns, int64_t{30} * 1'000'000'000);
}

TEST(AlertMetadata, SuppressOffAndErrorsWithPositions) {
  LoadResult off = LoadRuleText("o.yaml", RuleFormat::kYaml,
                                "id: o\nsuppress: off\nquery: process where true\n");
  ASSERT_EQ(off.rules.size(), 1u) << Diagnostics(off);
  ASSERT_TRUE(off.rules[0].suppress.has_value());
  EXPECT_EQ(off.rules[0].suppress->for_ns, 0);

  LoadResult no_unit =
      LoadRuleText("u.yaml", RuleFormat::kYaml,
                   "id: u\nsuppress: {by: [a], for: 10}\nquery: process where true\n");
  EXPECT_EQ(no_unit.failed, 1u);
  EXPECT_NE(Diagnostics(no_unit).find("u.yaml:2:"), std::string::npos) << Diagnostics(no_unit);
  EXPECT_NE(Diagnostics(no_unit).find("not a duration with a unit"), std::string::npos);

  LoadResult no_for = LoadRuleText("f.yaml", RuleFormat::kYaml,
                                   "id: f\nsuppress: {by: [a]}\nquery: process where true\n");
  EXPECT_NE(Diagnostics(no_for).find("has no 'for'"), std::string::npos) << Diagnostics(no_for);

  LoadResult bad_message =
      LoadRuleText("m.eql", RuleFormat::kEql, "// message: x {process.name\nprocess where true\n");
  EXPECT_EQ(bad_message.failed, 1u);
  // The column of the unclosed brace in the file.
  EXPECT_NE(Diagnostics(bad_message).find("m.eql:1:15: error: unclosed '{'"), std::string::npos)
      << Diagnostics(bad_message);
}

TEST(AlertMetadata, DurationsNeedAUnit) {
  EXPECT_EQ(ParseRuleDuration("500ms"), 500'000'000);
  EXPECT_EQ(ParseRuleDuration("30s"), int64_t{30} * 1'000'000'000);
  EXPECT_EQ(ParseRuleDuration("2h"), 120 * kMinute);
  EXPECT_EQ(ParseRuleDuration("1d"), 1440 * kMinute);
  EXPECT_FALSE(ParseRuleDuration("10").has_value());
  EXPECT_FALSE(ParseRuleDuration("m").has_value());
  EXPECT_FALSE(ParseRuleDuration("99999999999999d").has_value());
}

}  // namespace
}  // namespace kestrel::rules
