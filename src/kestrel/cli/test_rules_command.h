// `kestrel test-rules [DIR]`: runs the test cases that sit beside the rules (foo.test.yaml next
// to foo.eql; rules/rule_test_file.h has the format) through the real engine and reports each
// case as PASS or FAIL, a failure with its expected and actual alerts and their diff.
//
// Each case gets a fresh engine::Detector holding the rules under test (the `rule:` of the test
// file, else every rule of the rule file beside it), with the streaming limits of `kestrel run`;
// its events are decoded by the ECS JSON decoder in order; the alerts (rule id and the indexes
// of their events, in match order) are compared with `expect` as sorted lists.
// It fails (exit 1) when a case fails, a rule or test file does not load, a test file has no
// rule file beside it, a rule has no case at all (unless `--allow-untested`: then it is reported
// as UNTESTED), or a rule lacks a positive or a negative case. The last line counts what was
// reported, and its numbers add up:
//   test-rules: R rules (S sequences): T tested, U untested, I incomplete, N not loaded;
//   C cases: P passed, F failed; E test file errors
// (one line; R = T + U + I + N, C = P + F). `--coverage` also prints
// the MITRE ATT&CK coverage table of the rules' metadata on stdout (`--format text|markdown`),
// the per-case lines then going to stderr (failures only) so the table can be redirected.
// Tested by test_rules_test.sh.
#pragma once

#include <optional>
#include <string>

namespace kestrel::cli {

struct TestRulesOptions {
  std::optional<std::string> dir;  // unset: the default rule directory (ResolveRulesDir)
  bool coverage = false;
  std::string format = "text";  // of the coverage table: text or markdown
  bool verbose = false;         // print passing cases too when --coverage is on
  bool allow_untested = false;  // a rule without test cases is reported, not a failure
  // `--sigma-mapping FILE`: extends the built-in Sigma mapping, as on run (exit 2 when bad).
  std::optional<std::string> sigma_mapping;
};

int TestRulesCommand(const TestRulesOptions& options);

}  // namespace kestrel::cli
