// Sink: a transport that delivers alert messages somewhere (a file, syslog, a webhook, Kafka),
// and SinkMessage, one alert already formatted for it.
//
// A Sink is driven by one delivery thread (delivery.h): it is never called from the engine's
// threads, and never from two threads at once. Deliver() either delivers a prefix of the batch
// or fails; what it did not deliver is retried later (spooled to disk meanwhile), so a sink must
// not reorder a batch. Delivery is at least once: a message may be delivered again after an
// error that hid its success (a lost HTTP response, a Kafka delivery report timeout).
// Implementations: file_sink.h, syslog_sink.h, http_sink.h, kafka_sink.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace kestrel::actions {

struct SinkMessage {
  std::string host;      // host.name of the alert's last event ("" if none): a partition key
  std::string rule_id;   // the alert's rule: the other partition key
  std::string body;      // the formatted alert (one JSON document, no newline)
  uint8_t severity = 1;  // engine::Severity as a number (syslog maps it to a level)
  int64_t time_ns = 0;   // the alert's event time
};

class Sink {
 public:
  virtual ~Sink() = default;
  // A name for logs and metrics, e.g. "syslog+tcp://127.0.0.1:514".
  virtual const std::string& name() const = 0;
  // The most messages one Deliver() call should be given (>= 1).
  virtual size_t max_batch() const { return 1; }
  // Delivers `batch` in order. Sets *delivered to the number of messages, from the front, known
  // to be delivered (batch.size() on OK). Errors: the destination is unreachable or refused the
  // rest; the caller retries from batch[*delivered] later.
  [[nodiscard]] virtual absl::Status Deliver(std::span<const SinkMessage> batch,
                                             size_t* delivered) = 0;
  // Called by the delivery thread when it has nothing to do for a while (flush buffers, rotate
  // files by time). Errors are logged by the caller.
  [[nodiscard]] virtual absl::Status Idle() { return absl::OkStatus(); }
  // Called from another thread (SinkPipeline::Close, past its deadline) while Deliver() may be
  // blocked on a destination that does not answer: makes it fail soon, so that what it holds
  // goes to the spool. Afterwards the sink is only destroyed. Default: nothing (sinks whose
  // Deliver() cannot block for long).
  virtual void Interrupt() {}
};

}  // namespace kestrel::actions
