// `kestrel check PATH...`: load and compile rule files and directories (recursive) with exactly
// the checks `kestrel run` applies (pipeline::CheckRuleSet: compile, metadata, actions, and what
// the streaming engine refuses, e.g. `| count`), and print every diagnostic, compiler-style
// (file:line:col, the line, a caret), on stdout; `--summary` ends with
// "N rules: M ok, K failed, S skipped". `--strict`: every warning is an error and fails its rule.
// Exit 0 when no rule failed (with --strict: and there was no warning), 1 otherwise, 2 for a
// missing path or a bad `--sigma-mapping FILE` (the Sigma mapping `run --sigma-mapping` uses).
//
// `--live-coverage`: also decides, per EQL rule, whether the live eBPF source can ever satisfy
// it (rules/live_coverage.h over the collector's declaration, sources/ebpf/emitted.h), prints
// one line per rule ("FILE: RULE: can fire live" or "... cannot fire live: REASON; ..."), the
// reasons grouped with their rule counts, the rules skipped as not EQL (by language), and ends
// with "N rules: L can fire live, M cannot" (N: the EQL rules; a rule that does not compile
// cannot). Only errors are printed among the diagnostics. Exit 0 when every rule loaded (not
// firing is a report, not a failure), 1 when one did not.
// Tested by cli_test.sh and live_coverage_command_test.cc.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kestrel/rules/live_coverage.h"

namespace kestrel::cli {

struct CheckOptions {
  std::vector<std::string> paths;
  bool summary = false;
  bool strict = false;  // warnings are failures
  bool quiet_warnings = false;
  bool live_coverage = false;
  std::string dialect = "elasticsearch";  // for rules that name none
  // `--sigma-mapping FILE`: extends the built-in Sigma mapping, as on run (exit 2 when bad).
  std::optional<std::string> sigma_mapping;
};

int CheckCommand(const CheckOptions& options);

// The eBPF collector's declaration (sources/ebpf/emitted.h) as a coverage model.
rules::LiveModel LiveCollectorModel();

}  // namespace kestrel::cli
