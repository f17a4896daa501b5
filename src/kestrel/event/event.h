// Event: one observed fact (a process start, a file write, a connection), as a sorted sparse map
// FieldId -> Value plus two clocks and a category bit set.
//
// Storage: entries in a vector sorted by FieldId (O(log n) lookup by binary search); string and
// array bytes in the event's own StringArena. Clear() keeps the capacity of both, so an Event
// reused for one input after another stops allocating once it has seen its largest input.
//
// Building: Set*() appends in any order; Finish() sorts and, where a field was set more than once,
// keeps the last value (JSON duplicate keys: the last wins). Find() is valid only after Finish().
// A producer that builds its events in a few fixed field orders (the live decoder: one per
// record kind) passes a FinishPlan per order: Finish(plan) recognises the order of the plan's
// last event (the ids compared in insertion order) and places the entries by its permutation
// instead of sorting; any other order is sorted and becomes the plan's. Same result either way
// (debug builds check it).
//
// Clocks: time_ns() orders events and measures spans (maxspan, TTLs); it is the event's own time,
// never the wall clock of this machine. wall_ns() is the time printed in output. Sources that
// have one time (JSON input) set both to it.
//
// Copying an Event deep-copies it (strings re-homed in the copy's arena), except values made by
// Value::StaticString / StaticArray, whose bytes are never freed: copies borrow them. Moving is
// cheap.
//
// Shared blocks: an event may also take the fields of up to kMaxShared immutable, reference-
// counted "blocks" (Share(): each block is itself a Finish()ed Event, with no blocks of its own)
// as its own without copying them: the live source's process snapshots (a relative's twenty
// fields, built once per process and shared by every event of its children). Find() looks in
// the event's own entries, then in each block; copies share the blocks (a reference count, no
// field copied); ForEachField() and field_count() cover both, entries() and size() only the
// event's own. No field may be both in the event and in one of its blocks, nor in two blocks.
// A block is never changed once shared, so events sharing it may be read on several threads.
// Thread safety: none; an Event is owned by one thread at a time.
// Tested by event_test.cc.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "kestrel/base/arena.h"
#include "kestrel/event/value.h"
#include "kestrel/schema/field.h"
#include "kestrel/schema/schema.h"

namespace kestrel::event {

using schema::FieldId;

class FinishPlan;

class Event {
 public:
  struct Entry {
    FieldId id;
    uint32_t order;  // insertion order, to keep the last duplicate
    Value value;
  };

  Event() = default;
  // An event whose string arena grows in blocks of `arena_block_size` bytes: small blocks for
  // events held by the thousand (queue slots), so each keeps about what its largest event needed.
  explicit Event(size_t arena_block_size) : arena_(arena_block_size) {}
  Event(const Event& other);
  Event& operator=(const Event& other);
  Event(Event&&) noexcept = default;
  Event& operator=(Event&&) noexcept = default;

  // Forgets all fields and times; keeps allocated capacity.
  void Clear();

  // Setters: strings and arrays are copied into the event's arena.
  void SetNull(FieldId id) { Append(id, Value::Null()); }
  void SetBool(FieldId id, bool v) { Append(id, Value::Bool(v)); }
  void SetInt(FieldId id, int64_t v) { Append(id, Value::Int(v)); }
  void SetUint(FieldId id, uint64_t v) { Append(id, Value::Uint(v)); }
  void SetDouble(FieldId id, double v) { Append(id, Value::Double(v)); }
  void SetString(FieldId id, std::string_view v) { Append(id, Value::String(arena_.Copy(v))); }
  void SetRawJson(FieldId id, std::string_view v) { Append(id, Value::RawJson(arena_.Copy(v))); }
  void SetIp(FieldId id, const IpAddress& ip) { Append(id, Value::Ip(ip)); }
  // Copies the elements (and their strings). REQUIRES: no element is an array.
  void SetArray(FieldId id, std::span<const Value> elements);
  // Copies `v`, re-homing its bytes in this event's arena.
  void Set(FieldId id, const Value& v) { Append(id, CopyValue(v)); }
  // Adds `v` without copying. REQUIRES: its bytes are static or in this event's arena().
  void SetUnowned(FieldId id, const Value& v) { Append(id, v); }

  // Sorts entries and drops earlier duplicates. Call once after the last Set*.
  void Finish();
  // The same; when the ids came in the order of `plan`'s last event, by its permutation (no
  // sort); else sorted, and the order and permutation are kept in `plan`.
  void Finish(FinishPlan* plan);

  // The value of `id`, or nullptr when the event does not have the field. REQUIRES: Finish().
  const Value* Find(FieldId id) const;

  // Takes the fields of `block` without copying them (see "Shared blocks" above); a null block
  // is ignored. REQUIRES: `block` Finish()ed, without blocks, and fewer than kMaxShared shared.
  static constexpr size_t kMaxShared = 4;
  void Share(std::shared_ptr<const Event> block);
  std::span<const std::shared_ptr<const Event>> shared() const {
    return {shared_.data(), shared_count_};
  }

  // Calls fn(const Entry&) for every field: the event's own (in id order), then each shared
  // block's (each in id order).
  template <typename Fn>
  void ForEachField(Fn&& fn) const {
    for (const Entry& e : entries_) fn(e);
    for (size_t i = 0; i < shared_count_; ++i) {
      for (const Entry& e : shared_[i]->entries_) fn(e);
    }
  }
  // Own fields and shared blocks' fields.
  size_t field_count() const {
    size_t n = entries_.size();
    for (size_t i = 0; i < shared_count_; ++i) n += shared_[i]->entries_.size();
    return n;
  }

  // Hints the CPU to load the event's lookup data (batch processing calls it a few events
  // ahead, so that evaluation does not wait on memory).
  void Prefetch() const {
    __builtin_prefetch(ids_.data());
    const char* entries = reinterpret_cast<const char*>(entries_.data());
    for (size_t off = 0; off < entries_.size() * sizeof(Entry); off += 64) {
      __builtin_prefetch(entries + off);
    }
    arena_.Prefetch();
  }

  // The event's own fields (not its shared blocks': ForEachField covers both).
  std::span<const Entry> entries() const { return entries_; }
  size_t size() const { return entries_.size(); }

  int64_t time_ns() const { return time_ns_; }
  int64_t wall_ns() const { return wall_ns_; }
  void set_time_ns(int64_t t) { time_ns_ = t; }
  void set_wall_ns(int64_t t) { wall_ns_ = t; }

  // Bit i is set when the event belongs to category i (schema::CategoryId).
  uint64_t categories() const { return categories_; }
  bool InCategory(schema::CategoryId c) const { return (categories_ >> c) & 1; }
  void AddCategory(schema::CategoryId c) { categories_ |= uint64_t{1} << c; }

  // The smallest category id the event belongs to, or Schema::kOtherCategory.
  schema::CategoryId primary_category() const {
    return categories_ == 0 ? schema::Schema::kOtherCategory
                            : static_cast<schema::CategoryId>(__builtin_ctzll(categories_));
  }

  base::StringArena& arena() { return arena_; }
  const base::StringArena& arena() const { return arena_; }
  size_t entry_capacity() const { return entries_.capacity(); }
  // The bytes this event holds: itself, its entries and its arena (for state budgets; shared
  // blocks are not counted: they belong to no one event).
  size_t MemoryBytes() const {
    return sizeof(Event) + entries_.capacity() * sizeof(Entry) +
           ids_.capacity() * sizeof(uint32_t) + arena_.capacity();
  }

 private:
  void Append(FieldId id, const Value& v) {
    entries_.push_back(Entry{id, static_cast<uint32_t>(entries_.size()), v});
  }
  Value CopyValue(const Value& v);
  const Value* FindOwn(FieldId id) const;
  void SortEntries();  // by id, the last of equal ids kept
  void BuildIds();     // ids_ from entries_

  static constexpr size_t kIdLanes = 4;
  std::vector<Entry> entries_;
  std::vector<uint32_t> ids_;  // entries_[i].id, padded with UINT32_MAX; built by Finish()
  base::StringArena arena_;
  int64_t time_ns_ = 0;
  int64_t wall_ns_ = 0;
  uint64_t categories_ = 0;
  std::array<std::shared_ptr<const Event>, kMaxShared> shared_;
  size_t shared_count_ = 0;
};

// The insertion order of one event's ids and where Finish() placed each entry: see Finish(plan).
// Owned by the producer (one per field order it builds); not thread-safe.
class FinishPlan {
 public:
  uint64_t reused() const { return reused_; }  // Finish(plan) calls that did not sort
  uint64_t sorted() const { return sorted_; }  // and those that sorted (a new order)

 private:
  friend class Event;
  std::vector<uint32_t> ids_;   // the ids in insertion order
  std::vector<uint32_t> from_;  // from_[k]: the insertion index of the k-th entry once finished
  std::vector<Event::Entry> scratch_;  // entries being placed
  uint64_t reused_ = 0, sorted_ = 0;
};

// A typed builder for tests and synthetic sources:
//   Event e = EventBuilder(schema).Category("process").Str("process.name", "bash").Build();
// Unknown names are interned in the schema with the type of the value.
class EventBuilder {
 public:
  explicit EventBuilder(schema::Schema& schema) : schema_(schema) {}

  EventBuilder& Time(int64_t ns) {
    event_.set_time_ns(ns);
    event_.set_wall_ns(ns);
    return *this;
  }
  EventBuilder& Category(std::string_view name);
  EventBuilder& Str(std::string_view field, std::string_view v);
  EventBuilder& Int(std::string_view field, int64_t v);
  EventBuilder& Bool(std::string_view field, bool v);
  EventBuilder& Ip(std::string_view field, std::string_view text);
  EventBuilder& Strs(std::string_view field, std::initializer_list<std::string_view> v);
  Event Build();

 private:
  FieldId Id(std::string_view field, schema::FieldType type, bool is_array);

  schema::Schema& schema_;
  Event event_;
};

}  // namespace kestrel::event
