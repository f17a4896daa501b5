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
  slot.generation = 0;
  Charge(-static_cast<int64_t>(slot.match.bytes + sizeof(Write)));
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
    Charge(-static_cast<int64_t>(slot.match.bytes + sizeof(Write)));
  }
  Charge(static_cast<int64_t>(match.bytes + sizeof(Write)));
  generation_ = budget_ != nullptr ? budget_->NextTick(generation_) : generation_ + 1;
  slot.generation = generation_;
  fifo_.push_back(Write{entry, static_cast<uint32_t>(stage), slot.generation, match.start_ns});
  slot.match = std::move(match);
  // The FIFO holds one live entry per match plus stale ones; compact when mostly stale.
  if (fifo_.size() > 4 * (stats_.partials + 1024)) Compact();
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
  while (!fifo_.empty()) {
    const Write& w = fifo_.front();
    bool expired = limits_.ttl_ns >= 0 && now_ns - w.start_ns > limits_.ttl_ns;
    bool over = stats_.partials > limits_.max_partials || stats_.keys > limits_.max_keys;
    if (!expired && !over) break;
    if (Live(w)) {
      RemoveAt(w.entry, w.stage);
      ++(expired ? stats_.expired : stats_.evicted);
    }
    fifo_.pop_front();
  }
}

void StateStore::SweepAll(int64_t now_ns) {
  if (limits_.ttl_ns < 0) return;
  std::deque<Write> kept;
  for (const Write& w : fifo_) {
    if (!Live(w)) continue;
    if (now_ns - w.start_ns > limits_.ttl_ns) {
      RemoveAt(w.entry, w.stage);
      ++stats_.expired;
    } else {
      kept.push_back(w);
    }
  }
  fifo_.swap(kept);
}

void StateStore::UseBudget(StateBudget* budget) {
  if (budget == budget_) return;
  budget_ = budget;
  if (budget_ != nullptr) {
    budget_->Charge(static_cast<int64_t>(bytes_));
    budget_->AdvanceTo(generation_);
  }
}

uint64_t StateStore::OldestTick() {
  while (!fifo_.empty() && !Live(fifo_.front())) fifo_.pop_front();
  return fifo_.empty() ? UINT64_MAX : fifo_.front().generation;
}

bool StateStore::EvictOldest() {
  if (OldestTick() == UINT64_MAX) return false;
  const Write& w = fifo_.front();
  RemoveAt(w.entry, w.stage);
  ++stats_.evicted_budget;
  fifo_.pop_front();
  return true;
}

void StateStore::Compact() {
  std::deque<Write> live;
  for (const Write& w : fifo_) {
    if (Live(w)) live.push_back(w);
  }
  fifo_.swap(live);
}

}  // namespace kestrel::engine
