// Event and EventBuilder; see event.h. Tested by event_test.cc.
#include "kestrel/event/event.h"

#include <algorithm>
#include <cassert>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace kestrel::event {

namespace {

// Arena bytes a copy of `v` needs (with room for the alignment of arrays).
size_t BytesNeeded(const Value& v) {
  if (v.is_static()) return 0;  // copies borrow it
  switch (v.kind()) {
    case ValueKind::kString:
    case ValueKind::kRawJson:
      return v.as_string().size();
    case ValueKind::kArray: {
      size_t n = sizeof(Value) * v.as_array().size() + alignof(Value);
      for (const Value& e : v.as_array()) n += BytesNeeded(e);
      return n;
    }
    default:
      return 0;
  }
}

}  // namespace

// A copy (evidence kept by the engine) gets one arena block of exactly the size it needs.
Event::Event(const Event& other) {
  size_t bytes = 0;
  for (const Entry& e : other.entries_) bytes += BytesNeeded(e.value);
  arena_ = base::StringArena(std::max<size_t>(bytes, 16));
  *this = other;
}

Event& Event::operator=(const Event& other) {
  if (this == &other) return *this;
  Clear();
  entries_.reserve(other.entries_.size());
  for (const Entry& e : other.entries_) {
    entries_.push_back(Entry{e.id, e.order, CopyValue(e.value)});
  }
  ids_ = other.ids_;
  time_ns_ = other.time_ns_;
  wall_ns_ = other.wall_ns_;
  categories_ = other.categories_;
  shared_ = other.shared_;
  shared_count_ = other.shared_count_;
  return *this;
}

void Event::Clear() {
  entries_.clear();
  ids_.clear();
  arena_.Reset();
  time_ns_ = 0;
  wall_ns_ = 0;
  categories_ = 0;
  for (size_t i = 0; i < shared_count_; ++i) shared_[i].reset();
  shared_count_ = 0;
}

void Event::Share(std::shared_ptr<const Event> block) {
  if (block == nullptr || shared_count_ >= kMaxShared) return;
  shared_[shared_count_++] = std::move(block);
}

Value Event::CopyValue(const Value& v) {
  if (v.is_static()) return v;  // StaticString / StaticArray: never freed, borrowed
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
  SortEntries();
  BuildIds();
}

void Event::SortEntries() {
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

void Event::BuildIds() {
  // The ids again, contiguous and padded to whole SIMD lanes with an id no field has.
  size_t out = entries_.size();
  ids_.resize((out + kIdLanes - 1) / kIdLanes * kIdLanes, UINT32_MAX);
  for (size_t i = 0; i < out; ++i) ids_[i] = entries_[i].id.value;
  for (size_t i = out; i < ids_.size(); ++i) ids_[i] = UINT32_MAX;
}

void Event::Finish(FinishPlan* plan) {
  const size_t n = entries_.size();
  bool same = n == plan->ids_.size();
  for (size_t i = 0; same && i < n; ++i) same = entries_[i].id.value == plan->ids_[i];
  if (!same) {
    plan->ids_.resize(n);
    for (size_t i = 0; i < n; ++i) plan->ids_[i] = entries_[i].id.value;
    SortEntries();  // `order` is the insertion index: it says where each entry came from
    plan->from_.resize(entries_.size());
    for (size_t k = 0; k < entries_.size(); ++k) plan->from_[k] = entries_[k].order;
    ++plan->sorted_;
    BuildIds();
    return;
  }
  // The same ids in the same order: each entry goes where the plan's event's went.
  const size_t m = plan->from_.size();
  plan->scratch_.resize(m);
  Entry* placed = plan->scratch_.data();
  for (size_t k = 0; k < m; ++k) placed[k] = entries_[plan->from_[k]];
  std::copy(placed, placed + m, entries_.begin());
  entries_.resize(m);
  ++plan->reused_;
#ifndef NDEBUG
  for (size_t k = 1; k < m; ++k) assert(entries_[k - 1].id < entries_[k].id);
#endif
  BuildIds();
}

const Value* Event::Find(FieldId id) const {
  if (const Value* v = FindOwn(id)) return v;
  for (size_t i = 0; i < shared_count_; ++i) {
    const Event& b = *shared_[i];
    // Blocks hold a few ids of one name prefix: most lookups miss their range.
    if (b.entries_.empty() || id < b.entries_.front().id || b.entries_.back().id < id) continue;
    if (const Value* v = b.FindOwn(id)) return v;
  }
  return nullptr;
}

const Value* Event::FindOwn(FieldId id) const {
  // Equality search over the contiguous ids, four at a time: no data-dependent branch per
  // entry, one cache line per 16 fields.
  const uint32_t* ids = ids_.data();
  size_t n = ids_.size();
#if defined(__SSE2__)
  __m128i key = _mm_set1_epi32(static_cast<int>(id.value));
  for (size_t i = 0; i < n; i += kIdLanes) {
    __m128i lanes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(ids + i));
    int mask = _mm_movemask_ps(_mm_castsi128_ps(_mm_cmpeq_epi32(lanes, key)));
    if (mask != 0) {
      size_t at = i + static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
      return at < entries_.size() ? &entries_[at].value : nullptr;
    }
  }
#else
  for (size_t i = 0; i < n; ++i) {
    if (ids[i] == id.value) return i < entries_.size() ? &entries_[i].value : nullptr;
  }
#endif
  return nullptr;
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
