// The `kestrel` binary: command-line parsing and wiring of the concrete classes.
// Subcommands live in their own files (run_command.cc, ...); this file only dispatches.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "kestrel/cli/check_command.h"
#include "kestrel/cli/compile_command.h"
#include "kestrel/cli/config.h"
#include "kestrel/cli/doctor_command.h"
#include "kestrel/cli/log_commands.h"
#include "kestrel/cli/package_command.h"
#include "kestrel/cli/query_command.h"
#include "kestrel/cli/replay_command.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/cli/test_rules_command.h"
#include "kestrel/metrics/metrics.h"
#include "kestrel/pipeline/predicate_runtime_option.h"
#include "kestrel/pipeline/sinks_option.h"

#ifndef KESTREL_VERSION
#define KESTREL_VERSION "0.0.0"
#endif

namespace {

constexpr const char* kExitCodesHelp =
    "Exit codes:\n"
    "  0  success (malformed input lines are reported and counted, not failures)\n"
    "  1  the run could not start or finish (unreadable source, unwritable output), or\n"
    "     (compile, check) a query or rule has errors\n"
    "  2  usage error (unknown option or subcommand, bad value, missing rule directory)\n";

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("kestrel");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Kestrel: endpoint behaviour detection with Elastic EQL rules over ECS events.",
               "kestrel"};
  app.footer(kExitCodesHelp);
  app.set_version_flag("--version", std::string("kestrel ") + KESTREL_VERSION);
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "Log verbosity on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();

  kestrel::pipeline::RunConfig run;
  CLI::App* run_cmd =
      app.add_subcommand("run", "Read events, evaluate the rules, write alerts as JSON lines");
  run_cmd->add_option("--rules", run.rules_dir,
                      "Rule directory (default: ./rules, else rules/ beside the executable)");
  std::string default_source = kestrel::pipeline::DefaultSource();
  run_cmd->add_option(
      "--source", run.source,
      default_source.empty()
          ? "Event source: ndjson:PATH (NDJSON or one JSON array; ndjson:- is stdin)"
          : "Event source: ebpf (this machine, live; the default, needs root) or ndjson:PATH "
            "(NDJSON or one JSON array; ndjson:- is stdin)");
  std::string duration;
  run_cmd->add_option("--duration", duration,
                      "Live source: stop after this long (30s, 5m, 2h; default: until SIGINT or "
                      "SIGTERM)");
  run_cmd->add_option("--ignore-comm", run.ignore_comms,
                      "Live source: drop the events of processes with this name (comm, in the "
                      "kernel; repeatable)");
  run_cmd->add_option("--ignore-path", run.ignore_paths,
                      "Live source: drop file events under this path prefix (repeatable)");
  run_cmd->add_option("--metrics-addr", run.metrics_addr,
                      "Serve Prometheus metrics at HOST:PORT (e.g. 127.0.0.1:9464; off by "
                      "default); `kestrel stats` reads them");
  bool no_reload = false;
  run_cmd->add_flag("--no-reload", no_reload,
                    "Do not watch the rule directory (by default a change, or SIGHUP, reloads "
                    "it; a set with errors is refused and the running one kept)");
  run_cmd
      ->add_option("--workers", run.workers,
                   "Worker threads for the rules (default 0: one per core; 1: everything on the "
                   "reading thread); alerts are the same, in the same order, with any number")
      ->check(CLI::Range(0, 256));
  run_cmd
      ->add_option("--queue-full", run.queue_full,
                   "When a worker's queue is full: drop (counted; default for the live source) or "
                   "block (default for files)")
      ->check(CLI::IsMember({"drop", "block"}));
  run_cmd->add_option("--predicate-runtime", run.predicate_runtime,
                      kestrel::pipeline::kPredicateRuntimeHelp);
  run_cmd->add_option("--output", run.output, "Alert output: a file (appended) or - for stdout")
      ->capture_default_str();
  std::vector<std::string> sink_flags;
  run_cmd->add_option("--sink", sink_flags,
                      "Also send alerts to URL[#options] (repeatable; replaces the config's "
                      "sinks): file:PATH, syslog+udp|tcp://HOST:PORT, syslog+unix:///dev/log, "
                      "http(s)://HOST:PORT/PATH, kafka://BROKER/TOPIC (docs/deployment.md)");
  run_cmd
      ->add_option("--dialect", run.dialect,
                   "Dialect of rules that do not name one: elasticsearch or endgame "
                   "(endgame also reads time from `timestamp` as FILETIME by default)")
      ->check(CLI::IsMember({"elasticsearch", "endgame"}))
      ->capture_default_str();
  run_cmd->add_option("--time-field", run.time_field,
                      "Field that holds each event's time (default @timestamp)");
  run_cmd->add_option("--time-format", run.time_format,
                      "Format of the time field: auto (RFC 3339 or epoch ms), rfc3339, s, ms, "
                      "us, ns, filetime (default auto)");
  run_cmd->add_option("--flight-recorder", run.flight_recorder,
                      "Keep this much recent history per host (e.g. 60s) and write the events "
                      "leading to each alert to a log named in the alert's context");
  run_cmd->add_option("--flight-recorder-dir", run.flight_recorder_dir,
                      "Where flight recordings go (default: flight-recordings/ beside the alert "
                      "file, or ./flight-recordings)");
  run_cmd
      ->add_option("--enforce", run.enforce,
                   "Rules with action `block`: off, dry-run (evaluate each exec/open inline and "
                   "record the verdict, allow it) or on (deny it); default dry-run for the live "
                   "source, off for files")
      ->check(CLI::IsMember({"off", "dry-run", "on"}));
  run_cmd
      ->add_option("--guard-mark", run.guard_mark,
                   "Blocking: a path on the filesystem (or mount) whose execs and opens are held")
      ->capture_default_str();
  run_cmd
      ->add_option("--guard-mark-type", run.guard_mark_type,
                   "Blocking: mark the whole filesystem or only the mount of --guard-mark")
      ->check(CLI::IsMember({"filesystem", "mount"}))
      ->capture_default_str();
  run_cmd
      ->add_option("--guard-budget", run.guard_budget,
                   "Blocking: answer each held exec/open within this long, else allow it "
                   "(counted)")
      ->capture_default_str();
  run_cmd->add_option("--guard-allow-path", run.guard_allow_paths,
                      "Blocking: never block files under this path (repeatable)");
  run_cmd
      ->add_option("--guard-responders", run.guard_responders,
                   "Blocking: threads that judge held accesses (1 with sequence block rules)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  run_cmd
      ->add_option("--guard-rt-priority", run.guard_rt_priority,
                   "Blocking: SCHED_FIFO priority of the guard's answering threads, so that busy "
                   "CPUs do not delay the answers (0: normal scheduling)")
      ->check(CLI::Range(0, 99))
      ->capture_default_str();
  run.version = KESTREL_VERSION;
  run_cmd->footer(kExitCodesHelp);

  kestrel::cli::CompileCommandOptions compile;
  CLI::App* compile_cmd =
      app.add_subcommand("compile", "Parse and analyse one EQL query; print its AST or IR");
  compile_cmd->add_option("input", compile.input, "File holding one EQL query, or - for stdin")
      ->required();
  compile_cmd->add_option("--emit", compile.emit, "What to print: ast or ir")
      ->check(CLI::IsMember({"ast", "ir"}))
      ->capture_default_str();
  compile_cmd->add_option("--dialect", compile.dialect, "EQL dialect: elasticsearch or endgame")
      ->check(CLI::IsMember({"elasticsearch", "endgame"}))
      ->capture_default_str();
  compile_cmd->add_flag("--strict", compile.strict, "Unknown fields are errors, not warnings");
  compile_cmd->add_flag("--case-sensitive", compile.case_sensitive,
                        "Endgame dialect: compare strings with case");
  // Rule packages: `compile RULES... --target ir|lua|wasm -o OUT` (rule_package.h).
  kestrel::cli::PackageCompileOptions package;
  std::vector<std::string> more_inputs;
  compile_cmd->add_option("more", more_inputs, "With --target: more rule files or directories");
  compile_cmd
      ->add_option("--target", package.target,
                   "Write a rule package whose predicates are compiled to ir, lua or wasm")
      ->check(CLI::IsMember({"ir", "lua", "wasm"}));
  compile_cmd->add_option("-o,--output", package.output, "With --target: the package directory");
  compile_cmd->add_option("--functions", package.functions,
                          "With --target: a module of custom functions the rules may call, in Lua "
                          "(.lua) or Wasm (.wasm, exports kestrel_fn_<name>)");
  compile_cmd->add_option("--function", package.declared_functions,
                          "Declares a function of a Wasm --functions module: "
                          "'name(type, ...) -> type' with string, number, bool (repeatable)");
  compile_cmd->add_flag("--aot", package.aot,
                        "With --target wasm: also compile the modules ahead of time (wasm2c, cc)");
  compile_cmd->add_option(
      "--predicate", package.predicates,
      "With --target lua|wasm: RULE_ID=FILE, a user-written predicate for a rule");
  compile_cmd->footer(kExitCodesHelp);

  kestrel::cli::QueryOptions query;
  CLI::App* query_cmd = app.add_subcommand(
      "query", "Run one EQL query over NDJSON events; print the matching events as JSON lines");
  query_cmd->add_option("query", query.query, "The EQL query")->required();
  query_cmd->add_option("--input", query.input, "NDJSON or JSON-array file, or - for stdin")
      ->capture_default_str();
  query_cmd->add_option("--dialect", query.dialect, "EQL dialect: elasticsearch or endgame")
      ->check(CLI::IsMember({"elasticsearch", "endgame"}))
      ->capture_default_str();
  query_cmd->add_flag("--case-sensitive", query.case_sensitive,
                      "Endgame dialect: compare strings with case");
  query_cmd->add_flag("--case-insensitive", query.case_insensitive,
                      "Endgame dialect: compare strings without case (the default)");
  query_cmd->add_flag("--count", query.count, "Print only the number of results");
  query_cmd->add_option("--predicate-runtime", query.predicate_runtime,
                        kestrel::pipeline::kPredicateRuntimeHelp);
  query_cmd->add_option("--functions", query.functions,
                        "A module of custom functions the query may call (.lua or .wasm)");
  query_cmd->add_option("--function", query.declared_functions,
                        "Declares a function of a Wasm --functions module: "
                        "'name(type, ...) -> type' (repeatable)");
  query_cmd->add_option("--time-field", query.time_field,
                        "Field that holds each event's time (default @timestamp; endgame: "
                        "timestamp)");
  query_cmd->add_option("--time-format", query.time_format,
                        "auto, rfc3339, s, ms, us, ns or filetime (default auto; endgame: "
                        "filetime)");
  query_cmd->footer(kExitCodesHelp);

  kestrel::cli::CheckOptions check;
  CLI::App* check_cmd = app.add_subcommand(
      "check", "Load and compile rule files and directories; print every diagnostic");
  check_cmd->add_option("paths", check.paths, "Rule files and directories (recursive)")->required();
  check_cmd->add_flag("--summary", check.summary,
                      "End with a line 'N rules: M ok, K failed, S skipped'");
  check_cmd->add_flag("--strict", check.strict, "Unknown fields are errors, not warnings");
  check_cmd->add_flag("--no-warnings", check.quiet_warnings, "Print errors only");
  check_cmd
      ->add_option("--dialect", check.dialect,
                   "Dialect of rules that do not name one: elasticsearch or endgame")
      ->check(CLI::IsMember({"elasticsearch", "endgame"}))
      ->capture_default_str();
  check_cmd->footer(kExitCodesHelp);

  kestrel::cli::RecordOptions record;
  record.version = KESTREL_VERSION;
  CLI::App* record_cmd =
      app.add_subcommand("record", "Record events from a source into a binary event log");
  record_cmd->add_option("--source", record.source, "Event source: ndjson:PATH, ndjson:- or ebpf")
      ->required();
  record_cmd->add_option("--output", record.output, "The log file to write")->required();
  record_cmd->add_option("--count", record.count, "Stop after this many events");
  record_cmd->add_option("--duration", record.duration,
                         "Stop after this much wall time (e.g. 30s, 5m, 2h)");
  record_cmd->add_option("--max-size", record.max_size,
                         "Start a new file past this size (e.g. 64M, 1G)");
  record_cmd->add_option("--max-age", record.max_age,
                         "Start a new file past this much event time (e.g. 10m, 1h)");
  record_cmd
      ->add_option("--level", record.level,
                   "zstd compression level, 1 (fastest) to 19 (smallest); default 3")
      ->check(CLI::Range(1, 19));
  record_cmd->add_option("--fsync", record.fsync, "When to fsync: never, block or close")
      ->check(CLI::IsMember({"never", "block", "close"}))
      ->capture_default_str();
  record_cmd
      ->add_option("--dialect", record.dialect,
                   "elasticsearch or endgame: the time-field defaults of NDJSON input, as in run")
      ->check(CLI::IsMember({"elasticsearch", "endgame"}))
      ->capture_default_str();
  record_cmd->add_option("--time-field", record.time_field, "Field that holds each event's time");
  record_cmd->add_option("--time-format", record.time_format,
                         "auto, rfc3339, s, ms, us, ns or filetime");
  record_cmd->footer(kExitCodesHelp);

  kestrel::cli::ReplayCommandOptions replay;
  CLI::App* replay_cmd = app.add_subcommand(
      "replay", "Run the rules over recorded event logs; alerts exactly as `run` writes them");
  replay_cmd->add_option("logs", replay.logs, "Log files, read in the order given");
  replay_cmd->add_option("--source", replay.source,
                         "Instead of files: kafka://BROKER/TOPIC[#group=G&idle=10s] reads "
                         "recorded logs shipped to Kafka, as one of a consumer group "
                         "(docs/deployment.md)");
  replay_cmd->add_option("--rules", replay.rules_dir,
                         "Rule directory (default: ./rules, else rules/ beside the executable)");
  replay_cmd->add_option("--output", replay.output,
                         "Alert output: a file (appended) or - for stdout (default -, or none "
                         "with --digest)");
  replay_cmd->add_option("--predicate-runtime", replay.predicate_runtime,
                         kestrel::pipeline::kPredicateRuntimeHelp);
  replay_cmd
      ->add_option("--workers", replay.workers,
                   "Worker threads (rules are split between them; the output is the same "
                   "for any number)")
      ->capture_default_str();
  replay_cmd
      ->add_option("--speed", replay.speed,
                   "max (as fast as possible), realtime, or a factor such as 10x")
      ->capture_default_str();
  replay_cmd->add_option("--from", replay.from,
                         "Skip events before this time (RFC 3339 or Unix nanoseconds)");
  replay_cmd->add_option("--to", replay.to,
                         "Stop at events from this time on (RFC 3339 or Unix nanoseconds)");
  replay_cmd->add_flag("--digest", replay.digest,
                       "Print the SHA-256 of the alert stream and the counts on stdout");
  replay_cmd
      ->add_option("--dialect", replay.dialect,
                   "Dialect of rules that do not name one: elasticsearch or endgame")
      ->check(CLI::IsMember({"elasticsearch", "endgame"}))
      ->capture_default_str();
  replay_cmd->footer(kExitCodesHelp);

  kestrel::cli::TestRulesOptions test_rules;
  CLI::App* test_rules_cmd = app.add_subcommand(
      "test-rules",
      "Run the test cases beside each rule (foo.test.yaml next to foo.eql) through the engine; "
      "PASS/FAIL per case with the diff of expected and actual alerts");
  test_rules_cmd->add_option("dir", test_rules.dir,
                             "Rule directory (default: ./rules, else rules/ beside the "
                             "executable)");
  test_rules_cmd->add_flag("--coverage", test_rules.coverage,
                           "Also print the MITRE ATT&CK coverage table of the rules on stdout "
                           "(case results go to stderr, failures only)");
  test_rules_cmd
      ->add_option("--format", test_rules.format, "Coverage table format: text or markdown")
      ->check(CLI::IsMember({"text", "markdown"}))
      ->capture_default_str();
  test_rules_cmd->add_flag("--verbose", test_rules.verbose,
                           "With --coverage: report passing cases too");
  test_rules_cmd->footer(kExitCodesHelp);

  CLI::App* doctor_cmd = app.add_subcommand(
      "doctor", "Probe this machine: what Kestrel can do here (collection, blocking) and why not");
  doctor_cmd->footer(kExitCodesHelp);

  std::string stats_addr = "127.0.0.1:9464";
  CLI::App* stats_cmd = app.add_subcommand(
      "stats", "Print the metrics of a running `kestrel run --metrics-addr` (Prometheus text)");
  stats_cmd->add_option("--metrics-addr", stats_addr, "Where the running instance serves them")
      ->capture_default_str();
  stats_cmd->footer(kExitCodesHelp);

  std::string rules_addr = "127.0.0.1:9464";
  CLI::App* rules_cmd = app.add_subcommand(
      "rules",
      "List the rule set of a running `kestrel run --metrics-addr`: version, load time, "
      "and per rule its alerts and state");
  rules_cmd->add_option("--metrics-addr", rules_addr, "Where the running instance serves metrics")
      ->capture_default_str();
  size_t rules_top = 0;
  rules_cmd
      ->add_option("--top", rules_top,
                   "List the N rules that cost the most evaluation time (sampled), with "
                   "evaluations, mean and p99 per event, total and share")
      ->check(CLI::PositiveNumber);
  rules_cmd->footer(kExitCodesHelp);

  CLI::App* log_cmd = app.add_subcommand("log", "Inspect recorded event logs");
  log_cmd->require_subcommand(1);
  std::string info_path;
  CLI::App* log_info_cmd =
      log_cmd->add_subcommand("info", "Print a log's header, blocks, event count and time range");
  log_info_cmd->add_option("log", info_path, "The log file")->required();
  std::vector<std::string> cat_paths;
  CLI::App* log_cat_cmd = log_cmd->add_subcommand("cat", "Print a log's events as NDJSON");
  log_cat_cmd->add_option("logs", cat_paths, "Log files, in order")->required();

  // The configuration file first; the command line, parsed next, overrides what it sets.
  std::string config_path;
  app.add_option("--config", config_path,
                 "YAML configuration file (default: /etc/kestrel/kestrel.yaml if it exists); the "
                 "command line overrides it");
  CLI::App* config_cmd = app.add_subcommand("config", "Configuration file tools");
  config_cmd->require_subcommand(1);
  CLI::App* config_check_cmd = config_cmd->add_subcommand(
      "check", "Validate the configuration file and print the effective run configuration");
  kestrel::cli::GlobalConfig global;
  std::optional<std::string> config_file = kestrel::cli::FindConfigFile(argc, argv);
  if (config_file) {
    if (absl::Status s = kestrel::cli::LoadConfigFile(*config_file, &run, &global); !s.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
      return kestrel::cli::kExitUsage;
    }
    if (global.log_level) log_level = *global.log_level;
    if (global.duration) duration = *global.duration;
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kestrel::cli::kExitUsage;
  }
  SetUpLogging(log_level);

  if (run_cmd->parsed()) {
    if (!duration.empty()) {
      auto ns = kestrel::pipeline::ParseDuration(duration);
      if (!ns.ok()) {
        spdlog::error("--duration: {}", std::string(ns.status().message()));
        return kestrel::cli::kExitUsage;
      }
      run.duration_ns = *ns;
    }
    if (no_reload) run.reload = false;
    if (!sink_flags.empty()) run.sinks.clear();  // the command line overrides the file
    for (const std::string& flag : sink_flags) {
      auto sink = kestrel::pipeline::ParseSinkFlag(flag);
      absl::Status s = sink.ok() ? kestrel::pipeline::CheckSinkConfig(*sink) : sink.status();
      if (!s.ok()) {
        spdlog::error("{}", std::string(s.message()));
        return kestrel::cli::kExitUsage;
      }
      run.sinks.push_back(std::move(*sink));
    }
    return kestrel::cli::Run(run);
  }
  if (compile_cmd->parsed() && compile_cmd->count("--target") > 0) {
    if (package.output.empty()) {
      std::fprintf(stderr, "error: compile --target needs -o OUT\n");
      return kestrel::cli::kExitUsage;
    }
    package.inputs = {compile.input};
    package.inputs.insert(package.inputs.end(), more_inputs.begin(), more_inputs.end());
    package.dialect = compile.dialect;
    package.kestrel_version = KESTREL_VERSION;
    return kestrel::cli::CompilePackageCommand(package);
  }
  if (compile_cmd->parsed() && !more_inputs.empty()) {
    std::fprintf(stderr,
                 "error: compile takes one query file (several rule files need --target)\n");
    return kestrel::cli::kExitUsage;
  }
  if (compile_cmd->parsed()) return kestrel::cli::CompileCommand(compile);
  if (check_cmd->parsed()) return kestrel::cli::CheckCommand(check);
  if (query_cmd->parsed()) return kestrel::cli::QueryCommand(query);
  if (record_cmd->parsed()) return kestrel::cli::Record(record);
  if (replay_cmd->parsed()) return kestrel::cli::Replay(replay);
  if (config_check_cmd->parsed()) {
    if (!duration.empty()) global.duration = duration;
    global.log_level = log_level;
    std::fprintf(stderr, "config: %s\n",
                 config_file ? config_file->c_str() : "no file (defaults and command line)");
    std::string text = kestrel::cli::RenderConfig(run, global);
    std::fwrite(text.data(), 1, text.size(), stdout);
    return kestrel::cli::kExitOk;
  }
  if (test_rules_cmd->parsed()) return kestrel::cli::TestRulesCommand(test_rules);
  if (doctor_cmd->parsed()) return kestrel::cli::DoctorCommand();
  if (rules_cmd->parsed()) {
    auto text = kestrel::metrics::Scrape(
        rules_addr, rules_top > 0 ? "/rules?top=" + std::to_string(rules_top) : "/rules");
    if (!text.ok()) {
      spdlog::error("{}", std::string(text.status().message()));
      return kestrel::cli::kExitFailure;
    }
    std::fwrite(text->data(), 1, text->size(), stdout);
    return kestrel::cli::kExitOk;
  }
  if (stats_cmd->parsed()) {
    auto text = kestrel::metrics::Scrape(stats_addr);
    if (!text.ok()) {
      spdlog::error("{}", std::string(text.status().message()));
      return kestrel::cli::kExitFailure;
    }
    std::fwrite(text->data(), 1, text->size(), stdout);
    return kestrel::cli::kExitOk;
  }
  if (log_info_cmd->parsed()) return kestrel::cli::LogInfo(info_path);
  if (log_cat_cmd->parsed()) return kestrel::cli::LogCat(cat_paths);
  return kestrel::cli::kExitUsage;
}
