// KafkaSink: alerts as Kafka messages through librdkafka, with the idempotent producer
// (enable.idempotence: no duplicates from the producer's own retries, order kept per partition).
//
// Deliver() produces the batch, then waits (rd_kafka_flush) for every message's delivery report:
// the delivered prefix is the messages up to the first failed report, so the delivery reports
// are what consumes the spool (delivery.h). A broker outage shorter than message_timeout is
// ridden out inside librdkafka; a longer one fails the batch, which the pipeline spools and
// retries. A fatal producer error (idempotence state lost) recreates the producer.
// Key: the alert's host.name (partitioning by host keeps one host's alerts in order), its rule
// id, or none. Extra librdkafka properties can be set (`properties`).
// Thread safety: one delivery thread (sink.h). Tested by kafka_sink_test.cc (librdkafka's mock
// cluster, with broker failure injected).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/actions/sink.h"

namespace kestrel::actions {

struct KafkaSinkOptions {
  std::string brokers;  // bootstrap.servers
  std::string topic;
  enum class Key : uint8_t { kHost, kRule, kNone };
  Key key = Key::kHost;
  std::chrono::milliseconds message_timeout{30'000};
  std::vector<std::pair<std::string, std::string>> properties;
};

class KafkaSink final : public Sink {
 public:
  // Errors: a bad property (librdkafka's message).
  static absl::StatusOr<std::unique_ptr<KafkaSink>> Open(KafkaSinkOptions options);
  ~KafkaSink() override;

  const std::string& name() const override { return name_; }
  size_t max_batch() const override { return 500; }
  absl::Status Deliver(std::span<const SinkMessage> batch, size_t* delivered) override;

 private:
  struct Impl;
  KafkaSink(KafkaSinkOptions options, std::unique_ptr<Impl> impl);

  const KafkaSinkOptions options_;
  const std::string name_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kestrel::actions
