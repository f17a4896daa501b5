// What `kestrel run` and `kestrel replay` share: loading the rule directory into the rules a
// streaming engine accepts, and turning a match into an alert.
// Tested through run_command_test.cc, replay_command_test.cc and cli_test.sh.
#pragma once

#include <atomic>
#include <thread>

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/engine/alert.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/source.h"

namespace kestrel::cli {

struct LoadedRules {
  rules::RuleSetBuild build;                       // owns the compiled rules
  std::vector<const rules::CompiledRule*> active;  // accepted for streaming, in load order
  size_t failed = 0;                               // rejected: compile errors or engine refusals
  std::string directory;                           // empty: none found, running without rules
};

// Resolves the rule directory (see ResolveRulesDir), compiles it, prints the diagnostics on
// stderr and keeps the rules an engine with `limits` accepts (a refusal, e.g. a pipe that cannot
// stream, is reported and counted as a failure). Errors: NOT_FOUND when `dir_flag` names no
// directory (a usage error). Without a flag and without a default directory it warns and returns
// no rules.
// `functions`: custom functions the rules may call (a rule package's). REQUIRES: outlives the
// result.
absl::StatusOr<LoadedRules> LoadRules(const std::optional<std::string>& dir_flag, bool endgame,
                                      schema::Schema& schema, const engine::EngineLimits& limits,
                                      const std::vector<eql::CustomFunction>* functions = nullptr);

// The engine limits of streaming detection (run, replay).
engine::EngineLimits StreamingLimits(size_t max_partials_per_rule, int64_t default_ttl_ns);

// A diagnostic sink that logs "LOCATION: WHAT: REASON" as a warning for the first `limit`
// diagnostics, says once that further ones are only counted, and then stays quiet.
sources::DiagnosticSink ReportDiagnostics(std::string what, size_t limit = 100);

// The alert for `match` of `rule` (its events are moved out of the match), finalized.
engine::Alert MakeAlert(const rules::CompiledRule& rule, engine::QueryMatch& match,
                        const schema::Schema& schema);

// Checks a --source value: "ebpf" (live; only in builds with eBPF) or "ndjson:PATH" / "ndjson:-".
// On success sets *live and, for NDJSON, *ndjson_path; otherwise logs why (saying what to use
// instead) and returns false: a usage error.
bool ParseSourceSpec(std::string_view spec, bool* live, std::string* ndjson_path);

// Set by SIGINT/SIGTERM once InstallStopSignals() ran, and by a DurationTimer: live sources
// end their stream when it is set, and commands stop reading.
std::atomic<bool>& StopFlag();
// Clears the flag and makes SIGINT and SIGTERM set it (instead of killing the process).
void InstallStopSignals();

// Sets StopFlag() once `duration_ns` of wall time has passed (no-op for <= 0). The wall clock
// only decides when a live recording or run ends, never what the engine decides.
class DurationTimer {
 public:
  explicit DurationTimer(int64_t duration_ns);
  ~DurationTimer();
  DurationTimer(const DurationTimer&) = delete;
  DurationTimer& operator=(const DurationTimer&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace kestrel::cli
