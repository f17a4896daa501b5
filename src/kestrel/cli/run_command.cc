// `kestrel run`; see run_command.h.
#include "kestrel/cli/run_command.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <string_view>

#include "kestrel/base/status.h"
#include "kestrel/pipeline/pipeline.h"
#include "kestrel/pipeline/rule_loader.h"

namespace kestrel::cli {

int ExitCode(const absl::Status& status) {
  if (status.ok()) return kExitOk;
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure;
}

bool LoadSigmaMappingFlag(const std::optional<std::string>& path,
                          std::shared_ptr<const rules::SigmaMapping>* out) {
  auto loaded = pipeline::LoadSigmaMappingOption(path);
  if (!loaded.ok()) {
    std::string message(loaded.status().message());
    std::string_view rest = message;
    while (!rest.empty()) {
      size_t end = rest.find('\n');
      fmt::print(stderr, "error: {}\n", rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 1);
    }
    return false;
  }
  *out = std::move(*loaded);
  return true;
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
