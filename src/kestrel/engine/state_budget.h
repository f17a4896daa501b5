// StateBudget: one byte budget for the state of rules — sequences' partial matches (their
// compact evidence included, evidence.h) and joins' and samples' keys; StateBudgets: the global
// state budget (`--state-memory`, `run.state_memory`) as a fixed set of such domains.
//
// Engines charge what they hold (an estimate, an upper bound: each event a match holds is counted
// at its compact size once per match holding it, though matches of several rules share one copy;
// plus the key and bookkeeping) and stamp every write with a tick of the domain's clock. While a
// domain holds more than its limit, the Detector evicts the least recently written match (the
// smallest tick) of any of the domain's rules holding more than its floor (limit / (2 x the
// domain's rules): one flooded rule cannot starve the others), and counts it in that rule's
// `evicted_budget` (and in evictions()). The per-rule quotas (max_partials, max_keys) still apply.
//
// Domains (decision 53, docs/architecture.md): one per state shard (entity_routing.h) for the
// partial matches of entity-local sequences, and one global domain for every other rule's state
// (its sequences, joins and samples). The domains split the budget by rule count (Split): the
// global domain limit x G / (S + G), each shard limit x S / (S + G) / 64, for S entity-local
// sequences and G other stateful rules. A shard's events reach the same domain in the same order
// whatever the number of bus workers (worker = shard mod N; the global rules all run on worker 0),
// so every eviction is the one a single Detector makes: decisions depend only on the events.
// Thread safety: charges and ticks from the one thread running the domain's engines; used() and
// evictions() may be read from any thread (relaxed). Tested by detector_test.cc (StateBudget*).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace kestrel::engine {

class StateBudget {
 public:
  explicit StateBudget(size_t limit_bytes = 0) : limit_(limit_bytes) {}
  void set_limit(size_t limit_bytes) { limit_ = limit_bytes; }

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

class StateBudgets {
 public:
  static constexpr uint32_t kShards = 64;             // entity_routing.h's kStateShards
  static constexpr uint32_t kGlobalDomain = kShards;  // after the shard domains
  static constexpr uint32_t kDomains = kShards + 1;

  explicit StateBudgets(size_t limit_bytes) : limit_(limit_bytes) { Split(0, 0); }
  // A new total (Split again to apply it to the domains).
  void set_limit(size_t limit_bytes) { limit_ = limit_bytes; }

  // Splits the budget between the domains for `sharded` entity-local sequences and `global`
  // other stateful rules (the whole rule set's counts, whichever Detector runs them).
  void Split(size_t sharded, size_t global) {
    size_t all = sharded + global;
    size_t global_limit = all == 0 ? limit_ / 2 : limit_ / all * global;
    size_t shard_limit = (all == 0 ? limit_ / 2 : limit_ / all * sharded) / kShards;
    for (uint32_t d = 0; d < kShards; ++d) domains_[d].set_limit(std::max<size_t>(1, shard_limit));
    domains_[kGlobalDomain].set_limit(std::max<size_t>(1, global_limit));
    rules_[0] = std::max<size_t>(1, sharded);
    rules_[1] = std::max<size_t>(1, global);
  }

  StateBudget& domain(uint32_t d) { return domains_[d]; }
  const StateBudget& domain(uint32_t d) const { return domains_[d]; }
  // A rule is not evicted from domain `d` while it holds at most this many bytes in it.
  size_t floor(uint32_t d) const {
    return domains_[d].limit() / (2 * rules_[d == kGlobalDomain ? 1 : 0]);
  }
  size_t limit() const { return limit_; }
  int64_t used() const {
    int64_t sum = 0;
    for (const StateBudget& b : domains_) sum += b.used();
    return sum;
  }
  uint64_t evictions() const {
    uint64_t sum = 0;
    for (const StateBudget& b : domains_) sum += b.evictions();
    return sum;
  }

 private:
  size_t limit_;
  size_t rules_[2] = {1, 1};
  StateBudget domains_[kDomains];
};

}  // namespace kestrel::engine
