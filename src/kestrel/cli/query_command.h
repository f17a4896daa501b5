// `kestrel query [--dialect D] [--case-sensitive|--case-insensitive] [--from T] [--to T] [--stats]
// [--format table|json|ndjson] [--fields a,b] 'EQL' [INPUT...]`: hunting mode. Runs one query over
// its inputs — NDJSON, a JSON array, `.klog` event logs, directories of them, `-` (query_input.h;
// `--input X` is one more, read first) — and prints its results in the reference implementation's
// output order: `--format` (query_output.h) ndjson, one event per line with all its input fields
// and its `@timestamp` (the default when stdout is not a terminal), json (Elasticsearch's EQL
// search response) or table (the default on a terminal); `--count` prints only the number of
// results. `--from`/`--to` keep a time range (log blocks outside it are never read); `--stats`
// prints the input counters on stderr; a long hunt on a terminal shows a progress line on stderr.
// Saved hunts (saved_hunts.h): `--save NAME` stores the query and its options under the rules
// directory's hunts/ (and runs it when an input is given), `--run NAME [INPUT]` reruns one (flags
// given override the saved ones), `--list` lists them, `--to-rule NAME` writes a rule from one.
// Diagnostics go to stderr. Tested by cli_test.sh, hunting_test.sh, query_input_test.cc (and, for
// the semantics,
// engine/conformance_query_test.cc).
#pragma once

#include <optional>
#include <set>
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
  std::optional<std::string> format;     // --format table|json|ndjson; unset: DefaultQueryFormat()
  std::vector<std::string> fields;       // --fields a,b,c: the table's columns
  std::optional<std::string> rules_dir;  // --rules: holds hunts/; unset: ResolveRulesDir's search
  std::optional<std::string> save;       // --save NAME
  std::optional<std::string> run;        // --run NAME
  std::optional<std::string> to_rule;    // --to-rule NAME
  bool list = false;                     // --list
  bool force = false;                    // --force: --save replaces a hunt of that name
  std::set<std::string> given;           // the flags given on the command line ("--dialect", ...)
};

int QueryCommand(const QueryOptions& options);

}  // namespace kestrel::cli
