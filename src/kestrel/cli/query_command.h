// `kestrel query [--dialect D] [--case-sensitive|--case-insensitive] [--from T] [--to T] [--stats]
// 'EQL' [INPUT...]`: hunting mode. Runs one query over its inputs — NDJSON, a JSON array, `.klog`
// event logs, directories of them, `-` (query_input.h; `--input X` is one more, read first) — and
// prints every result event as one JSON line with all its input fields and its `@timestamp` (a
// sequence or join prints its events in order, one per line), in the reference implementation's
// output order; `--count` prints only the number of results. `--from`/`--to` keep a time range
// (log blocks outside it are never read); `--stats` prints the input counters on stderr; a long
// hunt on a terminal shows a progress line on stderr. Diagnostics go to stderr.
// Tested by cli_test.sh, query_input_test.cc (and, for the semantics,
// engine/conformance_query_test.cc).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace kestrel::cli {

struct QueryOptions {
  std::string query;
  std::string input = "-";          // --input: read before `inputs` (alone when they are empty)
  std::vector<std::string> inputs;  // positional inputs after the query
  std::optional<std::string> from;  // --from / --to (query_input.h: ParseTimeBound)
  std::optional<std::string> to;
  bool stats = false;  // --stats: input counters on stderr at the end
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
