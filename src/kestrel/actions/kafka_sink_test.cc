// KafkaSink against librdkafka's mock cluster (a real Kafka protocol endpoint in process):
// messages keyed by host, read back by a consumer; a broker outage within message.timeout.ms
// ridden out by librdkafka; a longer one failing delivery reports, which sends the alerts to
// the spool, delivered in order once the broker is back.
#include "kestrel/actions/kafka_sink.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "kestrel/actions/delivery.h"
#include "kestrel/actions/sink_test_util.h"

namespace kestrel::actions {
namespace {

using namespace std::chrono_literals;
using testing::WaitFor;

SinkMessage KafkaMsg(int n, std::string host = "web-1") {
  SinkMessage m;
  m.host = std::move(host);
  m.rule_id = "rule-" + std::to_string(n % 2);
  m.body = "{\"n\":" + std::to_string(n) + "}";
  return m;
}

class MockCluster {
 public:
  MockCluster() {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    cluster_ = rd_kafka_mock_cluster_new(rk_, 1);
    rd_kafka_mock_topic_create(cluster_, "alerts", 4, 1);
  }
  ~MockCluster() {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
  }
  std::string bootstraps() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }
  void Down() { rd_kafka_mock_broker_set_down(cluster_, 1); }
  void Up() { rd_kafka_mock_broker_set_up(cluster_, 1); }

  // Every message of `topic` (partitions 0..3) as (partition, key, value), per partition in
  // offset order.
  std::vector<std::tuple<int, std::string, std::string>> ReadAll(const std::string& topic,
                                                                 size_t expected) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstraps().c_str(), err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "test", err, sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rd_kafka_t* c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    rd_kafka_topic_partition_list_t* parts = rd_kafka_topic_partition_list_new(4);
    for (int p = 0; p < 4; ++p) {
      rd_kafka_topic_partition_list_add(parts, topic.c_str(), p)->offset =
          RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(c, parts);
    rd_kafka_topic_partition_list_destroy(parts);
    std::vector<std::tuple<int, std::string, std::string>> out;
    auto end = std::chrono::steady_clock::now() + 20s;
    while (out.size() < expected && std::chrono::steady_clock::now() < end) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 100);
      if (m == nullptr) continue;
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        out.emplace_back(m->partition, std::string(static_cast<const char*>(m->key), m->key_len),
                         std::string(static_cast<const char*>(m->payload), m->len));
      }
      rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return out;
  }

 private:
  rd_kafka_t* rk_;
  rd_kafka_mock_cluster_t* cluster_;
};

// Messages of one host go to one partition (key = host), in order.
TEST(KafkaSink, KeyedByHostInOrder) {
  MockCluster cluster;
  KafkaSinkOptions o;
  o.brokers = cluster.bootstraps();
  o.topic = "alerts";
  o.properties = {{"log_level", "0"}};
  auto sink = KafkaSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.status();
  std::vector<SinkMessage> batch;
  for (int i = 0; i < 40; ++i) batch.push_back(KafkaMsg(i, i % 2 == 0 ? "web-1" : "db-1"));
  size_t delivered = 0;
  absl::Status s = (*sink)->Deliver(batch, &delivered);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(delivered, 40u);
  auto got = cluster.ReadAll("alerts", 40);
  ASSERT_EQ(got.size(), 40u);
  std::map<std::string, int> partition_of;
  std::map<std::string, std::vector<std::string>> by_host;
  for (const auto& [p, key, value] : got) {
    if (partition_of.count(key)) {
      EXPECT_EQ(partition_of[key], p) << key;
    }
    partition_of[key] = p;
    by_host[key].push_back(value);
  }
  ASSERT_EQ(by_host["web-1"].size(), 20u);
  ASSERT_EQ(by_host["db-1"].size(), 20u);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(by_host["web-1"][i], KafkaMsg(2 * i).body);
    EXPECT_EQ(by_host["db-1"][i], KafkaMsg(2 * i + 1).body);
  }
}

// Broker down longer than message.timeout.ms: delivery reports fail, the pipeline spools, and
// after the broker is back everything arrives, in order, at least once.
TEST(KafkaSink, BrokerOutageGoesThroughTheSpool) {
  MockCluster cluster;
  KafkaSinkOptions o;
  o.brokers = cluster.bootstraps();
  o.topic = "alerts";
  o.message_timeout = 500ms;
  o.properties = {{"log_level", "0"}};
  auto sink = KafkaSink::Open(o);
  ASSERT_TRUE(sink.ok());
  DeliveryOptions d;
  d.spool_path = testing::TempDir("kafka-outage") + "/spool";
  d.backoff_initial = 50ms;
  d.backoff_max = 300ms;
  auto p = SinkPipeline::Start(std::move(*sink), d);
  ASSERT_TRUE(p.ok());
  int n = 0;
  auto send_for = [&](std::chrono::milliseconds t) {
    ASSERT_TRUE(testing::OfferFor(
        **p, [](int i) { return KafkaMsg(i); }, &n, t, 10ms));
  };
  send_for(300ms);
  cluster.Down();
  send_for(2000ms);
  ASSERT_TRUE(WaitFor([&] { return (*p)->stats().spooled > 0; }, 5s));
  EXPECT_GT((*p)->stats().failures, 0u);
  cluster.Up();
  send_for(300ms);
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }, 30s));
  EXPECT_EQ((*p)->stats().spool_dropped, 0u);
  auto got = cluster.ReadAll("alerts", static_cast<size_t>(n));
  std::vector<std::string> bodies;
  for (const auto& [partition, key, value] : got)
    bodies.push_back(value);  // one key: one partition
  EXPECT_EQ(testing::CheckInOrderAtLeastOnce(bodies, n), "");
}

}  // namespace
}  // namespace kestrel::actions
