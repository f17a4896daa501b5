// The `kestrel` binary: command-line parsing and wiring of the concrete classes.
// Subcommands live in their own files (run_command.cc, ...); this file only dispatches.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <string>

#include "kestrel/cli/check_command.h"
#include "kestrel/cli/compile_command.h"
#include "kestrel/cli/predicate_runtime_option.h"
#include "kestrel/cli/query_command.h"
#include "kestrel/cli/rule_package.h"
#include "kestrel/cli/run_command.h"

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

  kestrel::cli::RunOptions run;
  CLI::App* run_cmd =
      app.add_subcommand("run", "Read events, evaluate the rules, write alerts as JSON lines");
  run_cmd->add_option("--rules", run.rules_dir,
                      "Rule directory (default: ./rules, else rules/ beside the executable)");
  run_cmd->add_option("--source", run.source,
                      "Event source: ndjson:PATH (NDJSON or one JSON array; ndjson:- is stdin)");
  run_cmd->add_option("--predicate-runtime", run.predicate_runtime,
                      kestrel::cli::kPredicateRuntimeHelp);
  run_cmd->add_option("--output", run.output, "Alert output: a file (appended) or - for stdout")
      ->capture_default_str();
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
                          "With --target: a Lua module of custom functions the rules may call");
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
                        kestrel::cli::kPredicateRuntimeHelp);
  query_cmd->add_option("--functions", query.functions,
                        "A Lua module of custom functions the query may call");
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : kestrel::cli::kExitUsage;
  }
  SetUpLogging(log_level);

  if (run_cmd->parsed()) return kestrel::cli::Run(run);
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
  return kestrel::cli::kExitUsage;
}
