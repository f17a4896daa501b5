// Tests of the rule file formats (rule_file.h and the readers), query position mapping and the
// diagnostics. Loading of paths and directories is in loader_test.cc.
#include "kestrel/rules/rule_file.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iterator>
#include <string>

#include <fmt/format.h>

#include "kestrel/rules/document.h"
#include "kestrel/rules/rule_file_test_util.h"
#include "kestrel/rules/source_text.h"

namespace kestrel::rules {
namespace {

using engine::Severity;
using Kind = LoadDiagnostic::Kind;

// Position of the first occurrence of `needle` in the rule's query.
SourcePosition PositionOfText(const RuleSpec& rule, std::string_view needle) {
  size_t offset = rule.query.find(needle);
  EXPECT_NE(offset, std::string::npos) << needle;
  return rule.PositionOf(offset);
}

SourcePosition Pos(uint32_t line, uint32_t column) { return {line, column}; }

std::string Testdata(std::string_view name) {
  return std::string(KESTREL_SOURCE_DIR) + "/src/kestrel/rules/testdata/" + std::string(name);
}

// ---- .eql -------------------------------------------------------------------------------------

TEST(EqlFormat, HeaderCommentsGiveMetadataAndFreeCommentsTheDescription) {
  LoadResult r = LoadRuleText("rules/shell_reads_passwd.eql", RuleFormat::kEql,
                              "// name: Shell reads passwd\n"
                              "// severity: medium\n"
                              "// The account list read by a shell:\n"
                              "// typical of discovery.\n"
                              "\n"
                              "sequence by process.entity_id\n"
                              "  [process where true]\n"
                              "  [file where file.path == \"/etc/passwd\"]\n\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  const RuleSpec& rule = r.rules[0];
  EXPECT_EQ(rule.id, "shell_reads_passwd");
  EXPECT_EQ(rule.name, "Shell reads passwd");
  EXPECT_EQ(rule.description, "The account list read by a shell: typical of discovery.");
  EXPECT_EQ(rule.severity, Severity::kMedium);
  EXPECT_EQ(rule.risk_score, 47);
  EXPECT_EQ(rule.format, RuleFormat::kEql);
  EXPECT_EQ(rule.language, "eql");
  EXPECT_EQ(rule.action, RuleAction::kAlert);
  EXPECT_EQ(rule.dialect, RuleDialect::kElasticsearch);
  EXPECT_EQ(rule.query,
            "sequence by process.entity_id\n  [process where true]\n"
            "  [file where file.path == \"/etc/passwd\"]");
  EXPECT_EQ(rule.query_start, Pos(6, 1));
  EXPECT_EQ(PositionOfText(rule, "[file"), Pos(8, 3));
  EXPECT_EQ(PositionOfText(rule, "\"/etc"), Pos(8, 28));
  EXPECT_TRUE(r.diagnostics.empty()) << Diagnostics(r);
}

TEST(EqlFormat, EveryHeaderKey) {
  LoadResult r = LoadRuleText("x.eql", RuleFormat::kEql,
                              "// id: kestrel-0001\n"
                              "// name: Kill miners\n"
                              "// description: Stops coin miners\n"
                              "// severity: critical\n"
                              "// risk_score: 90\n"
                              "// tags: miner, OS: Linux ,\n"
                              "// action: kill\n"
                              "// dialect: endgame\n"
                              "// tactic: TA0040 Impact\n"
                              "// technique: T1496, T1059.004\n"
                              "  process where process.name == \"xmrig\"\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  const RuleSpec& rule = r.rules[0];
  EXPECT_EQ(rule.id, "kestrel-0001");
  EXPECT_EQ(rule.position, Pos(1, 8));
  EXPECT_EQ(rule.name, "Kill miners");
  EXPECT_EQ(rule.description, "Stops coin miners");
  EXPECT_EQ(rule.severity, Severity::kCritical);
  EXPECT_EQ(rule.risk_score, 90);
  EXPECT_EQ(rule.tags, (std::vector<std::string>{"miner", "OS: Linux"}));
  EXPECT_EQ(rule.action, RuleAction::kKill);
  EXPECT_EQ(rule.dialect, RuleDialect::kEndgame);
  ASSERT_EQ(rule.threat.size(), 1u);
  EXPECT_EQ(rule.threat[0].framework, "MITRE ATT&CK");
  EXPECT_EQ(rule.threat[0].tactic_id, "TA0040");
  EXPECT_EQ(rule.threat[0].tactic_name, "Impact");
  EXPECT_EQ(rule.threat[0].technique_ids, (std::vector<std::string>{"T1496", "T1059.004"}));
  EXPECT_EQ(rule.threat[0].technique_names.size(), 2u);
  EXPECT_EQ(rule.query, "process where process.name == \"xmrig\"");
  EXPECT_EQ(rule.query_start, Pos(11, 3));
}

TEST(EqlFormat, ReferencesFalsePositivesAndNamedTechniques) {
  LoadResult r = LoadRuleText("x.eql", RuleFormat::kEql,
                              "// references: https://a.example/1, https://b.example/2\n"
                              "// false_positives: Admins testing, say, a restore script.\n"
                              "// tactic: TA0002 Execution\n"
                              "// technique: T1059 Command and Scripting Interpreter, T1059.004\n"
                              "process where true\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  const RuleSpec& rule = r.rules[0];
  EXPECT_EQ(rule.references,
            (std::vector<std::string>{"https://a.example/1", "https://b.example/2"}));
  // A note is prose: its commas do not split it.
  EXPECT_EQ(rule.false_positives,
            (std::vector<std::string>{"Admins testing, say, a restore script."}));
  ASSERT_EQ(rule.threat.size(), 1u);
  EXPECT_EQ(rule.threat[0].technique_ids, (std::vector<std::string>{"T1059", "T1059.004"}));
  EXPECT_EQ(rule.threat[0].technique_names,
            (std::vector<std::string>{"Command and Scripting Interpreter", ""}));
  EXPECT_TRUE(r.diagnostics.empty()) << Diagnostics(r);
}

TEST(EqlFormat, RuleWithoutReferencesOrNotesHasEmptyLists) {
  LoadResult r = LoadRuleText("x.eql", RuleFormat::kEql, "process where true\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_TRUE(r.rules[0].references.empty());
  EXPECT_TRUE(r.rules[0].false_positives.empty());
}

TEST(EqlFormat, CommentsOnlyIsAnErrorAtTheEnd) {
  LoadResult r = LoadRuleText("empty.eql", RuleFormat::kEql, "// name: nothing\n// here\n");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(Diagnostics(r), "empty.eql:3:1: error: the file holds no query, only comments");
}

TEST(EqlFormat, UnknownSeverityPointsAtTheValue) {
  LoadResult r =
      LoadRuleText("bad.eql", RuleFormat::kEql, "// severity:   severe\nprocess where true\n");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(Diagnostics(r),
            "bad.eql:1:16: error: unknown severity 'severe' (expected low, medium, high or "
            "critical)");
}

TEST(EqlFormat, RiskScoreDefaultsFollowTheSeverity) {
  for (auto [name, score] : std::vector<std::pair<std::string, int>>{
           {"low", 21}, {"medium", 47}, {"HIGH", 73}, {"critical", 99}}) {
    LoadResult r =
        LoadRuleText("s.eql", RuleFormat::kEql, "// severity: " + name + "\nprocess where true\n");
    ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
    EXPECT_EQ(r.rules[0].risk_score, score) << name;
  }
}

// ---- YAML -------------------------------------------------------------------------------------

constexpr std::string_view kYamlRule = R"(id: web-shell
name: Web server spawns a shell
severity: high
tags: [linux, web]
threat:
  - tactic: {id: TA0003, name: Persistence}
    techniques:
      - T1505
      - {id: T1505.003, name: Web Shell}
query: |
  process where process.name == "bash" and
      process.parent.name == "nginx"

  // trailing comment
)";

TEST(YamlFormat, BlockScalarQueryPositionsPointIntoTheBlockLines) {
  LoadResult r = LoadRuleText("r.yaml", RuleFormat::kYaml, kYamlRule);
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  const RuleSpec& rule = r.rules[0];
  EXPECT_EQ(rule.format, RuleFormat::kYaml);
  EXPECT_EQ(rule.id, "web-shell");
  EXPECT_EQ(rule.position, Pos(1, 5));
  EXPECT_EQ(rule.severity, Severity::kHigh);
  EXPECT_EQ(rule.risk_score, 73);
  EXPECT_EQ(rule.tags, (std::vector<std::string>{"linux", "web"}));
  ASSERT_EQ(rule.threat.size(), 1u);
  EXPECT_EQ(rule.threat[0].tactic_id, "TA0003");
  EXPECT_EQ(rule.threat[0].tactic_name, "Persistence");
  EXPECT_EQ(rule.threat[0].technique_ids, (std::vector<std::string>{"T1505", "T1505.003"}));
  EXPECT_EQ(rule.threat[0].technique_names, (std::vector<std::string>{"", "Web Shell"}));
  EXPECT_EQ(rule.query,
            "process where process.name == \"bash\" and\n    process.parent.name == \"nginx\"\n\n"
            "// trailing comment\n");
  EXPECT_EQ(rule.query_start, Pos(11, 3));
  EXPECT_EQ(PositionOfText(rule, "\"bash\""), Pos(11, 33));
  EXPECT_EQ(PositionOfText(rule, "    process.parent"), Pos(12, 3));
  EXPECT_EQ(PositionOfText(rule, "process.parent"), Pos(12, 7));
  EXPECT_EQ(PositionOfText(rule, "\"nginx\""), Pos(12, 30));
  EXPECT_EQ(PositionOfText(rule, "// trailing"), Pos(14, 3));
  EXPECT_EQ(rule.PositionOf(rule.query.size()), Pos(15, 1));
  EXPECT_TRUE(r.diagnostics.empty()) << Diagnostics(r);
}

TEST(YamlFormat, FoldedAndQuotedQueriesAreAligned) {
  LoadResult r = LoadRuleText("r.yml", RuleFormat::kYaml,
                              "rules:\n"
                              "  - id: folded\n"
                              "    query: >-\n"
                              "      process where\n"
                              "        process.name == \"a\"\n"
                              "  - id: quoted\n"
                              "    query: \"process where \\\"x\\\" == process.name\"\n"
                              "  - id: plain\n"
                              "    query: process where true\n");
  ASSERT_EQ(r.rules.size(), 3u) << Diagnostics(r);
  const RuleSpec& folded = r.rules[0];
  EXPECT_EQ(folded.query, "process where\n  process.name == \"a\"");
  EXPECT_EQ(folded.query_start, Pos(4, 7));
  EXPECT_EQ(PositionOfText(folded, "process.name"), Pos(5, 9));
  EXPECT_EQ(PositionOfText(folded, "\"a\""), Pos(5, 25));
  const RuleSpec& quoted = r.rules[1];
  EXPECT_EQ(quoted.query, "process where \"x\" == process.name");
  EXPECT_EQ(quoted.query_start, Pos(7, 13));
  EXPECT_EQ(PositionOfText(quoted, "\"x\""), Pos(7, 27));
  EXPECT_EQ(PositionOfText(quoted, "=="), Pos(7, 33));
  EXPECT_EQ(r.rules[2].query_start, Pos(9, 12));
}

TEST(YamlFormat, MissingQueryAndIdAreErrorsUnknownKeysWarnings) {
  LoadResult r = LoadRuleText("r.yaml", RuleFormat::kYaml,
                              "rules:\n"
                              "  - id: no-query\n"
                              "    colour: red\n"
                              "  - name: no id\n"
                              "    query: process where true\n"
                              "  - id: fine\n"
                              "    query: process where true\n"
                              "extra: 1\n");
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_EQ(r.rules[0].id, "fine");
  EXPECT_EQ(r.failed, 2u);
  EXPECT_EQ(Diagnostics(r),
            "r.yaml:8:1: warning: unknown top-level key 'extra' is ignored\n"
            "r.yaml:3:5: warning: unknown key 'colour' is ignored\n"
            "r.yaml:2:5: error: rule 'no-query' has no 'query'\n"
            "r.yaml:4:5: error: rule has no 'id'");
}

TEST(YamlFormat, ReferencesAndFalsePositivesAsListsOrStrings) {
  LoadResult r = LoadRuleText("x.yaml", RuleFormat::kYaml,
                              "rules:\n"
                              "  - id: a\n"
                              "    references: [https://a.example/1, https://b.example/2]\n"
                              "    false_positives:\n"
                              "      - Backup agents, nightly.\n"
                              "      - Package managers.\n"
                              "    query: process where true\n"
                              "  - id: b\n"
                              "    references: https://c.example/3\n"
                              "    false_positives: One note, with a comma.\n"
                              "    query: process where true\n"
                              "  - id: c\n"
                              "    references: 7\n"
                              "    false_positives: {a: 1}\n"
                              "    query: process where true\n");
  ASSERT_EQ(r.rules.size(), 2u) << Diagnostics(r);
  EXPECT_EQ(r.rules[0].references,
            (std::vector<std::string>{"https://a.example/1", "https://b.example/2"}));
  EXPECT_EQ(r.rules[0].false_positives,
            (std::vector<std::string>{"Backup agents, nightly.", "Package managers."}));
  EXPECT_EQ(r.rules[1].references, (std::vector<std::string>{"https://c.example/3"}));
  EXPECT_EQ(r.rules[1].false_positives, (std::vector<std::string>{"One note, with a comma."}));
  // Rule c: references as a number is read by its spelling; a map is an error.
  EXPECT_EQ(r.failed, 1u);
  EXPECT_NE(Diagnostics(r).find("x.yaml:14:22: error: 'false_positives' must be a list of strings"),
            std::string::npos)
      << Diagnostics(r);
  EXPECT_EQ(Diagnostics(r).find("unknown key"), std::string::npos) << Diagnostics(r);
}

TEST(YamlFormat, SyntaxErrorHasLineAndColumn) {
  LoadResult r = LoadRuleText("bad.yaml", RuleFormat::kYaml, "id: x\ntags: [a, b\nquery: q\n");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.failed, 1u);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].kind, Kind::kError);
  EXPECT_GT(r.diagnostics[0].pos.line, 0u);
  EXPECT_EQ(FormatLoadDiagnostic(r.diagnostics[0]).rfind("bad.yaml:", 0), 0u);
  EXPECT_NE(r.diagnostics[0].message.find("invalid YAML"), std::string::npos);
}

TEST(YamlFormat, NonEqlLanguageIsSkippedNotFailed) {
  LoadResult r = LoadRuleText("k.yaml", RuleFormat::kYaml,
                              "id: kql\nlanguage: kuery\nquery: 'process.name: bash'\n");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_EQ(Diagnostics(r),
            "k.yaml:1:5: skipped: rule 'kql' is written in 'kuery', not EQL; not loaded");
}

TEST(YamlFormat, BadValuesAreAllReported) {
  LoadResult r = LoadRuleText("v.yaml", RuleFormat::kYaml,
                              "id: v\nseverity: dire\nrisk_score: 101\naction: nuke\n"
                              "dialect: splunk\ntags: {a: 1}\nquery: [1]\n");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(Diagnostics(r),
            "v.yaml:2:11: error: unknown severity 'dire' (expected low, medium, high or critical)\n"
            "v.yaml:3:13: error: 'risk_score' must be an integer from 0 to 100, found '101'\n"
            "v.yaml:6:7: error: 'tags' must be a list of strings, found a map\n"
            "v.yaml:4:9: error: unknown action 'nuke' (expected alert, block or kill)\n"
            "v.yaml:5:10: error: unknown dialect 'splunk' (expected elasticsearch or endgame)\n"
            "v.yaml:7:8: error: 'query' must be a string, found a list");
}

TEST(YamlFormat, AliasExpansionIsBudgeted) {
  std::string bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'h'; ++c) {
    bomb += fmt::format("{}: &{} [*{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}, *{}]\n", c, c, prev,
                        prev, prev, prev, prev, prev, prev, prev, prev, prev);
    prev = c;
  }
  LoadResult r = LoadRuleText("bomb.yaml", RuleFormat::kYaml, bomb);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_NE(Diagnostics(r).find("more than"), std::string::npos) << Diagnostics(r);
}

TEST(YamlFormat, EmptyFileHoldsNoRules) {
  LoadResult r = LoadRuleText("e.yaml", RuleFormat::kYaml, "# nothing\n");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.failed, 0u);
  EXPECT_EQ(Diagnostics(r), "e.yaml: warning: the file holds no rules");
}

// ---- JSON -------------------------------------------------------------------------------------

TEST(JsonFormat, SingleRuleWithEscapesKeepsExactPositions) {
  LoadResult r =
      LoadRuleText("r.json", RuleFormat::kJson,
                   "{\n"
                   "  \"id\": \"j1\",\n"
                   "  \"severity\": \"low\",\n"
                   "  \"risk_score\": 5,\n"
                   "  \"threat\": [{\"framework\": \"MITRE ATT&CK\", \"tactic\": \"TA0002\",\n"
                   "              \"techniques\": [\"T1059\"]}],\n"
                   "  \"query\": \"process where\\n  process.name == \\\"sh\\\" and true\"\n"
                   "}\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  const RuleSpec& rule = r.rules[0];
  EXPECT_EQ(rule.format, RuleFormat::kJson);
  EXPECT_EQ(rule.position, Pos(2, 9));
  EXPECT_EQ(rule.name, "j1");
  EXPECT_EQ(rule.severity, Severity::kLow);
  EXPECT_EQ(rule.risk_score, 5);
  ASSERT_EQ(rule.threat.size(), 1u);
  EXPECT_EQ(rule.threat[0].tactic_id, "TA0002");
  EXPECT_EQ(rule.threat[0].technique_ids, std::vector<std::string>{"T1059"});
  EXPECT_EQ(rule.query, "process where\n  process.name == \"sh\" and true");
  EXPECT_EQ(rule.query_start, Pos(7, 13));
  EXPECT_EQ(PositionOfText(rule, "\n"), Pos(7, 26));
  EXPECT_EQ(PositionOfText(rule, "  process.name"), Pos(7, 28));
  EXPECT_EQ(PositionOfText(rule, "\"sh\""), Pos(7, 46));
  EXPECT_EQ(PositionOfText(rule, "and"), Pos(7, 53));
}

TEST(JsonFormat, RulesListWithErrorsAndWarnings) {
  LoadResult r = LoadRuleText("l.json", RuleFormat::kJson,
                              R"({"rules": [
  {"id": "a", "query": "process where true", "colour": 1},
  {"query": "process where true"},
  {"id": "c", "query": "process where true", "severity": 3}
]})");
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_EQ(r.rules[0].id, "a");
  EXPECT_EQ(r.rules[0].query_start, Pos(2, 25));
  EXPECT_EQ(r.failed, 2u);
  EXPECT_EQ(Diagnostics(r),
            "l.json:2:46: warning: unknown key 'colour' is ignored\n"
            "l.json:3:3: error: rule has no 'id'\n"
            "l.json:4:58: error: unknown severity '3' (expected low, medium, high or critical)");
}

TEST(JsonFormat, ReferencesAndFalsePositives) {
  LoadResult r = LoadRuleText("x.json", RuleFormat::kJson,
                              R"({"id": "j", "references": ["https://a.example/1"],
                                  "false_positives": ["Admins."], "query": "process where true"})");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_EQ(r.rules[0].references, (std::vector<std::string>{"https://a.example/1"}));
  EXPECT_EQ(r.rules[0].false_positives, (std::vector<std::string>{"Admins."}));
  EXPECT_TRUE(r.diagnostics.empty()) << Diagnostics(r);
}

TEST(JsonFormat, SyntaxErrorHasLineAndColumn) {
  LoadResult r =
      LoadRuleText("bad.json", RuleFormat::kJson, "{\n  \"id\": \"x\",\n  \"query\" 1\n}");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.failed, 1u);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].pos, Pos(3, 11));
  EXPECT_EQ(FormatLoadDiagnostic(r.diagnostics[0]).rfind("bad.json:3:11: error: invalid JSON: ", 0),
            0u)
      << FormatLoadDiagnostic(r.diagnostics[0]);
}

TEST(JsonFormat, DeepNestingIsAnErrorNotACrash) {
  std::string deep = "{\"id\": \"d\", \"query\": \"q\", \"x\": " + std::string(5000, '[') +
                     std::string(5000, ']') + "}";
  LoadResult r = LoadRuleText("deep.json", RuleFormat::kJson, deep);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_NE(Diagnostics(r).find("nested deeper than 64 levels"), std::string::npos);
}

TEST(JsonFormat, TopLevelScalarIsAnError) {
  LoadResult r = LoadRuleText("s.json", RuleFormat::kJson, "  42");
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(Diagnostics(r),
            "s.json:1:3: error: expected a rule map or a 'rules' list, found a integer");
}

// ---- TOML (Elastic detection-rules) ----------------------------------------------------------

TEST(TomlFormat, ElasticRuleLoadsWithMetadataAndThreat) {
  std::string path = Testdata("elastic/linux/execution_shell_spawned_by_web_server.toml");
  LoadResult r = LoadRuleFile(path);
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_TRUE(r.diagnostics.empty()) << Diagnostics(r);
  const RuleSpec& rule = r.rules[0];
  EXPECT_EQ(rule.file, path);
  EXPECT_EQ(rule.format, RuleFormat::kToml);
  EXPECT_EQ(rule.id, "4b1f3c2e-7d55-4a8e-9a0e-3f2d1c6b5a90");
  EXPECT_EQ(rule.position, Pos(20, 11));
  EXPECT_EQ(rule.name, "Shell Spawned by a Web Server Process");
  EXPECT_EQ(rule.description.rfind("Flags a command interpreter", 0), 0u);
  EXPECT_EQ(rule.severity, Severity::kHigh);
  EXPECT_EQ(rule.risk_score, 73);
  EXPECT_EQ(rule.tags.size(), 4u);
  EXPECT_EQ(rule.tags[1], "OS: Linux");
  ASSERT_EQ(rule.threat.size(), 2u);
  EXPECT_EQ(rule.threat[0].framework, "MITRE ATT&CK");
  EXPECT_EQ(rule.threat[0].tactic_id, "TA0003");
  EXPECT_EQ(rule.threat[0].tactic_name, "Persistence");
  EXPECT_EQ(rule.threat[0].technique_ids, (std::vector<std::string>{"T1505", "T1505.003"}));
  EXPECT_EQ(rule.threat[0].technique_names,
            (std::vector<std::string>{"Server Software Component", "Web Shell"}));
  EXPECT_EQ(rule.threat[1].tactic_id, "TA0002");
  EXPECT_EQ(rule.threat[1].technique_ids, (std::vector<std::string>{"T1059", "T1059.004"}));
  // TOML drops the newline after the opening ''' and keeps the one before the closing '''.
  EXPECT_EQ(rule.query.rfind("process where host.os.type == \"linux\" and", 0), 0u);
  EXPECT_EQ(rule.query.back(), '\n');
  EXPECT_EQ(rule.query_start, Pos(27, 1));
  EXPECT_EQ(PositionOfText(rule, "process.parent.name"), Pos(28, 3));
  EXPECT_EQ(PositionOfText(rule, "\"php-fpm\""), Pos(28, 56));
  EXPECT_EQ(PositionOfText(rule, "\"/usr/lib/*\""), Pos(30, 22));
}

TEST(TomlFormat, ElasticReferencesAndFalsePositivesAreRead) {
  LoadResult r = LoadRuleText("x.toml", RuleFormat::kToml,
                              "[rule]\n"
                              "rule_id = \"r1\"\n"
                              "false_positives = [\"Admins, at times.\", \"CI jobs.\"]\n"
                              "references = [\"https://a.example/1\"]\n"
                              "type = \"eql\"\n"
                              "language = \"eql\"\n"
                              "query = 'process where true'\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_EQ(r.rules[0].references, (std::vector<std::string>{"https://a.example/1"}));
  EXPECT_EQ(r.rules[0].false_positives,
            (std::vector<std::string>{"Admins, at times.", "CI jobs."}));
  // The Elastic fixture's references array is read too.
  LoadResult fixture =
      LoadRuleFile(Testdata("elastic/linux/execution_shell_spawned_by_web_server.toml"));
  ASSERT_EQ(fixture.rules.size(), 1u) << Diagnostics(fixture);
  EXPECT_EQ(fixture.rules[0].references,
            (std::vector<std::string>{"https://attack.mitre.org/techniques/T1505/003/"}));
}

TEST(TomlFormat, SequenceRuleFixtureLoads) {
  LoadResult r = LoadRuleFile(Testdata("elastic/linux/discovery_passwd_read_then_count.toml"));
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  const RuleSpec& rule = r.rules[0];
  EXPECT_EQ(rule.severity, Severity::kLow);
  EXPECT_EQ(rule.risk_score, 21);
  EXPECT_EQ(rule.query_start, Pos(22, 1));
  EXPECT_EQ(PositionOfText(rule, "[file where"), Pos(24, 3));
}

TEST(TomlFormat, KqlRuleIsSkippedWithAReason) {
  LoadResult r = LoadRuleFile(Testdata("elastic/linux/command_and_control_curl_user_agent.toml"));
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(r.failed, 0u);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].kind, Kind::kSkipped);
  EXPECT_EQ(r.diagnostics[0].pos, Pos(19, 8));
  EXPECT_EQ(r.diagnostics[0].message,
            "rule 'e7a2b5c1-0f3d-4c68-b9a4-5d1e8f2c7b36' is a 'query' rule (language 'kuery'), not "
            "EQL; not loaded");
}

TEST(TomlFormat, OtherSkippedKinds) {
  struct Case {
    std::string text;
    std::string message;
  } cases[] = {
      {"[rule]\nrule_id = \"m\"\ntype = \"machine_learning\"\nanomaly_threshold = 50\n",
       "t.toml:3:8: skipped: rule 'm' is a 'machine_learning' rule, not EQL; not loaded"},
      {"[rule]\nrule_id = \"e\"\ntype = \"esql\"\nlanguage = \"esql\"\nquery = \"from x\"\n",
       "t.toml:3:8: skipped: rule 'e' is a 'esql' rule (language 'esql'), not EQL; not loaded"},
      {"[rule]\nrule_id = \"l\"\nlanguage = \"lucene\"\nquery = \"a:b\"\n",
       "t.toml:2:11: skipped: rule 'l' is written in 'lucene', not EQL; not loaded"},
      {"[metadata]\nmaturity = \"deprecated\"\n[rule]\nrule_id = \"d\"\ntype = \"eql\"\n",
       "t.toml:2:12: skipped: rule 'd' is deprecated; not loaded"},
  };
  for (const Case& c : cases) {
    LoadResult r = LoadRuleText("t.toml", RuleFormat::kToml, c.text);
    EXPECT_TRUE(r.rules.empty());
    EXPECT_EQ(r.skipped, 1u);
    EXPECT_EQ(r.failed, 0u);
    EXPECT_EQ(Diagnostics(r), c.message);
  }
}

TEST(TomlFormat, BasicStringsWithEscapesAndUnicode) {
  LoadResult r = LoadRuleText("b.toml", RuleFormat::kToml,
                              "[rule]\n"
                              "rule_id = \"b\"\n"
                              "name = \"é\" ; query = \"\"\"\n"
                              "process where process.name == \"\\u00e9\" and\n"
                              "  true\"\"\"\n");
  // `;` is not TOML: a syntax error at its code point column, reported as a byte column.
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].pos, Pos(3, 13));
  r = LoadRuleText("b.toml", RuleFormat::kToml,
                   "[rule]\n"
                   "rule_id = \"b\"\n"
                   "name = [\"é\"] \n"
                   "query = \"\"\"\n"
                   "process where process.name == \"\\u00e9\" and\n"
                   "  true\"\"\"\n");
  // name must be a string: the error points at the array, in byte columns.
  EXPECT_EQ(Diagnostics(r), "b.toml:3:8: error: 'name' must be a string, found a list");
  r = LoadRuleText("b.toml", RuleFormat::kToml,
                   "[rule]\n"
                   "rule_id = \"b\"\n"
                   "tags = [\"é\", \"x\"]; \n");
  EXPECT_EQ(r.diagnostics.size(), 1u);
  r = LoadRuleText("b.toml", RuleFormat::kToml,
                   "[rule]\n"
                   "rule_id = \"b\"\n"
                   "query = \"\"\"\n"
                   "process where process.name == \"\\u00e9\" and\n"
                   "  true\"\"\"\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  const RuleSpec& rule = r.rules[0];
  EXPECT_EQ(rule.query, "process where process.name == \"\xc3\xa9\" and\n  true");
  EXPECT_EQ(rule.query_start, Pos(4, 1));
  EXPECT_EQ(PositionOfText(rule, "\"\xc3\xa9"), Pos(4, 31));
  EXPECT_EQ(PositionOfText(rule, "and"), Pos(4, 40));
  EXPECT_EQ(PositionOfText(rule, "true"), Pos(5, 3));
}

TEST(TomlFormat, SyntaxErrorHasLineAndColumn) {
  LoadResult r = LoadRuleText("bad.toml", RuleFormat::kToml,
                              "[rule]\nrule_id = \"x\"\nquery = '''\nprocess where true\n");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.failed, 1u);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_GT(r.diagnostics[0].pos.line, 0u);
  EXPECT_NE(r.diagnostics[0].message.find("invalid TOML"), std::string::npos);
  r = LoadRuleText("bad.toml", RuleFormat::kToml, "[rule\nrule_id = 1\n");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].pos.line, 1u);
}

TEST(TomlFormat, MissingRuleIdAndQuery) {
  LoadResult r = LoadRuleText("m.toml", RuleFormat::kToml,
                              "[metadata]\nmaturity = \"production\"\n\n[rule]\nname = \"n\"\n"
                              "type = \"eql\"\nlanguage = \"eql\"\n");
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(Diagnostics(r),
            "m.toml:4:1: error: rule has no 'id'\n"
            "m.toml:4:1: error: rule '' has no 'query'");
}

TEST(TomlFormat, CanonicalShapeWithoutRuleTable) {
  LoadResult r = LoadRuleText("c.toml", RuleFormat::kToml,
                              "id = \"c\"\nseverity = \"critical\"\naction = \"block\"\n"
                              "query = 'process where true'\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_EQ(r.rules[0].action, RuleAction::kBlock);
  EXPECT_EQ(r.rules[0].risk_score, 99);
  EXPECT_EQ(r.rules[0].query_start, Pos(4, 10));
}

// ---- Shared behaviour ------------------------------------------------------------------------

TEST(RuleFile, DuplicateIdsInOneFile) {
  LoadResult r = LoadRuleText("d.yaml", RuleFormat::kYaml,
                              "rules:\n- id: same\n  query: a\n- id: same\n  query: b\n");
  ASSERT_EQ(r.rules.size(), 1u);
  EXPECT_EQ(r.rules[0].query, "a");
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(Diagnostics(r),
            "d.yaml:4:7: error: duplicate rule id 'same' (first defined at d.yaml:2:7); this rule "
            "is not loaded");
}

TEST(RuleFile, FormatByExtension) {
  EXPECT_EQ(RuleFormatForPath("a/b.eql"), RuleFormat::kEql);
  EXPECT_EQ(RuleFormatForPath("b.JSON"), RuleFormat::kJson);
  EXPECT_EQ(RuleFormatForPath("b.yml"), RuleFormat::kYaml);
  EXPECT_EQ(RuleFormatForPath("b.yaml"), RuleFormat::kYaml);
  EXPECT_EQ(RuleFormatForPath("b.toml"), RuleFormat::kToml);
  EXPECT_EQ(RuleFormatForPath("b.txt"), std::nullopt);
  EXPECT_EQ(RuleFormatForPath("README"), std::nullopt);
}

TEST(RuleFile, MissingFileAndUnknownExtension) {
  LoadResult r = LoadRuleFile("/nonexistent/x.toml");
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(Diagnostics(r), "/nonexistent/x.toml: error: cannot open the file");
  r = LoadRuleFile("notes.txt");
  EXPECT_EQ(r.failed, 1u);
}

TEST(RuleFile, EnumNamesRoundTrip) {
  for (RuleAction a : {RuleAction::kAlert, RuleAction::kBlock, RuleAction::kKill}) {
    EXPECT_EQ(ParseRuleAction(RuleActionName(a)), a);
  }
  for (RuleDialect d : {RuleDialect::kElasticsearch, RuleDialect::kEndgame}) {
    EXPECT_EQ(ParseRuleDialect(RuleDialectName(d)), d);
  }
  EXPECT_EQ(ParseRuleAction("Block"), RuleAction::kBlock);
  EXPECT_EQ(ParseRuleAction("drop"), std::nullopt);
  EXPECT_EQ(RuleFormatName(RuleFormat::kToml), "toml");
}

TEST(RuleFile, FormatLoadDiagnosticWithAndWithoutPosition) {
  EXPECT_EQ(FormatLoadDiagnostic({"a.toml", {3, 7}, Kind::kError, "bad"}),
            "a.toml:3:7: error: bad");
  EXPECT_EQ(FormatLoadDiagnostic({"a.toml", {}, Kind::kWarning, "meh"}), "a.toml: warning: meh");
  EXPECT_EQ(FormatLoadDiagnostic({"a.toml", {1, 1}, Kind::kSkipped, "kql"}),
            "a.toml:1:1: skipped: kql");
}

TEST(RuleFile, EveryPrefixOfEveryFormatLoadsOrFailsCleanly) {
  // Truncated files of every format through every reader: diagnostics, never a crash (run under
  // the sanitizer build too).
  std::ifstream in(Testdata("elastic/linux/execution_shell_spawned_by_web_server.toml"));
  std::string toml((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::string texts[] = {toml, std::string(kYamlRule),
                         R"({"rules": [{"id": "a\u00e9", "query": "x\n\ty \"z\""}]})",
                         "// name: n\n// severity: low\nprocess where true\n"};
  for (const std::string& text : texts) {
    for (size_t n = 0; n <= text.size(); n += 3) {
      for (RuleFormat f :
           {RuleFormat::kEql, RuleFormat::kJson, RuleFormat::kYaml, RuleFormat::kToml}) {
        LoadResult r = LoadRuleText("p", f, std::string_view(text).substr(0, n));
        for (const RuleSpec& rule : r.rules) {
          for (size_t i = 0; i <= rule.query.size(); ++i) {
            EXPECT_GT(rule.PositionOf(i).line, 0u);
          }
        }
      }
    }
  }
}

// ---- Alignment -------------------------------------------------------------------------------

TEST(AlignValue, LeadingIndentationAndClosingDelimiters) {
  std::string_view text = "q = '''\n   a\n  b'''\n";
  LineIndex lines(text);
  RuleSpec spec;
  spec.query = "   a\n  b";
  spec.query_map = AlignValue(lines, 8, spec.query, false);
  ASSERT_EQ(spec.query_map.size(), 1u);  // a verbatim literal needs one anchor
  EXPECT_EQ(spec.PositionOf(0), Pos(2, 1));
  EXPECT_EQ(spec.PositionOf(3), Pos(2, 4));
  EXPECT_EQ(spec.PositionOf(7), Pos(3, 3));
  EXPECT_EQ(spec.PositionOf(100), Pos(3, 4));
}

TEST(AlignValue, ValueUnrelatedToTextDegradesToTheStart) {
  std::string_view text = "key: zzz\n";
  LineIndex lines(text);
  auto anchors = AlignValue(lines, 5, "abc", false);
  ASSERT_EQ(anchors.size(), 1u);
  EXPECT_EQ(anchors[0], (QueryAnchor{0, Pos(1, 6)}));
}

TEST(LineIndex, OffsetsAndCodePointColumns) {
  LineIndex lines("ab\né x\n");
  EXPECT_EQ(lines.PositionAt(0), Pos(1, 1));
  EXPECT_EQ(lines.PositionAt(3), Pos(2, 1));
  EXPECT_EQ(lines.PositionAt(6), Pos(2, 4));
  EXPECT_EQ(lines.OffsetOf(Pos(2, 4)), 6u);
  EXPECT_EQ(lines.OffsetOfCodePointColumn(2, 3), 6u);
  EXPECT_EQ(lines.NextLineStart(1), 3u);
  EXPECT_EQ(lines.NextLineStart(7), 8u);
}

}  // namespace
}  // namespace kestrel::rules
