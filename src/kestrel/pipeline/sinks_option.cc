// --sink / run.sinks: parsing and building the sinks; see sinks_option.h.
// Tested by sinks_option_test.cc and cli_test.sh.
#include "kestrel/pipeline/sinks_option.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kestrel/actions/file_sink.h"
#include "kestrel/actions/http_sink.h"
#include "kestrel/actions/kafka_sink.h"
#include "kestrel/actions/redact.h"
#include "kestrel/actions/syslog_sink.h"
#include "kestrel/base/files.h"
#include "kestrel/base/status.h"
#include "kestrel/metrics/metrics.h"
#include "kestrel/pipeline/run_config.h"

namespace kestrel::pipeline {
namespace {

namespace fs = std::filesystem;

// Every message names the sink by its redacted URL (actions/redact.h): no credential.
absl::Status Bad(const SinkConfig& c, const std::string& reason) {
  return absl::InvalidArgumentError(
      fmt::format("{}: sink '{}': {}", c.origin, actions::RedactUrl(c.url), reason));
}

// A secret kept in a file (password_file=, header_file=): at most this many bytes.
constexpr size_t kMaxSecretFileBytes = 64 << 10;

// The file's contents without its trailing newline. Errors name the option and the path (and
// why it cannot be read), never the contents.
absl::StatusOr<std::string> ReadSecretFile(const SinkConfig& c, const std::string& option,
                                           const std::string& path) {
  auto text = base::ReadFileBounded(path, kMaxSecretFileBytes);
  if (!text.ok()) return Bad(c, fmt::format("{}: {}", option, base::Message(text.status())));
  while (!text->empty() && (text->back() == '\n' || text->back() == '\r')) text->pop_back();
  if (text->empty()) return Bad(c, fmt::format("{}: '{}' is empty", option, path));
  if (text->find_first_of("\r\n") != std::string::npos) {
    return Bad(c, fmt::format("{}: '{}' must hold one line", option, path));
  }
  return *std::move(text);
}

// "Name: value" into a header; errors never show the text (it may be a secret).
absl::Status AddHeader(const SinkConfig& c, const std::string& where, const std::string& header,
                       std::vector<std::pair<std::string, std::string>>* out) {
  size_t colon = header.find(':');
  if (colon == std::string::npos || colon == 0) {
    return Bad(c, fmt::format("{}: expected 'Name: value'", where));
  }
  std::string value = header.substr(colon + 1);
  value.erase(0, value.find_first_not_of(' '));
  out->emplace_back(header.substr(0, colon), value);
  return absl::OkStatus();
}

absl::StatusOr<uint64_t> ParseSize(std::string_view text) {
  std::string s(text);
  uint64_t unit = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K':
      case 'k':
        unit = 1ull << 10;
        break;
      case 'M':
      case 'm':
        unit = 1ull << 20;
        break;
      case 'G':
      case 'g':
        unit = 1ull << 30;
        break;
      default:
        break;
    }
    if (unit != 1) s.pop_back();
  }
  char* end = nullptr;
  unsigned long long v = s.empty() ? 0 : std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || end != s.c_str() + s.size() || s[0] == '-') {
    return absl::InvalidArgumentError(
        fmt::format("bad size '{}': expected e.g. 64M, 1G, 500K or bytes", text));
  }
  return v * unit;
}

absl::StatusOr<bool> ParseBool(std::string_view v) {
  if (v == "true" || v == "yes" || v == "1" || v == "on") return true;
  if (v == "false" || v == "no" || v == "0" || v == "off") return false;
  return absl::InvalidArgumentError(fmt::format("expected true or false, not '{}'", v));
}

absl::StatusOr<int> ParseFacility(std::string_view v) {
  static const char* kNames[] = {
      "kern",   "user",   "mail",     "daemon", "auth",   "syslog",   "lpr",     "news",
      "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "security", "console", "solaris-cron",
      "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7"};
  for (int i = 0; i < 24; ++i) {
    if (v == kNames[i] || v == std::to_string(i)) return i;
  }
  return absl::InvalidArgumentError(
      fmt::format("bad facility '{}': expected 0..23 or a name such as local0, auth, daemon", v));
}

// Host and port of "HOST:PORT" (or "[v6]:PORT").
bool SplitHostPort(std::string_view hp, std::string* host, uint16_t* port) {
  size_t colon = hp.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  std::string_view h = hp.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  std::string p(hp.substr(colon + 1));
  char* end = nullptr;
  long v = p.empty() ? -1 : std::strtol(p.c_str(), &end, 10);
  if (p.empty() || end != p.c_str() + p.size() || v < 1 || v > 65535) return false;
  *host = std::string(h);
  *port = static_cast<uint16_t>(v);
  return true;
}

std::string SpoolName(const std::string& url) {
  std::string out;
  // Credentials never reach a file name.
  for (char c : actions::RedactUrl(url)) {
    out.push_back(std::isalnum(static_cast<unsigned char>(c)) ? c : '_');
  }
  return out.substr(0, 200);
}

// One sink's options, consumed as they are read; what is left at the end is unknown.
struct Options {
  std::vector<std::pair<std::string, std::string>> rest;
  std::optional<std::string> Take(const std::string& key) {
    std::optional<std::string> v;
    for (auto it = rest.begin(); it != rest.end();) {
      if (it->first == key) {
        v = it->second;
        it = rest.erase(it);
      } else {
        ++it;
      }
    }
    return v;
  }
  std::vector<std::string> TakeAll(const std::string& key) {
    std::vector<std::string> v;
    for (auto it = rest.begin(); it != rest.end();) {
      if (it->first == key) {
        v.push_back(it->second);
        it = rest.erase(it);
      } else {
        ++it;
      }
    }
    return v;
  }
  std::vector<std::pair<std::string, std::string>> TakePrefix(const std::string& prefix) {
    std::vector<std::pair<std::string, std::string>> v;
    for (auto it = rest.begin(); it != rest.end();) {
      if (it->first.rfind(prefix, 0) == 0) {
        v.emplace_back(it->first.substr(prefix.size()), it->second);
        it = rest.erase(it);
      } else {
        ++it;
      }
    }
    return v;
  }
};

absl::StatusOr<std::unique_ptr<actions::Sink>> MakeTransport(const SinkConfig& c, Options& o) {
  std::string_view url = c.url;
  auto duration = [&](const std::string& key,
                      std::chrono::milliseconds def) -> absl::StatusOr<std::chrono::milliseconds> {
    auto v = o.Take(key);
    if (!v) return def;
    auto ns = ParseDuration(*v);
    if (!ns.ok()) return Bad(c, fmt::format("{}: {}", key, base::Message(ns.status())));
    return std::chrono::milliseconds(*ns / 1'000'000);
  };
  if (url.starts_with("file:")) {
    actions::FileSinkOptions f;
    f.path = std::string(url.substr(5));
    if (f.path.starts_with("//")) f.path = f.path.substr(2);  // file:///var/log/x
    if (f.path.empty()) return Bad(c, "expected file:PATH or file:-");
    if (auto v = o.Take("rotate_size")) {
      auto s = ParseSize(*v);
      if (!s.ok()) return Bad(c, fmt::format("rotate_size: {}", base::Message(s.status())));
      f.rotate_bytes = *s;
    }
    auto age = duration("rotate_every", std::chrono::milliseconds(0));
    if (!age.ok()) return age.status();
    f.rotate_age = *age;
    if (auto v = o.Take("compress")) {
      auto b = ParseBool(*v);
      if (!b.ok()) return Bad(c, fmt::format("compress: {}", base::Message(b.status())));
      f.compress = *b;
    }
    if (auto v = o.Take("max_files")) {
      auto n = ParseSize(*v);
      if (!n.ok()) return Bad(c, "max_files: expected a count");
      f.max_files = static_cast<size_t>(*n);
    }
    auto sink = actions::FileSink::Open(f);
    if (!sink.ok()) return sink.status();
    return std::unique_ptr<actions::Sink>(std::move(*sink));
  }
  if (url.starts_with("syslog+")) {
    actions::SyslogSinkOptions s;
    if (url.starts_with("syslog+udp://") || url.starts_with("syslog+tcp://")) {
      s.transport = url[7] == 'u' ? actions::SyslogSinkOptions::Transport::kUdp
                                  : actions::SyslogSinkOptions::Transport::kTcp;
      std::string_view hp = url.substr(13);
      if (!hp.empty() && hp.back() == '/') hp.remove_suffix(1);
      if (!SplitHostPort(hp, &s.host, &s.port)) {
        return Bad(c, "expected syslog+udp://HOST:PORT or syslog+tcp://HOST:PORT");
      }
    } else if (url.starts_with("syslog+unix://") || url.starts_with("syslog+unix:")) {
      s.transport = actions::SyslogSinkOptions::Transport::kUnix;
      s.socket_path = std::string(url.substr(url.starts_with("syslog+unix://") ? 14 : 12));
      if (s.socket_path.empty() || s.socket_path[0] != '/') {
        return Bad(c, "expected syslog+unix:///PATH (an absolute socket path, e.g. /dev/log)");
      }
    } else {
      return Bad(c, "expected syslog+udp://, syslog+tcp:// or syslog+unix://");
    }
    if (auto v = o.Take("facility")) {
      auto f = ParseFacility(*v);
      if (!f.ok()) return Bad(c, std::string(base::Message(f.status())));
      s.facility = *f;
    }
    if (auto v = o.Take("app_name")) s.app_name = *v;
    auto sink = actions::SyslogSink::Open(s);
    if (!sink.ok()) return Bad(c, std::string(base::Message(sink.status())));
    return std::unique_ptr<actions::Sink>(std::move(*sink));
  }
  if (url.starts_with("http://") || url.starts_with("https://")) {
    actions::HttpSinkOptions h;
    h.url = c.url;
    for (const std::string& header : o.TakeAll("header")) {
      if (absl::Status s = AddHeader(c, "header", header, &h.headers); !s.ok()) return s;
    }
    for (const std::string& path : o.TakeAll("header_file")) {
      auto header = ReadSecretFile(c, "header_file", path);
      if (!header.ok()) return header.status();
      std::string where = fmt::format("header_file '{}'", path);
      if (absl::Status s = AddHeader(c, where, *header, &h.headers); !s.ok()) return s;
    }
    if (auto path = o.Take("password_file")) {
      auto password = ReadSecretFile(c, "password_file", *path);
      if (!password.ok()) return password.status();
      h.password = *std::move(password);
    }
    if (auto v = o.Take("batch")) {
      auto n = ParseSize(*v);
      if (!n.ok() || *n < 1 || *n > 100000) return Bad(c, "batch: expected 1 to 100000");
      h.batch = static_cast<size_t>(*n);
    }
    auto timeout = duration("timeout", h.timeout);
    if (!timeout.ok()) return timeout.status();
    h.timeout = *timeout;
    if (auto v = o.Take("ca_file")) h.ca_file = *v;
    if (auto v = o.Take("insecure")) {
      auto b = ParseBool(*v);
      if (!b.ok()) return Bad(c, fmt::format("insecure: {}", base::Message(b.status())));
      h.insecure = *b;
    }
    auto sink = actions::HttpSink::Open(h);
    if (!sink.ok()) return Bad(c, std::string(base::Message(sink.status())));
    return std::unique_ptr<actions::Sink>(std::move(*sink));
  }
  if (url.starts_with("kafka://")) {
    actions::KafkaSinkOptions k;
    std::string_view rest = url.substr(8);
    size_t slash = rest.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size()) {
      return Bad(c, "expected kafka://BROKER[,BROKER...]/TOPIC");
    }
    k.brokers = std::string(rest.substr(0, slash));
    k.topic = std::string(rest.substr(slash + 1));
    if (auto v = o.Take("key")) {
      if (*v == "host") {
        k.key = actions::KafkaSinkOptions::Key::kHost;
      } else if (*v == "rule") {
        k.key = actions::KafkaSinkOptions::Key::kRule;
      } else if (*v == "none") {
        k.key = actions::KafkaSinkOptions::Key::kNone;
      } else {
        return Bad(c, fmt::format("key '{}': expected host, rule or none", *v));
      }
    }
    auto timeout = duration("message_timeout", k.message_timeout);
    if (!timeout.ok()) return timeout.status();
    k.message_timeout = *timeout;
    k.properties = o.TakePrefix("kafka.");
    if (auto path = o.Take("password_file")) {
      auto password = ReadSecretFile(c, "password_file", *path);
      if (!password.ok()) return password.status();
      k.properties.emplace_back("sasl.password", *std::move(password));
    }
    auto sink = actions::KafkaSink::Open(k);
    if (!sink.ok()) return Bad(c, std::string(base::Message(sink.status())));
    return std::unique_ptr<actions::Sink>(std::move(*sink));
  }
  return Bad(c,
             "unknown kind: expected file:PATH, syslog+udp|tcp|unix://, http(s)://... or "
             "kafka://BROKER/TOPIC");
}

constexpr const char* kCommonOptions[] = {"format",    "min_severity", "tag",     "spool_dir",
                                          "spool_max", "queue",        "backoff", "backoff_max"};

// The options each kind takes besides the common ones; nullptr: not a known kind.
const std::vector<std::string>* KindOptions(std::string_view url) {
  static const std::vector<std::string> kFile = {"rotate_size", "rotate_every", "compress",
                                                 "max_files"};
  static const std::vector<std::string> kSyslog = {"facility", "app_name"};
  static const std::vector<std::string> kHttp = {"header",  "header_file", "password_file", "batch",
                                                 "timeout", "ca_file",     "insecure"};
  static const std::vector<std::string> kKafka = {"key", "message_timeout", "password_file",
                                                  "kafka.*"};
  if (url.starts_with("file:")) return &kFile;
  if (url.starts_with("syslog+")) return &kSyslog;
  if (url.starts_with("http://") || url.starts_with("https://")) return &kHttp;
  if (url.starts_with("kafka://")) return &kKafka;
  return nullptr;
}

}  // namespace

absl::Status CheckSinkConfig(const SinkConfig& c) {
  const std::vector<std::string>* kind = KindOptions(c.url);
  if (kind == nullptr) {
    return Bad(c,
               "unknown kind: expected file:PATH, syslog+udp|tcp|unix://, http(s)://... or "
               "kafka://BROKER/TOPIC");
  }
  for (const auto& [key, value] : c.options) {
    bool known = std::find(std::begin(kCommonOptions), std::end(kCommonOptions), key) !=
                     std::end(kCommonOptions) ||
                 std::find(kind->begin(), kind->end(), key) != kind->end() ||
                 (key.rfind("kafka.", 0) == 0 && kind->back() == "kafka.*");
    if (!known) {
      std::string names;
      for (const char* k : kCommonOptions)
        names += fmt::format("{}{}", names.empty() ? "" : ", ", k);
      for (const std::string& k : *kind) names += ", " + k;
      return Bad(c, fmt::format("unknown option '{}' (known: {})", key, names));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseSinksYaml(const std::string& file, const YAML::Node& node,
                            std::vector<SinkConfig>* out) {
  if (!node.IsSequence()) {
    YAML::Mark m = node.Mark();
    return absl::InvalidArgumentError(
        fmt::format("{}:{}:{}: 'sinks' must be a list of sinks (URLs or mappings with url:)", file,
                    m.line + 1, m.column + 1));
  }
  out->clear();
  for (const YAML::Node& item : node) {
    auto c = ParseSinkYaml(file, item);
    if (!c.ok()) return c.status();
    if (absl::Status s = CheckSinkConfig(*c); !s.ok()) return s;
    out->push_back(std::move(*c));
  }
  return absl::OkStatus();
}

absl::StatusOr<SinkConfig> ParseSinkFlag(std::string_view text) {
  SinkConfig c;
  c.origin = "--sink";
  size_t hash = text.find('#');
  c.url = std::string(text.substr(0, hash));
  if (hash == std::string_view::npos) return c;
  std::string_view opts = text.substr(hash + 1);
  while (!opts.empty()) {
    size_t amp = opts.find('&');
    std::string_view kv = opts.substr(0, amp);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      // Neither the option nor the text is shown: either may hold a secret.
      return absl::InvalidArgumentError(fmt::format(
          "--sink '{}': option {} is not KEY=VALUE (options are separated by '&'; a secret "
          "holding '&' can be read from a file: header_file=, password_file=)",
          actions::RedactUrl(c.url), c.options.size() + 1));
    }
    c.options.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    opts = opts.substr(amp + 1);
  }
  return c;
}

absl::StatusOr<SinkConfig> ParseSinkYaml(const std::string& file, const YAML::Node& node) {
  auto at = [&](const YAML::Node& n, const std::string& reason) {
    YAML::Mark m = n.Mark();
    return absl::InvalidArgumentError(
        fmt::format("{}:{}:{}: {}", file, m.line + 1, m.column + 1, reason));
  };
  if (node.IsScalar()) {  // a bare URL
    auto c = ParseSinkFlag(node.Scalar());
    if (c.ok())
      c->origin = fmt::format("{}:{}:{}", file, node.Mark().line + 1, node.Mark().column + 1);
    return c;
  }
  if (!node.IsMap()) return at(node, "each item of 'sinks' must be a URL or a mapping with 'url'");
  SinkConfig c;
  c.origin = fmt::format("{}:{}:{}", file, node.Mark().line + 1, node.Mark().column + 1);
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "url") {
      if (!v.IsScalar()) return at(v, "'url' must be a string");
      c.url = v.Scalar();
    } else if (key == "tags") {
      if (v.IsScalar()) {
        c.options.emplace_back("tag", v.Scalar());
      } else if (v.IsSequence()) {
        for (const YAML::Node& t : v) {
          if (!t.IsScalar()) return at(t, "'tags' must be a list of strings");
          c.options.emplace_back("tag", t.Scalar());
        }
      } else {
        return at(v, "'tags' must be a list of strings");
      }
    } else if (key == "headers" || key == "kafka") {
      if (!v.IsMap()) return at(v, fmt::format("'{}' must be a mapping", key));
      for (const auto& h : v) {
        if (!h.second.IsScalar())
          return at(h.second, fmt::format("'{}' values must be strings", key));
        if (key == "headers") {
          c.options.emplace_back("header",
                                 fmt::format("{}: {}", h.first.Scalar(), h.second.Scalar()));
        } else {
          c.options.emplace_back("kafka." + h.first.Scalar(), h.second.Scalar());
        }
      }
    } else {
      if (!v.IsScalar()) return at(v, fmt::format("sink option '{}' must be a single value", key));
      c.options.emplace_back(key, v.Scalar());
    }
  }
  if (c.url.empty()) return at(node, "a sink needs 'url'");
  // Unknown options are reported at their own line.
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (key == "url" || key == "tags" || key == "headers" || key == "kafka") continue;
    SinkConfig one{c.url, {{key, ""}}, c.origin};
    if (absl::Status s = CheckSinkConfig(one); !s.ok()) {
      std::string_view m = base::Message(s);
      return at(kv.first, std::string(m.substr(m.find("sink '"))));
    }
  }
  return c;
}

std::string DefaultSpoolDir() {
  if (const char* s = std::getenv("STATE_DIRECTORY"); s != nullptr && *s != '\0') {
    std::string first(s);
    return (fs::path(first.substr(0, first.find(':'))) / "spool").string();
  }
  if (::geteuid() == 0) return "/var/lib/kestrel/spool";
  if (const char* x = std::getenv("XDG_STATE_HOME"); x != nullptr && *x != '\0') {
    return (fs::path(x) / "kestrel" / "spool").string();
  }
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    return (fs::path(h) / ".local" / "state" / "kestrel" / "spool").string();
  }
  return "kestrel-spool";
}

absl::StatusOr<std::unique_ptr<actions::SinkSet>> BuildSinks(const std::vector<SinkConfig>& configs,
                                                             const schema::Schema* schema) {
  auto set = std::make_unique<actions::SinkSet>(schema);
  std::set<std::string> spools;
  for (const SinkConfig& c : configs) {
    if (absl::Status s = CheckSinkConfig(c); !s.ok()) return s;
    Options o{c.options};
    actions::SinkFilter filter;
    actions::AlertFormat format = actions::AlertFormat::kKestrel;
    if (auto v = o.Take("format")) {
      auto f = actions::ParseAlertFormat(*v);
      if (!f) return Bad(c, fmt::format("format '{}': expected kestrel or ecs", *v));
      format = *f;
    }
    if (auto v = o.Take("min_severity")) {
      auto s = engine::ParseSeverity(*v);
      if (!s)
        return Bad(c, fmt::format("min_severity '{}': expected low, medium, high or critical", *v));
      filter.min_severity = *s;
    }
    filter.tags = o.TakeAll("tag");
    actions::DeliveryOptions d;
    std::string spool_dir = o.Take("spool_dir").value_or(DefaultSpoolDir());
    if (auto v = o.Take("spool_max")) {
      auto s = ParseSize(*v);
      if (!s.ok()) return Bad(c, fmt::format("spool_max: {}", base::Message(s.status())));
      d.spool_max_bytes = *s;
    }
    if (auto v = o.Take("queue")) {
      auto n = ParseSize(*v);
      if (!n.ok() || *n < 1) return Bad(c, "queue: expected a count of alerts (at least 1)");
      d.queue_capacity = static_cast<size_t>(*n);
    }
    for (auto [key, field] :
         {std::pair{"backoff", &d.backoff_initial}, std::pair{"backoff_max", &d.backoff_max}}) {
      if (auto v = o.Take(key)) {
        auto ns = ParseDuration(*v);
        if (!ns.ok() || *ns < 1'000'000)
          return Bad(c, fmt::format("{}: expected a duration of at least 1ms", key));
        *field = std::chrono::milliseconds(*ns / 1'000'000);
      }
    }
    auto transport = MakeTransport(c, o);
    if (!transport.ok()) return transport.status();
    if (!o.rest.empty()) {
      return Bad(c, fmt::format("unknown option '{}' for this kind of sink (docs/configuration.md)",
                                o.rest.front().first));
    }
    std::string base = SpoolName(c.url);
    std::string name = base;
    for (int n = 2; spools.count(name); ++n) name = fmt::format("{}_{}", base, n);
    spools.insert(name);
    d.spool_path = (fs::path(spool_dir) / (name + ".spool")).string();
    d.drop_notice = set->DropNotice(format, (*transport)->name());
    auto pipeline = actions::SinkPipeline::Start(std::move(*transport), std::move(d));
    if (!pipeline.ok()) return pipeline.status();
    set->Add(std::move(*pipeline), std::move(filter), format);
  }
  return set;
}

std::string SinkSummary(const actions::SinkSet& sinks) {
  std::string out;
  for (const actions::SinkReport& r : sinks.Reports()) {
    out += fmt::format(", sink {}: delivered {}, spooled {}, left in spool {}", r.name,
                       r.stats.delivered, r.stats.spooled, r.stats.spool_pending);
    if (r.stats.spool_dropped + r.stats.queue_dropped > 0) {
      out += fmt::format(", dropped {} (spool full) {} (queue full)", r.stats.spool_dropped,
                         r.stats.queue_dropped);
    }
  }
  return out;
}

void AddSinkMetrics(const actions::SinkSet& sinks, metrics::Snapshot* snapshot) {
  for (const actions::SinkReport& r : sinks.Reports()) {
    metrics::SinkSnapshot s;
    s.name = r.name;
    s.delivered = r.stats.delivered;
    s.failures = r.stats.failures;
    s.spooled = r.stats.spooled;
    s.spool_pending = r.stats.spool_pending;
    s.spool_bytes = r.stats.spool_bytes;
    s.spool_dropped = r.stats.spool_dropped;
    s.queue_dropped = r.stats.queue_dropped;
    s.filtered = r.filtered;
    s.healthy = r.stats.healthy;
    snapshot->sinks.push_back(std::move(s));
  }
}

}  // namespace kestrel::pipeline
