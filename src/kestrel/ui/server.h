// The HTTP server of `kestrel ui` (issue 25): the embedded single-page application (assets.h) and
// a read-only JSON API over an Index, on cpp-httplib. docs/ui.md describes the API and the views.
//
// Safety (docs/ui.md, "Safety model"):
//   - binds loopback unless told otherwise; a non-loopback address without a token is refused
//     (Start fails with INVALID_ARGUMENT);
//   - with a token, every request carries it (`Authorization: Bearer T` or `?token=T`), compared
//     in constant time; else 401;
//   - GET and HEAD only (405 otherwise); no endpoint changes rules or state;
//   - every response carries kContentSecurityPolicy, `X-Content-Type-Options: nosniff`,
//     `Referrer-Policy: no-referrer`, `Cache-Control: no-store`;
//   - on a loopback address the Host header must name it (127.0.0.1, localhost or [::1] with the
//     port): a DNS-rebinding page cannot read the API (421 otherwise);
//   - the API takes ids of what the index holds (alert ids, process keys, EQL text), never a file
//     path; a path with `..`, a backslash or a NUL is refused (400) before routing;
//   - bounds: request line and headers 8 KiB (the library's), query text kMaxQueryBytes, one hunt
//     at a time (kHuntTimeLimit, kMaxHuntResults), kMaxStreams event streams.
// Thread safety: the server's threads read the Index; Stop() from any thread.
// Tested by ui_test.cc (through a real server on a loopback port) and cli/ui_test.sh.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "kestrel/ui/index.h"

namespace kestrel::ui {

inline constexpr const char* kContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";
inline constexpr size_t kMaxQueryBytes = 16 * 1024;
inline constexpr size_t kMaxHuntResults = 10'000;
inline constexpr std::chrono::seconds kHuntTimeLimit{20};
inline constexpr size_t kMaxStreams = 8;
// The window before an alert whose events of its processes the alert view shows, and how many.
inline constexpr int64_t kFlightWindowNs = 10LL * 60 * 1000 * 1000 * 1000;
inline constexpr size_t kMaxFlightEvents = 200;

struct HuntRequest {
  std::string query;
  std::optional<int64_t> from_ns, to_ns;
  size_t max_results = 1000;
  std::chrono::milliseconds time_limit = kHuntTimeLimit;
};
struct HttpAnswer {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};
// Runs a hunt over the loaded logs (cli: `kestrel query`'s path): 200 with the Elasticsearch EQL
// response, 400 with {"error": text} for a query that does not compile.
using HuntFn = std::function<HttpAnswer(const HuntRequest&)>;
// The events in [from_ns, to_ns) of the processes with these keys, at most `max`, newest last,
// each {"timestamp_ns", "process", "event": {...ECS...}}.
using WindowFn = std::function<nlohmann::json(
    int64_t from_ns, int64_t to_ns, const std::unordered_set<std::string>& keys, size_t max)>;
// The rule text of a rule id, when known (nullopt: not loaded).
using RuleTextFn = std::function<std::optional<std::string>(const std::string& rule_id)>;

struct ServerOptions {
  std::string listen = "127.0.0.1:8642";
  std::optional<std::string> token;      // required for a non-loopback listen
  std::optional<std::string> attach;     // a `kestrel run --metrics-addr` address
  std::vector<std::string> logs;         // as given (shown in /api/info)
  std::vector<std::string> alert_files;  // tailed for appended lines (also shown)
  std::vector<uint64_t> alert_offsets;   // where each file's tail starts (bytes already read)
  std::vector<uint64_t> alert_lines;     // ... and the lines already read
  std::chrono::milliseconds tail_interval{250};
  std::chrono::milliseconds stream_rules_interval{2000};
};

// The attached instance's /metrics text as the rules view's JSON: {"rules":[{rule_id, alerts,
// suppressed, partials, evaluations, eval_seconds, mean_ns}], "events", "alerts",
// "rule_set_version", "sample_interval"}.
nlohmann::json ParseMetrics(std::string_view prometheus_text);

// Token compare in time independent of where they differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b);

class Server {
 public:
  // Binds `options.listen` (PORT 0 picks one) and serves on a thread of its own.
  // Errors: INVALID_ARGUMENT (a malformed address; non-loopback without a token), UNAVAILABLE
  // (cannot bind).
  static absl::StatusOr<std::unique_ptr<Server>> Start(Index* index, ServerOptions options,
                                                       HuntFn hunt, WindowFn window,
                                                       RuleTextFn rule_text);
  ~Server();
  void Stop();
  // Blocks until Stop() (or the server fails).
  void Wait();
  int port() const { return port_; }
  // http://HOST:PORT/ (with ?token=T when there is a token).
  std::string Url() const;

 private:
  Server() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace kestrel::ui
