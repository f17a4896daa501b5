// StateStore; see state_store.h.
#include "kestrel/engine/state_store.h"

namespace kestrel::engine {

StateStore::StateStore(size_t stages, const StateLimits& limits)
    : limits_(limits), stages_(stages) {}

const PartialMatch* StateStore::Find(size_t stage, std::string_view key) const {
  auto it = stages_[stage].find(key);
  return it == stages_[stage].end() ? nullptr : &it->second.match;
}

void StateStore::Remove(size_t stage, std::string_view key) {
  auto it = stages_[stage].find(key);
  if (it == stages_[stage].end()) return;
  stages_[stage].erase(it);
  --stats_.partials;
  auto k = key_stages_.find(key);
  if (k != key_stages_.end() && --k->second == 0) {
    key_stages_.erase(k);
    --stats_.keys;
  }
}

bool StateStore::Take(size_t stage, std::string_view key, PartialMatch* out) {
  auto it = stages_[stage].find(key);
  if (it == stages_[stage].end()) return false;
  *out = std::move(it->second.match);
  Remove(stage, key);
  return true;
}

void StateStore::Put(size_t stage, std::string_view key, PartialMatch match) {
  uint64_t generation = ++generation_;
  fifo_.push_back(Write{match.start_ns, stage, std::string(key), generation});
  auto [it, inserted] = stages_[stage].try_emplace(key);
  it->second = Slot{std::move(match), generation};
  if (inserted) {
    ++stats_.partials;
    if (++key_stages_[key] == 1) ++stats_.keys;
  }
  // The FIFO holds one live entry per match plus stale ones; compact when mostly stale.
  if (fifo_.size() > 4 * (stats_.partials + 1024)) Compact();
}

void StateStore::Erase(size_t stage, std::string_view key) { Remove(stage, key); }

void StateStore::EraseKey(std::string_view key) {
  for (size_t s = 0; s < stages_.size(); ++s) Remove(s, key);
}

bool StateStore::Live(const Write& w) const {
  auto it = stages_[w.stage].find(w.key);
  return it != stages_[w.stage].end() && it->second.generation == w.generation;
}

void StateStore::Sweep(int64_t now_ns) {
  while (!fifo_.empty()) {
    const Write& w = fifo_.front();
    bool expired = limits_.ttl_ns > 0 && now_ns - w.start_ns > limits_.ttl_ns;
    bool over = stats_.partials > limits_.max_partials || stats_.keys > limits_.max_keys;
    if (!expired && !over) break;
    if (Live(w)) {
      Remove(w.stage, w.key);
      ++(expired ? stats_.expired : stats_.evicted);
    }
    fifo_.pop_front();
  }
}

void StateStore::Compact() {
  std::deque<Write> live;
  for (Write& w : fifo_) {
    if (Live(w)) live.push_back(std::move(w));
  }
  fifo_.swap(live);
}

}  // namespace kestrel::engine
