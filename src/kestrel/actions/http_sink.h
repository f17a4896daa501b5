// HttpSink: a webhook. Alerts are POSTed as JSON to an http:// or https:// URL, one alert per
// request (the body is the alert object) or, with batch N > 1, up to N alerts per request (the
// body is a JSON array, in order). Extra headers (e.g. Authorization) are sent with each request.
// A URL's userinfo (`https://USER:PASS@host/...`) is not part of the request line: it becomes HTTP
// basic authentication (`password` replaces PASS when set, e.g. read from a password_file).
// The sink's name, and every message, show the URL through RedactUrl (redact.h): no credential.
//
// Delivered means a 2xx answer. 408, 429 and 5xx answers, timeouts and connection errors are
// retried (the pipeline spools meanwhile). Other 4xx answers mean the receiver will never take
// this batch: it is logged and counted as rejected (SinkStats via rejected()) and skipped, so one
// bad request does not stop all later alerts.
// TLS: https:// uses OpenSSL through cpp-httplib (Debian's build has CPPHTTPLIB_OPENSSL_SUPPORT):
// the server certificate is verified against ca_file (or the system store), unless `insecure`.
// Thread safety: one delivery thread (sink.h). Tested by http_sink_test.cc.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/actions/sink.h"

namespace kestrel::actions {

struct HttpSinkOptions {
  std::string url;  // http://HOST[:PORT]/PATH or https://...
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> password;  // basic authentication's password (user: from the URL)
  size_t batch = 1;
  std::chrono::milliseconds timeout{5000};
  std::string ca_file;    // https: trust these CAs (PEM) instead of the system's
  bool insecure = false;  // https: do not verify the server's certificate
};

class HttpSink final : public Sink {
 public:
  // Errors: a malformed URL.
  static absl::StatusOr<std::unique_ptr<HttpSink>> Open(HttpSinkOptions options);
  ~HttpSink() override;

  const std::string& name() const override { return name_; }
  size_t max_batch() const override { return options_.batch; }
  absl::Status Deliver(std::span<const SinkMessage> batch, size_t* delivered) override;
  void Interrupt() override;  // stops the request under way (the connection is closed)

  uint64_t rejected() const { return rejected_; }

 private:
  struct Impl;
  HttpSink(HttpSinkOptions options, std::unique_ptr<Impl> impl);

  const HttpSinkOptions options_;
  const std::string name_;
  std::unique_ptr<Impl> impl_;
  uint64_t rejected_ = 0;
  std::string body_;
};

}  // namespace kestrel::actions
