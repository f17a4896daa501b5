// Fuzz target for the saved hunt reader (cli/saved_hunts.h HuntFromYaml): a hunt file in the
// rules directory's hunts/. Any crash, sanitizer report, hang or memory blow-up is a bug: a bad
// hunt file must only produce an error naming file, line and column.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kestrel/cli/saved_hunts.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  auto hunt = kestrel::cli::HuntFromYaml(text, &warnings, "fuzz.hunt");
  if (hunt.ok()) (void)kestrel::cli::HuntFromYaml(kestrel::cli::HuntToYaml(*hunt), &warnings);
  return 0;
}
