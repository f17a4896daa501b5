// MetricsPublisher: `--metrics-addr` — the Prometheus endpoint of a running pipeline, kept
// current whether or not events arrive.
//
// Two halves meet under one lock:
//  - the engine side (per-rule state and evaluation times, the guard's counters, the worker
//    queues, the source's counters) can only be read by the detection thread, which refreshes
//    it between two events when RefreshDue() says so (one relaxed load per event);
//  - Publish(), on the pipeline's timer thread (every half second), adds what any thread may
//    read — events read, alerts written and lost, per-rule alert counts, the sinks, the rule set's
//    version and reloads — and hands the whole snapshot to the server. So a quiet stream still
//    shows the alerts already written and the sinks' state within a second.
// Thread safety: as above. Tested by pipeline_test.cc and cli_test.sh.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "kestrel/metrics/metrics.h"
#include "kestrel/schema/schema.h"

namespace kestrel::pipeline {

class MetricsPublisher {
 public:
  // Starts the server at HOST:PORT (a non-loopback host only with `allow_remote`, which is then
  // logged as a warning). Errors: a bad or refused address, or a port that cannot be bound.
  static absl::StatusOr<std::unique_ptr<MetricsPublisher>> Start(const std::string& addr,
                                                                 bool allow_remote = false);

  const std::string& host() const { return server_->host(); }
  int port() const { return server_->port(); }

  // Detection thread, per event: counts it by category.
  void CountEvent(schema::CategoryId category) {
    auto& c = by_category_[category];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  bool RefreshDue() const { return refresh_due_.load(std::memory_order_relaxed); }
  // Detection thread: replaces the engine side (its `rules`, `guard_accesses`, `partitions`,
  // `queue_drops`, `malformed`, `kernel_drops`, `user_drops`, `eval_*` and `source`).
  void Refresh(metrics::Snapshot engine_side);

  // Timer thread: `live` carries the any-thread figures (events, alerts, sinks, rule set); the
  // per-rule alert counts are merged into the engine side's rules by id.
  void Publish(metrics::Snapshot live,
               const absl::flat_hash_map<std::string, uint64_t>& alerts_per_rule,
               const schema::Schema& schema,
               const absl::flat_hash_map<std::string, uint64_t>& suppressed_per_rule = {});

 private:
  MetricsPublisher() = default;

  metrics::Registry registry_;
  std::unique_ptr<metrics::MetricsServer> server_;
  std::array<std::atomic<uint64_t>, schema::Schema::kMaxCategories> by_category_{};
  std::atomic<bool> refresh_due_{true};
  std::mutex mu_;
  metrics::Snapshot engine_side_;  // guarded by mu_
};

}  // namespace kestrel::pipeline
