// JsonDecoder: ECS-shaped JSON -> Event, on simdjson On-Demand.
//
// Accepts nested objects and dotted keys alike ({"process":{"name":"x"}} and {"process.name":"x"}
// give the same field), arrays of scalars (as array Values; arrays holding objects or arrays are
// kept verbatim as kRawJson), numbers as int64 / uint64 / double as written, and IP strings as IP
// values where the schema types the field `ip`. Keys not in the schema are interned as dynamic
// fields with the type of their first value; when the schema's field budget is exhausted the field
// is dropped and counted (stats().dropped_fields).
//
// Key lookup: the decoder keeps a trie of key segments -> FieldId, so a key is hashed once per
// object level and the schema (and its mutex) is consulted only the first time a path is seen.
// After warm-up, decoding allocates nothing: strings go to the Event's arena, the trie and the
// simdjson parser keep their capacity.
//
// Time: `time_field` (default `@timestamp`) sets Event::time_ns()/wall_ns(): an RFC 3339 string,
// or a number in `time_format` (kAuto: epoch milliseconds, as Elasticsearch reads dates). An event
// without a usable time takes the previous event's time (counted in stats().missing_time), so
// time never comes from the wall clock.
// Categories: the string (or array of strings) in each of `category_fields`, in order, the first
// present wins (default `event.category`, then Endgame's `event_type`).
//
// Limits: objects nested deeper than `max_depth` are an error (no unbounded recursion on input).
// Thread safety: a JsonDecoder is used by one thread; several decoders may share a Schema.
// Tested by json_decoder_test.cc; fuzzed by fuzz/json_event_fuzz.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"

namespace kestrel::event {

enum class TimeFormat : uint8_t {
  kAuto,  // string: RFC 3339; number: epoch milliseconds
  kRfc3339,
  kEpochSeconds,  // numbers may be fractional
  kEpochMillis,
  kEpochMicros,
  kEpochNanos,
  kFiletime,  // Windows FILETIME, 100 ns ticks since 1601 (Endgame data)
};

// Parses "auto", "rfc3339", "s", "ms", "us", "ns", "filetime".
absl::StatusOr<TimeFormat> ParseTimeFormat(std::string_view name);

struct DecoderOptions {
  std::string time_field = "@timestamp";
  TimeFormat time_format = TimeFormat::kAuto;
  std::vector<std::string> category_fields = {"event.category", "event_type"};
  uint32_t max_depth = 64;
};

struct DecoderStats {
  uint64_t dropped_fields = 0;  // fields past the schema's budget
  uint64_t missing_time = 0;    // events without a usable time field
};

class JsonDecoder {
 public:
  // simdjson reads up to this many bytes past the end of the input; they must be readable.
  static constexpr size_t kPadding = 64;

  // `schema` must outlive the decoder.
  explicit JsonDecoder(schema::Schema* schema, DecoderOptions options = {});
  ~JsonDecoder();
  JsonDecoder(const JsonDecoder&) = delete;
  JsonDecoder& operator=(const JsonDecoder&) = delete;

  // Decodes the JSON object in `json` into `*out` (cleared first). `allocated` is the number of
  // readable bytes starting at json.data(); REQUIRES: allocated >= json.size() + kPadding.
  // Errors: INVALID_ARGUMENT with a reason for malformed JSON, a non-object, trailing content or
  // nesting deeper than max_depth; `*out` is then unspecified.
  absl::Status Decode(std::string_view json, size_t allocated, Event* out);

  // As above for input without padding: copies it into an internal buffer first.
  absl::Status Decode(std::string_view json, Event* out);

  // Decodes a JSON array of objects, calling `on_event` for each element decoded and `on_error`
  // for each element that is not a valid event (with its 0-based index). A syntax error that
  // ends the array early is reported once to `on_error` and returned.
  template <typename OnEvent, typename OnError>
  absl::Status DecodeArray(std::string_view json, size_t allocated, Event* scratch,
                           OnEvent on_event, OnError on_error);

  const DecoderStats& stats() const { return stats_; }

 private:
  class Impl;
  // Type-erased callbacks for DecodeArray (the simdjson code lives in the .cc).
  using EventFn = void (*)(void* ctx, Event& e);
  using ErrorFn = void (*)(void* ctx, size_t index, const absl::Status& s);
  absl::Status DecodeArrayImpl(std::string_view json, size_t allocated, Event* scratch,
                               EventFn on_event, ErrorFn on_error, void* ctx);

  std::unique_ptr<Impl> impl_;
  DecoderStats stats_;
};

template <typename OnEvent, typename OnError>
absl::Status JsonDecoder::DecodeArray(std::string_view json, size_t allocated, Event* scratch,
                                      OnEvent on_event, OnError on_error) {
  struct Ctx {
    OnEvent* on_event;
    OnError* on_error;
  } ctx{&on_event, &on_error};
  return DecodeArrayImpl(
      json, allocated, scratch, [](void* c, Event& e) { (*static_cast<Ctx*>(c)->on_event)(e); },
      [](void* c, size_t i, const absl::Status& s) { (*static_cast<Ctx*>(c)->on_error)(i, s); },
      &ctx);
}

}  // namespace kestrel::event
