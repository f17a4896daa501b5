// KafkaSink; see kafka_sink.h. Tested by kafka_sink_test.cc.
#include "kestrel/actions/kafka_sink.h"

#include <librdkafka/rdkafka.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/actions/redact.h"

namespace kestrel::actions {
namespace {

// One message's delivery report, written by librdkafka's callback (on the thread calling
// rd_kafka_poll/flush: the delivery thread).
struct Report {
  bool done = false;
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
  auto* r = static_cast<Report*>(m->_private);
  if (r == nullptr) return;
  r->done = true;
  r->err = m->err;
}

}  // namespace

struct KafkaSink::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_topic_t* rkt = nullptr;
  std::vector<Report> reports;
  ~Impl() { Destroy(); }
  void Destroy() {
    if (rkt != nullptr) rd_kafka_topic_destroy(rkt);
    if (rk != nullptr) {
      rd_kafka_flush(rk, 1000);
      rd_kafka_destroy(rk);
    }
    rkt = nullptr;
    rk = nullptr;
  }
};

namespace {

absl::Status Create(const KafkaSinkOptions& o, rd_kafka_t** rk_out, rd_kafka_topic_t** rkt_out) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  auto set = [&](const std::string& k, const std::string& v) -> absl::Status {
    if (rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      // A credential's value is never shown (librdkafka's own message does not repeat it).
      return absl::InvalidArgumentError(
          fmt::format("kafka property {}={}: {}", k, IsCredentialName(k) ? kRedacted : v, err));
    }
    return absl::OkStatus();
  };
  std::vector<std::pair<std::string, std::string>> props = {
      {"bootstrap.servers", o.brokers},
      {"enable.idempotence", "true"},
      {"acks", "all"},
      {"linger.ms", "5"},
      {"message.timeout.ms", std::to_string(o.message_timeout.count())},
      {"client.id", "kestrel"},
  };
  props.insert(props.end(), o.properties.begin(), o.properties.end());
  for (const auto& [k, v] : props) {
    if (absl::Status s = set(k, v); !s.ok()) {
      rd_kafka_conf_destroy(conf);
      return s;
    }
  }
  rd_kafka_conf_set_dr_msg_cb(conf, OnDelivery);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  if (rk == nullptr) {
    rd_kafka_conf_destroy(conf);
    return absl::InvalidArgumentError(fmt::format("kafka producer: {}", err));
  }
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, o.topic.c_str(), nullptr);
  if (rkt == nullptr) {
    rd_kafka_destroy(rk);
    return absl::InvalidArgumentError(
        fmt::format("kafka topic '{}': {}", o.topic, rd_kafka_err2str(rd_kafka_last_error())));
  }
  *rk_out = rk;
  *rkt_out = rkt;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<KafkaSink>> KafkaSink::Open(KafkaSinkOptions options) {
  if (options.brokers.empty() || options.topic.empty()) {
    return absl::InvalidArgumentError("kafka sink: expected kafka://BROKER[,BROKER...]/TOPIC");
  }
  auto impl = std::make_unique<Impl>();
  if (absl::Status s = Create(options, &impl->rk, &impl->rkt); !s.ok()) return s;
  return std::unique_ptr<KafkaSink>(new KafkaSink(std::move(options), std::move(impl)));
}

KafkaSink::KafkaSink(KafkaSinkOptions options, std::unique_ptr<Impl> impl)
    : options_(std::move(options)),
      name_(RedactUrl(fmt::format("kafka://{}/{}", options_.brokers, options_.topic))),
      impl_(std::move(impl)) {}

KafkaSink::~KafkaSink() = default;

absl::Status KafkaSink::Deliver(std::span<const SinkMessage> batch, size_t* delivered) {
  *delivered = 0;
  if (impl_->rk == nullptr) {
    if (absl::Status s = Create(options_, &impl_->rk, &impl_->rkt); !s.ok()) return s;
  }
  std::vector<Report>& reports = impl_->reports;
  reports.assign(batch.size(), Report{});
  size_t produced = 0;
  absl::Status produce_error;
  for (size_t i = 0; i < batch.size(); ++i) {
    const SinkMessage& m = batch[i];
    const std::string* key = options_.key == KafkaSinkOptions::Key::kHost   ? &m.host
                             : options_.key == KafkaSinkOptions::Key::kRule ? &m.rule_id
                                                                            : nullptr;
    while (true) {
      int rc = rd_kafka_produce(impl_->rkt, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY,
                                const_cast<char*>(m.body.data()), m.body.size(),
                                key != nullptr && !key->empty() ? key->data() : nullptr,
                                key != nullptr ? key->size() : 0, &reports[i]);
      if (rc == 0) break;
      rd_kafka_resp_err_t err = rd_kafka_last_error();
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(impl_->rk, 100);
        continue;
      }
      produce_error = absl::UnavailableError(
          fmt::format("kafka produce to {}: {}", options_.topic, rd_kafka_err2str(err)));
      break;
    }
    if (!produce_error.ok()) break;
    ++produced;
  }
  // Wait for every report (message.timeout.ms bounds it inside librdkafka).
  auto limit =
      std::chrono::steady_clock::now() + options_.message_timeout + std::chrono::seconds(5);
  while (true) {
    bool all = true;
    for (size_t i = 0; i < produced; ++i) all = all && reports[i].done;
    if (all || std::chrono::steady_clock::now() > limit) break;
    rd_kafka_flush(impl_->rk, 100);
  }
  absl::Status status = produce_error;
  for (size_t i = 0; i < produced; ++i) {
    if (!reports[i].done) {
      status = absl::DeadlineExceededError(fmt::format("kafka {}: no delivery report", name_));
      break;
    }
    if (reports[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = absl::UnavailableError(
          fmt::format("kafka {}: {}", name_, rd_kafka_err2str(reports[i].err)));
      break;
    }
    ++*delivered;
  }
  char errstr[512];
  if (rd_kafka_resp_err_t fatal = rd_kafka_fatal_error(impl_->rk, errstr, sizeof(errstr));
      fatal != RD_KAFKA_RESP_ERR_NO_ERROR) {
    spdlog::warn("kafka {}: fatal producer error ({}); the producer is recreated", name_, errstr);
    rd_kafka_purge(impl_->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(impl_->rk, 0);
    impl_->Destroy();
  } else if (*delivered < produced) {
    // Messages still in librdkafka's queue would be delivered again by the retry (and their
    // reports would point at reused memory): purge them first.
    rd_kafka_purge(impl_->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(impl_->rk, 0);
  }
  return status;
}

}  // namespace kestrel::actions
