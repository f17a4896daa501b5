// Loading a rule directory into the rules a streaming engine accepts (what `run`, `replay` and
// the RuleManager's generations share), and reporting a source's bad input.
// Tested through rule_manager_test.cc, replay_command_test.cc and cli_test.sh.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/rules/sigma_mapping.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/source.h"

namespace kestrel::pipeline {

struct LoadedRules {
  rules::RuleSetBuild build;                       // owns the compiled rules
  std::vector<const rules::CompiledRule*> active;  // accepted for streaming, in load order
  size_t failed = 0;                               // rejected: compile errors or engine refusals
  std::string directory;                           // empty: none found, running without rules
};

// The checks `kestrel run` applies to rules, in one place: `run` (LoadRules) and `kestrel check`
// both call it, so that check passes exactly what run accepts. Compiles every rule (dialect
// default for rules that name none), checks its metadata and action, and refuses what the
// streaming engine of `limits` refuses (a `| count`, `| sort`...: engine::QueryEngine::Refusal),
// each diagnostic rendered compiler-style (file:line:col, the line, a caret). `check --strict`
// sets warnings_are_errors. The result's messages are not printed here.
struct RuleCheckOptions {
  bool endgame = false;  // the dialect of rules that do not name one
  bool strict = false;   // unknown fields, and every other warning, fail their rule
  // Custom functions (a package's). REQUIRES: outlives the result.
  const std::vector<eql::CustomFunction>* functions = nullptr;
  // The mapping Sigma rule files are converted with (`--sigma-mapping`, LoadSigmaMappingOption);
  // null: the built-in one. REQUIRES: outlives the call.
  const rules::SigmaMapping* sigma_mapping = nullptr;
};
rules::RuleSetBuild CheckRuleSet(const std::vector<std::string>& paths, schema::Schema& schema,
                                 const engine::EngineLimits& limits,
                                 const RuleCheckOptions& options = {});

// Resolves the rule directory (see ResolveRulesDir), compiles it, prints the diagnostics on
// stderr and keeps the rules an engine with `limits` accepts (a refusal, e.g. a pipe that cannot
// stream, is reported and counted as a failure). Errors: NOT_FOUND when `dir_flag` names no
// directory (a usage error). Without a flag and without a default directory it warns and returns
// no rules.
// `functions`: custom functions the rules may call (a rule package's). REQUIRES: outlives the
// result. `sigma_mapping`: as RuleCheckOptions (REQUIRES: outlives the call).
absl::StatusOr<LoadedRules> LoadRules(const std::optional<std::string>& dir_flag, bool endgame,
                                      schema::Schema& schema, const engine::EngineLimits& limits,
                                      const std::vector<eql::CustomFunction>* functions = nullptr,
                                      const rules::SigmaMapping* sigma_mapping = nullptr);

// `--sigma-mapping FILE` (check, run, replay, test-rules, compile; config `run.sigma_mapping`):
// the built-in Sigma mapping extended by FILE (rules::LoadSigmaMapping: read once, bounded like
// a rule file). nullptr when `path` is unset or empty. Errors: INVALID_ARGUMENT (a usage error),
// one "FILE:LINE:COL: reason" per line.
absl::StatusOr<std::shared_ptr<const rules::SigmaMapping>> LoadSigmaMappingOption(
    const std::optional<std::string>& path);

// A rule package's rules were compiled (and its predicates bound) with the built-in mapping: a
// user's mapping with a package is refused (INVALID_ARGUMENT) rather than silently ignored.
absl::Status CheckSigmaMappingWithPackage(bool is_package, const rules::SigmaMapping* mapping);

// The engine limits of streaming detection (run, replay).
engine::EngineLimits StreamingLimits(size_t max_partials_per_rule, int64_t default_ttl_ns,
                                     size_t state_budget_bytes);

// A diagnostic sink that logs "LOCATION: WHAT: REASON" as a warning for the first `limit`
// diagnostics, says once that further ones are only counted, and then stays quiet.
sources::DiagnosticSink ReportDiagnostics(std::string what, size_t limit = 100);

}  // namespace kestrel::pipeline
