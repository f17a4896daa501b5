// The command line of `kestrel`: each subcommand adds its flags to the CLI11 app and says how to
// run it once parsed; main.cc only builds the app from these, reads the configuration file,
// parses, and runs the one command given. The flags' texts here are the help users read.
// Tested through cli_test.sh (the binary end to end).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "kestrel/cli/config.h"
#include "kestrel/pipeline/run_config.h"

namespace kestrel::cli {

// The exit codes, for every command's --help.
extern const char* const kExitCodesHelp;

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> run;  // called when `app` was parsed
};

// What several commands and main share: the configuration file fills `run` (and the global
// settings) before the command line is parsed, and the flags override it.
struct CommandLine {
  pipeline::RunConfig run;
  GlobalConfig global;
  std::optional<std::string> config_file;
  std::string log_level = "info";
  std::string duration;  // `run --duration` as text (the file's, then the flag's)
};

// `--dialect elasticsearch|endgame` on `cmd` (with its default shown), for every command that
// reads rules or queries.
void AddDialectOption(CLI::App* cmd, std::string* dialect, const std::string& help);

Command AddRunCommand(CLI::App& app, CommandLine& cl);
// `kestrel config check`: the effective run configuration.
Command AddConfigCommand(CLI::App& app, CommandLine& cl);
Command AddCompileCommand(CLI::App& app);
// `query`: its saved hunts default to the configured rules directory (`rules:`), as `run`'s.
Command AddQueryCommand(CLI::App& app, const CommandLine& cl);
Command AddCheckCommand(CLI::App& app);
Command AddRecordCommand(CLI::App& app);
Command AddReplayCommand(CLI::App& app);
Command AddTestRulesCommand(CLI::App& app);
Command AddDoctorCommand(CLI::App& app);
Command AddStatsCommand(CLI::App& app);
Command AddRulesCommand(CLI::App& app);
// `kestrel import sigma` (import_command.h).
Command AddImportCommand(CLI::App& app);
std::vector<Command> AddLogCommands(CLI::App& app);  // `log info`, `log cat`
Command AddUiCommand(CLI::App& app);                 // `kestrel ui` (ui_command.h)

}  // namespace kestrel::cli
