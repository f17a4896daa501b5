// StateStore: the partial matches of one sequence rule, bounded and expired by event time.
//
// A sequence of N stages keeps, per join key, at most one partial match waiting at each stage
// 0..N-2 (the one that has matched stages 0..i). The store maps (stage, key) to that match and
// keeps every held match on a list in write order, whose head is the least recently written:
//   - expiry: a match older than the TTL (the rule's maxspan, else the configured default TTL;
//     none = never; a maxspan of 0 lets only events of the same time advance a match) is dropped
//     when it reaches the head (Sweep), and refused when it would advance (Expired) — exact
//     whatever the order in which events arrive;
//   - quota: while more than max_partials matches, or more than max_keys distinct keys, are held,
//     the least recently written are evicted.
// Both are counted (stats()). Replacing a match (a newer start for the same key) or advancing it
// writes it again, moving it to the list's tail; removing it unlinks it, so the list holds
// exactly the matches held (no stale entries to skip or compact).
//
// Keys: JoinKey (join_key.h), the `by` values' text with its hash computed once per event;
// looked up by the hash, compared by the text.
//
// Memory per partial match: the match itself (40 bytes: start time, two inline evidence
// references) in its slot with the slot's generation and two list links (64 bytes), and per join
// key the key text (typically 10-60 bytes), its hash, its slots and its index entry (~100
// bytes); the events it holds are compact Evidence (evidence.h) shared with every other match of
// any rule that holds the same event (~0.5 KB per distinct ECS process event). Measured:
// docs/benchmarks.md, "Compact sequence state".
//
// Layout: one entry per join key holding a slot per stage (one hash lookup finds all of a key's
// matches); the write order list links slots by position, so expiring or evicting never hashes a
// key, and a Sweep with nothing due reads no slot (the head's start time is kept aside).
// Cost: Find/Take/Put are one hash lookup each (no hashing: the key carries its hash); Sweep is
// O(1) per match it drops.
// Thread safety: none; one store per rule per worker. Tested by state_store_test.cc.
#pragma once

#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/inlined_vector.h"
#include "kestrel/engine/evidence.h"
#include "kestrel/engine/join_key.h"
#include "kestrel/engine/state_budget.h"
#include "kestrel/event/event.h"

namespace kestrel::engine {

// One partial match: 40 bytes (the evidence itself is shared, see evidence.h).
struct PartialMatch {
  int64_t start_ns = 0;  // time of the event that matched the first stage
  // The events matched, one per stage, each with the caller's index (Evidence::index()); two
  // inline (a 3-stage sequence's partial matches never hold more).
  absl::InlinedVector<EvidenceRef, 2> events;
  // What a StateBudget is charged for the match's evidence (EvidenceBytes per event, kept by
  // whoever appends one).
  size_t bytes = 0;
};

// What holding an event in a match costs a state budget: its compact copy (counted whole for
// every match holding it, though matches of several rules share one copy: an upper bound, and
// what each rule answers for) and the reference.
inline size_t EvidenceBytes(const Evidence& e) { return e.MemoryBytes() + sizeof(EvidenceRef); }
// Joins and samples keep full Event copies: the event, its index and pointer.
inline size_t EvidenceBytes(const event::Event& e) {
  return e.MemoryBytes() + sizeof(uint64_t) + sizeof(std::shared_ptr<const event::Event>);
}

struct StateLimits {
  size_t max_partials = 100'000;  // partial matches held at once
  size_t max_keys = 100'000;      // distinct join keys with at least one partial match
  // A match older than this cannot advance: 0 is a zero span (only matches started at the same
  // time may advance, `maxspan=0s`); kNoTtl (negative): no limit.
  static constexpr int64_t kNoTtl = -1;
  int64_t ttl_ns = kNoTtl;
};

struct StateStats {
  uint64_t partials = 0;        // held now
  uint64_t keys = 0;            // distinct keys held now
  uint64_t expired = 0;         // dropped past the TTL
  uint64_t evicted = 0;         // dropped to stay within the quota
  uint64_t evicted_budget = 0;  // dropped by the state budget (EvictOldest)
};

class StateStore {
 public:
  // `stages`: the number of stages a match can wait at (a sequence's stage count minus one).
  StateStore(size_t stages, const StateLimits& limits);

  // Keys are JoinKeys (join_key.h): looked up by their hash, compared by their text, so two
  // different keys never share a match whatever their hashes. The string_view forms hash `key`.

  // The match waiting at `stage` for `key`, or nullptr.
  const PartialMatch* Find(size_t stage, const JoinKey& key) const;
  const PartialMatch* Find(size_t stage, std::string_view key) const {
    return Find(stage, JoinKey::Of(key));
  }

  // Removes the match waiting at `stage` for `key` into `*out`. False if there is none.
  bool Take(size_t stage, const JoinKey& key, PartialMatch* out);
  bool Take(size_t stage, std::string_view key, PartialMatch* out) {
    return Take(stage, JoinKey::Of(key), out);
  }

  // Stores `match` at `stage` for `key`, replacing the one there. May evict (see Sweep).
  // A replaced match that had expired at `now_ns` is counted as expired (whether a sweep reached
  // it first depends on which other events the store saw: the count must not).
  void Put(size_t stage, const JoinKey& key, PartialMatch match,
           int64_t now_ns = std::numeric_limits<int64_t>::min());
  void Put(size_t stage, std::string_view key, PartialMatch match,
           int64_t now_ns = std::numeric_limits<int64_t>::min()) {
    Put(stage, JoinKey::Of(key), std::move(match), now_ns);
  }

  // Drops the match at `stage` for `key` (a missing-event stage disproved it). Not counted,
  // unless it had expired at `now_ns`.
  void Erase(size_t stage, const JoinKey& key,
             int64_t now_ns = std::numeric_limits<int64_t>::min());
  void Erase(size_t stage, std::string_view key,
             int64_t now_ns = std::numeric_limits<int64_t>::min()) {
    Erase(stage, JoinKey::Of(key), now_ns);
  }

  // Drops every match of `key` (`until`). Not counted, unless expired at `now_ns`.
  void EraseKey(const JoinKey& key, int64_t now_ns = std::numeric_limits<int64_t>::min());
  void EraseKey(std::string_view key, int64_t now_ns = std::numeric_limits<int64_t>::min()) {
    EraseKey(JoinKey::Of(key), now_ns);
  }

  bool Expired(const PartialMatch& m, int64_t now_ns) const {
    return limits_.ttl_ns >= 0 && now_ns - m.start_ns > limits_.ttl_ns;
  }

  // Counts a match found expired by the caller (and already taken out).
  void CountExpired() { ++stats_.expired; }

  // Drops matches past the TTL at `now_ns` and evicts the least recently written ones while
  // over the quota. Amortised: stops at the first write, in write order, that is neither.
  void Sweep(int64_t now_ns);
  // Drops every match past the TTL at `now_ns`, wherever it is in write order (end of input:
  // what has expired by then is counted expired, not held). O(matches held).
  void SweepAll(int64_t now_ns);

  const StateStats& stats() const { return stats_; }

  // Charges what the store holds to `budget` (nullptr: none) from now on, and stamps writes with
  // its ticks; what is held now is charged to it at once (a rule kept across a reload).
  void UseBudget(StateBudget* budget);
  // Bytes held (what the budget is charged for).
  size_t bytes() const { return bytes_; }
  // The tick of the least recently written match held, or UINT64_MAX when none is. Reads no
  // slot (kept aside with the head's start time): the state budget asks every rule of a domain
  // for it at each eviction, and under a flood the slots are cache misses.
  uint64_t OldestTick() const;
  // Evicts the least recently written match (the state budget's choice; counted in
  // stats().evicted_budget). False when none.
  bool EvictOldest();

 private:
  // One join key's matches, one slot per stage. Entries live in a deque (stable addresses: the
  // index maps views of `key`) and are reused through a free list.
  // Every held match is on one doubly linked list in write order (the write order list): a write
  // appends its slot at the tail, a removal unlinks it, so the head is the least recently
  // written match and no stale entries exist. Links are slot ids, entry * stages_ + stage.
  static constexpr uint32_t kNone = UINT32_MAX;
  struct Slot {
    PartialMatch match;
    uint64_t generation = 0;  // of the write that stored it; 0: empty
    uint32_t prev = kNone;    // write order list
    uint32_t next = kNone;
  };
  struct KeyState {
    std::string key;    // the key's text
    uint64_t hash = 0;  // and its hash
    uint32_t held = 0;  // non-empty slots
    std::vector<Slot> slots;
  };

  Slot& SlotAt(uint32_t id) { return entries_[id / stages_].slots[id % stages_]; }
  uint32_t SlotId(uint32_t entry, size_t stage) const {
    return entry * static_cast<uint32_t>(stages_) + static_cast<uint32_t>(stage);
  }
  // What the budget is charged per match besides its evidence: its place in the write order
  // (two links, kept at the 24 bytes the FIFO entry it replaced was charged, so budget
  // decisions are those of earlier versions).
  static constexpr size_t kWriteBytes = 24;
  void Link(uint32_t id);    // at the tail
  void Unlink(uint32_t id);  // wherever it is
  void RemoveAt(uint32_t entry, size_t stage);
  // Expired(), false for the "no time" default of Put/Erase/EraseKey (no overflow).
  bool ExpiredAt(const PartialMatch& m, int64_t now_ns) const {
    return now_ns != std::numeric_limits<int64_t>::min() && Expired(m, now_ns);
  }
  // RemoveAt, counting the match as expired when it had expired at `now_ns`.
  void RemoveCounting(uint32_t entry, size_t stage, int64_t now_ns);
  void Charge(int64_t delta) {
    bytes_ += delta;
    if (budget_ != nullptr) budget_->Charge(delta);
  }
  size_t KeyBytes(const KeyState& s) const {
    return 2 * s.key.size() + sizeof(KeyState) + stages_ * sizeof(Slot) + 32;
  }

  StateLimits limits_;
  size_t stages_;
  std::deque<KeyState> entries_;
  std::vector<uint32_t> free_;  // reusable entries_
  // key (a view of entries_[i].key and its hash) -> i
  absl::flat_hash_map<JoinKey, uint32_t, JoinKeyHash, JoinKeyEq> index_;
  uint32_t head_ = kNone;      // write order list: least recently written
  uint32_t tail_ = kNone;      // most recently written
  int64_t head_start_ns_ = 0;  // head_'s start time (Sweep reads no slot while nothing is due)
  uint64_t head_tick_ = 0;     // head_'s generation (OldestTick reads no slot)
  uint64_t generation_ = 0;    // of the last write (the budget's tick when there is one)
  StateStats stats_;
  StateBudget* budget_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace kestrel::engine
