// `kestrel replay LOG... --rules DIR [--workers N] [--speed max|realtime|Nx] [--from T] [--to T]
// [--digest]`: runs the rules over recorded event logs and writes alerts exactly as `kestrel run`
// would have written them for the same events (docs/replay.md is the determinism contract).
//
// Parallelism without changing a byte: the rules, not the events, are split between the workers
// (bus::ParallelDetector with Routing::kByRule: rule i runs on worker i mod N), so every rule
// still sees every event in log order. The reading thread decodes each event and moves it into
// the bus (one shared copy for all workers, no copying); each worker runs its rules and encodes
// its alerts (JSON) itself; the bus's merger thread puts the lines in the order of one worker
// (event, rule, completion order), hashes and writes them: the order `kestrel run` produces too.
// Tested by replay_command_test.cc and cli_test.sh.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kestrel/pipeline/run_config.h"

namespace kestrel::cli {

struct ReplayCommandOptions {
  std::vector<std::string> logs;  // read in this order
  // `--source kafka://BROKERS/TOPIC[#options]` instead of `logs`: the logs of this instance's
  // share of a topic (kafka_log_source.h).
  std::optional<std::string> source;
  std::optional<std::string> rules_dir;  // unset: the default search (ResolveRulesDir)
  std::optional<std::string> output;     // alerts: "-" or a file; default "-" (none with digest)
  std::string dialect = "elasticsearch";
  // `--sigma-mapping FILE`: extends the built-in Sigma mapping, as on run (exit 2 when bad; not
  // with a rule package).
  std::optional<std::string> sigma_mapping;
  size_t workers = 1;
  std::string predicate_runtime = "native";  // native, lua or wasm: one runtime per worker
  std::string speed = "max";                 // max, realtime, or a factor such as 10x
  std::optional<std::string> from;           // event-time window [from, to): RFC 3339 or Unix ns
  std::optional<std::string> to;
  bool digest = false;  // print the SHA-256 of the alert stream and the counts on stdout
  size_t max_partials_per_rule = 100'000;
  size_t state_budget_bytes = pipeline::kDefaultStateBudgetBytes;  // engine::StateBudget
  int64_t default_ttl_ns = int64_t{24} * 3600 * 1'000'000'000;
};

// Returns an exit code (run_command.h).
int Replay(const ReplayCommandOptions& options);

// "max" -> 0 (no pacing); "realtime" -> 1; "Nx" (N > 0, may be fractional) -> N. nullopt: bad.
std::optional<double> ParseSpeed(const std::string& speed);

}  // namespace kestrel::cli
