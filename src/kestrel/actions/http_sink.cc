// HttpSink; see http_sink.h. The one file of kestrel_actions that includes cpp-httplib.
// Tested by http_sink_test.cc.
#include "kestrel/actions/http_sink.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "httplib.h"
#include "kestrel/actions/redact.h"

namespace kestrel::actions {

struct HttpSink::Impl {
  std::unique_ptr<httplib::Client> client;
  std::string path;
  httplib::Headers headers;
};

namespace {

std::string PercentDecoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned v = 0;
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      v = static_cast<unsigned>(std::stoul(std::string(s.substr(i + 1, 2)), nullptr, 16));
      out.push_back(static_cast<char>(v));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<HttpSink>> HttpSink::Open(HttpSinkOptions options) {
  bool tls = std::string_view(options.url).starts_with("https://");
  if (!tls && !std::string_view(options.url).starts_with("http://")) {
    return absl::InvalidArgumentError(
        fmt::format("webhook URL '{}': expected http:// or https://", RedactUrl(options.url)));
  }
  size_t host_start = tls ? 8 : 7;
  // USER[:PASS]@ before the host: basic authentication, taken out of the URL.
  std::string without_userinfo = options.url;
  std::optional<std::pair<std::string, std::string>> basic;
  {
    size_t end = options.url.find_first_of("/?#", host_start);
    size_t at = options.url.rfind('@', end == std::string::npos ? std::string::npos : end);
    if (at != std::string::npos && at >= host_start) {
      std::string_view info = std::string_view(options.url).substr(host_start, at - host_start);
      size_t colon = info.find(':');
      basic.emplace(PercentDecoded(info.substr(0, colon)),
                    colon == std::string_view::npos ? "" : PercentDecoded(info.substr(colon + 1)));
      without_userinfo = options.url.substr(0, host_start) + options.url.substr(at + 1);
    }
  }
  if (options.password) {
    if (!basic) {
      return absl::InvalidArgumentError(
          fmt::format("webhook URL '{}': a password needs the user name in the URL "
                      "(http(s)://USER@HOST/...)",
                      RedactUrl(options.url)));
    }
    basic->second = *options.password;
  }
  std::string_view url = without_userinfo;
  size_t slash = url.find('/', host_start);
  std::string_view host_port =
      url.substr(host_start, slash == std::string_view::npos ? url.npos : slash - host_start);
  if (host_port.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("webhook URL '{}': no host", RedactUrl(options.url)));
  }
  if (options.batch < 1) return absl::InvalidArgumentError("webhook batch must be at least 1");
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
  if (tls) return absl::InvalidArgumentError("this build of cpp-httplib has no TLS support");
#endif
  auto impl = std::make_unique<Impl>();
  impl->client = std::make_unique<httplib::Client>(std::string(url.substr(0, slash)));
  impl->path = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(options.timeout);
  auto usecs = std::chrono::duration_cast<std::chrono::microseconds>(options.timeout - secs);
  impl->client->set_connection_timeout(secs.count(), usecs.count());
  impl->client->set_read_timeout(secs.count(), usecs.count());
  impl->client->set_write_timeout(secs.count(), usecs.count());
  // One connection per request: with keep-alive, cpp-httplib 0.11 stalled every request after
  // the server restarted (the outage test caught it).
  impl->client->set_keep_alive(false);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
  if (tls) {
    if (!options.ca_file.empty()) impl->client->set_ca_cert_path(options.ca_file.c_str());
    impl->client->enable_server_certificate_verification(!options.insecure);
  }
#endif
  if (basic) impl->client->set_basic_auth(basic->first.c_str(), basic->second.c_str());
  for (const auto& [k, v] : options.headers) impl->headers.emplace(k, v);
  return std::unique_ptr<HttpSink>(new HttpSink(std::move(options), std::move(impl)));
}

HttpSink::HttpSink(HttpSinkOptions options, std::unique_ptr<Impl> impl)
    : options_(std::move(options)), name_(RedactUrl(options_.url)), impl_(std::move(impl)) {}

HttpSink::~HttpSink() = default;

void HttpSink::Interrupt() { impl_->client->stop(); }

absl::Status HttpSink::Deliver(std::span<const SinkMessage> batch, size_t* delivered) {
  *delivered = 0;
  if (batch.empty()) return absl::OkStatus();
  body_.clear();
  if (options_.batch == 1) {
    body_ = batch[0].body;
  } else {
    body_.push_back('[');
    for (size_t i = 0; i < batch.size(); ++i) {
      if (i > 0) body_.push_back(',');
      body_.append(batch[i].body);
    }
    body_.push_back(']');
  }
  auto res = impl_->client->Post(impl_->path, impl_->headers, body_, "application/json");
  if (!res) {
    return absl::UnavailableError(
        fmt::format("POST {}: {}", name_, httplib::to_string(res.error())));
  }
  int status = res->status;
  if (status >= 200 && status < 300) {
    *delivered = batch.size();
    return absl::OkStatus();
  }
  if (status == 408 || status == 429 || status >= 500 || status < 200) {
    return absl::UnavailableError(fmt::format("POST {}: HTTP {}", name_, status));
  }
  rejected_ += batch.size();
  spdlog::error("webhook {}: HTTP {} for {} alert(s): rejected, not retried ({} so far)", name_,
                status, batch.size(), rejected_);
  *delivered = batch.size();
  return absl::OkStatus();
}

}  // namespace kestrel::actions
