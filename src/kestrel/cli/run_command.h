// `kestrel run`: builds the pipeline (pipeline/pipeline.h) from the run configuration, runs it,
// and maps the result to an exit code; and the exit codes every command shares.
// Tested by cli_test.sh (the binary end to end); the pipeline by pipeline_test.cc.
#pragma once

#include "absl/status/status.h"
#include "kestrel/pipeline/run_config.h"

namespace kestrel::cli {

// Exit codes of the `kestrel` binary (also in --help and README.md).
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the run could not start or could not finish
inline constexpr int kExitUsage = 2;    // bad command line

// OK: kExitOk; INVALID_ARGUMENT (what the user must change): kExitUsage; else kExitFailure.
int ExitCode(const absl::Status& status);

// Runs to the end of the source (a live source: until --duration, SIGINT or SIGTERM). Logs
// through spdlog (stderr); returns an exit code.
int Run(const pipeline::RunConfig& config);

}  // namespace kestrel::cli
