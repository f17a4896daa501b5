// RunConfig: everything that says what one running Kestrel is — its source, rules, outputs,
// workers, blocking and metrics — as the command line (`kestrel run`) and the configuration file
// (cli/config.h) fill it; the Pipeline (pipeline.h) is built from it. Also the small parsers of
// its values that the command line, the config file and the pipeline share.
// Tested by run_config_test.cc.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kestrel/event/json_decoder.h"
#include "kestrel/pipeline/sink_config.h"
#include "kestrel/sources/ebpf/host_identity.h"
#include "kestrel/sources/ebpf/process_identity.h"

#include "kestrel/rules/rule_spec.h"

namespace kestrel::pipeline {

inline constexpr size_t kDefaultStateBudgetBytes = size_t{64} << 20;  // `--state-memory`
inline constexpr size_t kMaxEnvVars = 64;        // names in the env_vars allow-list
inline constexpr size_t kMaxEnvValueMax = 4096;  // bytes of one env_vars value kept

struct RunConfig {
  std::optional<std::string> rules_dir;  // unset: the default search (ResolveRulesDir)
  // The configuration file read (`--config`, or the default one found), if any: like the rules,
  // refused with `--enforce on` (warned about otherwise) when another user could change it.
  std::optional<std::string> config_file;
  // "ebpf" (live collection), "ndjson:PATH" or "ndjson:-"; empty: DefaultSource().
  std::string source;
  // Live sources: stop after this long (0: run until SIGINT or SIGTERM), and filters.
  int64_t duration_ns = 0;
  std::vector<std::string> ignore_comms;  // process names filtered in the kernel
  std::vector<std::string> ignore_paths;  // file events under these path prefixes dropped
  bool auditd_compat = true;  // auditd-compatible syscall events (sources/ebpf/auditd_compat.h)
  // Live sources: host.* and agent.* values that replace what is read from the machine (the
  // config's `run.host` and `run.agent`; docs/configuration.md).
  sources::ebpf::HostOverrides host;
  // Live sources: process.env_vars keeps these variables of each exec's environment (the
  // config's `run.env_vars`; empty: none, and the kernel reads no environment), each value cut
  // to env_value_max bytes (`run.env_value_max`). Bounds: kMaxEnvVars names, kMaxEnvValueMax.
  std::vector<std::string> env_vars = sources::ebpf::DefaultEnvAllowList();
  size_t env_value_max = sources::ebpf::kDefaultEnvValueMax;
  std::string output = "-";               // alerts: "-" for stdout, or a file path
  std::string output_format = "kestrel";  // of --output: kestrel or ecs (`--format`)
  // Default dialect of rules that do not name one: "elasticsearch" or "endgame". With
  // "endgame", events are read in the Endgame schema's time (`timestamp`, FILETIME) unless
  // --time-field/--time-format say otherwise.
  std::string dialect = "elasticsearch";
  std::optional<std::string> time_field;   // default "@timestamp" (Endgame: "timestamp")
  std::optional<std::string> time_format;  // default "auto" (Endgame: "filetime")
  size_t max_reported_malformed = 100;     // diagnostics printed before they are only counted
  // `--flight-recorder DURATION`: keep that much recent history per host and write the events
  // leading to each alert to `flight_recorder_dir` (default: flight-recordings/ beside the
  // alert file, or ./flight-recordings).
  std::optional<std::string> flight_recorder;
  std::optional<std::string> flight_recorder_dir;
  std::string version;  // Kestrel's version, written into flight recordings
  // State bounds per sequence rule (engine::EngineLimits): partial matches kept, and how long a
  // partial match of a sequence without maxspan may wait (event time).
  size_t max_partials_per_rule = 100'000;
  int64_t default_ttl_ns = int64_t{24} * 3600 * 1'000'000'000;
  // All rules' state together (`--state-memory`, config `run.state_memory`; engine::StateBudgets,
  // decision 53: the same evictions for any number of workers); 0: no budget.
  size_t state_budget_bytes = kDefaultStateBudgetBytes;
  // Worker threads (`--workers`): 1 runs everything on the reading thread; N > 1 puts the rules
  // behind a bus::ParallelDetector (same alerts, same order); 0 (the default) is one per core.
  // `queue_full`: "drop" or "block" when a worker's queue is full; empty: drop for the live
  // source, block for files.
  size_t workers = 0;
  std::string queue_full;
  // `--metrics-addr HOST:PORT`: serve Prometheus metrics there (off when unset). A host that is
  // not loopback (metrics::IsLoopbackHost) needs `--metrics-allow-remote` (metrics_allow_remote).
  std::optional<std::string> metrics_addr;
  bool metrics_allow_remote = false;
  // Watch the rule directory and reload on change or SIGHUP (`--no-reload` turns it off).
  bool reload = true;
  // `--strict-rules` (config `run.strict_rules`): refuse to start when any rule fails to load
  // (default: the broken rule is skipped with its diagnostic and the others run).
  bool strict_rules = false;
  // `--sigma-mapping FILE` (config `run.sigma_mapping`): extends or overrides the built-in Sigma
  // -> ECS mapping for the Sigma rule files (docs/sigma.md); read once at start, reloads reuse it.
  std::optional<std::string> sigma_mapping;
  // A new rule set is compiled off the detection thread; one whose compile takes longer than
  // this (wall time) is refused and the running set stays. 0: no limit.
  int64_t reload_compile_budget_ns = int64_t{60} * 1'000'000'000;
  // ... or whose compiled pattern databases (the rule index) exceed this many bytes. 0: none.
  uint64_t reload_memory_budget_bytes = uint64_t{256} << 20;
  std::string predicate_runtime = "native";  // native, lua or wasm (predicate_runtime_option.h)
  // `--sink URL` (repeatable) and the config's `run.sinks`: alert outputs beside --output, each
  // with its own queue, spool and filter (sinks_option.h).
  std::vector<SinkConfig> sinks;
  // Blocking (blocking.h, docs/blocking.md). `enforce`: off, dry-run (evaluate the block
  // rules inline, record the verdict, allow) or on (deny); unset: dry-run for the live source,
  // off for files (a file run guards nothing unless asked to). The guard holds execs/opens on the
  // filesystem (or mount: guard_mark_type) holding `guard_mark`, answers within `guard_budget`
  // or allows (fail open), never blocks PID 1, Kestrel, its parents or `guard_allow_paths`.
  std::optional<std::string> enforce;
  // Alert suppression of rules that set no `suppress` (the config's `run.suppress`:
  // {by: [fields], for: 5m}; docs/alerts.md). Unset: none.
  std::optional<rules::Suppression> suppress;
  std::string guard_mark = "/";
  std::string guard_mark_type = "filesystem";
  std::string guard_budget = "5ms";
  std::vector<std::string> guard_allow_paths;
  size_t guard_responders = 2;
  size_t guard_max_pending = 256;
  int guard_rt_priority = 10;  // SCHED_FIFO of the judges and the watchdog; 0: normal
};

// The rule directory to use: `flag` when given (it must exist), else `./rules`, else `rules/`
// beside the executable, else `../share/kestrel/rules` relative to it, else the rules/ of the
// source tree the binary was built from. nullopt: none found.
std::optional<std::filesystem::path> ResolveRulesDir(const std::optional<std::string>& flag,
                                                     std::string* error);

// Fills the time options of `decoder` from the command line: the given field/format, else the
// dialect's defaults (`@timestamp`/auto; Endgame data: `timestamp`/FILETIME). Errors: a bad
// format name.
absl::Status ApplyTimeOptions(bool endgame, const std::optional<std::string>& field,
                              const std::optional<std::string>& format,
                              event::DecoderOptions* decoder);

// "250ms", "30s", "5m", "2h" or a plain number of seconds ("1.5") to nanoseconds. Errors:
// INVALID_ARGUMENT for anything else or a negative duration.
absl::StatusOr<int64_t> ParseDuration(std::string_view text);

// "64MB", "512KiB", "1G", ... to bytes (units B, K/KB/KiB, M/MB/MiB, G/GB/GiB, all powers of
// 1024; case-insensitive). A bare number is refused unless 0 (as durations are), as is anything
// over 1 TiB. Errors: INVALID_ARGUMENT with what to write instead.
absl::StatusOr<size_t> ParseByteSize(std::string_view text);

// The source of `kestrel run` without --source: "ebpf" in builds with eBPF collection (Linux,
// KESTREL_EBPF=ON), else "" (the user must name one).
std::string DefaultSource();

// A --source value: "ebpf" (live; only in builds with eBPF) or "ndjson:PATH" / "ndjson:-".
struct SourceSpec {
  bool live = false;
  std::string ndjson_path;  // when !live
};
// Errors: INVALID_ARGUMENT saying what to use instead (a usage error).
absl::StatusOr<SourceSpec> ParseSourceSpec(std::string_view spec);

}  // namespace kestrel::pipeline
