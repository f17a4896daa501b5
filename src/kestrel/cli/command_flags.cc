// The flags of every command but `run` and `config`; see command_line.h.
#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "kestrel/cli/check_command.h"
#include "kestrel/cli/command_line.h"
#include "kestrel/cli/compile_command.h"
#include "kestrel/cli/doctor_command.h"
#include "kestrel/cli/log_commands.h"
#include "kestrel/cli/package_command.h"
#include "kestrel/cli/query_command.h"
#include "kestrel/cli/replay_command.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/cli/test_rules_command.h"
#include "kestrel/metrics/metrics.h"
#include "kestrel/pipeline/predicate_runtime_option.h"

#ifndef KESTREL_VERSION
#define KESTREL_VERSION "0.0.0"
#endif

namespace kestrel::cli {
namespace {

// Prints `path` of a running instance's metrics endpoint.
int PrintScraped(const std::string& addr, const std::string& path) {
  auto text = metrics::Scrape(addr, path);
  if (!text.ok()) {
    spdlog::error("{}", std::string(text.status().message()));
    return kExitFailure;
  }
  std::fwrite(text->data(), 1, text->size(), stdout);
  return kExitOk;
}

}  // namespace

void AddDialectOption(CLI::App* cmd, std::string* dialect, const std::string& help) {
  cmd->add_option("--dialect", *dialect, help)
      ->check(CLI::IsMember({"elasticsearch", "endgame"}))
      ->capture_default_str();
}

Command AddCompileCommand(CLI::App& app) {
  auto compile = std::make_shared<CompileCommandOptions>();
  auto package = std::make_shared<PackageCompileOptions>();
  auto more_inputs = std::make_shared<std::vector<std::string>>();
  CLI::App* compile_cmd =
      app.add_subcommand("compile", "Parse and analyse EQL queries; print their AST or IR");
  compile_cmd
      ->add_option("input", compile->input,
                   "A rule file (.eql, .json, .yaml, .yml, .toml) or directory: each rule's query; "
                   "any other file: one query; -: one query on stdin")
      ->required();
  compile_cmd
      ->add_option("--emit", compile->emit,
                   "What to print: ast, ir, or eql (the EQL each rule of a rule file became, e.g. "
                   "a Sigma rule)")
      ->check(CLI::IsMember({"ast", "ir", "eql"}))
      ->capture_default_str();
  AddDialectOption(compile_cmd, &compile->dialect, "EQL dialect: elasticsearch or endgame");
  compile_cmd->add_flag("--strict", compile->strict, "Unknown fields are errors, not warnings");
  compile_cmd->add_flag("--case-sensitive", compile->case_sensitive,
                        "Endgame dialect: compare strings with case");
  compile_cmd->add_option("--sigma-mapping", compile->sigma_mapping,
                          "YAML file extending or overriding the built-in Sigma -> ECS field "
                          "mapping for Sigma rule files (docs/sigma.md), as on run");
  // Rule packages: `compile RULES... --target ir|lua|wasm -o OUT` (rule_package.h).
  compile_cmd->add_option("more", *more_inputs, "With --target: more rule files or directories");
  compile_cmd
      ->add_option("--target", package->target,
                   "Write a rule package whose predicates are compiled to ir, lua or wasm")
      ->check(CLI::IsMember({"ir", "lua", "wasm"}));
  compile_cmd->add_option("-o,--output", package->output, "With --target: the package directory");
  compile_cmd->add_option("--functions", package->functions,
                          "With --target: a module of custom functions the rules may call, in Lua "
                          "(.lua) or Wasm (.wasm, exports kestrel_fn_<name>)");
  compile_cmd->add_option("--function", package->declared_functions,
                          "Declares a function of a Wasm --functions module: "
                          "'name(type, ...) -> type' with string, number, bool (repeatable)");
  compile_cmd->add_flag("--aot", package->aot,
                        "With --target wasm: also compile the modules ahead of time (wasm2c, cc)");
  compile_cmd->add_option(
      "--predicate", package->predicates,
      "With --target lua|wasm: RULE_ID=FILE, a user-written predicate for a rule");
  compile_cmd->footer(kExitCodesHelp);
  return {compile_cmd, [compile_cmd, compile, package, more_inputs] {
            if (compile_cmd->count("--target") > 0) {
              if (package->output.empty()) {
                std::fprintf(stderr, "error: compile --target needs -o OUT\n");
                return kExitUsage;
              }
              package->inputs = {compile->input};
              package->inputs.insert(package->inputs.end(), more_inputs->begin(),
                                     more_inputs->end());
              package->dialect = compile->dialect;
              package->kestrel_version = KESTREL_VERSION;
              if (compile->sigma_mapping) {
                std::fprintf(stderr,
                             "error: compile --target takes no --sigma-mapping: a rule package "
                             "is built with the built-in Sigma mapping (convert the rules with "
                             "`kestrel import sigma --sigma-mapping` first)\n");
                return kExitUsage;
              }
              return CompilePackageCommand(*package);
            }
            if (!more_inputs->empty()) {
              std::fprintf(stderr,
                           "error: compile takes one query file (several rule files need "
                           "--target)\n");
              return kExitUsage;
            }
            return CompileCommand(*compile);
          }};
}

Command AddQueryCommand(CLI::App& app, const CommandLine& cl) {
  auto query = std::make_shared<QueryOptions>();
  CLI::App* query_cmd = app.add_subcommand(
      "query",
      "Run one EQL query over events (NDJSON, JSON arrays, .klog logs, directories of logs, - for "
      "stdin); print the results as a table, Elasticsearch's JSON response or JSON lines");
  query_cmd->add_option("query", query->query,
                        "The EQL query (required unless --run, --list or --to-rule; with --run "
                        "NAME: the first input)");
  query_cmd->add_option("inputs", query->inputs,
                        "Inputs read in order: NDJSON or JSON-array files, .klog event logs, "
                        "directories of .klog logs (in time order), - for stdin");
  query_cmd
      ->add_option("--input", query->input,
                   "One more input, read first (NDJSON, JSON array, .klog, directory, or -)")
      ->capture_default_str();
  query_cmd->add_option("--from", query->from,
                        "Keep events at or after this time: RFC 3339, Unix ns, or relative to the "
                        "newest logged event (-2h, -30m, -7d; now-1h: to the wall clock)");
  query_cmd->add_option("--to", query->to,
                        "Keep events before this time (same forms as --from); log blocks outside "
                        "the range are never read");
  query_cmd->add_flag("--stats", query->stats,
                      "Print the input counters (files, blocks read/pruned, events) on stderr");
  AddDialectOption(query_cmd, &query->dialect, "EQL dialect: elasticsearch or endgame");
  query_cmd->add_flag("--case-sensitive", query->case_sensitive,
                      "Endgame dialect: compare strings with case");
  query_cmd->add_flag("--case-insensitive", query->case_insensitive,
                      "Endgame dialect: compare strings without case (the default)");
  query_cmd->add_flag("--count", query->count, "Print only the number of results");
  query_cmd->add_option("--predicate-runtime", query->predicate_runtime,
                        pipeline::kPredicateRuntimeHelp);
  query_cmd->add_option("--functions", query->functions,
                        "A module of custom functions the query may call (.lua or .wasm)");
  query_cmd->add_option("--function", query->declared_functions,
                        "Declares a function of a Wasm --functions module: "
                        "'name(type, ...) -> type' (repeatable)");
  query_cmd->add_option("--time-field", query->time_field,
                        "Field that holds each event's time (default @timestamp; endgame: "
                        "timestamp)");
  query_cmd->add_option("--time-format", query->time_format,
                        "auto, rfc3339, s, ms, us, ns or filetime (default auto; endgame: "
                        "filetime)");
  query_cmd->add_option("--format", query->format,
                        "table, json (Elasticsearch's EQL search response) or ndjson (default: "
                        "table on a terminal, else ndjson)");
  query_cmd
      ->add_option("--fields", query->fields,
                   "Table columns after @timestamp, event.category, event.action "
                   "(a,b,c; default: the fields the query names)")
      ->delimiter(',')
      ->allow_extra_args(false);  // `--fields a,b 'QUERY'`: the query is not a field
  query_cmd->add_option("--rules", query->rules_dir,
                        "Rules directory whose hunts/ holds saved hunts (default: the one "
                        "`kestrel run` loads: the configuration's rules, else its search)");
  query_cmd->add_option("--save", query->save,
                        "Save the query and its options as hunt NAME (runs it too with --input)");
  query_cmd->add_flag("--force", query->force, "With --save: replace a hunt of that name");
  query_cmd->add_option("--run", query->run,
                        "Run saved hunt NAME (flags given override the saved ones)");
  query_cmd->add_flag("--list", query->list, "List the saved hunts");
  query_cmd->add_option("--to-rule", query->to_rule,
                        "Write saved hunt NAME as a rule (NAME.eql and NAME.test.yaml in the "
                        "rules directory; never overwrites)");
  query_cmd->footer(kExitCodesHelp);
  return {
      query_cmd, [query, query_cmd, &cl] {
        // The configuration file's `rules:` (read before the command runs), as for `run`.
        if (!query->rules_dir && cl.run.rules_dir) query->rules_dir = cl.run.rules_dir;
        for (const char* flag : {"--input", "--dialect", "--case-sensitive", "--case-insensitive",
                                 "--format", "--fields", "--time-field", "--time-format"}) {
          if (query_cmd->count(flag) > 0) query->given.insert(flag);
        }
        return QueryCommand(*query);
      }};
}

Command AddCheckCommand(CLI::App& app) {
  auto check = std::make_shared<CheckOptions>();
  CLI::App* check_cmd = app.add_subcommand(
      "check", "Load and compile rule files and directories; print every diagnostic");
  check_cmd->add_option("paths", check->paths, "Rule files and directories (recursive)")
      ->required();
  check_cmd->add_flag("--summary", check->summary,
                      "End with a line 'N rules: M ok, K failed, S skipped'");
  check_cmd->add_flag("--strict", check->strict, "Unknown fields are errors, not warnings");
  check_cmd->add_flag("--no-warnings", check->quiet_warnings, "Print errors only");
  check_cmd->add_flag("--live-coverage", check->live_coverage,
                      "Say for each EQL rule whether the live eBPF source can ever satisfy it "
                      "(from what the collector declares it emits), the reasons grouped, and "
                      "end with 'N rules: L can fire live, M cannot'");
  AddDialectOption(check_cmd, &check->dialect,
                   "Dialect of rules that do not name one: elasticsearch or endgame");
  check_cmd->add_option("--sigma-mapping", check->sigma_mapping,
                        "YAML file extending or overriding the built-in Sigma -> ECS field "
                        "mapping for Sigma rule files (docs/sigma.md), as on run");
  check_cmd->footer(kExitCodesHelp);
  return {check_cmd, [check] { return CheckCommand(*check); }};
}

Command AddRecordCommand(CLI::App& app) {
  auto record = std::make_shared<RecordOptions>();
  record->version = KESTREL_VERSION;
  CLI::App* record_cmd =
      app.add_subcommand("record", "Record events from a source into a binary event log");
  record_cmd->add_option("--source", record->source, "Event source: ndjson:PATH, ndjson:- or ebpf")
      ->required();
  record_cmd->add_option("--output", record->output, "The log file to write")->required();
  record_cmd->add_option("--count", record->count, "Stop after this many events");
  record_cmd->add_option("--duration", record->duration,
                         "Stop after this much wall time (e.g. 30s, 5m, 2h)");
  record_cmd->add_option("--max-size", record->max_size,
                         "Start a new file past this size (e.g. 64M, 1G)");
  record_cmd->add_option("--max-age", record->max_age,
                         "Start a new file past this much event time (e.g. 10m, 1h)");
  record_cmd
      ->add_option("--level", record->level,
                   "zstd compression level, 1 (fastest) to 19 (smallest); default 3")
      ->check(CLI::Range(1, 19));
  record_cmd->add_option("--fsync", record->fsync, "When to fsync: never, block or close")
      ->check(CLI::IsMember({"never", "block", "close"}))
      ->capture_default_str();
  AddDialectOption(record_cmd, &record->dialect,
                   "elasticsearch or endgame: the time-field defaults of NDJSON input, as in run");
  record_cmd->add_option("--time-field", record->time_field, "Field that holds each event's time");
  record_cmd->add_option("--time-format", record->time_format,
                         "auto, rfc3339, s, ms, us, ns or filetime");
  record_cmd->footer(kExitCodesHelp);
  return {record_cmd, [record] { return Record(*record); }};
}

Command AddReplayCommand(CLI::App& app) {
  auto replay = std::make_shared<ReplayCommandOptions>();
  CLI::App* replay_cmd = app.add_subcommand(
      "replay", "Run the rules over recorded event logs; alerts exactly as `run` writes them");
  replay_cmd->add_option("logs", replay->logs, "Log files, read in the order given");
  replay_cmd->add_option("--source", replay->source,
                         "Instead of files: kafka://BROKER/TOPIC[#group=G&idle=10s] reads "
                         "recorded logs shipped to Kafka, as one of a consumer group "
                         "(docs/deployment.md)");
  replay_cmd->add_option("--rules", replay->rules_dir,
                         "Rule directory (default: ./rules, else rules/ beside the executable)");
  replay_cmd->add_option("--output", replay->output,
                         "Alert output: a file (appended) or - for stdout (default -, or none "
                         "with --digest)");
  replay_cmd->add_option("--predicate-runtime", replay->predicate_runtime,
                         pipeline::kPredicateRuntimeHelp);
  replay_cmd
      ->add_option("--workers", replay->workers,
                   "Worker threads (rules are split between them; the output is the same "
                   "for any number)")
      ->capture_default_str();
  replay_cmd
      ->add_option("--speed", replay->speed,
                   "max (as fast as possible), realtime, or a factor such as 10x")
      ->capture_default_str();
  replay_cmd->add_option("--from", replay->from,
                         "Skip events before this time (RFC 3339 or Unix nanoseconds)");
  replay_cmd->add_option("--to", replay->to,
                         "Stop at events from this time on (RFC 3339 or Unix nanoseconds)");
  replay_cmd->add_flag("--digest", replay->digest,
                       "Print the SHA-256 of the alert stream and the counts on stdout");
  AddDialectOption(replay_cmd, &replay->dialect,
                   "Dialect of rules that do not name one: elasticsearch or endgame");
  replay_cmd->add_option("--sigma-mapping", replay->sigma_mapping,
                         "YAML file extending or overriding the built-in Sigma -> ECS field "
                         "mapping for Sigma rule files (docs/sigma.md), as on run");
  replay_cmd->footer(kExitCodesHelp);
  return {replay_cmd, [replay] { return Replay(*replay); }};
}

Command AddTestRulesCommand(CLI::App& app) {
  auto test_rules = std::make_shared<TestRulesOptions>();
  CLI::App* test_rules_cmd = app.add_subcommand(
      "test-rules",
      "Run the test cases beside each rule (foo.test.yaml next to foo.eql) through the engine; "
      "PASS/FAIL per case with the diff of expected and actual alerts");
  test_rules_cmd->add_option("dir", test_rules->dir,
                             "Rule directory (default: ./rules, else rules/ beside the "
                             "executable)");
  test_rules_cmd->add_flag("--coverage", test_rules->coverage,
                           "Also print the MITRE ATT&CK coverage table of the rules on stdout "
                           "(case results go to stderr, failures only)");
  test_rules_cmd
      ->add_option("--format", test_rules->format, "Coverage table format: text or markdown")
      ->check(CLI::IsMember({"text", "markdown"}))
      ->capture_default_str();
  test_rules_cmd->add_flag("--allow-untested", test_rules->allow_untested,
                           "A rule without test cases is reported (UNTESTED) but not a failure");
  test_rules_cmd->add_flag("--verbose", test_rules->verbose,
                           "With --coverage: report passing cases too");
  test_rules_cmd->add_option("--sigma-mapping", test_rules->sigma_mapping,
                             "YAML file extending or overriding the built-in Sigma -> ECS field "
                             "mapping for Sigma rule files (docs/sigma.md), as on run");
  test_rules_cmd->footer(kExitCodesHelp);
  return {test_rules_cmd, [test_rules] { return TestRulesCommand(*test_rules); }};
}

Command AddDoctorCommand(CLI::App& app) {
  CLI::App* doctor_cmd = app.add_subcommand(
      "doctor", "Probe this machine: what Kestrel can do here (collection, blocking) and why not");
  doctor_cmd->footer(kExitCodesHelp);
  return {doctor_cmd, [] { return DoctorCommand(); }};
}

Command AddStatsCommand(CLI::App& app) {
  auto stats_addr = std::make_shared<std::string>("127.0.0.1:9464");
  CLI::App* stats_cmd = app.add_subcommand(
      "stats", "Print the metrics of a running `kestrel run --metrics-addr` (Prometheus text)");
  stats_cmd->add_option("--metrics-addr", *stats_addr, "Where the running instance serves them")
      ->capture_default_str();
  stats_cmd->footer(kExitCodesHelp);
  return {stats_cmd, [stats_addr] { return PrintScraped(*stats_addr, "/metrics"); }};
}

Command AddRulesCommand(CLI::App& app) {
  auto rules_addr = std::make_shared<std::string>("127.0.0.1:9464");
  auto rules_top = std::make_shared<size_t>(0);
  CLI::App* rules_cmd = app.add_subcommand(
      "rules",
      "List the rule set of a running `kestrel run --metrics-addr`: version, load time, "
      "and per rule its alerts and state");
  rules_cmd->add_option("--metrics-addr", *rules_addr, "Where the running instance serves metrics")
      ->capture_default_str();
  rules_cmd
      ->add_option("--top", *rules_top,
                   "List the N rules that cost the most evaluation time (sampled), with "
                   "evaluations, mean and p99 per event, total and share")
      ->check(CLI::PositiveNumber);
  rules_cmd->footer(kExitCodesHelp);
  return {rules_cmd, [rules_addr, rules_top] {
            return PrintScraped(*rules_addr, *rules_top > 0
                                                 ? "/rules?top=" + std::to_string(*rules_top)
                                                 : "/rules");
          }};
}

std::vector<Command> AddLogCommands(CLI::App& app) {
  auto info_path = std::make_shared<std::string>();
  auto cat_paths = std::make_shared<std::vector<std::string>>();
  CLI::App* log_cmd = app.add_subcommand("log", "Inspect recorded event logs");
  log_cmd->require_subcommand(1);
  CLI::App* log_info_cmd =
      log_cmd->add_subcommand("info", "Print a log's header, blocks, event count and time range");
  log_info_cmd->add_option("log", *info_path, "The log file")->required();
  CLI::App* log_cat_cmd = log_cmd->add_subcommand("cat", "Print a log's events as NDJSON");
  log_cat_cmd->add_option("logs", *cat_paths, "Log files, in order")->required();
  return {{log_info_cmd, [info_path] { return LogInfo(*info_path); }},
          {log_cat_cmd, [cat_paths] { return LogCat(*cat_paths); }}};
}

}  // namespace kestrel::cli
