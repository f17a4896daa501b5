// `kestrel query --format table|json|ndjson`: how a hunt's results are printed (issue 24).
//
//   ndjson  (default when stdout is not a terminal) one event per line, all its input fields, as
//           before; each event of a sequence, join or sample result also carries
//           `kestrel.sequence` (the result's number, from 1) and `kestrel.join_keys` (the values
//           of its `by` keys, a JSON array). `count` pipe results are their statistics events.
//   json    one document, Elasticsearch's EQL search response: {"is_partial":false,
//           "is_running":false,"took":MS,"timed_out":false,"hits":{"total":{"value":N,
//           "relation":"eq"},"events":[...]}} for an event query, "sequences":[{"join_keys":[...],
//           "events":[...]}] instead for a sequence, join or sample. Each event is
//           {"_index":INPUT,"_id":ORDINAL,"_source":{...}}: `_index` is the input as named on the
//           command line ("-" for stdin), `_id` the event's 0-based ordinal in the input stream
//           (as a string, as Elasticsearch's ids are); a missing-event stage `![...]` is
//           {"_index":"","_id":"","_source":{},"missing":true}. `count` results are events with
//           `_index` "kestrel-count", `_id` their rank and `_source` {count, key, percent}.
//           `--count`: `hits.total` only. testdata/hunting/eql_search_response.schema.json is
//           the shape, from Elasticsearch's public API docs.
//   table   (default on a terminal) one row per event: `@timestamp`, `event.category`,
//           `event.action`, then the fields the query names (QueryFieldPaths) or `--fields`;
//           columns that are empty in every row are left out; widths fit `width` (TerminalWidth),
//           long values elided in the middle (`abc…xyz`); a sequence's rows are grouped under a
//           line `sequence N  key=value, ...`; control characters print escaped (`\n`, `\x1b`),
//           never raw to the terminal. `count` results: one row per key with its count and
//           percent. A last line says how many results there were.
//
// Join keys are evaluated from the result's first event with the first positive stage's `by`
// expressions (their values are equal in every stage by definition), so the engine's QueryMatch
// and the detection path are unchanged. Not a hot path: results are rendered once, at the end.
// Tested by query_output_test.cc (widths, elision, grouping, the json schema over the Endgame
// conformance data, ndjson keys).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/ir.h"
#include "kestrel/schema/schema.h"

namespace kestrel::cli {

enum class QueryFormat { kTable, kJson, kNdjson };

// "table", "json", "ndjson"; nullopt for anything else.
std::optional<QueryFormat> ParseQueryFormat(std::string_view name);
std::string_view QueryFormatName(QueryFormat format);
// kTable when stdout is a terminal, kNdjson otherwise.
QueryFormat DefaultQueryFormat();
// The terminal's width (TIOCGWINSZ on stdout), else $COLUMNS (a number 20..10000), else 120.
size_t TerminalWidth();

struct QueryOutputOptions {
  QueryFormat format = QueryFormat::kNdjson;
  std::vector<std::string> fields;  // table columns after the fixed ones; empty: the query's
  size_t width = 120;               // table: the terminal's width
  std::string index = "-";          // json: `_index` of every event
  bool count_only = false;          // --count: only the number of results
  uint64_t counted_before = 0;      // --count: results counted and dropped before `results`
  int64_t took_ms = 0;              // json: `took`
};

// The field paths `program` reads, in order of first appearance (stages, until, pipes), each once.
std::vector<std::string> QueryFieldPaths(const eql::IrProgram& program,
                                         const schema::Schema& schema);

// A result's join keys: the values of the first positive stage's `by` expressions on its first
// event, as a JSON array (`[]` for an event query or a result without events); `names` (if not
// null) gets `name=value, ...` (a field's name, else `key1`, `key2`, ...).
std::string JoinKeysJson(const eql::IrProgram& program, schema::Schema& schema,
                         const engine::QueryMatch& match, std::string* names = nullptr);

// `text` in at most `width` display columns (one per UTF-8 code point): as it is when it fits,
// else its start and end around "…". width 0: "".
std::string ElideMiddle(std::string_view text, size_t width);

// Renders `results` in `options.format`, handing the text to `write` in pieces (in order).
void WriteQueryResults(const eql::IrProgram& program, schema::Schema& schema,
                       const std::vector<engine::QueryMatch>& results,
                       const QueryOutputOptions& options,
                       const std::function<void(std::string_view)>& write);

}  // namespace kestrel::cli
