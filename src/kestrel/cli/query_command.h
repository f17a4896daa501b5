// `kestrel query [--dialect D] [--case-sensitive|--case-insensitive] [--input FILE|-] 'EQL'`:
// hunting mode. Runs one query over NDJSON (or a JSON array) and prints every result event as
// one JSON line with all its input fields (a sequence or join prints its events in order, one per
// line), in the reference implementation's output order; `--count` prints only the number of
// results. Diagnostics go to stderr.
// Tested by cli_test.sh (and, for the semantics, engine/conformance_query_test.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kestrel::cli {

struct QueryOptions {
  std::string query;
  std::string input = "-";
  std::string dialect = "elasticsearch";
  bool case_sensitive = false;    // Endgame: compare strings with case
  bool case_insensitive = false;  // Endgame default; both flags together are a usage error
  bool count = false;
  std::optional<std::string> time_field;
  std::optional<std::string> time_format;
  std::string predicate_runtime = "native";  // native, lua or wasm (predicate_runtime_option.h)
  std::optional<std::string>
      functions;  // a function module, .lua or .wasm (runtime/function_module.h)
  std::vector<std::string> declared_functions;  // --function 'name(type, ...) -> type' (Wasm)
};

int QueryCommand(const QueryOptions& options);

}  // namespace kestrel::cli
