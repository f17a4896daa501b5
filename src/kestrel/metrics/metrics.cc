#include "kestrel/metrics/metrics.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstring>
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
      {"kestrel_rule_alerts_suppressed_total", "counter",
       "Alerts per rule suppressed as duplicates (counted on the alert of their group).",
       &RuleSnapshot::suppressed},
      {"kestrel_rule_partial_matches", "gauge", "Partial matches a sequence rule holds now.",
       &RuleSnapshot::partials},
      {"kestrel_rule_partial_matches_expired_total", "counter",
       "Partial matches dropped for age (maxspan or TTL).", &RuleSnapshot::expired},
      {"kestrel_rule_partial_matches_evicted_total", "counter",
       "Partial matches evicted by the per-rule quota.", &RuleSnapshot::evicted},
      {"kestrel_rule_state_evicted_budget_total", "counter",
       "Partial matches and join keys evicted by the global state budget (--state-memory).",
       &RuleSnapshot::evicted_budget},
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
  if (!s.guard_accesses.empty()) {
    Family(&out, "kestrel_guard_accesses_total", "counter",
           "Execs and opens held by the blocking guard, by outcome (held counts them all; "
           "timeout, overload, error and shutdown were allowed: fail open).");
    for (const auto& [outcome, n] : s.guard_accesses) {
      out += fmt::format("kestrel_guard_accesses_total{{outcome=\"{}\"}} {}\n", Label(outcome), n);
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

bool IsLoopbackHost(std::string_view host) {
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  std::string h(host);
  for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (h == "localhost") return true;
  in_addr v4{};
  if (::inet_pton(AF_INET, h.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, h.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

namespace {

bool IsLoopbackSockaddr(const sockaddr_storage& a) {
  char text[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    ::inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in&>(a).sin_addr, text, sizeof text);
  } else if (a.ss_family == AF_INET6) {
    ::inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6&>(a).sin6_addr, text, sizeof text);
  } else {
    return false;
  }
  return IsLoopbackHost(text);
}

using Clock = std::chrono::steady_clock;

struct Connection {
  int fd = -1;
  Clock::time_point opened;
  Clock::time_point deadline;
  bool writing = false;
  std::string in;   // the request head so far (at most kMaxRequestBytes)
  std::string out;  // the answer
  size_t sent = 0;
};

std::string Answer(int status, std::string_view reason, std::string_view type,
                   const std::string& body) {
  return fmt::format(
      "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
      status, reason, type, body.size(), body);
}

}  // namespace

struct MetricsServer::Impl {
  const Registry* registry = nullptr;
  int listen_fd = -1;
  int wake[2] = {-1, -1};
  std::thread thread;
  std::vector<Connection> connections;

  ~Impl() {
    for (Connection& c : connections) ::close(c.fd);
    for (int fd : {listen_fd, wake[0], wake[1]}) {
      if (fd >= 0) ::close(fd);
    }
  }

  std::string Handle(std::string_view head) const {
    // "GET /path?query HTTP/1.1"
    std::string_view line = head.substr(0, head.find_first_of("\r\n"));
    size_t sp1 = line.find(' ');
    size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos) {
      return Answer(400, "Bad Request", "text/plain", "bad request line\n");
    }
    std::string_view method = line.substr(0, sp1);
    std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    if (method != "GET") {
      return Answer(405, "Method Not Allowed", "text/plain", "only GET\n");
    }
    size_t q = target.find('?');
    std::string_view path = target.substr(0, q);
    std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
    if (path == "/metrics") {
      return Answer(200, "OK", "text/plain; version=0.0.4; charset=utf-8", registry->Render());
    }
    if (path == "/rules") {
      size_t top = 0;
      while (!query.empty()) {
        std::string_view kv = query.substr(0, query.find('&'));
        query = kv.size() < query.size() ? query.substr(kv.size() + 1) : "";
        if (!kv.starts_with("top=") && kv != "top") continue;
        std::string_view v = kv.size() > 4 ? kv.substr(4) : "";
        auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), top);
        if (ec != std::errc() || end != v.data() + v.size() || top == 0) {
          return Answer(400, "Bad Request", "text/plain", "top must be a positive number\n");
        }
      }
      return Answer(200, "OK", "text/plain; charset=utf-8", registry->RenderRules(top));
    }
    if (path == "/") {
      return Answer(200, "OK", "text/plain",
                    "Kestrel: metrics at /metrics, the running rule set at /rules\n");
    }
    return Answer(404, "Not Found", "text/plain", "not found\n");
  }

  void Respond(Connection& c, std::string answer) {
    c.out = std::move(answer);
    c.sent = 0;
    c.writing = true;
    c.deadline = Clock::now() + kResponseTimeout;
    std::string().swap(c.in);
  }

  // Reads what is there; false when the connection is to be closed.
  bool Read(Connection& c) {
    char buf[4096];
    while (true) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      if (n == 0) return false;  // closed before a whole request
      size_t room = kMaxRequestBytes - c.in.size();
      c.in.append(buf, std::min(room, static_cast<size_t>(n)));
      size_t end = c.in.find("\r\n\r\n");
      if (end == std::string::npos) end = c.in.find("\n\n");
      if (end != std::string::npos) {
        Respond(c, Handle(c.in));
        return true;
      }
      if (c.in.size() >= kMaxRequestBytes) {
        Respond(
            c, Answer(431, "Request Header Fields Too Large", "text/plain", "request too large\n"));
        return true;
      }
    }
  }

  // Writes what the socket takes; false when done or failed (close it).
  bool Write(Connection& c) {
    while (c.sent < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
      c.sent += static_cast<size_t>(n);
    }
    ::shutdown(c.fd, SHUT_WR);
    return false;
  }

  void Accept() {
    while (true) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // EAGAIN, or out of descriptors: the next poll retries
      }
      if (connections.size() >= kMaxConnections) {
        // Full: the oldest connection still sending its request makes room.
        auto oldest = connections.end();
        for (auto it = connections.begin(); it != connections.end(); ++it) {
          if (!it->writing && (oldest == connections.end() || it->opened < oldest->opened)) {
            oldest = it;
          }
        }
        if (oldest == connections.end()) {
          ::close(fd);
          continue;
        }
        ::close(oldest->fd);
        connections.erase(oldest);
      }
      Connection c;
      c.fd = fd;
      c.opened = Clock::now();
      c.deadline = c.opened + kRequestTimeout;
      connections.push_back(std::move(c));
    }
  }

  void Run() {
    std::vector<pollfd> fds;
    while (true) {
      fds.clear();
      fds.push_back({wake[0], POLLIN, 0});
      fds.push_back({listen_fd, POLLIN, 0});
      Clock::time_point now = Clock::now();
      int timeout = -1;
      for (const Connection& c : connections) {
        fds.push_back({c.fd, static_cast<short>(c.writing ? POLLOUT : POLLIN), 0});
        auto left = std::chrono::ceil<std::chrono::milliseconds>(c.deadline - now).count();
        int ms = static_cast<int>(std::max<int64_t>(0, left));
        timeout = timeout < 0 ? ms : std::min(timeout, ms);
      }
      int r = ::poll(fds.data(), fds.size(), timeout);
      if (r < 0 && errno != EINTR) return;
      if (fds[0].revents != 0) return;  // stop
      now = Clock::now();
      // fds[2 + i] is connections[i]; closed ones are removed after the pass.
      for (size_t i = 0; i < connections.size(); ++i) {
        Connection& c = connections[i];
        short ev = r > 0 ? fds[2 + i].revents : 0;
        bool keep = true;
        if (!c.writing && (ev & (POLLIN | POLLHUP | POLLERR))) keep = Read(c);
        if (keep && c.writing && (ev & (POLLOUT | POLLHUP | POLLERR))) keep = Write(c);
        if (keep && (ev & POLLNVAL)) keep = false;
        if (keep && now >= c.deadline) keep = false;  // idle, trickling or not reading
        if (!keep) {
          ::close(c.fd);
          c.fd = -1;
        }
      }
      std::erase_if(connections, [](const Connection& c) { return c.fd < 0; });
      if (r > 0 && (fds[1].revents & POLLIN)) Accept();
    }
  }
};

absl::StatusOr<std::unique_ptr<MetricsServer>> MetricsServer::Start(const std::string& address,
                                                                    const Registry* registry,
                                                                    bool allow_remote) {
  auto split = SplitAddress(address);
  if (!split.ok()) return split.status();
  auto not_local = [&] {
    return absl::InvalidArgumentError(fmt::format(
        "metrics address '{}' can be reached from other machines: use a loopback address "
        "(127.0.0.1, ::1, localhost) or allow it with --metrics-allow-remote",
        address));
  };
  if (!allow_remote && !IsLoopbackHost(split->first)) return not_local();
  std::unique_ptr<MetricsServer> s(new MetricsServer());
  s->impl_ = std::make_unique<Impl>();
  s->host_ = split->first;
  Impl& impl = *s->impl_;
  impl.registry = registry;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(split->second);
  if (int e = ::getaddrinfo(s->host_.c_str(), port.c_str(), &hints, &found); e != 0) {
    return absl::UnavailableError(
        fmt::format("cannot listen on {} for metrics: {}", address, ::gai_strerror(e)));
  }
  std::string why = "no address";
  for (addrinfo* a = found; a != nullptr && impl.listen_fd < 0; a = a->ai_next) {
    sockaddr_storage ss{};
    std::memcpy(&ss, a->ai_addr, std::min<size_t>(a->ai_addrlen, sizeof ss));
    if (!allow_remote && !IsLoopbackSockaddr(ss)) {
      why = "it resolves to a non-loopback address";
      continue;
    }
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    // SO_REUSEADDR only, not SO_REUSEPORT: a second Kestrel on the same port must fail to
    // start, not share it silently.
    int yes = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, 64) != 0) {
      why = std::strerror(errno);
      ::close(fd);
      continue;
    }
    impl.listen_fd = fd;
  }
  ::freeaddrinfo(found);
  if (impl.listen_fd < 0) {
    if (why == "it resolves to a non-loopback address") return not_local();
    return absl::UnavailableError(
        fmt::format("cannot listen on {} for metrics: {} (address in use, or not this machine's)",
                    address, why));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof bound;
  ::getsockname(impl.listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
  s->port_ =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<const sockaddr_in6&>(bound).sin6_port
                                        : reinterpret_cast<const sockaddr_in&>(bound).sin_port);
  if (::pipe2(impl.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    return absl::UnavailableError(fmt::format("metrics: pipe: {}", std::strerror(errno)));
  }
  impl.thread = std::thread([&impl] { impl.Run(); });
  return s;
}

MetricsServer::~MetricsServer() {
  if (impl_) {
    if (impl_->wake[1] >= 0) {
      char c = 0;
      while (::write(impl_->wake[1], &c, 1) < 0 && errno == EINTR) {
      }
    }
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
