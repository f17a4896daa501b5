// MetricsPublisher; see metrics_publisher.h.
#include "kestrel/pipeline/metrics_publisher.h"

#include <utility>

#include <spdlog/spdlog.h>

namespace kestrel::pipeline {

absl::StatusOr<std::unique_ptr<MetricsPublisher>> MetricsPublisher::Start(const std::string& addr,
                                                                          bool allow_remote) {
  std::unique_ptr<MetricsPublisher> p(new MetricsPublisher());
  auto server = metrics::MetricsServer::Start(addr, &p->registry_, allow_remote);
  if (!server.ok()) return server.status();
  p->server_ = std::move(*server);
  if (!metrics::IsLoopbackHost(p->server_->host())) {
    spdlog::warn(
        "metrics: exposed to other machines at {} (--metrics-allow-remote): rule names, alert "
        "counts and sink names can be read by anyone who reaches this port",
        addr);
  }
  return p;
}

void MetricsPublisher::Refresh(metrics::Snapshot engine_side) {
  std::lock_guard<std::mutex> lock(mu_);
  engine_side_ = std::move(engine_side);
  refresh_due_.store(false, std::memory_order_relaxed);
}

void MetricsPublisher::Publish(metrics::Snapshot live,
                               const absl::flat_hash_map<std::string, uint64_t>& alerts_per_rule,
                               const schema::Schema& schema,
                               const absl::flat_hash_map<std::string, uint64_t>& suppressed) {
  for (size_t c = 0; c < by_category_.size(); ++c) {
    uint64_t n = by_category_[c].load(std::memory_order_relaxed);
    if (n == 0) continue;
    live.events_by_category.emplace_back(
        std::string(schema.CategoryName(static_cast<schema::CategoryId>(c))), n);
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    live.source = engine_side_.source;
    live.malformed = engine_side_.malformed;
    live.kernel_drops = engine_side_.kernel_drops;
    live.user_drops = engine_side_.user_drops;
    live.queue_drops = engine_side_.queue_drops;
    live.partitions = engine_side_.partitions;
    live.guard_accesses = engine_side_.guard_accesses;
    live.eval_bounds_ns = engine_side_.eval_bounds_ns;
    live.eval_sample_interval = engine_side_.eval_sample_interval;
    live.rules = engine_side_.rules;
  }
  for (metrics::RuleSnapshot& r : live.rules) {
    auto it = alerts_per_rule.find(r.id);
    r.alerts = it == alerts_per_rule.end() ? 0 : it->second;
    auto sit = suppressed.find(r.id);
    r.suppressed = sit == suppressed.end() ? 0 : sit->second;
  }
  registry_.Publish(std::move(live));
  refresh_due_.store(true, std::memory_order_relaxed);  // the detection thread's next event
}

}  // namespace kestrel::pipeline
