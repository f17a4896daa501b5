// The `kestrel ui` HTTP server; see server.h.
#include "kestrel/ui/server.h"

#include <httplib.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <map>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "kestrel/metrics/metrics.h"
#include "kestrel/ui/assets.h"

namespace kestrel::ui {
namespace {

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// Sets each safety header once (cpp-httplib's set_header adds a line each time it is called).
void SetSafetyHeaders(httplib::Response& res) {
  const std::pair<const char*, const char*> headers[] = {
      {"Content-Security-Policy", kContentSecurityPolicy},
      {"X-Content-Type-Options", "nosniff"},
      {"Referrer-Policy", "no-referrer"},
      {"Cache-Control", "no-store"},
      {"X-Frame-Options", "DENY"}};
  for (const auto& [name, value] : headers) {
    if (!res.has_header(name)) res.set_header(name, value);
  }
}

void Json(httplib::Response& res, int status, const nlohmann::json& j) {
  res.status = status;
  res.set_content(Dump(j), "application/json");
}

void Error(httplib::Response& res, int status, std::string_view message) {
  Json(res, status, nlohmann::json{{"error", message}});
}

// A non-negative number parameter within [lo, hi], else `def`.
int64_t IntParam(const httplib::Request& req, const char* name, int64_t def, int64_t lo,
                 int64_t hi) {
  if (!req.has_param(name)) return def;
  std::string v = req.get_param_value(name);
  int64_t x = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec != std::errc() || end != v.data() + v.size()) return def;
  return std::clamp(x, lo, hi);
}

// A time bound: Unix nanoseconds, or RFC 3339 UTC (`2026-05-01T12:00:00Z`, fraction optional).
std::optional<int64_t> TimeParam(const httplib::Request& req, const char* name) {
  if (!req.has_param(name)) return std::nullopt;
  std::string v = req.get_param_value(name);
  if (v.empty()) return std::nullopt;
  int64_t x = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
  if (ec == std::errc() && end == v.data() + v.size()) return x;
  std::tm tm{};
  int y, mo, d, h = 0, mi = 0;
  double s = 0;
  if (std::sscanf(v.c_str(), "%d-%d-%dT%d:%d:%lf", &y, &mo, &d, &h, &mi, &s) >= 3) {
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = 0;
    time_t t = timegm(&tm);
    int64_t ns = 0;
    if (__builtin_mul_overflow(static_cast<int64_t>(t), int64_t{1'000'000'000}, &ns)) {
      return std::nullopt;
    }
    if (!(s >= 0 && s < 61)) return std::nullopt;  // also NaN
    if (__builtin_add_overflow(ns, static_cast<int64_t>(s * 1e9), &ns)) return std::nullopt;
    return ns;
  }
  return std::nullopt;
}

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

std::string LabelValue(std::string_view line, std::string_view label) {
  std::string key = std::string(label) + "=\"";
  size_t at = line.find(key);
  if (at == std::string_view::npos) return {};
  std::string out;
  for (size_t i = at + key.size(); i < line.size() && line[i] != '"'; ++i) {
    if (line[i] == '\\' && i + 1 < line.size()) {
      ++i;
      out.push_back(line[i] == 'n' ? '\n' : line[i]);
    } else {
      out.push_back(line[i]);
    }
  }
  return out;
}

// A sample's value; 0 for anything that is not a finite number >= 0 (counters and gauges here
// are never negative), so that converting it to an integer is always defined.
double SampleValue(std::string_view line) {
  size_t sp = line.rfind(' ');
  if (sp == std::string_view::npos) return 0;
  std::string v(line.substr(sp + 1));
  char* end = nullptr;
  double x = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || !(x >= 0) || x > 1e18) return 0;
  return x;
}

uint64_t Count(double x) { return x >= 0 && x <= 1e18 ? static_cast<uint64_t>(x) : 0; }

}  // namespace

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  size_t n = std::max(a.size(), b.size());
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= x ^ y;
  }
  return diff == 0;
}

nlohmann::json ParseMetrics(std::string_view text) {
  struct Rule {
    double alerts = 0, suppressed = 0, partials = 0, eval_count = 0, eval_sum = 0;
  };
  std::map<std::string, Rule> rules;
  nlohmann::json out{{"events", 0}, {"alerts", 0}, {"rule_set_version", 0}, {"sample_interval", 1}};
  double events = 0;
  int64_t interval = 1;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.starts_with("# HELP kestrel_rule_eval_seconds ")) {
      size_t at = line.find("1 event in ");
      if (at != std::string_view::npos) {
        std::string_view digits = line.substr(at + 11);
        int64_t n = 0;
        auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
        (void)end;
        interval = ec == std::errc() && n > 0 && n < (int64_t{1} << 40) ? n : 1;
      }
      continue;
    }
    if (line.empty() || line[0] == '#') continue;
    auto metric = [&](std::string_view name) {
      return line.starts_with(name) && line.size() > name.size() &&
             (line[name.size()] == '{' || line[name.size()] == ' ');
    };
    if (metric("kestrel_events_total")) {
      events += SampleValue(line);
    } else if (metric("kestrel_alerts_total")) {
      out["alerts"] = Count(SampleValue(line));
    } else if (metric("kestrel_rule_set_version")) {
      out["rule_set_version"] = Count(SampleValue(line));
    } else if (metric("kestrel_rule_alerts_total")) {
      rules[LabelValue(line, "rule")].alerts = SampleValue(line);
    } else if (metric("kestrel_rule_alerts_suppressed_total")) {
      rules[LabelValue(line, "rule")].suppressed = SampleValue(line);
    } else if (metric("kestrel_rule_partial_matches")) {
      rules[LabelValue(line, "rule")].partials = SampleValue(line);
    } else if (metric("kestrel_rule_eval_seconds_count")) {
      rules[LabelValue(line, "rule")].eval_count = SampleValue(line);
    } else if (metric("kestrel_rule_eval_seconds_sum")) {
      rules[LabelValue(line, "rule")].eval_sum = SampleValue(line);
    }
  }
  out["events"] = Count(events);
  out["sample_interval"] = interval;
  nlohmann::json list = nlohmann::json::array();
  for (const auto& [id, r] : rules) {
    if (id.empty()) continue;
    double evaluations = r.eval_count * static_cast<double>(interval);
    list.push_back({{"rule_id", id},
                    {"alerts", Count(r.alerts)},
                    {"suppressed", Count(r.suppressed)},
                    {"partials", Count(r.partials)},
                    {"evaluations", Count(evaluations)},
                    {"eval_seconds", r.eval_sum * static_cast<double>(interval)},
                    {"mean_ns", r.eval_count > 0 ? r.eval_sum / r.eval_count * 1e9 : 0.0}});
  }
  out["rules"] = std::move(list);
  return out;
}

struct Server::Impl {
  Index* index = nullptr;
  ServerOptions options;
  HuntFn hunt;
  WindowFn window;
  RuleTextFn rule_text;
  httplib::Server http;
  std::thread thread, tail;
  std::string host;
  std::vector<std::string> allowed_hosts;  // Host header values accepted on loopback
  bool loopback = true;
  std::atomic<bool> stopping{false};
  std::atomic<size_t> streams{0};
  std::mutex hunt_mu;
  std::mutex stop_mu;
  std::condition_variable stop_cv;

  bool Authorized(const httplib::Request& req) const {
    if (!options.token) return true;
    std::string given;
    std::string auth = req.get_header_value("Authorization");
    if (auth.starts_with("Bearer ")) {
      given = auth.substr(7);
    } else if (req.has_param("token")) {
      given = req.get_param_value("token");
    } else {
      return false;
    }
    return ConstantTimeEquals(given, *options.token);
  }

  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res) {
    SetSafetyHeaders(res);
    if (req.method != "GET" && req.method != "HEAD") {
      res.set_header("Allow", "GET, HEAD");
      Error(res, 405, "read-only: GET and HEAD only");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (loopback) {
      std::string h = req.get_header_value("Host");
      if (std::find(allowed_hosts.begin(), allowed_hosts.end(), h) == allowed_hosts.end()) {
        Error(res, 421, "Host header does not name this server (DNS rebinding?)");
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (req.path.find("..") != std::string::npos || req.path.find('\\') != std::string::npos ||
        req.path.find('\0') != std::string::npos || req.path.find("//") != std::string::npos ||
        req.target.size() > 8192) {
      Error(res, 400, "bad path: the API takes ids, never file paths");
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!Authorized(req)) {
      res.set_header("WWW-Authenticate", "Bearer");
      Error(res, 401, "a token is required (Authorization: Bearer, or ?token=)");
      return httplib::Server::HandlerResponse::Handled;
    }
    return httplib::Server::HandlerResponse::Unhandled;
  }

  void ServeAsset(const httplib::Request& req, httplib::Response& res, std::string_view name) {
    std::optional<Asset> a = FindAsset(name);
    if (!a) {
      Error(res, 404, "not found");
      return;
    }
    std::string body(a->body);
    if (name == "index.html") {
      // The page's own script and style carry the token (a <script src> cannot send a header).
      std::string q;
      if (options.token) q = "?token=" + httplib::detail::encode_query_param(*options.token);
      for (std::string_view mark : {"{{Q}}"}) {
        size_t at;
        while ((at = body.find(mark)) != std::string::npos) body.replace(at, mark.size(), q);
      }
    }
    (void)req;
    res.set_content(body, std::string(a->content_type));
  }

  void Info(httplib::Response& res) {
    IndexCounters c = index->counters();
    nlohmann::json j{{"logs", options.logs},
                     {"alert_files", options.alert_files},
                     {"attached", options.attach.has_value()},
                     {"from_ns", index->min_time_ns()},
                     {"to_ns", index->max_time_ns()},
                     {"counters",
                      {{"events_seen", c.events_seen},
                       {"events_held", c.events_held},
                       {"events_dropped", c.events_dropped},
                       {"processes", c.processes},
                       {"processes_dropped", c.processes_dropped},
                       {"alerts", c.alerts},
                       {"alerts_dropped", c.alerts_dropped},
                       {"alerts_malformed", c.alerts_malformed}}}};
    if (options.attach) j["attach"] = *options.attach;
    Json(res, 200, j);
  }

  void Alerts(const httplib::Request& req, httplib::Response& res) {
    AlertFilter f;
    f.rule = req.get_param_value("rule");
    f.severity = req.get_param_value("severity");
    f.host = req.get_param_value("host");
    f.tactic = req.get_param_value("tactic");
    if (auto from = TimeParam(req, "from")) f.from_ns = *from;
    if (auto to = TimeParam(req, "to")) f.to_ns = *to;
    f.limit = static_cast<size_t>(IntParam(req, "limit", 500, 1, 10000));
    int buckets = static_cast<int>(IntParam(req, "buckets", 24, 1, 200));
    Json(res, 200, index->AlertsJson(f, buckets));
  }

  void Alert(const std::string& id, httplib::Response& res) {
    if (!ValidId(id)) return Error(res, 400, "an alert id is letters, digits, - and _");
    std::optional<AlertEntry> a = index->FindAlert(id);
    if (!a) return Error(res, 404, "no alert with that id");
    nlohmann::json j = AlertSummaryJson(*a);
    nlohmann::json alert = nlohmann::json::parse(a->raw, nullptr, false);
    j["alert"] = alert.is_discarded() ? nlohmann::json() : alert;
    if (rule_text) {
      if (auto text = rule_text(a->rule_id)) j["rule_text"] = *text;
    }
    // The evidence processes, their ancestors and children: the flight recording's events
    // before the alert (from the logs, when they hold that window).
    std::vector<uint32_t> procs;
    std::unordered_set<std::string> keys;
    for (const std::string& k : a->evidence) {
      auto p = index->FindProcess(k);
      if (!p) continue;
      int64_t at = *p;
      for (int d = 0; at >= 0 && d < 4; ++d) {
        procs.push_back(static_cast<uint32_t>(at));
        keys.insert(index->processes()[at].key);
        at = index->processes()[at].parent;
      }
    }
    nlohmann::json flight = nlohmann::json::array();
    // Saturating: an alert's time is untrusted input.
    auto plus = [](int64_t t, int64_t d) {
      int64_t r;
      return __builtin_add_overflow(t, d, &r) ? (d < 0 ? INT64_MIN : INT64_MAX) : r;
    };
    std::vector<int64_t> times = index->EventTimesOf(procs, plus(a->time_ns, -kFlightWindowNs),
                                                     plus(a->time_ns, 1), kMaxFlightEvents);
    if (!times.empty() && window) {
      flight = window(times.front(), plus(times.back(), 1), keys, kMaxFlightEvents);
    }
    j["flight"] = std::move(flight);
    j["flight_window_ns"] = kFlightWindowNs;
    Json(res, 200, j);
  }

  void Tree(const httplib::Request& req, httplib::Response& res) {
    std::string key = req.get_param_value("key");
    if (key.empty() || key.size() > 4096) return Error(res, 400, "key= names a process");
    std::vector<std::string> evidence;
    std::string alert_id = req.get_param_value("alert");
    if (!alert_id.empty()) {
      if (!ValidId(alert_id)) return Error(res, 400, "bad alert id");
      if (auto a = index->FindAlert(alert_id)) evidence = a->evidence;
    }
    int depth = static_cast<int>(IntParam(req, "depth", 8, 0, 64));
    int width = static_cast<int>(IntParam(req, "width", 50, 1, 1000));
    auto tree = index->TreeJson(key, depth, width, evidence);
    if (!tree) return Error(res, 404, "no process with that key in the loaded logs or alerts");
    Json(res, 200, *tree);
  }

  void Hunt(const httplib::Request& req, httplib::Response& res) {
    std::string q = req.get_param_value("q");
    if (q.empty()) return Error(res, 400, "q= holds an EQL query");
    if (q.size() > kMaxQueryBytes) return Error(res, 413, "query longer than 16 KiB");
    if (!hunt) return Error(res, 503, "no logs loaded");
    HuntRequest h;
    h.query = q;
    h.from_ns = TimeParam(req, "from");
    h.to_ns = TimeParam(req, "to");
    h.max_results = static_cast<size_t>(IntParam(req, "limit", 1000, 1, kMaxHuntResults));
    std::unique_lock lock(hunt_mu, std::try_to_lock);
    if (!lock.owns_lock()) return Error(res, 429, "a hunt is running; one at a time");
    HttpAnswer a = hunt(h);
    res.status = a.status;
    res.set_content(a.body, a.content_type);
  }

  nlohmann::json RulesJson(std::string* error) {
    if (!options.attach) {
      *error = "not attached: start with --attach ADDR (a kestrel run --metrics-addr)";
      return {};
    }
    auto text = metrics::Scrape(*options.attach, "/metrics");
    if (!text.ok()) {
      *error = absl::StrCat("attach ", *options.attach, ": ", text.status().message());
      return {};
    }
    nlohmann::json j = ParseMetrics(*text);
    j["attach"] = *options.attach;
    // The running set's load time, from /rules' first line ("rule set version N, loaded T, ...").
    if (auto listing = metrics::Scrape(*options.attach, "/rules"); listing.ok()) {
      std::string_view first = std::string_view(*listing).substr(0, listing->find('\n'));
      size_t at = first.find("loaded ");
      if (at != std::string_view::npos) {
        std::string_view rest = first.substr(at + 7);
        j["loaded_at"] = std::string(rest.substr(0, rest.find(',')));
      }
    }
    return j;
  }

  void Rules(httplib::Response& res) {
    std::string error;
    nlohmann::json j = RulesJson(&error);
    if (!error.empty()) return Error(res, 503, error);
    Json(res, 200, j);
  }

  void Stream(const httplib::Request& req, httplib::Response& res) {
    if (streams.fetch_add(1) >= kMaxStreams) {
      streams.fetch_sub(1);
      return Error(res, 503, "too many event streams");
    }
    uint64_t after = static_cast<uint64_t>(IntParam(req, "after", -1, -1, INT64_MAX));
    if (after == static_cast<uint64_t>(-1)) index->AlertsAfter(UINT64_MAX, 0, &after);
    struct State {
      uint64_t seq;
      std::chrono::steady_clock::time_point next_rules;
      bool first = true;
    };
    auto state = std::make_shared<State>(State{after, std::chrono::steady_clock::now()});
    res.set_header("X-Accel-Buffering", "no");
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, state](size_t, httplib::DataSink& sink) {
          if (stopping.load()) return false;
          std::string out;
          if (state->first) {
            out += "retry: 2000\n\n";
            state->first = false;
          }
          uint64_t newest = state->seq;
          for (const AlertEntry& a : index->AlertsAfter(state->seq, 100, &newest)) {
            out += "event: alert\nid: " + std::to_string(a.seq) +
                   "\ndata: " + Dump(AlertSummaryJson(a)) + "\n\n";
          }
          state->seq = newest;
          auto now = std::chrono::steady_clock::now();
          if (options.attach && now >= state->next_rules) {
            state->next_rules = now + options.stream_rules_interval;
            std::string error;
            nlohmann::json j = RulesJson(&error);
            if (error.empty()) out += "event: rules\ndata: " + Dump(j) + "\n\n";
          }
          if (out.empty()) out = ": keep-alive\n\n";
          if (!sink.write(out.data(), out.size())) return false;
          std::unique_lock lock(stop_mu);
          stop_cv.wait_for(lock, std::chrono::milliseconds(300), [&] { return stopping.load(); });
          return !stopping.load();
        },
        [this](bool) { streams.fetch_sub(1); });
  }

  // Appended lines of the alert files become alerts (complete lines only).
  void Tail() {
    std::vector<uint64_t> offsets = options.alert_offsets;
    offsets.resize(options.alert_files.size(), 0);
    std::vector<uint64_t> lines = options.alert_lines;
    lines.resize(options.alert_files.size(), 0);
    while (!stopping.load()) {
      for (size_t f = 0; f < options.alert_files.size(); ++f) {
        // As named on the command line (a symbolic link to the file is fine, as at start).
        int fd = ::open(options.alert_files[f].c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0) continue;
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
          ::close(fd);
          continue;
        }
        if (static_cast<uint64_t>(st.st_size) < offsets[f]) {
          offsets[f] = 0;  // truncated or replaced: read it again from its start
          lines[f] = 0;
        }
        char buf[1 << 16];
        std::string data;
        ssize_t n;
        while (data.size() < (16u << 20) &&
               (n = ::pread(fd, buf, sizeof buf, static_cast<off_t>(offsets[f] + data.size()))) >
                   0) {
          data.append(buf, static_cast<size_t>(n));
        }
        ::close(fd);
        size_t used = 0;
        size_t nl;
        while ((nl = data.find('\n', used)) != std::string::npos) {
          index->AppendAlertLine(std::string_view(data).substr(used, nl - used),
                                 static_cast<uint32_t>(f), ++lines[f]);
          used = nl + 1;
        }
        offsets[f] += used;
        if (used == 0 && data.size() >= (16u << 20)) {
          // A line longer than any alert: counted as malformed, skipped (never re-read).
          index->AppendAlertLine(data, static_cast<uint32_t>(f), ++lines[f]);
          offsets[f] += data.size();
        }
      }
      std::unique_lock lock(stop_mu);
      stop_cv.wait_for(lock, options.tail_interval, [&] { return stopping.load(); });
    }
  }
};

absl::StatusOr<std::unique_ptr<Server>> Server::Start(Index* index, ServerOptions options,
                                                      HuntFn hunt, WindowFn window,
                                                      RuleTextFn rule_text) {
  auto split = metrics::SplitAddress(options.listen);
  if (!split.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen ", options.listen, ": ", split.status().message()));
  }
  auto [host, port] = *split;
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  bool loopback = metrics::IsLoopbackHost(host);
  if (!loopback && !options.token) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--listen ", options.listen,
        " is not a loopback address: anyone who can reach it could read the alerts and logs; "
        "give --token-file FILE (a secret every request must carry), or listen on 127.0.0.1"));
  }
  std::unique_ptr<Server> server(new Server());
  server->impl_ = std::make_unique<Impl>();
  Impl& im = *server->impl_;
  im.index = index;
  im.options = std::move(options);
  im.hunt = std::move(hunt);
  im.window = std::move(window);
  im.rule_text = std::move(rule_text);
  im.loopback = loopback;
  im.host = host;
  httplib::Server& http = im.http;
  http.new_task_queue = [] { return new httplib::ThreadPool(kMaxStreams + 8); };
  http.set_payload_max_length(4096);
  http.set_read_timeout(5, 0);
  http.set_write_timeout(5, 0);
  http.set_keep_alive_max_count(100);
  http.set_default_headers({{"Content-Security-Policy", kContentSecurityPolicy},
                            {"X-Content-Type-Options", "nosniff"},
                            {"Referrer-Policy", "no-referrer"},
                            {"Cache-Control", "no-store"},
                            {"X-Frame-Options", "DENY"}});
  Impl* p = &im;
  http.set_pre_routing_handler(
      [p](const httplib::Request& req, httplib::Response& res) { return p->PreRoute(req, res); });
  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    SetSafetyHeaders(res);
    if (res.body.empty()) {
      res.set_content(Dump(nlohmann::json{{"error", "HTTP " + std::to_string(res.status)}}),
                      "application/json");
    }
  });
  http.set_post_routing_handler(
      [](const httplib::Request&, httplib::Response& res) { SetSafetyHeaders(res); });
  http.Get("/", [p](const httplib::Request& req, httplib::Response& res) {
    p->ServeAsset(req, res, "index.html");
  });
  http.Get("/index.html", [p](const httplib::Request& req, httplib::Response& res) {
    p->ServeAsset(req, res, "index.html");
  });
  http.Get("/app.js", [p](const httplib::Request& req, httplib::Response& res) {
    p->ServeAsset(req, res, "app.js");
  });
  http.Get("/app.css", [p](const httplib::Request& req, httplib::Response& res) {
    p->ServeAsset(req, res, "app.css");
  });
  http.Get("/api/info", [p](const httplib::Request&, httplib::Response& res) { p->Info(res); });
  http.Get("/api/alerts",
           [p](const httplib::Request& req, httplib::Response& res) { p->Alerts(req, res); });
  http.Get("/api/alert/([A-Za-z0-9_-]{1,128})",
           [p](const httplib::Request& req, httplib::Response& res) {
             p->Alert(req.matches[1].str(), res);
           });
  http.Get("/api/tree",
           [p](const httplib::Request& req, httplib::Response& res) { p->Tree(req, res); });
  http.Get("/api/hunt",
           [p](const httplib::Request& req, httplib::Response& res) { p->Hunt(req, res); });
  http.Get("/api/rules", [p](const httplib::Request&, httplib::Response& res) { p->Rules(res); });
  http.Get("/api/stream",
           [p](const httplib::Request& req, httplib::Response& res) { p->Stream(req, res); });
  int bound = port == 0 ? http.bind_to_any_port(host) : (http.bind_to_port(host, port) ? port : -1);
  if (bound < 0) {
    return absl::UnavailableError(
        absl::StrCat("--listen ", im.options.listen, ": cannot bind (in use, or not permitted)"));
  }
  server->port_ = bound;
  std::string port_text = std::to_string(bound);
  im.allowed_hosts = {"127.0.0.1:" + port_text, "localhost:" + port_text, "[::1]:" + port_text,
                      host + ":" + port_text};
  im.thread = std::thread([p] { p->http.listen_after_bind(); });
  if (!im.options.alert_files.empty()) im.tail = std::thread([p] { p->Tail(); });
  return server;
}

Server::~Server() { Stop(); }

void Server::Stop() {
  if (!impl_) return;
  {
    std::lock_guard lock(impl_->stop_mu);
    impl_->stopping = true;
  }
  impl_->stop_cv.notify_all();
  impl_->http.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->tail.joinable()) impl_->tail.join();
}

void Server::Wait() {
  std::unique_lock lock(impl_->stop_mu);
  impl_->stop_cv.wait(lock, [&] { return impl_->stopping.load(); });
}

std::string Server::Url() const {
  std::string host =
      impl_->host.find(':') != std::string::npos ? "[" + impl_->host + "]" : impl_->host;
  std::string url = absl::StrCat("http://", host, ":", port_, "/");
  if (impl_->options.token) {
    url += "?token=" + httplib::detail::encode_query_param(*impl_->options.token);
  }
  return url;
}

}  // namespace kestrel::ui
