// `kestrel run`; see run_command.h.
#include "kestrel/cli/run_command.h"

#include <spdlog/spdlog.h>

#include "kestrel/base/status.h"
#include "kestrel/pipeline/pipeline.h"

namespace kestrel::cli {

int ExitCode(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

int Run(const pipeline::RunConfig& config) {
  auto opened = pipeline::Pipeline::Open(config);
  if (!opened.ok()) {
    spdlog::error("{}", base::Message(opened.status()));
    return ExitCode(opened.status());
  }
  absl::Status run = (*opened)->Run();  // reports its own errors and the summary
  return run.ok() ? kExitOk : kExitFailure;
}

}  // namespace kestrel::cli
