// Event -> ECS JSON object text, for alerts and for `kestrel query`-style output.
//
// Fields are written nested ({"process":{"name":"bash"}}) in name order, so the bytes do not
// depend on FieldId assignment (which differs between runs with different inputs or rules).
// When a field is both a leaf and the parent of others (`a` and `a.b`, possible only with dynamic
// fields), the children are written beside it with their dotted name (`"a":1,"a.b":2`), so the
// output never has duplicate keys. Cost: O(n log n) in the number of fields; not for hot paths.
// Tested by json_encoder_test.cc.
#pragma once

#include <string>

#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"

namespace kestrel::event {

// Appends the fields of `event` as one JSON object. REQUIRES: event.Finish() was called.
void AppendEventJson(const Event& event, const schema::Schema& schema, std::string* out);

struct EventJsonOptions {
  // Hunting output (`kestrel query`, `kestrel log cat`): an event without an `@timestamp` field
  // (live events, Endgame data) gets one from its wall_ns(), RFC 3339 in UTC with 3, 6 or 9
  // fraction digits (the fewest that are exact), so every printed event carries its time and
  // NDJSON read back keeps its order. An `@timestamp` the event has is printed as it is. Alert
  // formats never set this (their bytes, and replay digests, do not change).
  bool add_timestamp = false;
};
void AppendEventJson(const Event& event, const schema::Schema& schema, std::string* out,
                     const EventJsonOptions& options);

// wall-clock nanoseconds as `@timestamp` text: RFC 3339, UTC, 3, 6 or 9 fraction digits.
std::string FormatEventTimestamp(int64_t unix_ns);

}  // namespace kestrel::event
