#include "kestrel/metrics/metrics.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "httplib.h"

namespace kestrel::metrics {
namespace {

// A label value escaped as the exposition format wants (backslash, quote, newline).
std::string Label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void Family(std::string* out, std::string_view name, std::string_view type, std::string_view help) {
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string RenderText(const Snapshot& s) {
  std::string out;
  auto one = [&](std::string_view name, std::string_view type, std::string_view help,
                 uint64_t value) {
    Family(&out, name, type, help);
    out += fmt::format("{} {}\n", name, value);
  };
  Family(&out, "kestrel_events_total", "counter", "Events read from the source, by category.");
  if (s.events_by_category.empty()) {
    out += fmt::format("kestrel_events_total{{source=\"{}\"}} {}\n", Label(s.source), s.events);
  }
  for (const auto& [category, n] : s.events_by_category) {
    out += fmt::format("kestrel_events_total{{source=\"{}\",category=\"{}\"}} {}\n",
                       Label(s.source), Label(category), n);
  }
  one("kestrel_malformed_inputs_total", "counter", "Inputs skipped as malformed (each reported).",
      s.malformed);
  Family(&out, "kestrel_dropped_events_total", "counter",
         "Events lost, by stage: kernel (ring buffer full), source (user-space queue full), "
         "worker_queue (a rule worker's queue full).");
  out += fmt::format("kestrel_dropped_events_total{{stage=\"kernel\"}} {}\n", s.kernel_drops);
  out += fmt::format("kestrel_dropped_events_total{{stage=\"source\"}} {}\n", s.user_drops);
  out += fmt::format("kestrel_dropped_events_total{{stage=\"worker_queue\"}} {}\n", s.queue_drops);
  one("kestrel_alerts_total", "counter", "Alerts written.", s.alerts);
  one("kestrel_alerts_lost_total", "counter", "Alerts the output failed to take.", s.alerts_lost);
  one("kestrel_rule_set_version", "gauge",
      "Version of the running rule set (1 at start, +1 per reload).", s.rule_set_version);
  one("kestrel_rule_reloads_total", "counter", "Rule sets loaded by a reload.", s.reloads);
  one("kestrel_rule_reload_failures_total", "counter",
      "Reloads refused because a rule failed (the running set stayed).", s.reload_failures);
  struct RuleFamily {
    const char* name;
    const char* type;
    const char* help;
    uint64_t RuleSnapshot::*field;
  };
  const RuleFamily rule_families[] = {
      {"kestrel_rule_alerts_total", "counter", "Alerts per rule.", &RuleSnapshot::alerts},
      {"kestrel_rule_partial_matches", "gauge", "Partial matches a sequence rule holds now.",
       &RuleSnapshot::partials},
      {"kestrel_rule_partial_matches_expired_total", "counter",
       "Partial matches dropped for age (maxspan or TTL).", &RuleSnapshot::expired},
      {"kestrel_rule_partial_matches_evicted_total", "counter",
       "Partial matches evicted by the per-rule quota.", &RuleSnapshot::evicted},
      {"kestrel_rule_predicate_errors_total", "counter",
       "Events for which a rule's Wasm/Lua predicate failed (trap, limit).",
       &RuleSnapshot::predicate_errors},
  };
  for (const RuleFamily& f : rule_families) {
    Family(&out, f.name, f.type, f.help);
    for (const RuleSnapshot& r : s.rules) {
      out += fmt::format("{}{{rule=\"{}\"}} {}\n", f.name, Label(r.id), r.*f.field);
    }
  }
  Family(&out, "kestrel_rule_eval_seconds", "histogram",
         fmt::format("Time a rule takes to evaluate one event (sampled: 1 event in {} is timed).",
                     s.eval_sample_interval));
  for (const RuleSnapshot& r : s.rules) {
    if (r.eval_buckets.size() != s.eval_bounds_ns.size() + 1) continue;
    uint64_t cumulative = 0;
    for (size_t b = 0; b < s.eval_bounds_ns.size(); ++b) {
      cumulative += r.eval_buckets[b];
      out += fmt::format("kestrel_rule_eval_seconds_bucket{{rule=\"{}\",le=\"{}\"}} {}\n",
                         Label(r.id), static_cast<double>(s.eval_bounds_ns[b]) / 1e9, cumulative);
    }
    out += fmt::format("kestrel_rule_eval_seconds_bucket{{rule=\"{}\",le=\"+Inf\"}} {}\n",
                       Label(r.id), r.eval_count);
    out += fmt::format("kestrel_rule_eval_seconds_sum{{rule=\"{}\"}} {}\n", Label(r.id),
                       static_cast<double>(r.eval_sum_ns) / 1e9);
    out += fmt::format("kestrel_rule_eval_seconds_count{{rule=\"{}\"}} {}\n", Label(r.id),
                       r.eval_count);
  }
  if (!s.partitions.empty()) {
    Family(&out, "kestrel_worker_queue_depth", "gauge", "Events waiting in each worker's queue.");
    for (size_t p = 0; p < s.partitions.size(); ++p) {
      out +=
          fmt::format("kestrel_worker_queue_depth{{worker=\"{}\"}} {}\n", p, s.partitions[p].depth);
    }
    Family(&out, "kestrel_worker_events_total", "counter", "Events routed to each worker.");
    for (size_t p = 0; p < s.partitions.size(); ++p) {
      out += fmt::format("kestrel_worker_events_total{{worker=\"{}\"}} {}\n", p,
                         s.partitions[p].routed);
    }
  }
  if (!s.sinks.empty()) {
    struct SinkFamily {
      const char* name;
      const char* type;
      const char* help;
      uint64_t SinkSnapshot::*field;
    };
    const SinkFamily sink_families[] = {
        {"kestrel_sink_delivered_total", "counter",
         "Alerts a sink confirmed (a redelivery counts again).", &SinkSnapshot::delivered},
        {"kestrel_sink_failures_total", "counter", "Delivery attempts that failed.",
         &SinkSnapshot::failures},
        {"kestrel_sink_spooled_total", "counter", "Alerts written to the sink's disk spool.",
         &SinkSnapshot::spooled},
        {"kestrel_sink_spool_alerts", "gauge", "Alerts waiting in the spool now.",
         &SinkSnapshot::spool_pending},
        {"kestrel_sink_spool_bytes", "gauge", "Bytes of the spool's waiting alerts.",
         &SinkSnapshot::spool_bytes},
        {"kestrel_sink_filtered_total", "counter", "Alerts the sink's filter did not take.",
         &SinkSnapshot::filtered},
    };
    for (const SinkFamily& f : sink_families) {
      Family(&out, f.name, f.type, f.help);
      for (const SinkSnapshot& k : s.sinks) {
        out += fmt::format("{}{{sink=\"{}\"}} {}\n", f.name, Label(k.name), k.*f.field);
      }
    }
    Family(&out, "kestrel_sink_dropped_total", "counter",
           "Alerts a sink lost, by reason: spool_full (the spool cap), queue_full.");
    for (const SinkSnapshot& k : s.sinks) {
      out += fmt::format("kestrel_sink_dropped_total{{sink=\"{}\",reason=\"spool_full\"}} {}\n",
                         Label(k.name), k.spool_dropped);
      out += fmt::format("kestrel_sink_dropped_total{{sink=\"{}\",reason=\"queue_full\"}} {}\n",
                         Label(k.name), k.queue_dropped);
    }
    Family(&out, "kestrel_sink_up", "gauge", "1 when the sink's last delivery attempt succeeded.");
    for (const SinkSnapshot& k : s.sinks) {
      out += fmt::format("kestrel_sink_up{{sink=\"{}\"}} {}\n", Label(k.name), k.healthy ? 1 : 0);
    }
  }
  return out;
}

std::string RenderRulesText(const Snapshot& s) {
  std::string out =
      fmt::format("rule set version {}, loaded {}, {} rules\n", s.rule_set_version,
                  s.rule_set_loaded_at.empty() ? "-" : s.rule_set_loaded_at, s.rules.size());
  out += fmt::format("{:<48} {:>10} {:>10} {:>10} {:>10}\n", "rule", "alerts", "partials",
                     "expired", "evicted");
  for (const RuleSnapshot& r : s.rules) {
    out += fmt::format("{:<48} {:>10} {:>10} {:>10} {:>10}\n", r.id, r.alerts, r.partials,
                       r.expired, r.evicted);
  }
  return out;
}

std::string RenderTopRulesText(const Snapshot& s, size_t top) {
  struct Row {
    const RuleSnapshot* rule;
    double total_ns;  // estimated, all evaluations
  };
  std::vector<Row> rows;
  double all_ns = 0;
  for (const RuleSnapshot& r : s.rules) {
    double total = static_cast<double>(r.eval_sum_ns) * static_cast<double>(s.eval_sample_interval);
    all_ns += total;
    rows.push_back({&r, total});
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const Row& a, const Row& b) { return a.total_ns > b.total_ns; });
  if (rows.size() > top) rows.resize(top);
  std::string out = fmt::format(
      "rule set version {}, loaded {}; the {} most expensive of {} rules (evaluation times "
      "sampled: 1 event in {})\n",
      s.rule_set_version, s.rule_set_loaded_at.empty() ? "-" : s.rule_set_loaded_at, rows.size(),
      s.rules.size(), s.eval_sample_interval);
  out += fmt::format("{:>4} {:<44} {:>12} {:>10} {:>10} {:>12} {:>7}\n", "rank", "rule",
                     "evaluations", "mean us", "p99 us", "total ms", "share");
  for (size_t i = 0; i < rows.size(); ++i) {
    const RuleSnapshot& r = *rows[i].rule;
    double mean_us =
        r.eval_count == 0 ? 0 : static_cast<double>(r.eval_sum_ns) / r.eval_count / 1000.0;
    // p99: the upper bound of the bucket holding the 99th percentile of the timed evaluations.
    std::string p99 = "-";
    if (r.eval_count > 0 && r.eval_buckets.size() == s.eval_bounds_ns.size() + 1) {
      uint64_t rank = (r.eval_count * 99 + 99) / 100, seen = 0;
      p99 = "inf";
      for (size_t b = 0; b < s.eval_bounds_ns.size(); ++b) {
        seen += r.eval_buckets[b];
        if (seen >= rank) {
          p99 = fmt::format("<={:.2f}", static_cast<double>(s.eval_bounds_ns[b]) / 1000.0);
          break;
        }
      }
    }
    out += fmt::format("{:>4} {:<44} {:>12} {:>10.2f} {:>10} {:>12.3f} {:>6.1f}%\n", i + 1, r.id,
                       r.eval_count * s.eval_sample_interval, mean_us, p99, rows[i].total_ns / 1e6,
                       all_ns > 0 ? 100.0 * rows[i].total_ns / all_ns : 0.0);
  }
  return out;
}

std::string Registry::RenderRules(size_t top) const {
  Snapshot copy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    copy = latest_;
  }
  return top > 0 ? RenderTopRulesText(copy, top) : RenderRulesText(copy);
}

void Registry::Publish(Snapshot snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  latest_ = std::move(snapshot);
}

std::string Registry::Render() const {
  Snapshot copy;
  {
    std::lock_guard<std::mutex> lock(mu_);
    copy = latest_;
  }
  return RenderText(copy);
}

absl::StatusOr<std::pair<std::string, int>> SplitAddress(const std::string& address) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return absl::InvalidArgumentError(
        fmt::format("bad metrics address '{}': expected HOST:PORT, e.g. 127.0.0.1:9464", address));
  }
  std::string host = address.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  int port = -1;
  std::string_view p(address.data() + colon + 1, address.size() - colon - 1);
  auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (ec != std::errc() || end != p.data() + p.size() || port < 0 || port > 65535 || host.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("bad metrics address '{}': expected HOST:PORT, e.g. 127.0.0.1:9464", address));
  }
  return std::pair{host, port};
}

struct MetricsServer::Impl {
  httplib::Server server;
  std::thread thread;
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                                    const Registry* registry) {
  auto split = SplitAddress(address);
  if (!split.ok()) return split.status();
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->impl_ = std::make_unique<Impl>();
  s->host_ = split->first;
  httplib::Server& server = s->impl_->server;
  server.Get("/metrics", [registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(registry->Render(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/rules", [registry](const httplib::Request& req, httplib::Response& res) {
    size_t top = 0;
    if (req.has_param("top")) {
      std::string v = req.get_param_value("top");
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), top);
      if (ec != std::errc() || end != v.data() + v.size() || top == 0) {
        res.status = 400;
        res.set_content("top must be a positive number\n", "text/plain");
        return;
      }
    }
    res.set_content(registry->RenderRules(top), "text/plain; charset=utf-8");
  });
  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("Kestrel: metrics at /metrics, the running rule set at /rules\n", "text/plain");
  });
  server.new_task_queue = [] { return new httplib::ThreadPool(1); };
  // SO_REUSEADDR only: httplib's default also sets SO_REUSEPORT, which would let a second
  // Kestrel share the port silently instead of failing to start.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  if (split->second == 0) {
    s->port_ = server.bind_to_any_port(s->host_);
  } else {
    s->port_ = server.bind_to_port(s->host_, split->second) ? split->second : -1;
  }
  if (s->port_ < 0) {
    return absl::UnavailableError(fmt::format(
        "cannot listen on {} for metrics (address in use, or not this machine's)", address));
  }
  s->impl_->thread = std::thread([impl = s->impl_.get()] { impl->server.listen_after_bind(); });
  // Return only once the server loop runs: a stop() that came earlier would be missed by
  // listen_after_bind(), which would then never return.
  for (int i = 0; i < 5000 && !server.is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return s;
}

MetricsServer::~MetricsServer() {
  if (impl_) {
    impl_->server.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
  }
}

absl::StatusOr<std::string> Scrape(const std::string& address, const std::string& path) {
  auto split = SplitAddress(address);
  if (!split.ok()) return split.status();
  httplib::Client client(split->first, split->second);
  client.set_connection_timeout(2);
  client.set_read_timeout(5);
  auto res = client.Get(path.c_str());
  if (!res) {
    return absl::UnavailableError(
        fmt::format("no Kestrel metrics at {} ({}); is `kestrel run --metrics-addr {}` running?",
                    address, httplib::to_string(res.error()), address));
  }
  if (res->status != 200) {
    return absl::UnavailableError(fmt::format("{} answered HTTP {}", address, res->status));
  }
  return res->body;
}

}  // namespace kestrel::metrics
