// `kestrel run`: builds the pipeline (pipeline/pipeline.h) from the run configuration, runs it,
// and maps the result to an exit code; and the exit codes every command shares.
// Tested by cli_test.sh (the binary end to end; --sigma-mapping by sigma_import_test.sh); the
// pipeline by pipeline_test.cc.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "kestrel/pipeline/run_config.h"
#include "kestrel/rules/sigma_mapping.h"

namespace kestrel::cli {

// Exit codes of the `kestrel` binary (also in --help and README.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the run could not start or could not finish
inline constexpr int kExitUsage = 2;    // bad command line

// OK: kExitOk; INVALID_ARGUMENT (what the user must change): kExitUsage; else kExitFailure.
int ExitCode(const absl::Status& status);

// `--sigma-mapping FILE` of check, compile, replay and test-rules
// (pipeline::LoadSigmaMappingOption): false after printing each error ("error: FILE:LINE:COL:
// reason") on stderr, the command then exits kExitUsage; `*out` stays null when `path` is unset.
bool LoadSigmaMappingFlag(const std::optional<std::string>& path,
                          std::shared_ptr<const rules::SigmaMapping>* out);

// Runs to the end of the source (a live source: until --duration, SIGINT or SIGTERM). Logs
// through spdlog (stderr); returns an exit code.
int Run(const pipeline::RunConfig& config);

}  // namespace kestrel::cli
