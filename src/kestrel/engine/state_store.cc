// StateStore; see state_store.h.
#include "kestrel/engine/state_store.h"

namespace kestrel::engine {

StateStore::StateStore(size_t stages, const StateLimits& limits)
    : limits_(limits), stages_(stages) {}

const PartialMatch* StateStore::Find(size_t stage, const JoinKey& key) const {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  const Slot& slot = entries_[it->second].slots[stage];
  return slot.generation == 0 ? nullptr : &slot.match;
}

void StateStore::RemoveAt(uint32_t entry, size_t stage) {
  KeyState& state = entries_[entry];
  Slot& slot = state.slots[stage];
  if (slot.generation == 0) return;
  Unlink(SlotId(entry, stage));
  slot.generation = 0;
  Charge(-static_cast<int64_t>(slot.match.bytes + kWriteBytes));
  slot.match = PartialMatch{};  // frees the evidence now
  --stats_.partials;
  if (--state.held == 0) {
    Charge(-static_cast<int64_t>(KeyBytes(state)));
    index_.erase(JoinKey{state.key, state.hash});
    free_.push_back(entry);
    --stats_.keys;
  }
}

void StateStore::RemoveCounting(uint32_t entry, size_t stage, int64_t now_ns) {
  const Slot& slot = entries_[entry].slots[stage];
  if (slot.generation != 0 && ExpiredAt(slot.match, now_ns)) ++stats_.expired;
  RemoveAt(entry, stage);
}

bool StateStore::Take(size_t stage, const JoinKey& key, PartialMatch* out) {
  auto it = index_.find(key);
  if (it == index_.end()) return false;
  uint32_t entry = it->second;
  Slot& slot = entries_[entry].slots[stage];
  if (slot.generation == 0) return false;
  size_t bytes = slot.match.bytes;
  *out = std::move(slot.match);
  slot.match.bytes = bytes;  // RemoveAt uncharges it
  RemoveAt(entry, stage);
  return true;
}

void StateStore::Put(size_t stage, const JoinKey& key, PartialMatch match, int64_t now_ns) {
  auto it = index_.find(key);
  uint32_t entry;
  if (it != index_.end()) {
    entry = it->second;
  } else {
    if (!free_.empty()) {
      entry = free_.back();
      free_.pop_back();
    } else {
      entry = static_cast<uint32_t>(entries_.size());
      entries_.emplace_back().slots.resize(stages_);
    }
    KeyState& fresh = entries_[entry];
    fresh.key.assign(key.text);
    fresh.hash = key.hash;
    index_.emplace(JoinKey{fresh.key, fresh.hash}, entry);
    ++stats_.keys;
    Charge(static_cast<int64_t>(KeyBytes(fresh)));
  }
  KeyState& state = entries_[entry];
  Slot& slot = state.slots[stage];
  if (slot.generation != 0 && ExpiredAt(slot.match, now_ns)) ++stats_.expired;  // replaced
  if (slot.generation == 0) {
    ++state.held;
    ++stats_.partials;
  } else {
    Charge(-static_cast<int64_t>(slot.match.bytes + kWriteBytes));
    Unlink(SlotId(entry, stage));
  }
  Charge(static_cast<int64_t>(match.bytes + kWriteBytes));
  generation_ = budget_ != nullptr ? budget_->NextTick(generation_) : generation_ + 1;
  slot.generation = generation_;
  slot.match = std::move(match);
  Link(SlotId(entry, stage));
}

void StateStore::Link(uint32_t id) {
  Slot& slot = SlotAt(id);
  slot.prev = tail_;
  slot.next = kNone;
  if (tail_ != kNone) {
    SlotAt(tail_).next = id;
  } else {
    head_ = id;
    head_start_ns_ = slot.match.start_ns;
    head_tick_ = slot.generation;
  }
  tail_ = id;
}

void StateStore::Unlink(uint32_t id) {
  Slot& slot = SlotAt(id);
  if (slot.prev != kNone) {
    SlotAt(slot.prev).next = slot.next;
  } else {
    head_ = slot.next;
    if (head_ != kNone) {
      const Slot& head = SlotAt(head_);
      head_start_ns_ = head.match.start_ns;
      head_tick_ = head.generation;
    }
  }
  if (slot.next != kNone) {
    SlotAt(slot.next).prev = slot.prev;
  } else {
    tail_ = slot.prev;
  }
  slot.prev = slot.next = kNone;
}

void StateStore::Erase(size_t stage, const JoinKey& key, int64_t now_ns) {
  auto it = index_.find(key);
  if (it != index_.end()) RemoveCounting(it->second, stage, now_ns);
}

void StateStore::EraseKey(const JoinKey& key, int64_t now_ns) {
  auto it = index_.find(key);
  if (it == index_.end()) return;
  uint32_t entry = it->second;
  for (size_t s = 0; s < stages_ && entries_[entry].held > 0; ++s) {
    RemoveCounting(entry, s, now_ns);
  }
}

void StateStore::Sweep(int64_t now_ns) {
  while (head_ != kNone) {
    bool expired = limits_.ttl_ns >= 0 && now_ns - head_start_ns_ > limits_.ttl_ns;
    bool over = stats_.partials > limits_.max_partials || stats_.keys > limits_.max_keys;
    if (!expired && !over) break;
    uint32_t id = head_;
    RemoveAt(id / static_cast<uint32_t>(stages_), id % stages_);
    ++(expired ? stats_.expired : stats_.evicted);
  }
}

void StateStore::SweepAll(int64_t now_ns) {
  if (limits_.ttl_ns < 0) return;
  for (uint32_t id = head_; id != kNone;) {
    const Slot& slot = SlotAt(id);
    uint32_t next = slot.next;
    if (now_ns - slot.match.start_ns > limits_.ttl_ns) {
      RemoveAt(id / static_cast<uint32_t>(stages_), id % stages_);
      ++stats_.expired;
    }
    id = next;
  }
}

void StateStore::UseBudget(StateBudget* budget) {
  if (budget == budget_) return;
  budget_ = budget;
  if (budget_ != nullptr) {
    budget_->Charge(static_cast<int64_t>(bytes_));
    budget_->AdvanceTo(generation_);
  }
}

uint64_t StateStore::OldestTick() const { return head_ == kNone ? UINT64_MAX : head_tick_; }

bool StateStore::EvictOldest() {
  if (head_ == kNone) return false;
  uint32_t id = head_;
  RemoveAt(id / static_cast<uint32_t>(stages_), id % stages_);
  ++stats_.evicted_budget;
  return true;
}

}  // namespace kestrel::engine
