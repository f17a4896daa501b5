// Tests of the Sigma reader (sigma_reader.cc, sigma_detection.cc, sigma_condition.cc) and its
// mapping (sigma_mapping.h): each conversion is compared with the EQL a careful human would write
// and compiled with the EQL compiler; refusals carry their reason and file:line:col.
#include <gtest/gtest.h>

#include <string>

#include <fmt/format.h>

#include "kestrel/eql/sema.h"
#include "kestrel/rules/rule_file.h"
#include "kestrel/rules/rule_file_test_util.h"
#include "kestrel/rules/sigma_internal.h"
#include "kestrel/rules/sigma_mapping.h"
#include "kestrel/schema/schema.h"

namespace kestrel::rules {
namespace {

using Kind = LoadDiagnostic::Kind;

constexpr std::string_view kProcessHead =
    "process where event.type == \"start\" and event.action == \"exec\" and ";

std::string Rule(std::string_view detection, std::string_view logsource =
                                                 "category: "
                                                 "process_creation") {
  return fmt::format(
      "title: Test rule\nid: 11111111-2222-3333-4444-555555555555\nstatus: test\n"
      "logsource:\n  product: linux\n  {}\ndetection:\n{}\nlevel: high\n",
      logsource, detection);
}

LoadResult Load(const std::string& text, const LoadOptions& options = {}) {
  return LoadRuleText("rule.yml", RuleFormat::kYaml, text, options);
}

bool Compiles(const std::string& query, std::string* errors) {
  schema::Schema schema;
  eql::CompileOptions options;
  options.dialect = eql::Dialect::kElasticsearch;
  eql::CompileResult r = eql::Compile(query, schema, options);
  for (const eql::Diagnostic& d : r.diagnostics) *errors += eql::RenderDiagnostic(d, "q", query);
  return r.ok();
}

// The condition part of a process_creation rule's query (after the logsource's head), checked to
// compile.
std::string Condition(std::string_view detection) {
  LoadResult r = Load(Rule(detection));
  EXPECT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  if (r.rules.size() != 1) return "";
  const std::string& q = r.rules[0].query;
  std::string errors;
  EXPECT_TRUE(Compiles(q, &errors)) << q << "\n" << errors;
  EXPECT_TRUE(q.starts_with(kProcessHead)) << q;
  return q.substr(std::min(q.size(), kProcessHead.size()));
}

// The one diagnostic of a rule that does not convert.
std::string Refusal(const std::string& text, Kind kind) {
  LoadResult r = Load(text);
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.diagnostics.size(), 1u) << Diagnostics(r);
  if (r.diagnostics.empty()) return "";
  EXPECT_EQ(r.diagnostics[0].kind, kind) << Diagnostics(r);
  EXPECT_EQ(kind == Kind::kSkipped ? r.skipped : r.failed, 1u);
  return Diagnostics(r);
}

TEST(SigmaMapping, DefaultMappingParses) {
  SigmaMapping m;
  EXPECT_TRUE(m.Extend("empty.yaml", "version: 1\n").empty());
  EXPECT_EQ(m.Extend("v2.yaml", "version: 2\n"),
            std::vector<std::string>{"v2.yaml:1:10: unsupported mapping 'version' (expected 1)"});
  const SigmaMapping& d = SigmaMapping::Default();
  ASSERT_GE(d.logsources().size(), 6u);
  const SigmaLogsource* pc = d.Find("process_creation", "linux", "");
  ASSERT_NE(pc, nullptr);
  EXPECT_EQ(pc->fields.at("Image").ecs, "process.executable");
  EXPECT_EQ(pc->fields.at("CommandLine").ecs, "process.command_line");
  EXPECT_EQ(pc->fields.at("ParentImage").ecs, "process.parent.executable");
  EXPECT_EQ(d.Find("file_event", "", "")->fields.at("TargetFilename").ecs, "file.path");
  EXPECT_TRUE(d.Find("network_connection", "linux", "")->fields.at("DestinationPort").numeric);
  EXPECT_EQ(d.Find("", "linux", "auditd")->fields.at("a0").ecs, "auditd.data.a0");
  EXPECT_EQ(d.Find("process_creation", "windows", ""), nullptr);
  EXPECT_EQ(d.Find("", "linux", "sshd"), nullptr);
}

TEST(SigmaMapping, ExtendAddsAndOverridesFieldsAndReportsErrorsWithPositions) {
  SigmaMapping m = SigmaMapping::Default();
  EXPECT_TRUE(m.Extend("mine.yaml",
                       "logsources:\n  process_creation:\n    fields:\n      Image: process.name\n"
                       "      Hash: process.hash.sha256\n")
                  .empty());
  const SigmaLogsource* pc = m.Find("process_creation", "linux", "");
  EXPECT_EQ(pc->fields.at("Image").ecs, "process.name");
  EXPECT_EQ(pc->fields.at("Hash").ecs, "process.hash.sha256");
  EXPECT_EQ(pc->fields.at("CommandLine").ecs, "process.command_line");  // kept
  std::vector<std::string> errors =
      m.Extend("bad.yaml", "logsources:\n  x:\n    category: y\n    colour: red\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0], "bad.yaml:4:13: unknown key 'colour' in logsource 'x'");
  EXPECT_EQ(errors[1], "bad.yaml:3:5: logsource 'x' has no 'query'");
  EXPECT_EQ(m.Find("y", "", ""), nullptr);  // nothing merged
  // A user's mapping is used for the load.
  LoadResult r = Load(Rule("  sel:\n    Hash: abc\n  condition: sel"), LoadOptions{&m});
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_EQ(r.rules[0].query, std::string(kProcessHead) + "process.hash.sha256 : \"abc\"");
}

TEST(SigmaReader, MetadataIsMapped) {
  LoadResult r = Load(
      "title: Curl to a pipe\nid: 5a8d3fd6-0d2f-4ac5-9e44-3c0c2c7a7e38\nstatus: experimental\n"
      "description: Downloads piped to a shell\nauthor: Team Kestrel\n"
      "references:\n  - https://example.com/a\n"
      "tags:\n  - attack.execution\n  - attack.t1059.004\n  - attack.command-and-control\n"
      "  - attack.t1105\n"
      "logsource:\n  category: process_creation\n  product: linux\n"
      "detection:\n  selection:\n    Image|endswith: /curl\n  condition: selection\n"
      "falsepositives:\n  - Installers\nlevel: critical\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_TRUE(r.diagnostics.empty()) << Diagnostics(r);
  const RuleSpec& s = r.rules[0];
  EXPECT_EQ(s.format, RuleFormat::kSigma);
  EXPECT_EQ(s.id, "5a8d3fd6-0d2f-4ac5-9e44-3c0c2c7a7e38");
  EXPECT_EQ(s.name, "Curl to a pipe");
  EXPECT_EQ(s.description, "Downloads piped to a shell");
  EXPECT_EQ(s.severity, engine::Severity::kCritical);
  EXPECT_EQ(s.dialect, RuleDialect::kElasticsearch);
  EXPECT_EQ(s.references, std::vector<std::string>{"https://example.com/a"});
  EXPECT_EQ(s.false_positives, std::vector<std::string>{"Installers"});
  EXPECT_EQ(s.tags,
            (std::vector<std::string>{"attack.execution", "attack.t1059.004",
                                      "attack.command-and-control", "attack.t1105", "sigma",
                                      "sigma.status:experimental", "sigma.author:Team Kestrel"}));
  ASSERT_EQ(s.threat.size(), 2u);
  EXPECT_EQ(s.threat[0].tactic_id, "TA0002");
  EXPECT_EQ(s.threat[0].tactic_name, "Execution");
  EXPECT_EQ(s.threat[0].technique_ids, (std::vector<std::string>{"T1059.004", "T1105"}));
  EXPECT_EQ(s.threat[1].tactic_id, "TA0011");
  EXPECT_TRUE(s.threat[1].technique_ids.empty());
  EXPECT_EQ(s.position, (SourcePosition{2, 5}));
}

// ATT&CK v19 split Defense Evasion: SigmaHQ's rules now say `attack.stealth` (TA0005, renamed)
// and `attack.defense-impairment` (TA0112, new); the older names keep mapping.
TEST(SigmaReader, CurrentTacticTagsMapToTheirIds) {
  auto tactics = [](std::string_view tags) {
    std::string text = Rule("  sel:\n    Image: /bin/sh\n  condition: sel");
    text += fmt::format("tags:\n{}", tags);
    LoadResult r = Load(text);
    EXPECT_EQ(r.rules.size(), 1u) << Diagnostics(r);
    std::vector<std::string> out;
    for (const RuleSpec& s : r.rules) {
      for (const auto& t : s.threat) out.push_back(t.tactic_id + " " + t.tactic_name);
    }
    return out;
  };
  EXPECT_EQ(tactics("  - attack.stealth\n  - attack.t1070\n"),
            std::vector<std::string>{"TA0005 Stealth"});
  EXPECT_EQ(tactics("  - attack.defense-impairment\n  - attack.t1562.001\n"),
            std::vector<std::string>{"TA0112 Defense Impairment"});
  EXPECT_EQ(tactics("  - attack.defense_impairment\n"),
            std::vector<std::string>{"TA0112 Defense Impairment"});
  EXPECT_EQ(tactics("  - attack.defense-evasion\n"),
            std::vector<std::string>{"TA0005 Defense Evasion"});
  // Both names of TA0005 in one rule: one tactic, under the first name given.
  EXPECT_EQ(
      tactics("  - attack.stealth\n  - attack.defense-evasion\n  - attack.resource-development\n"
              "  - attack.initial-access\n  - attack.lateral-movement\n"),
      (std::vector<std::string>{"TA0005 Stealth", "TA0042 Resource Development",
                                "TA0001 Initial Access", "TA0008 Lateral Movement"}));
}

TEST(SigmaReader, LevelsMapToSeverities) {
  auto severity = [](std::string_view level) {
    std::string text = Rule("  sel:\n    Image: /bin/sh\n  condition: sel");
    text.replace(text.find("level: high"), 11, fmt::format("level: {}", level));
    LoadResult r = Load(text);
    EXPECT_EQ(r.rules.size(), 1u) << Diagnostics(r);
    return r.rules.empty() ? std::pair{engine::Severity::kMedium, -1}
                           : std::pair{r.rules[0].severity, r.rules[0].risk_score};
  };
  EXPECT_EQ(severity("informational"), (std::pair{engine::Severity::kLow, 0}));
  EXPECT_EQ(severity("low"), (std::pair{engine::Severity::kLow, 21}));
  EXPECT_EQ(severity("medium"), (std::pair{engine::Severity::kMedium, 47}));
  EXPECT_EQ(severity("high"), (std::pair{engine::Severity::kHigh, 73}));
  EXPECT_EQ(severity("critical"), (std::pair{engine::Severity::kCritical, 99}));
}

TEST(SigmaDetection, MapsAreAndsListsAreOrsOneColonListPerField) {
  EXPECT_EQ(Condition("  sel:\n    Image|endswith:\n      - /curl\n      - /wget\n"
                      "    CommandLine|contains: http\n  condition: sel"),
            "process.executable : (\"*/curl\", \"*/wget\") and process.command_line : \"*http*\"");
  EXPECT_EQ(Condition("  sel:\n    - Image: /bin/sh\n    - ParentImage|startswith: /tmp/\n"
                      "  condition: sel"),
            "(process.executable : \"/bin/sh\" or process.parent.executable : \"/tmp/*\")");
}

TEST(SigmaDetection, AllModifierAndsTheValues) {
  EXPECT_EQ(Condition("  sel:\n    CommandLine|contains|all:\n      - ' -e '\n      - /bin/sh\n"
                      "  condition: sel"),
            "process.command_line : \"* -e *\" and process.command_line : \"*/bin/sh*\"");
}

TEST(SigmaDetection, WildcardsAndEscapes) {
  EXPECT_EQ(Condition("  sel:\n    Image: '/usr/bin/py?hon*'\n  condition: sel"),
            "process.executable : \"/usr/bin/py?hon*\"");
  // A literal * or ? cannot be written in an EQL wildcard: a regex says it.
  EXPECT_EQ(Condition("  sel:\n    CommandLine|contains: 'rm \\*'\n  condition: sel"),
            "process.command_line regex~ \"(?s:.*)rm \\\\*(?s:.*)\"");
  EXPECT_EQ(Condition("  sel:\n    CommandLine: 'a\\\\*'\n  condition: sel"),
            "process.command_line : \"a\\\\*\"");
  EXPECT_EQ(Condition("  sel:\n    CommandLine: 'C:\\Windows'\n  condition: sel"),
            "process.command_line : \"C:\\\\Windows\"");
}

TEST(SigmaDetection, CasedUsesCaseSensitiveForms) {
  EXPECT_EQ(Condition("  sel:\n    Image|cased: /bin/Sh\n    CommandLine|contains|cased: X\n"
                      "  condition: sel"),
            "process.executable == \"/bin/Sh\" and process.command_line like \"*X*\"");
}

TEST(SigmaDetection, RegexWithSubModifiers) {
  EXPECT_EQ(Condition("  sel:\n    CommandLine|re: '^bash -[ic]'\n  condition: sel"),
            "process.command_line regex \"(?s:.*)(?:^bash -[ic])(?s:.*)\"");
  EXPECT_EQ(Condition("  sel:\n    CommandLine|re|i|m|s: 'a.b$'\n  condition: sel"),
            "process.command_line regex \"(?s:.*)(?ims:a.b$)(?s:.*)\"");
  std::string why =
      Refusal(Rule("  sel:\n    CommandLine|re: 'a(?=b)'\n  condition: sel"), Kind::kSkipped);
  EXPECT_NE(why.find("rule.yml:9:21: skipped: Sigma rule 'Test rule': the regular expression "
                     "'a(?=b)' is not RE2 syntax"),
            std::string::npos)
      << why;
  EXPECT_NE(Refusal(Rule("  sel:\n    CommandLine|i: a\n  condition: sel"), Kind::kError)
                .find("modifier 'i' is a sub-modifier of 're'"),
            std::string::npos);
}

TEST(SigmaDetection, CidrExistsComparisonsFieldref) {
  std::string net = "category: network_connection";
  LoadResult r =
      Load(Rule("  sel:\n    DestinationIp|cidr:\n      - 192.0.2.0/24\n"
                "      - 198.51.100.0/24\n    DestinationPort|gte: 1024\n"
                "    DestinationPort|lt: 4444\n    Initiated: 'true'\n"
                "    DestinationHostname|exists: false\n  condition: sel",
                net));
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_EQ(r.rules[0].query,
            "network where event.type == \"start\" and cidrMatch(destination.ip, "
            "\"192.0.2.0/24\", \"198.51.100.0/24\") and destination.port >= 1024 and "
            "destination.port < 4444 and network.direction == \"egress\" and destination.domain "
            "== null");
  std::string errors;
  EXPECT_TRUE(Compiles(r.rules[0].query, &errors)) << errors;
  EXPECT_EQ(Condition("  sel:\n    User|exists: true\n    CurrentDirectory|fieldref: Image\n"
                      "  condition: sel"),
            "user.name != null and process.working_directory == process.executable");
  EXPECT_EQ(Condition("  sel:\n    ProcessId: 1\n    User: null\n    CommandLine: ''\n"
                      "  condition: sel"),
            "process.pid == 1 and user.name == null and process.command_line : \"\"");
}

TEST(SigmaDetection, Base64AndBase64OffsetAndWindash) {
  EXPECT_EQ(sigma::Base64("/bin/sh"), "L2Jpbi9zaA==");
  EXPECT_EQ(sigma::Base64Offsets("/bin/sh"),
            (std::vector<std::string>{"L2Jpbi9za", "9iaW4vc2", "vYmluL3No"}));
  EXPECT_EQ(Condition("  sel:\n    CommandLine|base64: /bin/sh\n  condition: sel"),
            "process.command_line : \"L2Jpbi9zaA==\"");
  EXPECT_EQ(Condition("  sel:\n    CommandLine|base64offset|contains: /bin/sh\n  condition: sel"),
            "process.command_line : (\"*L2Jpbi9za*\", \"*9iaW4vc2*\", \"*vYmluL3No*\")");
  EXPECT_EQ(Condition("  sel:\n    CommandLine|windash|contains: ' -enc'\n  condition: sel"),
            "process.command_line : (\"* -enc*\", \"* /enc*\", \"* \u2013enc*\", "
            "\"* \u2014enc*\", \"* \u2015enc*\")");
}

TEST(SigmaDetection, KeywordsSearchTheLogsourceField) {
  EXPECT_EQ(Condition("  keywords:\n    - 'nc -e'\n    - ncat\n  condition: keywords"),
            "process.command_line : (\"*nc -e*\", \"*ncat*\")");
  EXPECT_EQ(Condition("  kw:\n    '|all':\n      - a\n      - b\n  condition: kw"),
            "process.command_line : \"*a*\" and process.command_line : \"*b*\"");
  EXPECT_NE(Refusal(Rule("  keywords:\n    - x\n  condition: keywords", "service: auditd"),
                    Kind::kSkipped)
                .find("logsource 'auditd' has no field for keyword (field-less) searches"),
            std::string::npos);
}

TEST(SigmaCondition, BooleanOperatorsParenthesesAndQuantifiers) {
  std::string items =
      "  sel_a:\n    Image: a\n  sel_b:\n    Image: b\n  filter_1:\n    User: root\n"
      "  _hidden:\n    User: nobody\n";
  EXPECT_EQ(Condition(items + "  condition: sel_a and not filter_1"),
            "process.executable : \"a\" and not user.name : \"root\"");
  EXPECT_EQ(Condition(items + "  condition: (sel_a or sel_b) and not (filter_1 or _hidden)"),
            "(process.executable : \"a\" or process.executable : \"b\") and not "
            "(user.name : \"root\" or user.name : \"nobody\")");
  EXPECT_EQ(Condition(items + "  condition: 1 of sel_* and not 1 of filter*"),
            "(process.executable : \"a\" or process.executable : \"b\") and not "
            "user.name : \"root\"");
  EXPECT_EQ(Condition(items + "  condition: all of sel_*"),
            "process.executable : \"a\" and process.executable : \"b\"");
  EXPECT_EQ(Condition(items + "  condition: 1 of them"),
            "(process.executable : \"a\" or process.executable : \"b\" or user.name : \"root\")");
  EXPECT_EQ(Condition(items + "  condition: all of them"),
            "process.executable : \"a\" and process.executable : \"b\" and user.name : \"root\"");
  EXPECT_EQ(Condition(items + "  condition:\n    - sel_a\n    - sel_b"),
            "(process.executable : \"a\" or process.executable : \"b\")");
}

TEST(SigmaCondition, ErrorsNameTheTokenAndItsPosition) {
  std::string items = "  sel:\n    Image: a\n";
  EXPECT_NE(Refusal(Rule(items + "  condition: sel and nope"), Kind::kError)
                .find("rule.yml:10:22: error: Sigma rule 'Test rule': the condition names 'nope', "
                      "which the detection does not define"),
            std::string::npos);
  EXPECT_NE(Refusal(Rule(items + "  condition: (sel"), Kind::kError).find("is not closed"),
            std::string::npos);
  EXPECT_NE(Refusal(Rule(items + "  condition: sel | count() > 5"), Kind::kSkipped)
                .find("aggregations in conditions"),
            std::string::npos);
  EXPECT_NE(Refusal(Rule(items + "  condition: 1 of x*"), Kind::kError)
                .find("'x*' matches no detection item"),
            std::string::npos);
}

TEST(SigmaReader, UnknownFieldsAndLogsourcesAndModifiers) {
  EXPECT_NE(Refusal(Rule("  sel:\n    Hashes: abc\n  condition: sel"), Kind::kError)
                .find("rule.yml:9:5: error: Sigma rule 'Test rule': field 'Hashes' is not in the "
                      "Sigma mapping of logsource 'process_creation'"),
            std::string::npos);
  EXPECT_NE(Refusal(Rule("  sel:\n    Image: a\n  condition: sel", "service: sshd"), Kind::kSkipped)
                .find("logsource {product: linux, service: sshd} is not one Kestrel's sources "
                      "serve"),
            std::string::npos);
  EXPECT_NE(Refusal(Rule("  sel:\n    Image|frobnicate: a\n  condition: sel"), Kind::kError)
                .find("unknown modifier 'frobnicate'"),
            std::string::npos);
  EXPECT_NE(Refusal(Rule("  sel:\n    Image|expand: '%x%'\n  condition: sel"), Kind::kSkipped)
                .find("modifier 'expand'"),
            std::string::npos);
}

TEST(SigmaReader, CompilerErrorsPointIntoTheSigmaFile) {
  // A value the EQL compiler rejects (an invalid CIDR) is reported at its line in the Sigma file.
  LoadResult r = Load(Rule("  sel:\n    DestinationIp|cidr: 192.0.2.0/99\n  condition: sel",
                           "category: network_connection"));
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  size_t at = r.rules[0].query.find("cidrMatch");
  EXPECT_EQ(r.rules[0].PositionOf(at), (SourcePosition{9, 25}));
}

TEST(SigmaDetection, AuditdExecveRecordsAreExecsWithArguments) {
  LoadResult r =
      Load(Rule("  execve:\n    type: EXECVE\n    a0: arecord\n    a1|contains: vv\n"
                "  syscall:\n    type: SYSCALL\n    SYSCALL: memfd_create\n"
                "  condition: 1 of them",
                "service: auditd"));
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_EQ(r.rules[0].query,
            "any where event.category == \"process\" and event.action == \"exec\" and "
            "process.args[0] : \"arecord\" and process.args[1] : \"*vv*\" or "
            "auditd.message_type : \"SYSCALL\" and auditd.data.syscall : \"memfd_create\"");
  std::string errors;
  EXPECT_TRUE(Compiles(r.rules[0].query, &errors)) << errors;
}

TEST(SigmaDetection, IpFieldsCompareAddressesAndRefuseWildcards) {
  std::string net = "category: network_connection";
  LoadResult r =
      Load(Rule("  sel:\n    DestinationIp:\n      - 127.0.0.1\n      - '::1'\n"
                "  condition: not sel",
                net));
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_EQ(r.rules[0].query,
            "network where event.type == \"start\" and not (destination.ip == \"127.0.0.1\" or "
            "destination.ip == \"::1\")");
  std::string errors;
  EXPECT_TRUE(Compiles(r.rules[0].query, &errors)) << errors;
  EXPECT_NE(Refusal(Rule("  sel:\n    DestinationIp|startswith: '10.'\n  condition: sel", net),
                    Kind::kSkipped)
                .find("destination.ip is an IP address in ECS; '10.' with wildcards or string "
                      "modifiers cannot match it (write it with |cidr)"),
            std::string::npos);
}

TEST(SigmaReader, WarningsForTimeframeAndAMissingId) {
  std::string text = Rule("  sel:\n    Image: a\n  condition: sel\n  timeframe: 5m");
  text.erase(text.find("id: "), text.find('\n', text.find("id: ")) - text.find("id: ") + 1);
  LoadResult r = Load(text);
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_EQ(r.rules[0].id, "rule.yml-1");
  EXPECT_EQ(Diagnostics(r),
            "rule.yml:10:14: warning: 'timeframe' is ignored (it only bounds aggregations, which "
            "are not supported; a correlation rule's 'timespan' is)\n"
            "rule.yml:1:1: warning: Sigma rule 'Test rule' has no 'id'; using 'rule.yml-1'");
}

TEST(SigmaCondition, NestingIsBounded) {
  std::string deep(200, '(');
  deep += "sel";
  deep += std::string(200, ')');
  EXPECT_NE(Refusal(Rule("  sel:\n    Image: a\n  condition: " + deep), Kind::kError)
                .find("the condition nests deeper than 64"),
            std::string::npos);
  EXPECT_NE(Refusal(Rule("  sel:\n    Image: a\n  condition: ''"), Kind::kError)
                .find("the condition is empty"),
            std::string::npos);
}

TEST(SigmaReader, KestrelYamlRulesStillLoad) {
  LoadResult r = Load("id: mine\nquery: process where true\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);
  EXPECT_EQ(r.rules[0].format, RuleFormat::kYaml);
}

constexpr std::string_view kBaseRules =
    "title: Download\nid: 00000000-0000-0000-0000-00000000000a\nname: download\n"
    "logsource:\n  category: process_creation\n  product: linux\n"
    "detection:\n  sel:\n    Image|endswith: /curl\n  condition: sel\n---\n"
    "title: Run from tmp\nid: 00000000-0000-0000-0000-00000000000b\nname: run_tmp\n"
    "logsource:\n  category: process_creation\n  product: linux\n"
    "detection:\n  sel:\n    Image|startswith: /tmp/\n  condition: sel\n---\n";

TEST(SigmaCorrelation, TemporalOrderedIsASequence) {
  LoadResult r = Load(std::string(kBaseRules) +
                      "title: Download then run\nid: 00000000-0000-0000-0000-00000000000c\n"
                      "level: high\ncorrelation:\n  type: temporal_ordered\n  rules:\n"
                      "    - download\n    - run_tmp\n  group-by:\n    - User\n  timespan: 5m\n");
  ASSERT_EQ(r.rules.size(), 1u) << Diagnostics(r);  // the base rules do not generate alerts
  EXPECT_EQ(r.rules[0].query,
            "sequence by user.name with maxspan=5m\n"
            "  [process where event.type == \"start\" and event.action == \"exec\" and "
            "process.executable : \"*/curl\"]\n"
            "  [process where event.type == \"start\" and event.action == \"exec\" and "
            "process.executable : \"/tmp/*\"]");
  std::string errors;
  EXPECT_TRUE(Compiles(r.rules[0].query, &errors)) << errors;
}

TEST(SigmaCorrelation, EventCountIsRunsOfOneRuleAndGenerateKeepsTheBaseRule) {
  LoadResult r = Load(std::string(kBaseRules) +
                      "title: Many downloads\nid: 00000000-0000-0000-0000-00000000000d\n"
                      "correlation:\n  type: event_count\n  rules: download\n  generate: true\n"
                      "  group-by: [User]\n  timespan: 1m\n  condition:\n    gt: 4\n");
  ASSERT_EQ(r.rules.size(), 3u) << Diagnostics(r);
  EXPECT_EQ(r.rules[2].query,
            "sequence by user.name with maxspan=1m\n"
            "  [process where event.type == \"start\" and event.action == \"exec\" and "
            "process.executable : \"*/curl\"] with runs=5");
  std::string errors;
  EXPECT_TRUE(Compiles(r.rules[2].query, &errors)) << errors;
}

TEST(SigmaCorrelation, WhatEqlCannotExpressIsSkippedWithAReason) {
  auto refusal = [](std::string_view correlation) {
    LoadResult r = Load(std::string(kBaseRules) + "title: C\nid: c\ncorrelation:\n" +
                        std::string(correlation));
    EXPECT_EQ(r.skipped, 1u) << Diagnostics(r);
    return Diagnostics(r);
  };
  EXPECT_NE(refusal("  type: value_count\n  rules: [download]\n  timespan: 1m\n")
                .find("value_count correlations count distinct values"),
            std::string::npos);
  EXPECT_NE(refusal("  type: temporal\n  rules: [download, run_tmp]\n  timespan: 1m\n")
                .find("EQL sequences are ordered"),
            std::string::npos);
  EXPECT_NE(refusal("  type: event_count\n  rules: [download]\n  timespan: 1m\n"
                    "  condition: {lt: 3}\n")
                .find("event_count condition 'lt'"),
            std::string::npos);
  EXPECT_NE(refusal("  type: temporal_ordered\n  rules: [elsewhere, run_tmp]\n  timespan: 1m\n")
                .find("names rule 'elsewhere', which is not in this file"),
            std::string::npos);
}

}  // namespace
}  // namespace kestrel::rules
