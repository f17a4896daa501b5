#include "kestrel/log/record_codec.h"

#include <bit>
#include <cstring>

#include <fmt/format.h>
#include <simdjson.h>

#include "kestrel/event/json_text.h"
#include "xxhash.h"

namespace kestrel::log {

using event::Value;
using event::ValueKind;

uint64_t CatalogueHash() {
  static const uint64_t hash = [] {
    XXH64_state_t* state = XXH64_createState();
    XXH64_reset(state, 0);
    for (const schema::CatalogueEntry& e : schema::kEcsCatalogue) {
      uint8_t type = static_cast<uint8_t>(static_cast<uint8_t>(e.type) | (e.is_array ? 0x80 : 0));
      XXH64_update(state, e.name.data(), e.name.size());
      XXH64_update(state, &type, 1);
    }
    uint64_t h = XXH64_digest(state);
    XXH64_freeState(state);
    return h;
  }();
  return hash;
}

// --- encoding ---------------------------------------------------------------------------------

void PutDefinitions(const schema::Schema& schema, const std::vector<uint32_t>& fields,
                    uint64_t categories, std::string* out) {
  PutVarint(out, fields.size());
  for (uint32_t code : fields) {
    const schema::FieldInfo& info = schema.Info(schema::FieldId{code});
    PutVarint(out, code);
    out->push_back(static_cast<char>(static_cast<uint8_t>(info.type) | (info.is_array ? 0x80 : 0)));
    PutBytes(out, info.name);
  }
  PutVarint(out, static_cast<uint64_t>(std::popcount(categories)));
  for (uint64_t rest = categories; rest != 0; rest &= rest - 1) {
    int bit = std::countr_zero(rest);
    out->push_back(static_cast<char>(bit));
    PutBytes(out, schema.CategoryName(static_cast<schema::CategoryId>(bit)));
  }
}

void BlockEncoder::NoteField(uint32_t code) {
  if (code >= seen_.size()) seen_.resize(code + 1, 0);
  if (!seen_[code]) {
    seen_[code] = 1;
    block_fields_.push_back(code);
    if (code >= has_last_int_.size()) {
      has_last_int_.resize(code + 1, 0);
      last_int_.resize(code + 1, 0);
    }
  }
}

void BlockEncoder::PutValue(const Value& v, std::string* out) {
  switch (v.kind()) {
    case ValueKind::kNull:
      out->push_back(static_cast<char>(Tag::kNull));
      return;
    case ValueKind::kBool:
      out->push_back(static_cast<char>(v.as_bool() ? Tag::kTrue : Tag::kFalse));
      return;
    case ValueKind::kInt:
      out->push_back(static_cast<char>(Tag::kInt));
      PutSigned(out, v.as_int());
      return;
    case ValueKind::kUint:
      out->push_back(static_cast<char>(Tag::kUint));
      PutVarint(out, v.as_uint());
      return;
    case ValueKind::kDouble: {
      out->push_back(static_cast<char>(Tag::kDouble));
      uint64_t bits;
      double d = v.as_double();
      std::memcpy(&bits, &d, 8);
      PutU64(out, bits);
      return;
    }
    case ValueKind::kString: {
      std::string_view text = v.as_string();
      if (text.size() >= kMinIndexedString) {
        if (auto it = string_index_.find(text); it != string_index_.end()) {
          out->push_back(static_cast<char>(Tag::kStringRef));
          PutVarint(out, it->second);
          return;
        }
        // The key must outlive the caller's event: it points at the block's own copy.
        uint32_t index = static_cast<uint32_t>(string_index_.size());
        string_index_.emplace(strings_.Copy(text), index);
      }
      out->push_back(static_cast<char>(Tag::kString));
      PutBytes(out, text);
      return;
    }
    case ValueKind::kRawJson:
      out->push_back(static_cast<char>(Tag::kRawJson));
      PutBytes(out, v.as_string());
      return;
    case ValueKind::kIp: {
      event::IpAddress ip = v.as_ip();
      if (ip.is_v4) {
        out->push_back(static_cast<char>(Tag::kIp4));
        out->append(reinterpret_cast<const char*>(ip.bytes.data()) + 12, 4);
      } else {
        out->push_back(static_cast<char>(Tag::kIp6));
        out->append(reinterpret_cast<const char*>(ip.bytes.data()), 16);
      }
      return;
    }
    case ValueKind::kArray:
      out->push_back(static_cast<char>(Tag::kArray));
      PutVarint(out, v.as_array().size());
      for (const Value& e : v.as_array()) PutValue(e, out);
      return;
  }
}

void BlockEncoder::PutField(uint32_t code, const Value& v, std::string* out) {
  if (v.kind() == ValueKind::kInt) {
    // Counters and clocks (serial ids, timestamps) cost a byte or two as a difference.
    int64_t i = v.as_int();
    int64_t delta =
        static_cast<int64_t>(static_cast<uint64_t>(i) - static_cast<uint64_t>(last_int_[code]));
    bool use_delta = has_last_int_[code] && ZigZag(delta) < ZigZag(i);
    last_int_[code] = i;
    has_last_int_[code] = 1;
    if (use_delta) {
      out->push_back(static_cast<char>(Tag::kIntDelta));
      PutSigned(out, delta);
      return;
    }
  }
  PutValue(v, out);
}

void BlockEncoder::Add(const event::Event& event) {
  record_.clear();
  int64_t t = event.time_ns();
  PutSigned(&record_, static_cast<int64_t>(static_cast<uint64_t>(t) -
                                           static_cast<uint64_t>(events_ ? prev_time_ : 0)));
  PutSigned(&record_, static_cast<int64_t>(static_cast<uint64_t>(event.wall_ns()) -
                                           static_cast<uint64_t>(t)));
  PutVarint(&record_, event.categories());
  block_categories_ |= event.categories();
  PutVarint(&record_, event.field_count());  // its shared blocks' fields too (event.h)
  uint32_t prev_code = 0;
  event.ForEachField([&](const event::Event::Entry& entry) {
    uint32_t code = entry.id.value;
    NoteField(code);
    PutSigned(&record_, static_cast<int64_t>(code) - static_cast<int64_t>(prev_code));
    prev_code = code;
    PutField(code, entry.value, &record_);
  });
  PutVarint(&records_, record_.size());
  records_.append(record_);

  if (events_ == 0 || t < min_time_) min_time_ = t;
  if (events_ == 0 || t > max_time_) max_time_ = t;
  prev_time_ = t;
  ++events_;
}

void BlockEncoder::Take(std::string* out) {
  out->clear();
  PutDefinitions(schema_, block_fields_, block_categories_, out);
  out->append(records_);
  for (uint32_t code : block_fields_) seen_[code] = has_last_int_[code] = 0;
  string_index_.clear();
  strings_.Reset();
  block_fields_.clear();
  block_categories_ = 0;
  records_.clear();
  events_ = 0;
  prev_time_ = min_time_ = max_time_ = 0;
}

// --- decoding ---------------------------------------------------------------------------------

namespace {

// map_ entry of a field the payload defines but the reader's schema refused (field budget).
constexpr schema::FieldId kDropped{UINT32_MAX - 1};
constexpr schema::FieldId kSkipped{UINT32_MAX - 2};  // not projected (OnlyFields)

absl::Status Malformed(std::string_view what) {
  return absl::InvalidArgumentError(fmt::format("malformed block payload: {}", what));
}

}  // namespace

BlockDecoder::BlockDecoder(schema::Schema* schema) : schema_(schema) {}

BlockDecoder::~BlockDecoder() = default;

std::string_view BlockDecoder::CheckRawJson(std::string_view text) {
  if (text.size() > kMaxRawJsonBytes) {
    raw_error_ = fmt::format("raw JSON value of {} bytes exceeds the limit of {}", text.size(),
                             kMaxRawJsonBytes);
    return {};
  }
  // The same check the NDJSON decoder makes before keeping an array raw (event::CheckJsonText):
  // whatever `record` kept, replay reads back; numbers are checked by the grammar, not
  // converted, so a 30-digit integer passes here as it did there.
  if (const char* why = event::CheckJsonText(text, kMaxRawJsonDepth)) {
    raw_error_ = fmt::format("raw JSON value is not valid JSON: {}", why);
    return {};
  }
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || text[first] != '[') {
    raw_error_ = "raw JSON value is not a JSON array";
    return {};
  }
  char* out = static_cast<char*>(raw_.Allocate(text.size()));
  size_t n = 0;
  if (simdjson::minify(text.data(), text.size(), out, n) != simdjson::SUCCESS) {
    raw_error_ = "raw JSON value does not minify";
    return {};
  }
  return {out, n};
}

void BlockDecoder::OnlyFields(const std::vector<schema::FieldId>& fields) {
  project_ = true;
  keep_.clear();
  for (schema::FieldId id : fields) {
    if (!id.valid()) continue;
    if (id.value >= keep_.size()) keep_.resize(id.value + 1, 0);
    keep_[id.value] = 1;
  }
}

absl::Status BlockDecoder::Start(std::string_view payload, uint32_t events) {
  for (uint32_t code : mapped_) {
    map_[code] = schema::FieldId{};
    has_last_int_[code] = 0;
  }
  mapped_.clear();
  known_categories_ = 0;
  strings_.clear();
  remaining_ = 0;
  prev_time_ = 0;

  ByteReader in(payload);
  uint64_t n;
  if (!in.Varint(&n) || n > schema::Schema::kMaxFields) return Malformed("field count");
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t code;
    uint8_t type_byte;
    std::string_view name;
    if (!in.Varint(&code) || !in.Byte(&type_byte) || !in.Bytes(&name)) {
      return Malformed("truncated field definition");
    }
    if (code >= schema::Schema::kMaxFields) return Malformed("field code out of range");
    uint8_t type = type_byte & 0x7f;
    if (type > static_cast<uint8_t>(schema::FieldType::kDate)) return Malformed("field type");
    if (name.empty()) return Malformed("empty field name");
    if (code >= map_.size()) {
      map_.resize(code + 1);
      last_int_.resize(code + 1, 0);
      has_last_int_.resize(code + 1, 0);
    }
    if (map_[code].valid()) return Malformed("field defined twice");
    std::optional<schema::FieldId> id = schema_->Find(name);
    if (!id) {
      auto interned =
          schema_->Intern(name, static_cast<schema::FieldType>(type), (type_byte & 0x80) != 0);
      if (interned.ok()) id = *interned;
    }
    map_[code] = id ? *id : kDropped;
    if (id && project_ && (id->value >= keep_.size() || keep_[id->value] == 0)) {
      map_[code] = kSkipped;
    }
    mapped_.push_back(static_cast<uint32_t>(code));
  }
  if (!in.Varint(&n) || n > 64) return Malformed("category count");
  for (uint64_t i = 0; i < n; ++i) {
    uint8_t bit;
    std::string_view name;
    if (!in.Byte(&bit) || !in.Bytes(&name)) return Malformed("truncated category definition");
    if (bit >= 64) return Malformed("category bit out of range");
    if (known_categories_ & (uint64_t{1} << bit)) return Malformed("category defined twice");
    std::optional<schema::CategoryId> id = schema_->FindCategory(name);
    categories_[bit] = id ? *id : schema_->InternCategory(name);
    known_categories_ |= uint64_t{1} << bit;
  }
  rest_ = payload.substr(payload.size() - in.remaining());
  remaining_ = events;
  return absl::OkStatus();
}

bool BlockDecoder::ReadValue(ByteReader& in, uint32_t code, bool in_array, Value* v) {
  uint8_t tag;
  if (!in.Byte(&tag)) return false;
  switch (static_cast<Tag>(tag)) {
    case Tag::kIntDelta: {
      int64_t delta;
      if (in_array || !has_last_int_[code] || !in.Signed(&delta)) return false;
      int64_t i = static_cast<int64_t>(static_cast<uint64_t>(last_int_[code]) +
                                       static_cast<uint64_t>(delta));
      last_int_[code] = i;
      *v = Value::Int(i);
      return true;
    }
    case Tag::kNull:
      *v = Value::Null();
      return true;
    case Tag::kFalse:
    case Tag::kTrue:
      *v = Value::Bool(static_cast<Tag>(tag) == Tag::kTrue);
      return true;
    case Tag::kInt: {
      int64_t i;
      if (!in.Signed(&i)) return false;
      if (!in_array) {
        last_int_[code] = i;
        has_last_int_[code] = 1;
      }
      *v = Value::Int(i);
      return true;
    }
    case Tag::kUint: {
      uint64_t u;
      if (!in.Varint(&u)) return false;
      *v = Value::Uint(u);
      return true;
    }
    case Tag::kDouble: {
      uint64_t bits;
      if (!in.U64(&bits)) return false;
      double d;
      std::memcpy(&d, &bits, 8);
      *v = Value::Double(d);
      return true;
    }
    case Tag::kStringRef: {
      uint64_t index;
      if (!in.Varint(&index) || index >= strings_.size()) return false;
      *v = Value::String(strings_[index]);
      return true;
    }
    case Tag::kString:
    case Tag::kRawJson: {
      std::string_view s;
      if (!in.Bytes(&s) || s.size() >= (uint64_t{1} << 32)) return false;
      if (static_cast<Tag>(tag) == Tag::kString && s.size() >= kMinIndexedString) {
        strings_.push_back(s);
      }
      if (static_cast<Tag>(tag) == Tag::kString) {
        // Borrowed from the payload; Event::Set copies it into the event's arena.
        *v = Value::String(s);
        return true;
      }
      // Raw JSON reaches output verbatim: only checked, minified text goes on. Text that fails
      // refuses the record, once the record has been read whole (later records' string indexes
      // and integer deltas count on it).
      std::string_view checked = raw_error_.empty() ? CheckRawJson(s) : std::string_view();
      *v = raw_error_.empty() ? Value::RawJson(checked) : Value::Null();
      return true;
    }
    case Tag::kIp4: {
      event::IpAddress ip;
      ip.bytes[10] = ip.bytes[11] = 0xff;
      if (!in.Fixed(ip.bytes.data() + 12, 4)) return false;
      ip.is_v4 = true;
      *v = Value::Ip(ip);
      return true;
    }
    case Tag::kIp6: {
      event::IpAddress ip;
      if (!in.Fixed(ip.bytes.data(), 16)) return false;
      *v = Value::Ip(ip);
      return true;
    }
    case Tag::kArray: {
      if (in_array) return false;  // arrays never nest
      uint64_t n;
      // Each element takes at least one byte: a count beyond the bytes left is a lie.
      if (!in.Varint(&n) || n > in.remaining()) return false;
      size_t base = elements_.size();
      for (uint64_t i = 0; i < n; ++i) {
        Value element;
        if (!ReadValue(in, code, true, &element)) return false;
        elements_.push_back(element);
      }
      *v = Value::Array(std::span<const Value>(elements_.data() + base, n));
      return true;
    }
  }
  return false;  // unknown tag
}

bool BlockDecoder::SkipValue(ByteReader& in, bool in_array) {
  uint8_t tag;
  if (!in.Byte(&tag)) return false;
  std::string_view s;
  uint64_t n;
  switch (static_cast<Tag>(tag)) {
    case Tag::kNull:
    case Tag::kFalse:
    case Tag::kTrue:
      return true;
    case Tag::kIntDelta:
      if (in_array) return false;
      return in.Varint(&n);
    case Tag::kInt:
    case Tag::kUint:
      return in.Varint(&n);
    case Tag::kStringRef:
      return in.Varint(&n) && n < strings_.size();
    case Tag::kDouble:
      return in.Take(8, &s);
    case Tag::kIp4:
      return in.Take(4, &s);
    case Tag::kIp6:
      return in.Take(16, &s);
    case Tag::kString:
    case Tag::kRawJson:
      if (!in.Bytes(&s) || s.size() >= (uint64_t{1} << 32)) return false;
      // The block's string index counts every long kString, read or not.
      if (static_cast<Tag>(tag) == Tag::kString && s.size() >= kMinIndexedString) {
        strings_.push_back(s);
      }
      return true;  // raw JSON skipped is never printed: not checked
    case Tag::kArray:
      if (in_array || !in.Varint(&n) || n > in.remaining()) return false;
      for (uint64_t i = 0; i < n; ++i) {
        if (!SkipValue(in, true)) return false;
      }
      return true;
  }
  return false;  // unknown tag
}

absl::StatusOr<bool> BlockDecoder::Next(event::Event* event) {
  if (remaining_ == 0) return false;
  ByteReader outer(rest_);
  std::string_view record;
  if (!outer.Bytes(&record)) return Malformed("truncated record");
  rest_ = rest_.substr(rest_.size() - outer.remaining());
  --remaining_;

  event->Clear();
  raw_.Reset();
  raw_error_.clear();
  ByteReader in(record);
  int64_t dt, dwall;
  uint64_t categories, entries;
  if (!in.Signed(&dt) || !in.Signed(&dwall) || !in.Varint(&categories) || !in.Varint(&entries)) {
    return Malformed("truncated record header");
  }
  int64_t t = static_cast<int64_t>(static_cast<uint64_t>(prev_time_) + static_cast<uint64_t>(dt));
  prev_time_ = t;
  event->set_time_ns(t);
  event->set_wall_ns(static_cast<int64_t>(static_cast<uint64_t>(t) + static_cast<uint64_t>(dwall)));
  if (categories & ~known_categories_) return Malformed("record uses an undefined category");
  for (uint64_t rest = categories; rest != 0; rest &= rest - 1) {
    event->AddCategory(categories_[std::countr_zero(rest)]);
  }
  if (entries > in.remaining()) return Malformed("entry count larger than the record");
  if (project_ && keep_.empty()) {
    // No field is wanted: the values need not be read at all (string indexes and integer deltas
    // only matter to values that are read; the payload's checksum was verified).
    event->Finish();
    return true;
  }
  int64_t code = 0;
  for (uint64_t i = 0; i < entries; ++i) {
    int64_t delta;
    if (!in.Signed(&delta)) return Malformed("truncated field code");
    // Codes stay below 2^16, so a larger step is a lie (and must not overflow).
    if (delta > int64_t{schema::Schema::kMaxFields} ||
        delta < -int64_t{schema::Schema::kMaxFields}) {
      return Malformed("record uses an undefined field");
    }
    code += delta;
    if (code < 0 || static_cast<uint64_t>(code) >= map_.size()) {
      return Malformed("record uses an undefined field");
    }
    schema::FieldId id = map_[static_cast<size_t>(code)];
    if (id == kSkipped) {
      if (!SkipValue(in, false)) return Malformed("bad value");
      continue;
    }
    elements_.clear();
    Value v;
    if (!ReadValue(in, static_cast<uint32_t>(code), false, &v)) return Malformed("bad value");
    if (!id.valid()) return Malformed("record uses an undefined field");
    if (id == kDropped) {  // the schema's budget refused the field
      ++dropped_fields_;
      continue;
    }
    if (v.kind() == ValueKind::kArray) {
      event->SetArray(id, v.as_array());
    } else {
      event->Set(id, v);
    }
  }
  if (in.remaining() != 0) return Malformed("trailing bytes after the last field");
  if (!raw_error_.empty()) {
    event->Clear();
    return absl::DataLossError(fmt::format("record refused: {}", raw_error_));
  }
  event->Finish();
  return true;
}

}  // namespace kestrel::log
