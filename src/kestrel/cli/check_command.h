// `kestrel check PATH...`: load and compile rule files and directories (recursive) and print
// every diagnostic, compiler-style, on stdout; `--summary` ends with
// "N rules: M ok, K failed, S skipped". Exit 0 when no rule failed, 1 otherwise.
// Tested by cli_test.sh.
#pragma once

#include <string>
#include <vector>

namespace kestrel::cli {

struct CheckOptions {
  std::vector<std::string> paths;
  bool summary = false;
  bool strict = false;
  bool quiet_warnings = false;
  std::string dialect = "elasticsearch";  // for rules that name none
};

int CheckCommand(const CheckOptions& options);

}  // namespace kestrel::cli
