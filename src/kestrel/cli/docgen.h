// The man page kestrel(1) and the bash completion script, generated from the CLI11 command
// definitions themselves, so that neither can drift from the command line: the build runs
// `kestrel __man` and `kestrel __completion bash` (hidden subcommands) and installs their output
// (packaging/CMakeLists.txt). Both walk the app as built by main.cc: every visible subcommand
// (nested ones too), every option and flag, positional arguments, defaults, and the choices of
// options checked with CLI::IsMember. Hidden subcommands (an empty group) are left out.
// The output is deterministic: no date, no host name, the definitions' order.
// Tested by packaging/docgen_test.sh (every subcommand and flag of `--help` appears in both;
// the completion script completes subcommands, flags and choices under bash).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "kestrel/cli/command_line.h"

namespace kestrel::cli {

// roff (man(7) macros) for the whole command line under `app`; `version` goes in the footer.
std::string RenderManPage(const CLI::App& app, const std::string& version);

// A bash completion script (`complete -F _kestrel kestrel`) for the command line under `app`.
std::string RenderBashCompletion(const CLI::App& app);

// The hidden `__man` and `__completion bash` subcommands: each prints its document (or writes it
// to `--output FILE`) for the app they were added to, as it is when they run.
std::vector<Command> AddGenerateCommands(CLI::App& app, const std::string& version);

}  // namespace kestrel::cli
