// Metrics: what a running Kestrel reports to its operator, in the Prometheus text exposition
// format (version 0.0.4), served over HTTP by MetricsServer (`kestrel run --metrics-addr`) and
// printed by `kestrel stats`.
//
// The engine's threads never serve requests: the reading thread publishes a Snapshot now and
// then (every few thousand events, at reloads, at the end) and the server renders the latest one.
// So a scrape costs the detection path nothing but an occasional copy under a mutex.
// Thread safety: Publish() and Render() may be called from any threads.
// Tested by metrics_test.cc (which scrapes a real server and parses the format).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kestrel::metrics {

struct RuleSnapshot {
  std::string id;
  uint64_t alerts = 0;
  uint64_t suppressed = 0;  // alerts suppressed (counted on a written alert; suppress:)
  uint64_t partials = 0;    // partial matches held now
  uint64_t expired = 0;
  uint64_t evicted = 0;
  uint64_t evicted_budget = 0;  // by the global state budget (--state-memory)
  uint64_t predicate_errors = 0;
  // Sampled evaluation times (engine/eval_timing.h): bucket counts, not cumulative, one per
  // Snapshot::eval_bounds_ns and a last one for +Inf; empty when not measured.
  std::vector<uint64_t> eval_buckets;
  uint64_t eval_count = 0;   // timed evaluations
  uint64_t eval_sum_ns = 0;  // their total time
};

struct PartitionSnapshot {
  uint64_t routed = 0;
  uint64_t dropped = 0;
  uint64_t depth = 0;
};

// One alert sink (`kestrel run --sink`, actions/delivery.h).
struct SinkSnapshot {
  std::string name;
  uint64_t delivered = 0;
  uint64_t failures = 0;
  uint64_t spooled = 0;
  uint64_t spool_pending = 0;
  uint64_t spool_bytes = 0;
  uint64_t spool_dropped = 0;
  uint64_t queue_dropped = 0;
  uint64_t filtered = 0;
  bool healthy = true;
};

struct Snapshot {
  std::string source;   // e.g. "ebpf", "ndjson:events.json"
  uint64_t events = 0;  // events read from the source
  std::vector<std::pair<std::string, uint64_t>> events_by_category;
  uint64_t malformed = 0;     // inputs skipped as malformed
  uint64_t kernel_drops = 0;  // lost before reaching user space
  uint64_t user_drops = 0;    // lost in the source's queue
  uint64_t queue_drops = 0;   // lost at a full worker queue
  uint64_t alerts = 0;
  uint64_t alerts_lost = 0;  // the sink failed
  uint64_t rule_set_version = 0;
  std::string rule_set_loaded_at;  // UTC time the running set was loaded
  uint64_t reloads = 0;
  uint64_t reload_failures = 0;
  std::vector<RuleSnapshot> rules;
  std::vector<uint64_t> eval_bounds_ns;  // upper bounds of the finite eval-time buckets
  uint64_t eval_sample_interval = 1;     // 1 evaluation in this many is timed
  std::vector<PartitionSnapshot> partitions;
  std::vector<SinkSnapshot> sinks;
  // The blocking guard's accesses by what became of them (held, denied, would_deny, allowed,
  // allowlisted, timeout, overload, error, shutdown); empty without a guard.
  std::vector<std::pair<std::string, uint64_t>> guard_accesses;
};

class Registry {
 public:
  void Publish(Snapshot snapshot);
  // The latest snapshot as Prometheus text (every family with # HELP and # TYPE).
  std::string Render() const;
  // The running rule set, one rule a line (`kestrel rules`); with top > 0, the `top` rules
  // that cost the most evaluation time (`kestrel rules --top N`).
  std::string RenderRules(size_t top = 0) const;

 private:
  mutable std::mutex mu_;
  Snapshot latest_;
};

// Renders `s` (exposed for tests and `kestrel stats`).
std::string RenderText(const Snapshot& s);
std::string RenderRulesText(const Snapshot& s);
// The `top` most expensive rules by estimated total evaluation time: estimated evaluations,
// mean and p99 (bucket upper bound) per evaluation, estimated total and share of all rules.
std::string RenderTopRulesText(const Snapshot& s, size_t top);

// The metrics server's budgets: it keeps at most kMaxConnections open (a new one past that closes
// the oldest that has not finished its request), reads a request head of at most
// kMaxRequestBytes (431 past it) within kRequestTimeout of the connection (else it is closed:
// an idle or trickling client holds nothing for long), and gives a client kResponseTimeout to
// read the answer. One request per connection (Connection: close).
inline constexpr size_t kMaxConnections = 32;
inline constexpr size_t kMaxRequestBytes = 8192;
inline constexpr std::chrono::milliseconds kRequestTimeout{2000};
inline constexpr std::chrono::milliseconds kResponseTimeout{10000};

// One server thread answering GET /metrics, GET /rules (the running set) and / (a pointer to
// them). It never blocks on one client: non-blocking sockets under poll(2), so an idle or slow
// connection does not delay the others.
class MetricsServer {
 public:
  // Listens on `address` ("HOST:PORT"; PORT 0 picks a free port). Without `allow_remote` the
  // host must be loopback (IsLoopbackHost, and the address it resolves to). Errors:
  // INVALID_ARGUMENT for a malformed or (without allow_remote) non-loopback address,
  // UNAVAILABLE when the port cannot be bound (in use, not permitted).
  static absl::StatusOr<std::unique_ptr<MetricsServer>> Start(const std::string& address,
                                                              const Registry* registry,
                                                              bool allow_remote = false);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  int port() const { return port_; }
  const std::string& host() const { return host_; }

 private:
  MetricsServer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string host_;
  int port_ = 0;
};

// True for a host that only this machine can reach: "localhost", 127.0.0.0/8, ::1 (and
// ::ffff:127.x.y.z). Brackets around an IPv6 address are allowed.
bool IsLoopbackHost(std::string_view host);

// GET http://ADDRESS/PATH (/metrics or /rules). Errors: nothing listens there, or the answer
// is not 200.
absl::StatusOr<std::string> Scrape(const std::string& address,
                                   const std::string& path = "/metrics");

// Splits "HOST:PORT" (IPv6 as "[::1]:9464"). Errors: no port, or a port outside 0..65535.
absl::StatusOr<std::pair<std::string, int>> SplitAddress(const std::string& address);

}  // namespace kestrel::metrics
