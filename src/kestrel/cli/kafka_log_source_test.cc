// `kestrel replay --source kafka://...` against librdkafka's mock cluster: recorded logs shipped
// as messages (keyed by host) are fetched and replayed, giving the alerts of replaying the files
// themselves; offsets are committed after the replay, so the same group does not replay them
// again while another group does.
#include "kestrel/cli/kafka_log_source.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kestrel/cli/replay_command.h"
#include "kestrel/event/event.h"
#include "kestrel/log/log_writer.h"

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream s(text);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

class KafkaLogSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kestrel_kafka_src.XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    fs::create_directory(dir_ + "/rules");
    std::ofstream(dir_ + "/rules/curl.eql") << "process where process.name == \"curl\"\n";
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    cluster_ = rd_kafka_mock_cluster_new(rk_, 1);
    rd_kafka_mock_topic_create(cluster_, "logs", 2, 1);
  }
  void TearDown() override {
    rd_kafka_mock_cluster_destroy(cluster_);
    rd_kafka_destroy(rk_);
    fs::remove_all(dir_);
  }

  // A log of `n` process events of `host`, every third a curl.
  std::string WriteLog(const std::string& name, const std::string& host, int n, int64_t t0) {
    schema::Schema schema;
    std::string path = dir_ + "/" + name;
    auto writer = log::LogWriter::Create(path, schema, {}, {});
    EXPECT_TRUE(writer.ok());
    for (int i = 0; i < n; ++i) {
      event::EventBuilder b(schema);
      b.Time(t0 + i * 1'000'000'000LL)
          .Category("process")
          .Str("host.name", host)
          .Str("process.entity_id", fmt::format("{}-{}", host, i))
          .Str("process.name", i % 3 == 0 ? "curl" : "bash");
      EXPECT_TRUE((*writer)->Append(b.Build()).ok());
    }
    EXPECT_TRUE((*writer)->Close().ok());
    return path;
  }

  // Ships `files` to the topic, one message each, keyed by host (what `kcat -P -k HOST` does).
  void Ship(const std::vector<std::pair<std::string, std::string>>& files) {
    char err[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", rd_kafka_mock_cluster_bootstraps(cluster_), err,
                      sizeof(err));
    rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
    rd_kafka_t* p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    for (const auto& [host, file] : files) {
      std::string bytes = ReadFile(file);
      ASSERT_EQ(
          rd_kafka_producev(p, RD_KAFKA_V_TOPIC("logs"), RD_KAFKA_V_KEY(host.data(), host.size()),
                            RD_KAFKA_V_VALUE(bytes.data(), bytes.size()),
                            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
          RD_KAFKA_RESP_ERR_NO_ERROR);
    }
    ASSERT_EQ(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
  }

  int ReplayKafka(const std::string& group, const std::string& out) {
    ReplayCommandOptions o;
    o.source = fmt::format(
        "kafka://{}/"
        "logs#group={}&idle=3s&kafka.log_level=0&kafka.session.timeout.ms=6000&kafka.heartbeat."
        "interval.ms=500",
        rd_kafka_mock_cluster_bootstraps(cluster_), group);
    o.rules_dir = dir_ + "/rules";
    o.output = out;
    return Replay(o);
  }

  std::string dir_;
  rd_kafka_t* rk_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
};

TEST_F(KafkaLogSourceTest, ReplaysShippedLogsOncePerGroup) {
  std::string a1 = WriteLog("a1.klog", "host-a", 9, 1'795'946'400'000'000'000);
  std::string a2 = WriteLog("a2.klog", "host-a", 6, 1'795'946'500'000'000'000);
  std::string b1 = WriteLog("b1.klog", "host-b", 12, 1'795'946'450'000'000'000);
  Ship({{"host-a", a1}, {"host-b", b1}, {"host-a", a2}});

  // What replaying the files gives (3 + 2 + 4 curl alerts).
  ReplayCommandOptions direct;
  direct.logs = {a1, b1, a2};
  direct.rules_dir = dir_ + "/rules";
  direct.output = dir_ + "/direct.jsonl";
  ASSERT_EQ(Replay(direct), 0);
  std::string expected = ReadFile(dir_ + "/direct.jsonl");
  ASSERT_EQ(SortedLines(expected).size(), 9u);

  ASSERT_EQ(ReplayKafka("hunt", dir_ + "/kafka.jsonl"), 0);
  EXPECT_EQ(SortedLines(ReadFile(dir_ + "/kafka.jsonl")), SortedLines(expected));

  // Committed: the same group finds nothing new...
  ASSERT_EQ(ReplayKafka("hunt", dir_ + "/again.jsonl"), 0);
  EXPECT_EQ(ReadFile(dir_ + "/again.jsonl"), "");
  // ...while another group replays everything.
  ASSERT_EQ(ReplayKafka("other", dir_ + "/other.jsonl"), 0);
  EXPECT_EQ(SortedLines(ReadFile(dir_ + "/other.jsonl")), SortedLines(expected));
}

TEST(KafkaLogSource, ParsesTheSpec) {
  auto o = ParseKafkaLogSource("kafka://k1:9092,k2:9092/fleet-logs#group=g&idle=2s&max_logs=5");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->brokers, "k1:9092,k2:9092");
  EXPECT_EQ(o->topic, "fleet-logs");
  EXPECT_EQ(o->group, "g");
  EXPECT_EQ(o->idle, std::chrono::milliseconds(2000));
  EXPECT_EQ(o->max_logs, 5u);
  EXPECT_FALSE(ParseKafkaLogSource("kafka://k1:9092").ok());
  EXPECT_FALSE(ParseKafkaLogSource("kafka://k1/t#bogus=1").ok());
  EXPECT_FALSE(ParseKafkaLogSource("file:/x").ok());
  // A malformed spec is quoted without its options, which may hold a password.
  auto bad = ParseKafkaLogSource("kafka://k1:9092#kafka.sasl.password=hunter2");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().find("hunter2"), std::string::npos) << bad.status();
  EXPECT_NE(bad.status().message().find("kafka://k1:9092#..."), std::string::npos);
}

}  // namespace
}  // namespace kestrel::cli
