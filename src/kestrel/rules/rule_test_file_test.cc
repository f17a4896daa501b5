// Tests of rule test file parsing (rule_test_file.h): cases, expected alerts, events flattened to
// dotted-key JSON with defaults and generated timestamps, errors with positions, and finding the
// rule file beside a test file.
#include "kestrel/rules/rule_test_file.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace kestrel::rules {
namespace {

std::string Diagnostics(const RuleTestLoad& load) {
  std::string out;
  for (const LoadDiagnostic& d : load.diagnostics) out += FormatLoadDiagnostic(d) + "\n";
  return out;
}

TEST(RuleTestFile, CasesEventsAndExpectedAlerts) {
  RuleTestLoad load = ParseRuleTestText("t.test.yaml",
                                        "rule: foo\n"
                                        "defaults:\n"
                                        "  host.os.type: linux\n"
                                        "  event: {kind: event}\n"
                                        "cases:\n"
                                        "  - name: positive\n"
                                        "    expect: [[0, 1], {rule: bar, events: [1]}]\n"
                                        "    events:\n"
                                        "      - {event.category: process, process: {pid: 7, "
                                        "args: [a, \"b\"]}}\n"
                                        "      - event.category: file\n"
                                        "        host.os.type: windows\n"
                                        "        process.interactive: true\n"
                                        "  - name: negative\n"
                                        "    expect: []\n"
                                        "    events:\n"
                                        "      - {\"@timestamp\": \"2026-01-01T00:00:05Z\", x: "
                                        "\"q\\\"t\"}\n");
  ASSERT_TRUE(load.test) << Diagnostics(load);
  EXPECT_TRUE(load.diagnostics.empty()) << Diagnostics(load);
  const RuleTestFile& t = *load.test;
  EXPECT_EQ(t.rule_id, "foo");
  ASSERT_EQ(t.cases.size(), 2u);
  const RuleTestCase& pos = t.cases[0];
  EXPECT_EQ(pos.name, "positive");
  EXPECT_TRUE(pos.positive());
  EXPECT_EQ(pos.position, (SourcePosition{6, 5}));
  ASSERT_EQ(pos.expected.size(), 2u);
  EXPECT_EQ(pos.expected[0].rule_id, "");
  EXPECT_EQ(pos.expected[0].events, (std::vector<uint64_t>{0, 1}));
  EXPECT_EQ(pos.expected[1].rule_id, "bar");
  EXPECT_EQ(pos.expected[1].events, (std::vector<uint64_t>{1}));
  ASSERT_EQ(pos.events.size(), 2u);
  EXPECT_EQ(pos.events[0],
            R"({"event.category":"process","process.pid":7,"process.args":["a","b"],)"
            R"("host.os.type":"linux","event.kind":"event","@timestamp":1767225600000})");
  // An event's own value wins over the default; time advances 100 ms per event.
  EXPECT_EQ(pos.events[1],
            R"({"event.category":"file","host.os.type":"windows","process.interactive":true,)"
            R"("event.kind":"event","@timestamp":1767225600100})");
  const RuleTestCase& neg = t.cases[1];
  EXPECT_FALSE(neg.positive());
  EXPECT_EQ(neg.events[0],
            R"({"@timestamp":"2026-01-01T00:00:05Z","x":"q\"t","host.os.type":"linux",)"
            R"("event.kind":"event"})");
}

TEST(RuleTestFile, ErrorsCarryPositionsAndStopTheFile) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"cases: []\n", "t.test.yaml:1:8: error: 'cases' must be a non-empty list"},
      {"cases:\n  - name: a\n    expect: [[2]]\n    events: [{a: 1}]\n",
       "t.test.yaml:3:15: error: an event index must be an integer from 0 to 0, found '2'"},
      {"cases:\n  - name: a\n    events: [{a: 1}]\n", "case 'a' needs 'expect'"},
      {"cases:\n  - name: a\n    expect: []\n    events: []\n",
       "case 'a' needs a non-empty 'events' list"},
      {"cases:\n  - name: a\n    expect: []\n    events: [{a: 1}, {\"@timestamp\": 5}]\n",
       "give '@timestamp' on every event or on none"},
      {"cases:\n  - name: a\n    expect: []\n    events: [{a: 1, a: 2}]\n", ""},
      {"cases:\n  - name: a\n    expect: []\n    events: [{a.b: 1, a: {b: 2}}]\n",
       "field 'a.b' given twice"},
      {"cases:\n  - name: a\n    expect: []\n    events: [{a: 1}]\n  - name: a\n    expect: "
       "[]\n    events: [{a: 1}]\n",
       "a second case named 'a'"},
      {"cases:\n  - name: a\n    expekt: []\n    events: [{a: 1}]\n", "unknown case key 'expekt'"},
      {"rules: x\ncases: [{name: a, expect: [], events: [{a: 1}]}]\n", "unknown key 'rules'"},
      {"cases: [{name: a, expect: [[]], events: [{a: 1}]}]\n",
       "an expected alert is a non-empty list"},
      {"cases: [{name: a, expect: [{rule: r}], events: [{a: 1}]}]\n",
       "an expected alert needs 'events'"},
      {"[1, 2]\n", "a rule test file is one map with a 'cases' list"},
      {"cases: [\n", "invalid YAML"},
  };
  for (const Case& c : cases) {
    RuleTestLoad load = ParseRuleTestText("t.test.yaml", c.text);
    std::string d = Diagnostics(load);
    if (std::string_view(c.error).empty()) continue;  // yaml-cpp keeps the last duplicate key
    EXPECT_FALSE(load.test) << c.text;
    EXPECT_NE(d.find(c.error), std::string::npos) << c.text << "\n" << d;
  }
}

TEST(RuleTestFile, EveryPrefixParsesOrFailsCleanly) {
  std::string text =
      "rule: foo\ndefaults: {a: 1}\ncases:\n  - name: p\n    expect: [[0]]\n    events:\n"
      "      - {event.category: process, process: {name: bash, args: [x, y]}}\n";
  for (size_t n = 0; n <= text.size(); ++n) {
    RuleTestLoad load = ParseRuleTestText("t.test.yaml", text.substr(0, n));
    EXPECT_TRUE(load.test.has_value() || !load.diagnostics.empty()) << n;
  }
}

TEST(RuleTestFile, RuleFileBesideTheTestFile) {
  namespace fs = std::filesystem;
  fs::path dir =
      fs::temp_directory_path() / ("kestrel_rule_test_file_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "foo.eql") << "process where true\n";
  std::ofstream(dir / "bar.yaml") << "id: bar\nquery: process where true\n";
  EXPECT_EQ(RuleFileForTest(dir / "foo.test.yaml"), dir / "foo.eql");
  EXPECT_EQ(RuleFileForTest(dir / "bar.TEST.yml"), dir / "bar.yaml");
  EXPECT_EQ(RuleFileForTest(dir / "baz.test.yaml"), std::nullopt);
  EXPECT_EQ(RuleFileForTest(dir / "foo.yaml"), std::nullopt);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace kestrel::rules
