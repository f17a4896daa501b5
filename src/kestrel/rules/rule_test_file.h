// Rule test files: the positive and negative cases that sit beside a rule (docs/rules.md,
// "Testing a rule"), e.g. rules/linux/foo.test.yaml beside rules/linux/foo.eql:
//
//   rule: foo                          # optional: the rule id the cases test (default: every
//                                      #   rule of the rule file beside this one)
//   defaults:                          # optional: fields every event gets unless it sets them
//     host.os.type: linux
//   cases:
//     - name: bash connects out        # required, unique in the file
//       expect: [[0, 1]]               # the alerts: each the indexes of its events, in match
//                                      #   order, or {rule: ID, events: [..]}; [] = a negative case
//       events:                        # ECS events, nested maps or dotted keys
//         - {event.category: process, process.name: bash}
//         - {event.category: network, process.name: bash}
//
// Events are turned into JSON objects with dotted keys (nested maps flattened; lists kept as
// JSON arrays), ready for event::JsonDecoder. Time: either every event of a case has an
// `@timestamp` or none has; then event i gets 2026-01-01T00:00:00Z + i x 100 ms (as epoch
// milliseconds), so sequences with a maxspan of a second or more match.
// Parsing reuses the YAML reader of rule files (typed scalars, depth and node budgets), so no
// input makes it recurse or allocate without bound; every error carries file:line:col.
// Tested by rule_test_file_test.cc.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kestrel/rules/rule_spec.h"

namespace kestrel::rules {

// Event i of a case without timestamps gets kTestBaseTimeMs + i * kTestEventStepMs.
inline constexpr int64_t kTestBaseTimeMs = 1'767'225'600'000;  // 2026-01-01T00:00:00Z
inline constexpr int64_t kTestEventStepMs = 100;

struct ExpectedAlert {
  std::string rule_id;           // "" : the rule under test (the file's `rule`, or its only rule)
  std::vector<uint64_t> events;  // indexes into the case's events, in match order
  SourcePosition position;
  friend bool operator==(const ExpectedAlert&, const ExpectedAlert&) = default;
};

struct RuleTestCase {
  std::string name;
  SourcePosition position;
  std::vector<std::string> events;  // one JSON object (dotted keys) per event
  std::vector<ExpectedAlert> expected;
  bool positive() const { return !expected.empty(); }
};

struct RuleTestFile {
  std::string file;
  std::string rule_id;  // `rule:`; empty: every rule of the sibling rule file
  std::vector<RuleTestCase> cases;
};

struct RuleTestLoad {
  std::optional<RuleTestFile> test;  // unset when the file has errors
  std::vector<LoadDiagnostic> diagnostics;
};

// Parses the text of a test file named `file` (used in diagnostics).
RuleTestLoad ParseRuleTestText(std::string_view file, std::string_view text);
// Reads and parses a test file (at most kMaxRuleFileBytes).
RuleTestLoad LoadRuleTestFile(const std::filesystem::path& path);

// The rule file a test file belongs to: the same directory and name without ".test.yaml"
// (or ".test.yml"), with one of the rule extensions, if such a file exists.
std::optional<std::filesystem::path> RuleFileForTest(const std::filesystem::path& test_file);

}  // namespace kestrel::rules
