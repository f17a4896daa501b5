// SyslogSink: each alert as one RFC 5424 syslog message, over UDP (RFC 5426), TCP with octet
// counting framing (RFC 6587 3.4.1) or a unix socket (datagram, else stream as TCP).
//
//   <PRI>1 TIMESTAMP HOSTNAME kestrel PROCID alert - MSG
//
// PRI = facility * 8 + level; level from the alert's severity: critical 2 (crit), high 3 (err),
// medium 4 (warning), low 5 (notice). TIMESTAMP is the alert's event time (RFC 3339, UTC,
// microseconds); HOSTNAME the alert's host.name, else this machine's name; MSG the formatted
// alert (JSON). UDP datagrams are cut at max_message bytes (RFC 5426 allows truncation).
//
// What "delivered" means: syslog has no acknowledgement. UDP delivery is best effort (a refused
// port is noticed through ICMP on a later send); TCP notices a server that closed the connection
// before each batch (and reconnects), so an orderly outage loses nothing, but bytes accepted by
// the kernel when the server dies abruptly can be lost. Use http or kafka sinks for confirmed
// delivery (docs/deployment.md).
// Thread safety: one delivery thread (sink.h). Tested by syslog_sink_test.cc.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kestrel/actions/sink.h"

namespace kestrel::actions {

struct SyslogSinkOptions {
  enum class Transport : uint8_t { kUdp, kTcp, kUnix };
  Transport transport = Transport::kUdp;
  std::string host;  // kUdp, kTcp
  uint16_t port = 514;
  std::string socket_path;  // kUnix
  int facility = 16;        // local0
  std::string app_name = "kestrel";
  size_t max_message = 65000;
};

class SyslogSink final : public Sink {
 public:
  // Resolves the address; connects lazily (a server down at start is an outage, not an error).
  static absl::StatusOr<std::unique_ptr<SyslogSink>> Open(SyslogSinkOptions options);
  ~SyslogSink() override;

  const std::string& name() const override { return name_; }
  size_t max_batch() const override { return 64; }
  absl::Status Deliver(std::span<const SinkMessage> batch, size_t* delivered) override;

  // The RFC 5424 message for `m` (exposed for tests).
  std::string Format(const SinkMessage& m) const;

 private:
  explicit SyslogSink(SyslogSinkOptions options);
  absl::Status Connect();
  void Disconnect();
  bool PeerClosed() const;

  const SyslogSinkOptions options_;
  const std::string name_;
  std::string local_host_;
  int pid_ = 0;
  int fd_ = -1;
  bool stream_ = false;
  std::string buf_;
};

}  // namespace kestrel::actions
