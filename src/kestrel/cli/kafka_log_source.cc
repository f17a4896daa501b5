// KafkaLogFetcher; see kafka_log_source.h. Tested by kafka_log_source_test.cc.
#include "kestrel/cli/kafka_log_source.h"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/actions/redact.h"

#include "kestrel/base/status.h"
#include "kestrel/cli/run_command.h"

namespace kestrel::cli {

namespace {

// The spec as it may be printed: its options (`#...`, which may hold kafka.sasl.password=...)
// are never shown.
std::string Shown(std::string_view spec) {
  size_t hash = spec.find('#');
  return hash == std::string_view::npos ? std::string(spec)
                                        : std::string(spec.substr(0, hash)) + "#...";
}

}  // namespace

absl::StatusOr<KafkaLogSourceOptions> ParseKafkaLogSource(std::string_view spec) {
  KafkaLogSourceOptions o;
  if (!spec.starts_with("kafka://")) {
    return absl::InvalidArgumentError(fmt::format(
        "--source '{}': expected kafka://BROKER[,BROKER...]/TOPIC[#options]", Shown(spec)));
  }
  std::string_view rest = spec.substr(8);
  std::string_view opts;
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    opts = rest.substr(hash + 1);
    rest = rest.substr(0, hash);
  }
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 >= rest.size()) {
    return absl::InvalidArgumentError(
        fmt::format("--source '{}': expected kafka://BROKER[,BROKER...]/TOPIC", Shown(spec)));
  }
  o.brokers = std::string(rest.substr(0, slash));
  o.topic = std::string(rest.substr(slash + 1));
  while (!opts.empty()) {
    size_t amp = opts.find('&');
    std::string_view kv = opts.substr(0, amp);
    size_t eq = kv.find('=');
    std::string key(kv.substr(0, eq));
    std::string value(eq == std::string_view::npos ? "" : kv.substr(eq + 1));
    if (eq == std::string_view::npos) {
      return absl::InvalidArgumentError(fmt::format("--source: option '{}' is not KEY=VALUE", kv));
    }
    if (key == "group") {
      o.group = value;
    } else if (key == "idle") {
      auto ns = pipeline::ParseDuration(value);
      if (!ns.ok()) return ns.status();
      o.idle = std::chrono::milliseconds(*ns / 1'000'000);
    } else if (key == "join_timeout") {
      auto ns = pipeline::ParseDuration(value);
      if (!ns.ok()) return ns.status();
      o.join_timeout = std::chrono::milliseconds(*ns / 1'000'000);
    } else if (key == "max_logs") {
      o.max_logs = static_cast<size_t>(std::strtoull(value.c_str(), nullptr, 10));
    } else if (key.rfind("kafka.", 0) == 0) {
      o.properties.emplace_back(key.substr(6), value);
    } else {
      return absl::InvalidArgumentError(
          fmt::format("--source: unknown option '{}' (known: group, idle, join_timeout, max_logs, "
                      "kafka.PROPERTY)",
                      key));
    }
    if (amp == std::string_view::npos) break;
    opts = opts.substr(amp + 1);
  }
  return o;
}

struct KafkaLogFetcher::Impl {
  KafkaLogSourceOptions options;
  rd_kafka_t* rk = nullptr;
  // Highest fetched offset per partition (committed as offset + 1).
  std::map<int32_t, int64_t> fetched;
  ~Impl() {
    if (rk != nullptr) {
      rd_kafka_consumer_close(rk);
      rd_kafka_destroy(rk);
    }
  }
};

absl::StatusOr<std::unique_ptr<KafkaLogFetcher>> KafkaLogFetcher::Open(
    KafkaLogSourceOptions options) {
  auto impl = std::make_unique<Impl>();
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", options.brokers}, {"group.id", options.group},
      {"enable.auto.commit", "false"},        {"auto.offset.reset", "earliest"},
      {"enable.partition.eof", "true"},       {"fetch.message.max.bytes", "67108864"},
      {"client.id", "kestrel-replay"},
  };
  props.insert(props.end(), options.properties.begin(), options.properties.end());
  for (const auto& [k, v] : props) {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return absl::InvalidArgumentError(
          fmt::format("kafka property {}={}: {}", k,
                      actions::IsCredentialName(k) ? actions::kRedacted : v, err));
    }
  }
  impl->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
  if (impl->rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(fmt::format("kafka consumer: {}", err));
  }
  rd_kafka_poll_set_consumer(impl->rk);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, options.topic.c_str(), RD_KAFKA_PARTITION_UA);
  rd_kafka_resp_err_t e = rd_kafka_subscribe(impl->rk, topics);
  rd_kafka_topic_partition_list_destroy(topics);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        fmt::format("kafka subscribe to {}: {}", options.topic, rd_kafka_err2str(e)));
  }
  impl->options = std::move(options);
  return std::unique_ptr<KafkaLogFetcher>(new KafkaLogFetcher(std::move(impl)));
}

KafkaLogFetcher::KafkaLogFetcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
KafkaLogFetcher::~KafkaLogFetcher() = default;

absl::StatusOr<std::vector<std::string>> KafkaLogFetcher::Fetch() {
  const KafkaLogSourceOptions& o = impl_->options;
  std::error_code ec;
  std::filesystem::create_directories(o.work_dir, ec);
  std::vector<std::tuple<int32_t, int64_t, std::string>> logs;
  std::set<int32_t> at_end;
  auto start = std::chrono::steady_clock::now();
  auto last_message = start;
  bool joined = false;
  while (o.max_logs == 0 || logs.size() < o.max_logs) {
    // Done when every assigned partition has reached its end.
    rd_kafka_topic_partition_list_t* assigned = nullptr;
    if (rd_kafka_assignment(impl_->rk, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        assigned != nullptr) {
      bool all = assigned->cnt > 0;
      for (int i = 0; i < assigned->cnt; ++i) {
        all = all && at_end.count(assigned->elems[i].partition) > 0;
      }
      if (assigned->cnt > 0 && !joined) {
        joined = true;  // the idle time counts from the assignment
        last_message = std::chrono::steady_clock::now();
      }
      rd_kafka_topic_partition_list_destroy(assigned);
      if (all) break;
    }
    auto now = std::chrono::steady_clock::now();
    if (!joined && now - start > o.join_timeout) {
      spdlog::info("kafka {}: no partition assigned to this instance after {} ms", o.topic,
                   o.join_timeout.count());
      break;
    }
    if (joined && now - last_message > o.idle) break;
    rd_kafka_message_t* m = rd_kafka_consumer_poll(impl_->rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
    } else if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::string why = rd_kafka_message_errstr(m);
      bool fatal = m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                   m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
      rd_kafka_message_destroy(m);
      if (fatal) return absl::NotFoundError(fmt::format("kafka {}: {}", o.topic, why));
      spdlog::warn("kafka {}: {}", o.topic, why);
      continue;
    } else {
      last_message = std::chrono::steady_clock::now();
      at_end.erase(m->partition);
      std::string path =
          fmt::format("{}/p{:05d}-o{:012d}.klog", o.work_dir, m->partition, m->offset);
      std::ofstream out(path, std::ios::binary);
      out.write(static_cast<const char*>(m->payload), static_cast<std::streamsize>(m->len));
      out.close();
      if (!out) {
        rd_kafka_message_destroy(m);
        return absl::UnavailableError(fmt::format("cannot write '{}'", path));
      }
      logs.emplace_back(m->partition, m->offset, path);
      int64_t& hi = impl_->fetched[m->partition];
      hi = std::max(hi, m->offset + 1);
    }
    rd_kafka_message_destroy(m);
  }
  std::sort(logs.begin(), logs.end());
  std::vector<std::string> paths;
  for (auto& [p, off, path] : logs) paths.push_back(std::move(path));
  return paths;
}

absl::Status KafkaLogFetcher::Commit() {
  if (impl_->fetched.empty()) return absl::OkStatus();
  rd_kafka_topic_partition_list_t* offsets =
      rd_kafka_topic_partition_list_new(static_cast<int>(impl_->fetched.size()));
  for (const auto& [partition, next] : impl_->fetched) {
    rd_kafka_topic_partition_list_add(offsets, impl_->options.topic.c_str(), partition)->offset =
        next;
  }
  rd_kafka_resp_err_t e = rd_kafka_commit(impl_->rk, offsets, 0);
  rd_kafka_topic_partition_list_destroy(offsets);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(fmt::format("kafka commit: {}", rd_kafka_err2str(e)));
  }
  return absl::OkStatus();
}

}  // namespace kestrel::cli
