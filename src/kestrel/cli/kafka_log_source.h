// `kestrel replay --source kafka://BROKER[,BROKER...]/TOPIC[#group=G&idle=10s&max_logs=N
// &join_timeout=30s&kafka.PROPERTY=V]`:
// recorded event logs (`kestrel record` files, one log per Kafka message, keyed by host)
// fetched from a topic by a consumer group, so that several replay instances share a fleet's
// logs (each gets a share of the partitions; one host's logs stay in one partition, in order).
//
// One pass: join the group, read every message of the assigned partitions up to their current
// end (or until `idle` passes without a message), write each log to a work directory, replay
// them (in partition, offset order), and only then commit the offsets — so a replay that fails
// or is killed is done again by the next instance (at least once). docs/deployment.md.
// Tested by kafka_log_source_test.cc (librdkafka's mock cluster).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kestrel::cli {

struct KafkaLogSourceOptions {
  std::string brokers;
  std::string topic;
  std::string group = "kestrel-replay";
  std::chrono::milliseconds idle{10'000};  // counted from the partition assignment
  // How long to wait for the group to assign partitions (an instance beyond the partition
  // count gets none: it replays nothing).
  std::chrono::milliseconds join_timeout{30'000};
  size_t max_logs = 0;   // 0: no limit
  std::string work_dir;  // where fetched logs are written (removed by the caller)
  std::vector<std::pair<std::string, std::string>> properties;  // extra librdkafka settings
};

// "kafka://BROKERS/TOPIC#options" -> options (work_dir unset). Errors: INVALID_ARGUMENT.
absl::StatusOr<KafkaLogSourceOptions> ParseKafkaLogSource(std::string_view spec);

class KafkaLogFetcher {
 public:
  static absl::StatusOr<std::unique_ptr<KafkaLogFetcher>> Open(KafkaLogSourceOptions options);
  ~KafkaLogFetcher();

  // Fetches the logs of this instance's partitions; returns their paths in (partition, offset)
  // order. Errors: Kafka errors (unreachable brokers after `idle`, unknown topic), I/O.
  absl::StatusOr<std::vector<std::string>> Fetch();
  // Commits the offsets of everything Fetch() returned (call after a successful replay).
  absl::Status Commit();

 private:
  struct Impl;
  explicit KafkaLogFetcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kestrel::cli
