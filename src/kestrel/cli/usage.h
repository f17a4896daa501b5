// What main.cc does around CLI11 so that the command line never misleads:
//  - `kestrel help [CMD [SUB]]` is `kestrel [CMD [SUB]] --help` (the same text, by construction);
//  - an unknown subcommand is refused with "did you mean" (edit distance over the commands);
//  - a parse error names the option first ("--workers: ..."), then says where help is;
//  - `kestrel --version` prints VersionText().
// Tested by cli_usability_test.sh (the binary end to end).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace kestrel::cli {

// argv with `help [CMD...]` (after the global options) rewritten to `[CMD...] --help`;
// otherwise argv as is.
std::vector<std::string> RewriteHelp(const std::vector<std::string>& args);

// The error for the first command word of `args` that names no subcommand of `app` (or of the
// command before it), with "did you mean" when one is close; nullopt when every word is known.
std::optional<std::string> UnknownCommand(const CLI::App& app,
                                          const std::vector<std::string>& args);

// " run" / " log cat": the commands parsed so far (after a failed parse: as far as it got).
std::string CommandPath(const CLI::App& app);

// CLI11's message for `e`, the option (or argument) it is about first.
std::string FormatParseError(const CLI::Error& e);

// Version, commit, build type, compiler, enabled features and the schema version, one per line;
// the first line is "kestrel VERSION".
std::string VersionText();

}  // namespace kestrel::cli
