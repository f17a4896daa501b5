// StateBudget: one byte budget for the partial matches of every rule a Detector (or a bus
// worker's Detectors) runs — sequences' partial matches and joins' and samples' keys.
//
// Engines charge what they hold (an estimate, an upper bound: each event a match holds is counted
// at its full size, once per match holding it, though matches of several rules share one copy;
// plus the key and bookkeeping) and stamp every write with a tick of the budget's clock. While
// more than `limit` bytes are held, the Detector evicts the least recently written match of any
// of its rules (the smallest tick) and counts it in that rule's `evicted` (and in evictions()).
// The per-rule quotas (max_partials, max_keys) still apply; this bounds the sum.
//
// The decision depends only on the events and their order (ticks count writes, not time). With
// bus workers each worker has its own share (limit / workers) of the configured budget, so under
// budget pressure what is evicted depends on the number of workers (docs/configuration.md).
// Thread safety: charges and ticks from the one thread running the engines; used() may be read
// from any thread (relaxed). Tested by detector_test.cc (StateBudget*).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace kestrel::engine {

class StateBudget {
 public:
  explicit StateBudget(size_t limit_bytes) : limit_(limit_bytes) {}

  void Charge(int64_t delta) { used_.fetch_add(delta, std::memory_order_relaxed); }
  bool over() const { return used() > static_cast<int64_t>(limit_); }
  int64_t used() const { return used_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

  // The next write's tick, greater than every earlier one and than `at_least`.
  uint64_t NextTick(uint64_t at_least) {
    tick_ = std::max(tick_, at_least) + 1;
    return tick_;
  }
  // An engine bound to this budget has written up to `tick` (under another budget): later
  // writes of every engine come after it.
  void AdvanceTo(uint64_t tick) { tick_ = std::max(tick_, tick); }

  void CountEviction() { evictions_.fetch_add(1, std::memory_order_relaxed); }
  uint64_t evictions() const { return evictions_.load(std::memory_order_relaxed); }

 private:
  size_t limit_;
  std::atomic<int64_t> used_{0};
  std::atomic<uint64_t> evictions_{0};
  uint64_t tick_ = 0;
};

}  // namespace kestrel::engine
