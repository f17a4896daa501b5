// Test helper for the rule file tests: every diagnostic of a load, formatted, one per line.
#pragma once

#include <string>

#include "kestrel/rules/rule_file.h"

namespace kestrel::rules {

inline std::string Diagnostics(const LoadResult& result) {
  std::string out;
  for (const LoadDiagnostic& d : result.diagnostics) {
    if (!out.empty()) out += '\n';
    out += FormatLoadDiagnostic(d);
  }
  return out;
}

}  // namespace kestrel::rules
