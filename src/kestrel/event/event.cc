// Event and EventBuilder; see event.h. Tested by event_test.cc.
#include "kestrel/event/event.h"

#include <algorithm>

namespace kestrel::event {

Event::Event(const Event& other) { *this = other; }

Event& Event::operator=(const Event& other) {
  if (this == &other) return *this;
  Clear();
  entries_.reserve(other.entries_.size());
  for (const Entry& e : other.entries_) {
    entries_.push_back(Entry{e.id, e.order, CopyValue(e.value)});
  }
  time_ns_ = other.time_ns_;
  wall_ns_ = other.wall_ns_;
  categories_ = other.categories_;
  return *this;
}

void Event::Clear() {
  entries_.clear();
  arena_.Reset();
  time_ns_ = 0;
  wall_ns_ = 0;
  categories_ = 0;
}

Value Event::CopyValue(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kString:
      return Value::String(arena_.Copy(v.as_string()));
    case ValueKind::kRawJson:
      return Value::RawJson(arena_.Copy(v.as_string()));
    case ValueKind::kArray: {
      auto src = v.as_array();
      Value* dst = static_cast<Value*>(arena_.Allocate(sizeof(Value) * src.size(), alignof(Value)));
      for (size_t i = 0; i < src.size(); ++i) dst[i] = CopyValue(src[i]);
      return Value::Array({dst, src.size()});
    }
    default:
      return v;
  }
}

void Event::SetArray(FieldId id, std::span<const Value> elements) {
  Value* dst =
      static_cast<Value*>(arena_.Allocate(sizeof(Value) * elements.size(), alignof(Value)));
  for (size_t i = 0; i < elements.size(); ++i) dst[i] = CopyValue(elements[i]);
  Append(id, Value::Array({dst, elements.size()}));
}

void Event::Finish() {
  auto less = [](const Entry& a, const Entry& b) {
    return a.id != b.id ? a.id < b.id : a.order < b.order;
  };
  if (entries_.size() <= 32) {
    // Insertion sort: events arrive mostly in schema order, and this never allocates.
    for (size_t i = 1; i < entries_.size(); ++i) {
      Entry e = entries_[i];
      size_t j = i;
      while (j > 0 && less(e, entries_[j - 1])) {
        entries_[j] = entries_[j - 1];
        --j;
      }
      entries_[j] = e;
    }
  } else {
    std::sort(entries_.begin(), entries_.end(), less);
  }
  // Keep the last of each run of equal ids.
  size_t out = 0;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (i + 1 < entries_.size() && entries_[i + 1].id == entries_[i].id) continue;
    entries_[out++] = entries_[i];
  }
  entries_.resize(out);
}

const Value* Event::Find(FieldId id) const {
  if (entries_.size() <= 16) {
    // Small events (the usual case): a forward scan beats binary search's mispredictions.
    for (const Entry& e : entries_) {
      if (e.id >= id) return e.id == id ? &e.value : nullptr;
    }
    return nullptr;
  }
  auto it = std::lower_bound(entries_.begin(), entries_.end(), id,
                             [](const Entry& e, FieldId x) { return e.id < x; });
  if (it == entries_.end() || it->id != id) return nullptr;
  return &it->value;
}

FieldId EventBuilder::Id(std::string_view field, schema::FieldType type, bool is_array) {
  auto id = schema_.Intern(field, type, is_array);
  return id.ok() ? *id : FieldId{};
}

EventBuilder& EventBuilder::Category(std::string_view name) {
  event_.AddCategory(schema_.InternCategory(name));
  return *this;
}

EventBuilder& EventBuilder::Str(std::string_view field, std::string_view v) {
  event_.SetString(Id(field, schema::FieldType::kKeyword, false), v);
  return *this;
}

EventBuilder& EventBuilder::Int(std::string_view field, int64_t v) {
  event_.SetInt(Id(field, schema::FieldType::kLong, false), v);
  return *this;
}

EventBuilder& EventBuilder::Bool(std::string_view field, bool v) {
  event_.SetBool(Id(field, schema::FieldType::kBoolean, false), v);
  return *this;
}

EventBuilder& EventBuilder::Ip(std::string_view field, std::string_view text) {
  auto ip = IpAddress::Parse(text);
  FieldId id = Id(field, schema::FieldType::kIp, false);
  if (ip) {
    event_.SetIp(id, *ip);
  } else {
    event_.SetString(id, text);
  }
  return *this;
}

EventBuilder& EventBuilder::Strs(std::string_view field,
                                 std::initializer_list<std::string_view> v) {
  std::vector<Value> values;
  for (std::string_view s : v) values.push_back(Value::String(s));
  event_.SetArray(Id(field, schema::FieldType::kKeyword, true), values);
  return *this;
}

Event EventBuilder::Build() {
  event_.Finish();
  return std::move(event_);
}

}  // namespace kestrel::event
