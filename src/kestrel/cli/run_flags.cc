// `kestrel run` and `kestrel config check` flags; see command_line.h.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "kestrel/cli/command_line.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/metrics/metrics.h"
#include "kestrel/pipeline/predicate_runtime_option.h"
#include "kestrel/pipeline/sinks_option.h"

#ifndef KESTREL_VERSION
#define KESTREL_VERSION "0.0.0"
#endif

namespace kestrel::cli {
namespace {

// A metrics address other machines can reach needs --metrics-allow-remote (or the config's
// run.metrics_allow_remote). A malformed address is reported when the server starts.
absl::Status CheckMetricsAddress(const pipeline::RunConfig& run) {
  if (!run.metrics_addr || run.metrics_allow_remote) return absl::OkStatus();
  auto split = metrics::SplitAddress(*run.metrics_addr);
  if (!split.ok() || metrics::IsLoopbackHost(split->first)) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format(
      "--metrics-addr {}: not a loopback address, so other machines could read the metrics; "
      "use 127.0.0.1, ::1 or localhost, or add --metrics-allow-remote (config: "
      "run.metrics_allow_remote: true)",
      *run.metrics_addr));
}

// The flags that do not map one to one onto RunConfig, applied after parsing.
int FinishRunConfig(CommandLine& cl, bool no_reload, const std::vector<std::string>& sink_flags) {
  if (!cl.duration.empty()) {
    auto ns = pipeline::ParseDuration(cl.duration);
    if (!ns.ok()) {
      spdlog::error("--duration: {}", std::string(ns.status().message()));
      return kExitUsage;
    }
    cl.run.duration_ns = *ns;
  }
  if (no_reload) cl.run.reload = false;
  if (!sink_flags.empty()) cl.run.sinks.clear();  // the command line overrides the file
  for (const std::string& flag : sink_flags) {
    auto sink = pipeline::ParseSinkFlag(flag);
    absl::Status s = sink.ok() ? pipeline::CheckSinkConfig(*sink) : sink.status();
    if (!s.ok()) {
      spdlog::error("{}", std::string(s.message()));
      return kExitUsage;
    }
    cl.run.sinks.push_back(std::move(*sink));
  }
  if (absl::Status s = CheckMetricsAddress(cl.run); !s.ok()) {
    spdlog::error("{}", std::string(s.message()));
    return kExitUsage;
  }
  return kExitOk;
}

}  // namespace

Command AddRunCommand(CLI::App& app, CommandLine& cl) {
  auto no_reload = std::make_shared<bool>(false);
  auto sink_flags = std::make_shared<std::vector<std::string>>();
  cl.run.version = KESTREL_VERSION;
  CLI::App* run_cmd =
      app.add_subcommand("run", "Read events, evaluate the rules, write alerts as JSON lines");
  run_cmd->add_option("--rules", cl.run.rules_dir,
                      "Rule directory (default: ./rules, else rules/ beside the executable)");
  std::string default_source = pipeline::DefaultSource();
  run_cmd->add_option(
      "--source", cl.run.source,
      default_source.empty()
          ? "Event source: ndjson:PATH (NDJSON or one JSON array; ndjson:- is stdin)"
          : "Event source: ebpf (this machine, live; the default, needs root) or ndjson:PATH "
            "(NDJSON or one JSON array; ndjson:- is stdin)");
  run_cmd->add_option("--duration", cl.duration,
                      "Live source: stop after this long (30s, 5m, 2h; default: until SIGINT or "
                      "SIGTERM)");
  run_cmd->add_option("--ignore-comm", cl.run.ignore_comms,
                      "Live source: drop the events of processes with this name (comm, in the "
                      "kernel; repeatable)");
  run_cmd->add_option("--ignore-path", cl.run.ignore_paths,
                      "Live source: drop file events under this path prefix (repeatable)");
  run_cmd->add_option("--metrics-addr", cl.run.metrics_addr,
                      "Serve Prometheus metrics at HOST:PORT (e.g. 127.0.0.1:9464; off by "
                      "default); `kestrel stats` reads them. A non-loopback host needs "
                      "--metrics-allow-remote");
  run_cmd->add_flag("--metrics-allow-remote", cl.run.metrics_allow_remote,
                    "Allow a --metrics-addr that other machines can reach (e.g. 0.0.0.0:9464); "
                    "the metrics have no authentication");
  run_cmd->add_flag("--no-reload", *no_reload,
                    "Do not watch the rule directory (by default a change, or SIGHUP, reloads "
                    "it; a set with errors is refused and the running one kept)");
  run_cmd->add_option("--sigma-mapping", cl.run.sigma_mapping,
                      "YAML file extending or overriding the built-in Sigma -> ECS field mapping "
                      "for Sigma rule files (docs/sigma.md); read once, reloads reuse it");
  run_cmd->add_flag("--strict-rules", cl.run.strict_rules,
                    "Refuse to start when any rule fails to load (by default the broken rule is "
                    "skipped with its diagnostic); for CI and golden deployments");
  run_cmd
      ->add_option("--workers", cl.run.workers,
                   "Worker threads for the rules (default 0: one per core; 1: everything on the "
                   "reading thread); alerts are the same, in the same order, with any number")
      ->check(CLI::Range(0, 256));
  run_cmd->add_option_function<std::string>(
      "--state-memory",
      [&cl](const std::string& text) {
        auto bytes = pipeline::ParseByteSize(text);
        if (!bytes.ok()) {
          throw CLI::ValidationError("--state-memory", std::string(bytes.status().message()));
        }
        cl.run.state_budget_bytes = *bytes;
      },
      "Memory all rules' state may hold together: sequences' partial matches with their "
      "evidence, join keys (default 64MB; 0: no limit). Past it the least recently written are "
      "evicted, counted per rule; a rule under its floor keeps its own");
  run_cmd
      ->add_option("--queue-full", cl.run.queue_full,
                   "When a worker's queue is full: drop (counted; default for the live source) or "
                   "block (default for files)")
      ->check(CLI::IsMember({"drop", "block"}));
  run_cmd->add_option("--predicate-runtime", cl.run.predicate_runtime,
                      pipeline::kPredicateRuntimeHelp);
  run_cmd->add_option("--output", cl.run.output, "Alert output: a file (appended) or - for stdout")
      ->capture_default_str();
  run_cmd
      ->add_option("--format", cl.run.output_format,
                   "Format of the --output alerts: kestrel (Kestrel's alert line) or ecs (the ECS "
                   "alerts-as-data document; docs/alerts.md)")
      ->check(CLI::IsMember({"kestrel", "ecs"}))
      ->capture_default_str();
  run_cmd->add_option("--sink", *sink_flags,
                      "Also send alerts to URL[#options] (repeatable; replaces the config's "
                      "sinks): file:PATH, syslog+udp|tcp://HOST:PORT, syslog+unix:///dev/log, "
                      "http(s)://HOST:PORT/PATH, kafka://BROKER/TOPIC (docs/deployment.md)");
  AddDialectOption(run_cmd, &cl.run.dialect,
                   "Dialect of rules that do not name one: elasticsearch or endgame "
                   "(endgame also reads time from `timestamp` as FILETIME by default)");
  run_cmd->add_option("--time-field", cl.run.time_field,
                      "Field that holds each event's time (default @timestamp)");
  run_cmd->add_option("--time-format", cl.run.time_format,
                      "Format of the time field: auto (RFC 3339 or epoch ms), rfc3339, s, ms, "
                      "us, ns, filetime (default auto)");
  run_cmd->add_option("--flight-recorder", cl.run.flight_recorder,
                      "Keep this much recent history per host (e.g. 60s) and write the events "
                      "leading to each alert to a log named in the alert's context");
  run_cmd->add_option("--flight-recorder-dir", cl.run.flight_recorder_dir,
                      "Where flight recordings go (default: flight-recordings/ beside the alert "
                      "file, or ./flight-recordings)");
  run_cmd
      ->add_option("--enforce", cl.run.enforce,
                   "Rules with action `block`: off, dry-run (evaluate each exec/open inline and "
                   "record the verdict, allow it) or on (deny it); default dry-run for the live "
                   "source, off for files")
      ->check(CLI::IsMember({"off", "dry-run", "on"}));
  run_cmd
      ->add_option("--guard-mark", cl.run.guard_mark,
                   "Blocking: a path on the filesystem (or mount) whose execs and opens are held")
      ->capture_default_str();
  run_cmd
      ->add_option("--guard-mark-type", cl.run.guard_mark_type,
                   "Blocking: mark the whole filesystem or only the mount of --guard-mark")
      ->check(CLI::IsMember({"filesystem", "mount"}))
      ->capture_default_str();
  run_cmd
      ->add_option("--guard-budget", cl.run.guard_budget,
                   "Blocking: answer each held exec/open within this long, else allow it "
                   "(counted)")
      ->capture_default_str();
  run_cmd->add_option("--guard-allow-path", cl.run.guard_allow_paths,
                      "Blocking: never block files under this path (repeatable)");
  run_cmd
      ->add_option("--guard-responders", cl.run.guard_responders,
                   "Blocking: threads that judge held accesses (1 with sequence block rules)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  run_cmd
      ->add_option("--guard-rt-priority", cl.run.guard_rt_priority,
                   "Blocking: SCHED_FIFO priority of the guard's answering threads, so that busy "
                   "CPUs do not delay the answers (0: normal scheduling)")
      ->check(CLI::Range(0, 99))
      ->capture_default_str();
  run_cmd->footer(kExitCodesHelp);
  return {run_cmd, [&cl, no_reload, sink_flags] {
            int code = FinishRunConfig(cl, *no_reload, *sink_flags);
            return code != kExitOk ? code : Run(cl.run);
          }};
}

Command AddConfigCommand(CLI::App& app, CommandLine& cl) {
  CLI::App* config_cmd = app.add_subcommand("config", "Configuration file tools");
  config_cmd->require_subcommand(1);
  CLI::App* config_check_cmd = config_cmd->add_subcommand(
      "check", "Validate the configuration file and print the effective run configuration");
  return {config_check_cmd, [&cl] {
            if (!cl.duration.empty()) cl.global.duration = cl.duration;
            cl.global.log_level = cl.log_level;
            if (absl::Status s = CheckMetricsAddress(cl.run); !s.ok()) {
              spdlog::error("{}", std::string(s.message()));
              return kExitUsage;
            }
            std::fprintf(
                stderr, "config: %s\n",
                cl.config_file ? cl.config_file->c_str() : "no file (defaults and command line)");
            std::string text = RenderConfig(cl.run, cl.global);
            std::fwrite(text.data(), 1, text.size(), stdout);
            return kExitOk;
          }};
}

}  // namespace kestrel::cli
