// JsonDecoder; see json_decoder.h for the contract.
//
// Algorithm: one pass over the On-Demand stream. Each object level walks a trie whose nodes are
// key segments (a dotted key walks several nodes); a node knows its FieldId once resolved. Leaves
// are converted by their JSON type (and the schema type for `ip`); strings are unescaped by
// simdjson into its own buffer and copied once into the Event's arena. Cost: O(input bytes) plus
// one hash lookup per key segment. Recursion is bounded by DecoderOptions::max_depth.
// Tested by json_decoder_test.cc.
#include "kestrel/event/json_decoder.h"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "kestrel/base/string_map.h"
#include "kestrel/base/time.h"
#include "kestrel/event/json_text.h"

namespace kestrel::event {

namespace od = simdjson::ondemand;
using schema::FieldType;

absl::StatusOr<TimeFormat> ParseTimeFormat(std::string_view name) {
  if (name == "auto") return TimeFormat::kAuto;
  if (name == "rfc3339" || name == "iso8601") return TimeFormat::kRfc3339;
  if (name == "s") return TimeFormat::kEpochSeconds;
  if (name == "ms") return TimeFormat::kEpochMillis;
  if (name == "us") return TimeFormat::kEpochMicros;
  if (name == "ns") return TimeFormat::kEpochNanos;
  if (name == "filetime") return TimeFormat::kFiletime;
  return absl::InvalidArgumentError(fmt::format(
      "unknown time format '{}' (expected auto, rfc3339, s, ms, us, ns or filetime)", name));
}

class JsonDecoder::Impl {
 public:
  Impl(schema::Schema* schema, DecoderOptions options, DecoderStats* stats)
      : schema_(schema), options_(std::move(options)), stats_(stats) {
    nodes_.emplace_back();  // kRootNode
    nodes_.emplace_back();  // kDroppedNode: absorbs every path past the trie budget
    nodes_[kDroppedNode].state = Node::State::kDropped;
    if (!options_.time_field.empty()) {
      auto id = schema_->Intern(options_.time_field, FieldType::kDate, false);
      if (id.ok()) time_field_ = *id;
    }
    for (const std::string& f : options_.category_fields) {
      auto id = schema_->Intern(f, FieldType::kKeyword, false);
      if (id.ok()) category_fields_.push_back(*id);
    }
  }

  absl::Status Decode(std::string_view json, size_t allocated, Event* out) {
    out->Clear();
    od::document doc;
    if (auto err = parser_.iterate(json.data(), json.size(), allocated).get(doc)) {
      return Error(err);
    }
    od::object obj;
    if (auto err = doc.get_object().get(obj)) {
      return err == simdjson::INCORRECT_TYPE ? absl::InvalidArgumentError("expected a JSON object")
                                             : Error(err);
    }
    absl::Status s = DecodeObject(obj, kRootNode, 1, out);
    if (!s.ok()) return s;
    if (!AtEnd(doc)) return absl::InvalidArgumentError("trailing content after the object");
    FinishEvent(out);
    return absl::OkStatus();
  }

  absl::Status DecodeArray(std::string_view json, size_t allocated, Event* scratch,
                           EventFn on_event, ErrorFn on_error, void* ctx) {
    od::document doc;
    od::array arr;
    simdjson::error_code err = parser_.iterate(json.data(), json.size(), allocated).get(doc);
    if (!err) err = doc.get_array().get(arr);
    if (err) {
      absl::Status s = Error(err);
      on_error(ctx, 0, s);
      return s;
    }
    size_t index = 0;
    for (auto element : arr) {
      od::value v;
      od::object obj;
      if ((err = element.get(v))) break;
      od::json_type type;
      if ((err = v.type().get(type))) break;
      if (type != od::json_type::object) {
        // On-Demand skips the unread element when the loop advances.
        on_error(ctx, index++, absl::InvalidArgumentError("array element is not a JSON object"));
        continue;
      }
      if ((err = v.get_object().get(obj))) break;
      scratch->Clear();
      absl::Status s = DecodeObject(obj, kRootNode, 1, scratch);
      if (!s.ok()) {
        on_error(ctx, index, s);
        return s;  // the stream position is unknown after a failed element
      }
      FinishEvent(scratch);
      on_event(ctx, *scratch);
      ++index;
    }
    if (!err && !AtEnd(doc)) {
      absl::Status s = absl::InvalidArgumentError("trailing content after the array");
      on_error(ctx, index, s);
      return s;
    }
    if (err) {
      absl::Status s = Error(err);
      on_error(ctx, index, s);
      return s;
    }
    return absl::OkStatus();
  }

 private:
  // One remembered key of an object: the child it led to, and the key as written (unescaped).
  struct ExpectedKey {
    uint32_t child;
    bool plain;  // no '"' or '\\' in `key`, so it can be compared with the raw JSON key
    std::string key;
  };
  static constexpr size_t kMaxExpectedKeys = 128;

  struct Node {
    base::StringMap<uint32_t> children;
    // Shape cache: the keys of the last object decoded at this node, in order. Events from one
    // source mostly share a shape, so the i-th key usually equals expected[i].key and is matched
    // with one memcmp on the raw key instead of unescaping, splitting and hashing it.
    std::vector<ExpectedKey> expected;
    std::string path;
    uint32_t depth = 0;  // path segments from the root
    FieldId id;
    enum class State : uint8_t { kUnresolved, kResolved, kDropped } state = State::kUnresolved;
  };

  // True when nothing but white space follows the consumed document.
  static bool AtEnd(od::document& doc) {
    const char* location;
    return doc.current_location().get(location) == simdjson::OUT_OF_BOUNDS;
  }

  static absl::Status Error(simdjson::error_code err) {
    return absl::InvalidArgumentError(simdjson::error_message(err));
  }

  static constexpr uint32_t kRootNode = 0;
  static constexpr uint32_t kDroppedNode = 1;
  // Distinct key paths remembered; past this, new paths are dropped (and counted) like fields
  // past the schema's budget, so hostile input cannot grow the trie without bound.
  static constexpr size_t kMaxNodes = 2 * schema::Schema::kMaxFields;

  // The child of `node` for key segment `key`, created on first sight.
  uint32_t Child(uint32_t node, std::string_view key) {
    if (node == kDroppedNode) return kDroppedNode;
    auto& children = nodes_[node].children;
    if (auto it = children.find(key); it != children.end()) return it->second;
    if (nodes_.size() >= kMaxNodes) return kDroppedNode;
    uint32_t child = static_cast<uint32_t>(nodes_.size());
    std::string path =
        node == kRootNode ? std::string(key) : fmt::format("{}.{}", nodes_[node].path, key);
    nodes_[node].children.emplace(std::string(key), child);  // `children` may dangle below
    uint32_t depth = nodes_[node].depth + 1;
    nodes_.emplace_back();
    Node& n = nodes_.back();
    n.depth = depth;
    // Known fields (the catalogue, or interned before) resolve now, so their schema type
    // (e.g. `ip`) applies from the first value on.
    if (auto id = schema_->Find(path)) {
      n.id = *id;
      n.state = Node::State::kResolved;
    }
    n.path = std::move(path);
    return child;
  }

  void Remember(uint32_t node, size_t position, std::string_view key, uint32_t child) {
    std::vector<ExpectedKey>& expected = nodes_[node].expected;
    if (position > expected.size() || position >= kMaxExpectedKeys) return;
    bool plain = key.find_first_of("\"\\") == std::string_view::npos;
    if (position == expected.size()) {
      expected.push_back(ExpectedKey{child, plain, std::string(key)});
    } else {
      ExpectedKey& e = expected[position];
      e.child = child;
      e.plain = plain;
      e.key.assign(key);
    }
  }

  // Walks a possibly dotted key from `node`.
  uint32_t Walk(uint32_t node, std::string_view key) {
    size_t start = 0;
    while (true) {
      size_t dot = key.find('.', start);
      if (dot == std::string_view::npos) return Child(node, key.substr(start));
      node = Child(node, key.substr(start, dot - start));
      start = dot + 1;
    }
  }

  // The FieldId for the leaf at `node`, interning with `type` on first use; invalid if dropped.
  FieldId Resolve(uint32_t node, FieldType type, bool is_array) {
    Node& n = nodes_[node];
    if (n.state == Node::State::kResolved) [[likely]] {
      return n.id;
    }
    if (n.state == Node::State::kUnresolved) {
      auto id = schema_->Intern(n.path, type, is_array);
      if (id.ok()) {
        n.id = *id;
        n.state = Node::State::kResolved;
        return n.id;
      }
      n.state = Node::State::kDropped;
    }
    ++stats_->dropped_fields;
    return FieldId{};
  }

  static FieldType TypeOf(od::json_type t, od::value& v) {
    switch (t) {
      case od::json_type::number: {
        od::number_type nt;
        if (v.get_number_type().get(nt)) return FieldType::kLong;
        return nt == od::number_type::floating_point_number ? FieldType::kDouble
               : nt == od::number_type::unsigned_integer    ? FieldType::kUnsigned
                                                            : FieldType::kLong;
      }
      case od::json_type::boolean:
        return FieldType::kBoolean;
      default:
        return FieldType::kKeyword;
    }
  }

  // Converts a scalar JSON value; strings are copied into `out`'s arena.
  absl::Status Scalar(od::value& v, od::json_type t, FieldType field_type, Event* out,
                      Value* result) {
    switch (t) {
      case od::json_type::string: {
        std::string_view s;
        if (auto err = v.get_string().get(s)) return Error(err);
        if (field_type == FieldType::kIp) {
          if (auto ip = IpAddress::Parse(s)) {
            *result = Value::Ip(*ip);
            return absl::OkStatus();
          }
        }
        *result = Value::String(out->arena().Copy(s));
        return absl::OkStatus();
      }
      case od::json_type::number: {
        // By number type rather than get_number(): simdjson 3.0.1's get_number() returns 0 for
        // a fraction with 20 or more integer digits ("18446744073709551616.0").
        od::number_type nt;
        if (auto err = v.get_number_type().get(nt)) return Error(err);
        if (nt == od::number_type::signed_integer) {
          int64_t i;
          if (!v.get_int64().get(i)) {
            *result = Value::Int(i);
            return absl::OkStatus();
          }
        } else if (nt == od::number_type::unsigned_integer) {
          uint64_t u;
          if (!v.get_uint64().get(u)) {
            *result = Value::Uint(u);
            return absl::OkStatus();
          }
        }
        // Fractions, exponents, and integers beyond 64 bits (kept as the closest double, as
        // JSON parsers usually do).
        double d;
        if (auto err = v.get_double().get(d)) return Error(err);
        *result = Value::Double(d);
        return absl::OkStatus();
      }
      case od::json_type::boolean: {
        bool b;
        if (auto err = v.get_bool().get(b)) return Error(err);
        *result = Value::Bool(b);
        return absl::OkStatus();
      }
      case od::json_type::null: {
        bool is_null;
        if (auto err = v.is_null().get(is_null)) return Error(err);
        if (!is_null) return absl::InvalidArgumentError("invalid literal");
        *result = Value::Null();
        return absl::OkStatus();
      }
      default:
        return absl::InternalError("not a scalar");
    }
  }

  absl::Status DecodeObject(od::object& obj, uint32_t node, uint32_t depth, Event* out) {
    if (depth > options_.max_depth) {
      return absl::InvalidArgumentError(
          fmt::format("objects nested deeper than {} levels", options_.max_depth));
    }
    size_t position = 0;
    for (auto field_result : obj) {
      if (auto err = field_result.error()) return Error(err);
      od::field& field = field_result.value_unsafe();
      uint32_t child = kDroppedNode;
      bool hit = false;
      if (position < nodes_[node].expected.size()) {
        const ExpectedKey& e = nodes_[node].expected[position];
        if (e.plain && field.key().unsafe_is_equal(e.key)) {
          child = e.child;
          hit = true;
        }
      }
      if (!hit) {
        std::string_view key;
        if (auto err = field.unescaped_key().get(key)) return Error(err);
        child = Walk(node, key);  // may grow nodes_: take no references across it
        if (nodes_[child].depth > options_.max_depth) {
          // Dotted keys nest too: the encoder writes them back as objects.
          return absl::InvalidArgumentError(
              fmt::format("field names nested deeper than {} levels", options_.max_depth));
        }
        Remember(node, position, key, child);
      }
      ++position;
      od::value& v = field.value();
      od::json_type t;
      if (auto err = v.type().get(t)) return Error(err);
      switch (t) {
        case od::json_type::object: {
          od::object inner;
          if (auto err = v.get_object().get(inner)) return Error(err);
          absl::Status s = DecodeObject(inner, child, depth + 1, out);
          if (!s.ok()) return s;
          break;
        }
        case od::json_type::array: {
          absl::Status s = DecodeArrayField(v, child, depth + 1, out);
          if (!s.ok()) return s;
          break;
        }
        default: {
          FieldType ft = nodes_[child].state == Node::State::kResolved
                             ? schema_->Info(nodes_[child].id).type
                             : TypeOf(t, v);
          FieldId id = Resolve(child, ft, false);
          if (!id.valid()) break;  // dropped field; On-Demand skips the unread value
          Value value;
          absl::Status s = Scalar(v, t, schema_->Info(id).type, out, &value);
          if (!s.ok()) return s;
          out->SetUnowned(id, value);
        }
      }
    }
    return absl::OkStatus();
  }

  absl::Status DecodeArrayField(od::value& v, uint32_t node, uint32_t depth, Event* out) {
    // The depth the array has once the encoder writes the field's name back as nested objects
    // (one per segment): a dotted name reaches it in fewer levels here, and what decodes must
    // encode to JSON that decodes again.
    depth = std::max(depth, nodes_[node].depth + 1);
    if (depth > options_.max_depth) {
      return absl::InvalidArgumentError(
          fmt::format("objects nested deeper than {} levels", options_.max_depth));
    }
    od::array arr;
    if (auto err = v.get_array().get(arr)) return Error(err);
    scratch_.clear();
    bool raw = false;
    FieldType element_type = FieldType::kKeyword;
    bool typed = nodes_[node].state == Node::State::kResolved;
    if (typed) element_type = schema_->Info(nodes_[node].id).type;
    for (auto element : arr) {
      od::value e;
      if (auto err = element.get(e)) return Error(err);
      od::json_type t;
      if (auto err = e.type().get(t)) return Error(err);
      if (t == od::json_type::object || t == od::json_type::array) {
        raw = true;
        break;
      }
      if (!typed && scratch_.empty()) element_type = TypeOf(t, e);
      Value value;
      absl::Status s = Scalar(e, t, element_type, out, &value);
      if (!s.ok()) return s;
      scratch_.push_back(value);
    }
    if (raw) {
      if (auto err = arr.reset().error()) return Error(err);
      std::string_view text;
      if (auto err = arr.raw_json().get(text)) return Error(err);
      // On-Demand does not track depth while skipping, so bound it here.
      if (depth - 1 + JsonNestingDepth(text) > options_.max_depth) {
        return absl::InvalidArgumentError(
            fmt::format("objects nested deeper than {} levels", options_.max_depth));
      }
      // On-Demand skipped the elements: check them as a log reader will (json_text.h).
      if (const char* why = CheckJsonText(text, options_.max_depth)) {
        return absl::InvalidArgumentError(fmt::format("an array that is not valid JSON: {}", why));
      }
      char* dst = static_cast<char*>(out->arena().Allocate(text.size()));
      size_t len = 0;
      if (auto err = simdjson::minify(text.data(), text.size(), dst, len)) return Error(err);
      FieldId id = Resolve(node, FieldType::kKeyword, true);
      if (id.valid()) out->SetUnowned(id, Value::RawJson({dst, len}));
      return absl::OkStatus();
    }
    FieldId id = Resolve(node, element_type, true);
    if (!id.valid()) return absl::OkStatus();
    Value* dst =
        static_cast<Value*>(out->arena().Allocate(sizeof(Value) * scratch_.size(), alignof(Value)));
    std::copy(scratch_.begin(), scratch_.end(), dst);
    out->SetUnowned(id, Value::Array({dst, scratch_.size()}));
    return absl::OkStatus();
  }

  // Sorts the event and derives its time and categories.
  void FinishEvent(Event* out) {
    out->Finish();
    std::optional<int64_t> t;
    if (time_field_.valid()) {
      if (const Value* v = out->Find(time_field_)) t = TimeOf(*v);
    }
    if (t) {
      last_time_ns_ = *t;
    } else {
      ++stats_->missing_time;
    }
    out->set_time_ns(last_time_ns_);
    out->set_wall_ns(last_time_ns_);
    for (FieldId f : category_fields_) {
      const Value* v = out->Find(f);
      if (v == nullptr) continue;
      if (v->kind() == ValueKind::kString) {
        out->AddCategory(Category(v->as_string()));
      } else if (v->kind() == ValueKind::kArray) {
        for (const Value& e : v->as_array()) {
          if (e.kind() == ValueKind::kString) out->AddCategory(Category(e.as_string()));
        }
      }
      if (out->categories() != 0) break;
    }
  }

  schema::CategoryId Category(std::string_view name) {
    if (auto it = categories_.find(name); it != categories_.end()) return it->second;
    schema::CategoryId id = schema_->InternCategory(name);
    if (categories_.size() < 1024) categories_.emplace(std::string(name), id);
    return id;
  }

  std::optional<int64_t> TimeOf(const Value& v) const {
    TimeFormat f = options_.time_format;
    if (v.kind() == ValueKind::kString) {
      if (f == TimeFormat::kAuto || f == TimeFormat::kRfc3339) {
        return base::ParseTimestamp(v.as_string());
      }
      return std::nullopt;
    }
    double x;
    if (v.kind() == ValueKind::kInt) {
      int64_t i = v.as_int();
      int64_t r;
      switch (f) {
        case TimeFormat::kFiletime:
          return base::FiletimeToUnixNanos(i);
        case TimeFormat::kEpochNanos:
          return i;
        case TimeFormat::kEpochMicros:
          if (__builtin_mul_overflow(i, int64_t{1000}, &r)) return std::nullopt;
          return r;
        case TimeFormat::kEpochSeconds:
          if (__builtin_mul_overflow(i, int64_t{1'000'000'000}, &r)) return std::nullopt;
          return r;
        case TimeFormat::kAuto:
        case TimeFormat::kEpochMillis:
          if (__builtin_mul_overflow(i, int64_t{1'000'000}, &r)) return std::nullopt;
          return r;
        case TimeFormat::kRfc3339:
          return std::nullopt;
      }
      return std::nullopt;
    }
    if (v.kind() != ValueKind::kDouble) return std::nullopt;
    x = v.as_double();
    double scale = 0;
    switch (f) {
      case TimeFormat::kEpochSeconds:
        scale = 1e9;
        break;
      case TimeFormat::kAuto:
      case TimeFormat::kEpochMillis:
        scale = 1e6;
        break;
      case TimeFormat::kEpochMicros:
        scale = 1e3;
        break;
      case TimeFormat::kEpochNanos:
        scale = 1;
        break;
      default:
        return std::nullopt;
    }
    double ns = x * scale;
    if (!std::isfinite(ns) || ns >= 9.2e18 || ns <= -9.2e18) return std::nullopt;
    return static_cast<int64_t>(ns);
  }

  schema::Schema* schema_;
  DecoderOptions options_;
  DecoderStats* stats_;
  od::parser parser_;
  std::vector<Node> nodes_;
  std::vector<Value> scratch_;
  FieldId time_field_;
  std::vector<FieldId> category_fields_;
  base::StringMap<schema::CategoryId> categories_;
  int64_t last_time_ns_ = 0;
  std::string padded_;  // for Decode() without padding
  friend class JsonDecoder;
};

JsonDecoder::JsonDecoder(schema::Schema* schema, DecoderOptions options)
    : impl_(std::make_unique<Impl>(schema, std::move(options), &stats_)) {}

JsonDecoder::~JsonDecoder() = default;

absl::Status JsonDecoder::Decode(std::string_view json, size_t allocated, Event* out) {
  return impl_->Decode(json, allocated, out);
}

absl::Status JsonDecoder::Decode(std::string_view json, Event* out) {
  std::string& buf = impl_->padded_;
  buf.assign(json);
  buf.append(kPadding, '\0');
  return impl_->Decode(std::string_view(buf.data(), json.size()), buf.size(), out);
}

absl::Status JsonDecoder::DecodeArrayImpl(std::string_view json, size_t allocated, Event* scratch,
                                          EventFn on_event, ErrorFn on_error, void* ctx) {
  return impl_->DecodeArray(json, allocated, scratch, on_event, on_error, ctx);
}

}  // namespace kestrel::event
