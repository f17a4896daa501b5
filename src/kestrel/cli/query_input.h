// The input side of `kestrel query` (issue #24, item 1): what a hunt reads, the time range it
// keeps, its counters, and the progress line on stderr.
//
// Inputs, read one after another in the order given (none: `-`):
//   - a file: an event log (`.klog`, recognised by its magic bytes, whatever its name) or JSON —
//     NDJSON, or one JSON array of events (sources/ndjson/ndjson_source.h);
//   - a directory: its `*.klog` files (not recursive) in time order — by each file's first event
//     time, then name: a recording's rotation set (`x.000001.klog`, ...) reads as one stream, a
//     flight-recorder directory (`<alert id>.klog`, one window of history per alert; windows may
//     overlap, and an event in two recordings is read twice) reads by when each window starts;
//   - `-`: standard input, NDJSON or a JSON array.
//
// Time range (`--from`/`--to`, ParseTimeBound): events with from <= time < to are kept. Log
// blocks whose header range lies outside it are pruned before being read or decompressed; the
// events of the blocks read, and JSON events, are filtered after decoding. Bounds are RFC 3339
// (`2026-05-01T12:00:00Z`; a bare date is its midnight UTC), Unix nanoseconds, or relative:
// `-2h`, `-30m`, `-7d`, `-90s` count back from the newest event time of the `.klog` inputs (read
// from their block headers before anything is decoded), or from the wall clock when no input is
// a log; `now` and `now-2h` always count from the wall clock. The wall clock only picks the range:
// for a given range the results are the same on every machine.
//
// Damage in a log and malformed JSON lines are reported through the DiagnosticSink, counted in
// counters().malformed, and skipped (the hunt goes on).
// Thread safety: none. Tested by query_input_test.cc and cli_test.sh.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/eql/ir.h"
#include "kestrel/event/json_decoder.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/source.h"

namespace kestrel::cli {

struct QueryInputOptions {
  std::vector<std::string> paths = {};             // files, directories, "-"; empty: "-"
  event::DecoderOptions decoder = {};              // JSON input: time field and format
  std::optional<std::string> from = std::nullopt;  // --from / --to as typed (ParseTimeBound)
  std::optional<std::string> to = std::nullopt;
  int64_t now_ns = 0;  // the wall clock, for `now` and inputs without logs
  // Set: log events carry only these fields (FieldsRead; `--count` hunts print no event, so they
  // decode only what the query reads). JSON events always carry every field.
  std::optional<std::vector<schema::FieldId>> only_fields = std::nullopt;
};

struct QueryInputCounters {
  uint64_t files = 0;            // inputs opened (log files, JSON files, stdin)
  uint64_t blocks_total = 0;     // log blocks with an intact header
  uint64_t blocks_read = 0;      // ... decompressed and decoded
  uint64_t blocks_pruned = 0;    // ... skipped by their time range, never read
  uint64_t events_read = 0;      // events decoded (log records, JSON objects)
  uint64_t events_in_range = 0;  // of those, inside --from/--to: what the query saw
  uint64_t malformed = 0;        // damaged log blocks and records, malformed JSON lines
};

// The events of one input (see above).
class QueryInput {
 public:
  // Resolves the paths (directories to their logs in time order, each log's header checked and its
  // block headers scanned for its time range) and parses --from/--to against them. Errors:
  // INVALID_ARGUMENT for a bad bound (naming the flag and the value) or an empty range, NOT_FOUND
  // for a missing path or a directory without logs, a log's refused header.
  static absl::StatusOr<std::unique_ptr<QueryInput>> Open(schema::Schema* schema,
                                                          const QueryInputOptions& options,
                                                          sources::DiagnosticSink diagnostics);
  ~QueryInput();

  // The next event in range; false at the end of every input. Errors: I/O.
  absl::StatusOr<bool> Next(event::Event* event);

  QueryInputCounters counters() const;
  int64_t from_ns() const { return from_ns_; }
  int64_t to_ns() const { return to_ns_; }
  // The files read, in reading order ("-" for standard input).
  const std::vector<std::string>& files() const;

 private:
  struct Item;
  QueryInput();
  absl::Status OpenItem();

  schema::Schema* schema_ = nullptr;
  event::DecoderOptions decoder_;
  std::optional<std::vector<schema::FieldId>> only_fields_;
  sources::DiagnosticSink diagnostics_;
  int64_t from_ns_ = std::numeric_limits<int64_t>::min();
  int64_t to_ns_ = std::numeric_limits<int64_t>::max();
  std::vector<Item> items_;
  std::vector<std::string> files_;
  size_t next_item_ = 0;
  std::unique_ptr<sources::Source> current_;
  bool current_is_log_ = false;
  QueryInputCounters done_;  // of the inputs already finished
};

// The fields `program` reads from an event, when they are all it needs (a `--count` hunt then
// decodes only them); nullopt when it may look at more than the fields it names: an Endgame
// relation (`descendant of`), a custom function, or a truthiness test (an object is true when any
// field below it is present).
std::optional<std::vector<schema::FieldId>> FieldsRead(const eql::IrProgram& program);

// A --from/--to value to Unix nanoseconds (see above): `anchor_ns` is what a bare relative value
// (`-2h`) counts back from, `now_ns` what `now`/`now-2h` count from. Errors: INVALID_ARGUMENT
// "--from: '<text>' is not a time: ..." with the accepted forms.
absl::StatusOr<int64_t> ParseTimeBound(std::string_view flag, std::string_view text,
                                       int64_t anchor_ns, int64_t now_ns);

// The progress line of a long hunt on stderr: "events, rate, matches", rewritten in place at most
// four times a second, only once the hunt has run for a second, only when `enabled` (stderr is a
// terminal: cli passes isatty(2)); Clear() erases it at the end. Tick() is cheap: it reads the
// clock only every 4,096 events.
class ProgressLine {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  ProgressLine(bool enabled, std::FILE* out, Clock clock = &std::chrono::steady_clock::now);

  void Tick(uint64_t events, uint64_t matches) {
    if (enabled_ && (events & 0xfff) == 0) Update(events, matches);
  }
  // Updates now if it is time (tests and callers with their own cadence).
  void Update(uint64_t events, uint64_t matches);
  void Clear();
  bool shown() const { return shown_; }

 private:
  bool enabled_;
  std::FILE* out_;
  Clock clock_;
  std::chrono::steady_clock::time_point start_, last_;
  bool shown_ = false;
};

}  // namespace kestrel::cli
