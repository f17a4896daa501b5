// The configuration file (`--config FILE`, default /etc/kestrel/kestrel.yaml when it exists):
// YAML whose keys mirror the command-line flags (docs/configuration.md lists them). The file is
// applied first and the command line overrides it. Unknown keys and wrong types are errors that
// name the file, line and column.
// Tested by config_test.cc and cli_test.sh.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "kestrel/cli/run_command.h"

namespace kestrel::cli {

inline constexpr const char* kDefaultConfigPath = "/etc/kestrel/kestrel.yaml";

// What the file sets outside `run` (global flags).
struct GlobalConfig {
  std::optional<std::string> log_level;
  std::optional<std::string> duration;  // run's --duration, kept as text like the flag
};

// Reads `path` into `run` and `global`. Errors: unreadable file, YAML syntax, unknown keys,
// wrong types or values (INVALID_ARGUMENT, "FILE:LINE:COL: reason").
absl::Status LoadConfigFile(const std::string& path, pipeline::RunConfig* run,
                            GlobalConfig* global);

// LoadConfigFile on `text` already read (`path` names it in errors). Never throws: every
// yaml-cpp exception becomes INVALID_ARGUMENT. Fuzzed by fuzz/config_fuzz.cc.
absl::Status LoadConfigText(const std::string& path, std::string_view text,
                            pipeline::RunConfig* run, GlobalConfig* global);

// The config file named by `--config FILE` / `--config=FILE` in argv, else the default path if
// that file exists, else nullopt.
std::optional<std::string> FindConfigFile(int argc, char** argv);

// The effective run configuration as YAML (`kestrel config check`).
std::string RenderConfig(const pipeline::RunConfig& run, const GlobalConfig& global);

}  // namespace kestrel::cli
