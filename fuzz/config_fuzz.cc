// Fuzz target for the configuration file reader (cli/config.h LoadConfigText): YAML keys that
// mirror the command-line flags. Any crash, sanitizer report, hang or memory blow-up is a bug:
// a bad configuration must only produce an error naming file, line and column.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "kestrel/cli/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  kestrel::pipeline::RunConfig run;
  kestrel::cli::GlobalConfig global;
  absl::Status s = kestrel::cli::LoadConfigText("fuzz.yaml", text, &run, &global);
  if (s.ok()) (void)kestrel::cli::RenderConfig(run, global);
  return 0;
}
