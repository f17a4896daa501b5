// The `kestrel` binary: builds the command line from the commands (command_line.h), reads the
// configuration file, parses, and runs the one command given.
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "kestrel/cli/command_line.h"
#include "kestrel/cli/docgen.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/cli/usage.h"

#ifndef KESTREL_VERSION
#define KESTREL_VERSION "0.0.0"
#endif

namespace kestrel::cli {

const char* const kExitCodesHelp =
    "Exit codes:\n"
    "  0  success (malformed input lines are reported and counted, not failures)\n"
    "  1  the run could not start or finish (unreadable source, unwritable output), or\n"
    "     (compile, check) a query or rule has errors\n"
    "  2  usage error (unknown option or subcommand, bad value, missing rule directory)\n";

}  // namespace kestrel::cli

namespace {

void SetUpLogging(const std::string& level) {
  auto logger = spdlog::stderr_color_mt("kestrel");
  logger->set_pattern("%^%l%$: %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(level));
}

}  // namespace

int main(int argc, char** argv) {
  namespace cli = kestrel::cli;
  CLI::App app{"Kestrel: endpoint behaviour detection with Elastic EQL rules over ECS events.",
               "kestrel"};
  app.footer(cli::kExitCodesHelp);
  app.set_version_flag("--version", cli::VersionText,
                       "Print the version, commit, build, compiler, features and schema; exit");
  app.require_subcommand(1);
  cli::CommandLine cl;
  app.add_option("--log-level", cl.log_level, "Log verbosity on stderr")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}))
      ->capture_default_str();
  std::vector<cli::Command> commands = {
      cli::AddRunCommand(app, cl),   cli::AddCompileCommand(app), cli::AddQueryCommand(app, cl),
      cli::AddCheckCommand(app),     cli::AddRecordCommand(app),  cli::AddReplayCommand(app),
      cli::AddTestRulesCommand(app), cli::AddDoctorCommand(app),  cli::AddStatsCommand(app),
      cli::AddRulesCommand(app),     cli::AddImportCommand(app),
  };
  for (cli::Command& c : cli::AddLogCommands(app)) commands.push_back(std::move(c));
  commands.push_back(cli::AddUiCommand(app));
  // The configuration file first; the command line, parsed next, overrides what it sets.
  std::string config_path;  // read by FindConfigFile before parsing; declared for --help
  app.add_option("--config", config_path,
                 "YAML configuration file (default: /etc/kestrel/kestrel.yaml if it exists); the "
                 "command line overrides it");
  commands.push_back(cli::AddConfigCommand(app, cl));
  // Hidden: the man page and the bash completion, generated at build time (docgen.h).
  for (cli::Command& c : cli::AddGenerateCommands(app, KESTREL_VERSION))
    commands.push_back(std::move(c));
  cl.config_file = cli::FindConfigFile(argc, argv);
  if (cl.config_file) {
    if (absl::Status s = cli::LoadConfigFile(*cl.config_file, &cl.run, &cl.global); !s.ok()) {
      std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
      return cli::kExitUsage;
    }
    cl.run.config_file = *cl.config_file;
    if (cl.global.log_level) cl.log_level = *cl.global.log_level;
    if (cl.global.duration) cl.duration = *cl.global.duration;
  }
  // `help CMD` is `CMD --help`; an unknown command gets "did you mean" (usage.h).
  app.add_subcommand("help", "Print the help of a command: kestrel help CMD is kestrel CMD --help")
      ->allow_extras();
  std::vector<std::string> args = cli::RewriteHelp(std::vector<std::string>(argv, argv + argc));
  if (std::optional<std::string> unknown = cli::UnknownCommand(app, args)) {
    std::fprintf(stderr, "error: %s\n", unknown->c_str());
    return cli::kExitUsage;
  }
  try {
    std::vector<std::string> reversed(args.rbegin(), args.rend() - 1);  // CLI11 takes them so
    app.parse(reversed);
  } catch (const CLI::Success& e) {
    return app.exit(e) == 0 ? 0 : cli::kExitUsage;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\n  run 'kestrel%s --help' for usage\n",
                 cli::FormatParseError(e).c_str(), cli::CommandPath(app).c_str());
    return cli::kExitUsage;
  }
  SetUpLogging(cl.log_level);
  for (const cli::Command& c : commands) {
    if (c.app->parsed()) return c.run();
  }
  return cli::kExitUsage;
}
