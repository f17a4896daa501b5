// `kestrel replay` reproducibility: the same log and rules give the same alert bytes on every run
// and with any number of workers, and --from/--to select by event time.
#include "kestrel/cli/replay_command.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <string>

#include <fmt/format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kestrel/event/event.h"
#include "kestrel/log/log_writer.h"

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;

class ReplayCommandTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string tmpl = (fs::temp_directory_path() / "kestrel_replay_cmd.XXXXXX").string();
    dir_ = new std::string(::mkdtemp(tmpl.data()));
    WriteRules();
    WriteLog();
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static std::string File(std::string_view name) { return (fs::path(*dir_) / name).string(); }

  static void WriteRules() {
    fs::create_directory(File("rules"));
    std::map<std::string, std::string> rules = {
        {"single.eql",
         "process where process.name in (\"curl\", \"wget\") and user.name == \"root\""},
        {"wild.eql", "file where file.path : \"/tmp/*\""},
        {"seq.eql",
         "sequence by process.entity_id with maxspan=5s\n"
         "  [process where process.name == \"bash\"]\n  [file where file.path : \"/tmp/*\"]"},
        {"seq_until.eql",
         "sequence by host.name with maxspan=30s\n"
         "  [process where process.name == \"curl\"]\n  [network where destination.port == 443]\n"
         "until [process where process.name == \"reboot\"]"},
        {"unbounded.eql",
         "sequence\n  [process where process.name == \"wget\"]\n  [process where process.name == "
         "\"sh\"]"},
        {"unique.eql",
         "process where process.name == \"bash\" | unique process.parent.name | head 50"},
    };
    for (const auto& [name, query] : rules) {
      std::ofstream(File("rules/" + name)) << "// severity: medium\n" << query << "\n";
    }
  }

  // 40,000 events of 8 hosts and 300 processes, deterministic.
  static void WriteLog() {
    schema::Schema schema;
    auto writer = log::LogWriter::Create(File("events.klog"), schema, {}, {});
    ASSERT_TRUE(writer.ok()) << writer.status();
    std::mt19937_64 rng(1);
    const char* names[] = {"bash", "curl", "wget", "sh", "python3", "reboot", "cron"};
    const char* users[] = {"root", "alice", "bob"};
    int64_t t = 1'795'946'400'000'000'000;
    for (int i = 0; i < 40000; ++i) {
      t += static_cast<int64_t>(rng() % 200'000'000);
      int pid = static_cast<int>(rng() % 300);
      std::string host = fmt::format("host-{}", pid % 8);
      event::EventBuilder b(schema);
      b.Time(t).Str("host.name", host).Str("process.entity_id", fmt::format("p-{}", pid));
      int kind = static_cast<int>(rng() % 10);
      if (kind < 5) {
        b.Category("process")
            .Str("process.name", names[rng() % 7])
            .Str("process.parent.name", names[rng() % 7])
            .Str("user.name", users[rng() % 3]);
      } else if (kind < 8) {
        b.Category("file").Str("file.path",
                               fmt::format("/{}/f{}", rng() % 3 ? "tmp" : "var", rng() % 50));
      } else {
        b.Category("network").Int("destination.port", rng() % 2 ? 443 : 80);
      }
      ASSERT_TRUE((*writer)->Append(b.Build()).ok());
    }
    ASSERT_TRUE((*writer)->Close().ok());
  }

  // Runs a replay; returns its digest line and fills *alerts with the alert bytes.
  static std::string Run(size_t workers, std::string* alerts, std::optional<std::string> from = {},
                         std::optional<std::string> to = {}, std::string speed = "max") {
    std::string out = File(fmt::format("alerts_{}_{}.jsonl", workers, counter_++));
    ReplayCommandOptions options;
    options.logs = {File("events.klog")};
    options.rules_dir = File("rules");
    options.output = out;
    options.workers = workers;
    options.digest = true;
    options.from = from;
    options.to = to;
    options.speed = speed;
    ::testing::internal::CaptureStdout();
    int code = Replay(options);
    std::string captured = ::testing::internal::GetCapturedStdout();
    EXPECT_EQ(code, 0);
    // The digest line (spdlog's default logger in tests also writes to stdout).
    size_t at = captured.find("sha256:");
    std::string digest = at == std::string::npos ? captured : captured.substr(at);
    std::ifstream in(out, std::ios::binary);
    *alerts = std::string(std::istreambuf_iterator<char>(in), {});
    return digest;
  }

  static std::string* dir_;
  static int counter_;
};

std::string* ReplayCommandTest::dir_ = nullptr;
int ReplayCommandTest::counter_ = 0;

TEST_F(ReplayCommandTest, SameBytesOnEveryRunAndWithAnyWorkerCount) {
  std::string one, again, two, three;
  std::string d1 = Run(1, &one);
  std::string d1b = Run(1, &again);
  std::string d2 = Run(2, &two);
  std::string d3 = Run(3, &three);
  ASSERT_THAT(d1, ::testing::StartsWith("sha256:"));
  EXPECT_THAT(d1, ::testing::HasSubstr("events:40000"));
  // Enough alerts of every kind for the comparison to mean something.
  size_t lines = static_cast<size_t>(std::count(one.begin(), one.end(), '\n'));
  EXPECT_GT(lines, 1000u);
  for (const char* rule :
       {"\"single\"", "\"wild\"", "\"seq\"", "\"seq_until\"", "\"unbounded\"", "\"unique\""}) {
    EXPECT_THAT(one, ::testing::HasSubstr(rule)) << rule;
  }
  EXPECT_EQ(d1, d1b);
  EXPECT_EQ(d1, d2);
  EXPECT_EQ(d1, d3);
  EXPECT_EQ(one, again);
  EXPECT_EQ(one, two);
  EXPECT_EQ(one, three);
}

// Pacing only changes when events are handed over (one at a time, each written out as it is
// delivered); more workers than rules run one rule each.
TEST_F(ReplayCommandTest, PacedAndWithMoreWorkersThanRulesTheSameBytes) {
  std::string one, paced, many;
  std::string d1 = Run(1, &one);
  // The log spans about 4,000 s of event time: 200,000x paces it over 20 ms.
  EXPECT_EQ(Run(2, &paced, {}, {}, "200000x"), d1);
  EXPECT_EQ(Run(16, &many), d1);
  EXPECT_EQ(paced, one);
  EXPECT_EQ(many, one);
}

TEST_F(ReplayCommandTest, TimeRangeSelectsEvents) {
  std::string all, part;
  Run(1, &all);
  std::string digest = Run(2, &part, "2026-11-29T10:00:00Z", "2026-11-29T10:30:00Z");
  EXPECT_THAT(digest, ::testing::Not(::testing::HasSubstr("events:40000")));
  EXPECT_THAT(digest, ::testing::Not(::testing::HasSubstr("events:0 ")));
  EXPECT_LT(part.size(), all.size());
  EXPECT_GT(part.size(), 0u);
}

TEST(ParseSpeedTest, AcceptsMaxRealtimeAndFactors) {
  EXPECT_EQ(ParseSpeed("max"), 0.0);
  EXPECT_EQ(ParseSpeed("realtime"), 1.0);
  EXPECT_EQ(ParseSpeed("10x"), 10.0);
  EXPECT_EQ(ParseSpeed("0.5x"), 0.5);
  EXPECT_FALSE(ParseSpeed("fast"));
  EXPECT_FALSE(ParseSpeed("0x"));
  EXPECT_FALSE(ParseSpeed("-2x"));
}

}  // namespace
}  // namespace kestrel::cli
