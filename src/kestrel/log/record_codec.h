// The payload of one log block (docs/log-format.md, "Block payload"): the definitions of the
// fields and categories its records use, then the records, each a compact encoding of an Event.
//
// BlockEncoder collects events into a payload; BlockDecoder turns a payload back into Events of
// the reader's schema, mapping the writer's field codes by name (so a log written with another
// catalogue still reads). Both reuse their buffers: after warm-up neither allocates per event.
//
// The decoder treats its input as hostile: every length is checked against what remains, field
// codes and tags against their ranges; a bad payload is an error, never an over-read. Text that
// reaches output verbatim is checked too: a raw-JSON value (tag 10) must be one JSON array that
// event::CheckJsonText accepts — the check the NDJSON decoder makes before it keeps an array raw,
// so what `record` kept is read back (UTF-8, escapes, numbers by the grammar, nesting at most
// kMaxRawJsonDepth, at most kMaxRawJsonBytes) — and is re-emitted minified (no whitespace, so no
// line break a forged alert could hide behind); a record with any other raw-JSON text is refused as
// damaged. Strings are escaped (and invalid UTF-8 replaced) by the JSON writer that prints them, as
// for every other source. Thread safety: none. Tested by log_test.cc and fuzz/event_log_fuzz.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/base/arena.h"
#include "kestrel/base/string_map.h"
#include "kestrel/event/event.h"
#include "kestrel/log/log_format.h"
#include "kestrel/schema/schema.h"

namespace kestrel::log {

// The deepest nesting of a raw-JSON value a reader accepts (the JSON decoder's default limit),
// and its largest size (the validating parser needs about 13 bytes per byte of text).
inline constexpr size_t kMaxRawJsonDepth = 64;
inline constexpr size_t kMaxRawJsonBytes = 4 << 20;

class BlockEncoder {
 public:
  explicit BlockEncoder(const schema::Schema& schema) : schema_(schema) {}

  // Appends `event` (Finish()ed) as one record.
  void Add(const event::Event& event);

  // Writes the payload (definitions, then the records added since the last Take) to `*out`
  // (replacing its contents) and starts a new block.
  void Take(std::string* out);

  uint32_t events() const { return events_; }
  size_t records_bytes() const { return records_.size(); }
  int64_t min_time_ns() const { return min_time_; }
  int64_t max_time_ns() const { return max_time_; }

  // The fields (schema FieldId values) and categories the current block uses.
  const std::vector<uint32_t>& block_fields() const { return block_fields_; }
  uint64_t block_categories() const { return block_categories_; }

 private:
  void PutValue(const event::Value& v, std::string* out);
  void PutField(uint32_t code, const event::Value& v, std::string* out);
  void NoteField(uint32_t code);

  const schema::Schema& schema_;
  std::string records_;
  std::string record_;  // scratch for one record
  std::vector<uint32_t> block_fields_;
  std::vector<uint8_t> seen_;                   // by field code: used in this block
  base::StringArena strings_{64 << 10};         // the indexed strings of this block
  base::StringViewMap<uint32_t> string_index_;  // string -> its index in this block
  std::vector<int64_t> last_int_;               // by field code: its previous integer in this block
  std::vector<uint8_t> has_last_int_;
  uint64_t block_categories_ = 0;
  uint32_t events_ = 0;
  int64_t prev_time_ = 0;
  int64_t min_time_ = 0;
  int64_t max_time_ = 0;
};

// Writes the definitions of `fields` (codes = the schema's FieldId values) and of the categories
// in `categories` (bits = CategoryIds), as blocks and the footer store them.
void PutDefinitions(const schema::Schema& schema, const std::vector<uint32_t>& fields,
                    uint64_t categories, std::string* out);

class BlockDecoder {
 public:
  // Fields and categories named by a payload are found in, or added to, `schema`.
  explicit BlockDecoder(schema::Schema* schema);
  ~BlockDecoder();
  BlockDecoder(const BlockDecoder&) = delete;
  BlockDecoder& operator=(const BlockDecoder&) = delete;

  // Starts decoding `payload` (which must outlive the decoding) holding `events` records.
  // Errors: malformed definitions (INVALID_ARGUMENT, with the reason).
  absl::Status Start(std::string_view payload, uint32_t events);

  // Decodes the next record into `*event` (cleared first, Finish()ed). false: no records left.
  // Errors: DATA_LOSS — this record is refused (a raw-JSON value that is not valid JSON), but
  // it was framed and read whole, so decoding may go on with the next record; any other code —
  // a malformed record (the rest of the payload cannot be trusted).
  absl::StatusOr<bool> Next(event::Event* event);

  // Fields the schema refused (its budget is exhausted): their values are dropped and counted.
  uint64_t dropped_fields() const { return dropped_fields_; }

  // Projection: from the next Start() on, only these fields (reader FieldIds) are set in the
  // events; the others are read past (their bytes still checked, string indexes and integer
  // deltas still followed) but not copied, so an event holds what a query reads and costs less.
  // An empty list keeps no field (categories and times are always set) and skips each record's
  // values unread; AllFields() undoes it.
  void OnlyFields(const std::vector<schema::FieldId>& fields);
  void AllFields() { project_ = false; }

 private:
  bool ReadValue(ByteReader& in, uint32_t code, bool in_array, event::Value* v);
  // Reads past a value of a field left out by OnlyFields (keeping the block's string index).
  bool SkipValue(ByteReader& in, bool in_array);
  // Checks raw-JSON text and returns its minified copy (valid until the next record), or an
  // empty view with `raw_error_` set.
  std::string_view CheckRawJson(std::string_view text);

  schema::Schema* schema_;
  std::string_view rest_;
  uint32_t remaining_ = 0;
  int64_t prev_time_ = 0;
  std::vector<schema::FieldId> map_;  // writer code -> reader FieldId (invalid: dropped)
  std::vector<uint32_t> mapped_;      // codes set in map_ by this block
  schema::CategoryId categories_[64] = {};
  uint64_t known_categories_ = 0;
  std::vector<event::Value> elements_;
  std::vector<std::string_view> strings_;  // indexed strings of this block (in the payload)
  std::vector<int64_t> last_int_;  // by writer code: the field's previous integer in this block
  std::vector<uint8_t> has_last_int_;
  uint64_t dropped_fields_ = 0;
  bool project_ = false;
  std::vector<uint8_t> keep_;    // by reader FieldId, with project_: set in events
  base::StringArena raw_{4096};  // minified raw-JSON values of the record
  std::string raw_error_;        // why the record's raw JSON was refused
};

}  // namespace kestrel::log
