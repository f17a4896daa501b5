// Pipeline: counts, exit statuses, stopping on signals for every source, and what the timer
// thread keeps current on a quiet stream (metrics, reload reports).
#include "kestrel/pipeline/pipeline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kestrel/engine/entity_routing.h"
#include "kestrel/metrics/metrics.h"
#include "kestrel/pipeline/stop.h"
#ifdef KESTREL_HAVE_EBPF
#include "kestrel/sources/ebpf/ebpf_source.h"
#endif

namespace kestrel::pipeline {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

fs::path TempDir(const std::string& name) {
  std::string tmpl = (fs::temp_directory_path() / (name + ".XXXXXX")).string();
  return fs::path(::mkdtemp(tmpl.data()));
}

TEST(PipelineTest, CountsEventsAndMalformedLines) {
  fs::path dir = TempDir("kestrel_run_test");
  fs::create_directories(dir / "rules");
  std::ofstream(dir / "events.ndjson") << "{\"event\":{\"category\":\"process\"}}\nnope\n{}\n";
  RunConfig options;
  options.rules_dir = (dir / "rules").string();
  options.source = "ndjson:" + (dir / "events.ndjson").string();
  options.output = (dir / "alerts.jsonl").string();
  testing::internal::CaptureStderr();
  absl::Status s = RunPipeline(options);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_NE(err.find("summary: events read: 2, malformed lines: 1, alerts: 0"), std::string::npos)
      << err;
  fs::remove_all(dir);
}

TEST(PipelineTest, UsageErrorsAreInvalidArgumentFailuresAreNot) {
  RunConfig options;
  testing::internal::CaptureStderr();
  if (DefaultSource().empty()) {
    EXPECT_EQ(RunPipeline(options).code(), absl::StatusCode::kInvalidArgument) << "no source";
  }
  options.source = "kafka:topic";
  EXPECT_EQ(RunPipeline(options).code(), absl::StatusCode::kInvalidArgument) << "source kind";
  options.source = "ndjson:/nonexistent/events.ndjson";
  absl::Status unreadable = RunPipeline(options);
  EXPECT_FALSE(unreadable.ok());
  EXPECT_NE(unreadable.code(), absl::StatusCode::kInvalidArgument) << "unreadable source";
  options.source = "ndjson:-";
  options.time_format = std::string("fortnights");
  EXPECT_EQ(RunPipeline(options).code(), absl::StatusCode::kInvalidArgument) << "time format";
  options.time_format.reset();
  options.rules_dir = std::string("/nonexistent/rules");
  EXPECT_EQ(RunPipeline(options).code(), absl::StatusCode::kInvalidArgument) << "--rules";
  testing::internal::GetCapturedStderr();
}

// `kestrel rules` (the /rules listing) after a run over the same events: the per-rule alerts,
// partial matches held, expired and evicted are the same with 1, 2 and 3 workers, also under
// quota pressure (state shards: engine/entity_routing.h).
TEST(PipelineTest, RulesListingIsTheSameForAnyNumberOfWorkers) {
  fs::path dir = TempDir("kestrel_rules_listing");
  fs::create_directories(dir / "rules");
  std::ofstream(dir / "rules" / "seq_span.eql")
      << "sequence by process.entity_id with maxspan=5s\n"
         "  [process where process.name == \"bash\"] [file where file.path : \"/tmp/*\"]\n";
  std::ofstream(dir / "rules" / "seq_open.eql")
      << "sequence by process.entity_id\n"
         "  [process where process.name == \"curl\"] [network where destination.port == 443]\n";
  std::ofstream(dir / "rules" / "seq_host.eql")
      << "sequence by host.name with maxspan=2s\n"
         "  [process where process.name == \"sudo\"] [file where file.path : \"/etc/*\"]\n";
  {
    std::ofstream out(dir / "events.ndjson");
    uint64_t x = 7;
    auto next = [&] { return x = x * 6364136223846793005ULL + 1442695040888963407ULL; };
    int64_t ms = 0;
    const char* names[] = {"bash", "curl", "sudo", "ls"};
    for (int i = 0; i < 20000; ++i) {
      ms += static_cast<int64_t>(next() >> 33) % 400;
      int entity = static_cast<int>((next() >> 33) % 300);
      std::string base = fmt::format(
          R"("@timestamp":"{}","host":{{"name":"h{}"}},"process":{{"entity_id":"e{}","name":"{}"}})",
          fmt::format("2026-01-01T{:02}:{:02}:{:02}.{:03}Z", ms / 3600000 % 24, ms / 60000 % 60,
                      ms / 1000 % 60, ms % 1000),
          entity % 3, entity, names[(next() >> 33) % 4]);
      switch ((next() >> 33) % 3) {
        case 0:
          out << "{" << base << R"(,"event":{"category":"process"}})"
              << "\n";
          break;
        case 1:
          out << "{" << base
              << fmt::format(R"(,"event":{{"category":"file"}},"file":{{"path":"/{}/x"}}}})",
                             (next() >> 33) % 2 ? "tmp" : "etc")
              << "\n";
          break;
        default:
          out << "{" << base << R"(,"event":{"category":"network"},"destination":{"port":443}})"
              << "\n";
      }
    }
  }
  auto listing = [&](size_t workers, size_t max_partials = 100'000, size_t state_memory = 0) {
    RunConfig config;
    config.max_partials_per_rule = max_partials;
    config.state_budget_bytes = state_memory;
    config.rules_dir = (dir / "rules").string();
    config.source = "ndjson:" + (dir / "events.ndjson").string();
    config.output =
        (dir / fmt::format("alerts{}_{}_{}.jsonl", workers, max_partials, state_memory)).string();
    config.workers = workers;
    config.reload = false;
    config.metrics_addr = "127.0.0.1:0";
    auto p = Pipeline::Open(config);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return std::string();
    testing::internal::CaptureStderr();
    EXPECT_TRUE((*p)->Run().ok());
    testing::internal::GetCapturedStderr();
    auto text = metrics::Scrape(fmt::format("127.0.0.1:{}", (*p)->metrics_port()), "/rules");
    EXPECT_TRUE(text.ok()) << text.status();
    std::string rules = text.ok() ? *text : "";
    rules = rules.substr(rules.find('\n') + 1);  // past the version line (its load time)
    if (state_memory > 0) {
      // Budget evictions per rule (the metric), and the alerts themselves.
      auto m = metrics::Scrape(fmt::format("127.0.0.1:{}", (*p)->metrics_port()), "/metrics");
      EXPECT_TRUE(m.ok()) << m.status();
      std::istringstream lines(m.ok() ? *m : "");
      for (std::string line; std::getline(lines, line);) {
        if (line.starts_with("kestrel_rule_state_evicted_budget_total{")) rules += line + "\n";
      }
      std::ifstream alerts(config.output);
      rules += std::string(std::istreambuf_iterator<char>(alerts), {});
    }
    return rules;
  };
  std::string one = listing(1);
  std::printf("%s", one.c_str());
  EXPECT_NE(one.find("seq_span"), std::string::npos);
  // Something to compare: expiries and held partial matches, not only zeros.
  EXPECT_EQ(one.find(" 0          0          0          0\n"), std::string::npos) << one;
  EXPECT_EQ(listing(2), one);
  EXPECT_EQ(listing(3), one);
  // A quota of one partial match per state shard: evictions, the same for any number of workers.
  std::string squeezed = listing(1, engine::kStateShards);
  std::printf("%s", squeezed.c_str());
  EXPECT_NE(squeezed, one);
  EXPECT_EQ(listing(2, engine::kStateShards), squeezed);
  EXPECT_EQ(listing(3, engine::kStateShards), squeezed);
  // A state budget that evicts (decision 53): the same evictions, counts and alerts for any
  // number of workers.
  std::string budgeted = listing(1, 100'000, 64 * 1024);
  EXPECT_NE(budgeted.find("kestrel_rule_state_evicted_budget_total{rule=\"seq_open\"}"),
            std::string::npos);
  EXPECT_EQ(budgeted.find("kestrel_rule_state_evicted_budget_total{rule=\"seq_open\"} 0\n"),
            std::string::npos)
      << "no budget pressure";
  EXPECT_EQ(listing(2, 100'000, 64 * 1024), budgeted);
  EXPECT_EQ(listing(3, 100'000, 64 * 1024), budgeted);
  fs::remove_all(dir);
}

// A run over one safe rule file in DIR/rules and one event, writing to DIR/alerts.jsonl.
RunConfig SafeRulesRun(const fs::path& dir) {
  fs::create_directories(dir / "rules");
  ::chmod((dir / "rules").c_str(), 0755);
  std::ofstream(dir / "rules" / "r.eql") << "process where process.name == \"x\"\n";
  ::chmod((dir / "rules" / "r.eql").c_str(), 0644);
  std::ofstream(dir / "events.ndjson") << "{\"event\":{\"category\":\"process\"}}\n";
  RunConfig config;
  config.rules_dir = (dir / "rules").string();
  config.source = "ndjson:" + (dir / "events.ndjson").string();
  config.output = (dir / "alerts.jsonl").string();
  config.reload = false;
  return config;
}

// FILE is world-writable: Open refuses with --enforce on, naming it, and runs (warned) in
// dry-run; once FILE gets SAFE_MODE the enforcing run opens.
void ExpectWritableFileRefusedOnlyWhenEnforcing(RunConfig config, const fs::path& file,
                                                mode_t safe_mode) {
  ::chmod(file.c_str(), 0666);
  config.enforce = "on";
  auto refused = Pipeline::Open(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find(file.filename().string() + ": writable by others"),
            std::string::npos)
      << refused.status();
  config.enforce = "dry-run";
  EXPECT_TRUE(Pipeline::Open(config).ok());  // warned, runs
  ::chmod(file.c_str(), safe_mode);
  config.enforce = "on";
  EXPECT_TRUE(Pipeline::Open(config).ok());
}

// A rule directory another user could change (here: a world-writable rule file) would let that
// user add a kill rule: with --enforce on the run refuses to start, otherwise it warns and runs.
TEST(PipelineTest, RulesWritableByOthersAreRefusedWithEnforceOn) {
  fs::path dir = TempDir("kestrel_unsafe_rules");
  ExpectWritableFileRefusedOnlyWhenEnforcing(SafeRulesRun(dir), dir / "rules" / "r.eql", 0644);
  fs::remove_all(dir);
}

// The configuration names the rules, sinks and actions: another user able to change it is
// refused with --enforce on, warned about otherwise (it was not checked).
TEST(PipelineTest, ConfigWritableByOthersIsRefusedWithEnforceOn) {
  fs::path dir = TempDir("kestrel_unsafe_config");
  RunConfig config = SafeRulesRun(dir);
  std::ofstream(dir / "kestrel.yaml") << "run:\n  workers: 1\n";
  config.config_file = (dir / "kestrel.yaml").string();
  ExpectWritableFileRefusedOnlyWhenEnforcing(config, dir / "kestrel.yaml", 0600);
  fs::remove_all(dir);
}

// A FIFO whose writer the test holds: the pipeline's source never sees the end of input.
class QuietStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = TempDir("kestrel_quiet");
    fs::create_directories(dir_ / "rules");
    std::ofstream(dir_ / "rules" / "shell.eql")
        << "// severity: high\nprocess where process.name == \"sh\"\n";
    fifo_ = dir_ / "events.fifo";
    ASSERT_EQ(::mkfifo(fifo_.c_str(), 0600), 0);
    config_.rules_dir = (dir_ / "rules").string();
    config_.source = "ndjson:" + fifo_.string();
    config_.output = (dir_ / "alerts.jsonl").string();
    config_.workers = 1;
  }
  void TearDown() override {
    if (writer_ >= 0) ::close(writer_);
    fs::remove_all(dir_);
  }
  // Opens the pipeline (the FIFO's reader), then the writer end.
  void Start() {
    auto opened = std::async(std::launch::async, [&] { return Pipeline::Open(config_); });
    writer_ = ::open(fifo_.c_str(), O_WRONLY);
    ASSERT_GE(writer_, 0);
    auto p = opened.get();
    ASSERT_TRUE(p.ok()) << p.status();
    pipeline_ = std::move(*p);
    run_ = std::async(std::launch::async, [&] { return pipeline_->Run(); });
  }
  void Write(const std::string& line) {
    std::string l = line + "\n";
    ASSERT_EQ(::write(writer_, l.data(), l.size()), static_cast<ssize_t>(l.size()));
  }
  std::string Event(const std::string& name, int i) {
    return fmt::format(
        R"({{"@timestamp":"2026-01-01T00:00:{:02}Z","event":{{"category":"process","type":"start"}},"process":{{"name":"{}","pid":{}}}}})",
        i % 60, name, 100 + i);
  }
  size_t AlertLines() {
    std::ifstream in(dir_ / "alerts.jsonl");
    size_t n = 0;
    for (std::string line; std::getline(in, line);) ++n;
    return n;
  }
  // Polls `metric` (a line prefix of /metrics) until it reads `value`, for at most `limit`.
  bool MetricReaches(const std::string& metric, const std::string& value,
                     std::chrono::milliseconds limit) {
    auto end = Clock::now() + limit;
    std::string addr = fmt::format("127.0.0.1:{}", pipeline_->metrics_port());
    while (Clock::now() < end) {
      auto text = metrics::Scrape(addr);
      if (text.ok() && text->find("\n" + metric + " " + value + "\n") != std::string::npos) {
        return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  void ExpectMetricsWhileQuiet(size_t workers);

  fs::path dir_, fifo_;
  RunConfig config_;
  int writer_ = -1;
  std::unique_ptr<Pipeline> pipeline_;
  std::future<absl::Status> run_;
};

TEST_F(QuietStreamTest, SigtermAndSigintEndAReadThatWaitsForInput) {
  for (int sig : {SIGTERM, SIGINT}) {
    testing::internal::CaptureStderr();
    Start();
    Write(Event("sh", 1));
    Write(Event("ls", 2));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // read, then waits for more
    auto raised = Clock::now();
    std::raise(sig);
    ASSERT_EQ(run_.wait_for(std::chrono::seconds(1)), std::future_status::ready)
        << "signal " << sig << " did not end the run within 1 s";
    absl::Status s = run_.get();
    auto took = Clock::now() - raised;
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_TRUE(s.ok()) << s;
    EXPECT_LT(took, std::chrono::seconds(1));
    EXPECT_NE(err.find("summary: events read: 2, malformed lines: 0, alerts: 1"), std::string::npos)
        << err;
    EXPECT_EQ(AlertLines(), 1u);
    pipeline_.reset();
    ::close(writer_);
    writer_ = -1;
    fs::remove(dir_ / "alerts.jsonl");
  }
}

// One event that alerts, then nothing: the metrics still show the alert (and the event) within
// 2 s. With workers, the bus's merger delivers the alert of a quiet partition too.
void QuietStreamTest::ExpectMetricsWhileQuiet(size_t workers) {
  config_.workers = workers;
  config_.metrics_addr = "127.0.0.1:0";
  testing::internal::CaptureStderr();
  Start();
  Write(Event("sh", 1));
  EXPECT_TRUE(MetricReaches("kestrel_alerts_total", "1", std::chrono::seconds(2))) << workers;
  EXPECT_TRUE(MetricReaches(
      "kestrel_events_total{source=\"ndjson:" + fifo_.string() + "\",category=\"process\"}", "1",
      std::chrono::seconds(2)));
  EXPECT_EQ(AlertLines(), 1u);
  RequestStop();
  EXPECT_TRUE(run_.get().ok());
  testing::internal::GetCapturedStderr();
}

TEST_F(QuietStreamTest, MetricsShowAlertsWhileTheStreamIsQuiet) { ExpectMetricsWhileQuiet(1); }
TEST_F(QuietStreamTest, MetricsShowAlertsWhileTheStreamIsQuietWithWorkers) {
  ExpectMetricsWhileQuiet(2);
}

TEST_F(QuietStreamTest, ABrokenRuleIsReportedWithoutWaitingForAnEvent) {
  config_.metrics_addr = "127.0.0.1:0";
  testing::internal::CaptureStderr();
  Start();
  Write(Event("ls", 1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto dropped = Clock::now();
  std::ofstream(dir_ / "rules" / "broken.eql") << "process where process.nme == \n";
  EXPECT_TRUE(
      MetricReaches("kestrel_rule_reload_failures_total", "1", std::chrono::milliseconds(2000)))
      << "a broken rule was not reported within 2 s on a quiet stream";
  EXPECT_LT(Clock::now() - dropped, std::chrono::seconds(2));
  // A good one is compiled at once too, and takes over at the next event.
  fs::remove(dir_ / "rules" / "broken.eql");
  std::ofstream(dir_ / "rules" / "ls.eql") << "process where process.name == \"ls\"\n";
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  Write(Event("ls", 2));
  EXPECT_TRUE(MetricReaches("kestrel_rule_reloads_total", "1", std::chrono::seconds(2)));
  EXPECT_TRUE(MetricReaches("kestrel_alerts_total", "1", std::chrono::seconds(2)));
  RequestStop();
  EXPECT_TRUE(run_.get().ok());
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("broken.eql:1:29: error"), std::string::npos) << err;
  EXPECT_NE(err.find("rule reloads: 1 (1 refused), rule set version: 2"), std::string::npos) << err;
}

#ifdef KESTREL_HAVE_EBPF
TEST(PipelineTest, LiveSourceIsTheDefaultAndStopsAfterTheDuration) {
  ASSERT_EQ(DefaultSource(), "ebpf");
  std::vector<std::string> missing = sources::EbpfMissingRequirements();
  if (!missing.empty()) {
    std::printf("SKIPPED: live collection not possible here: %s\n", missing[0].c_str());
    GTEST_SKIP() << missing[0];
  }
  RunConfig options;  // no --source
  options.duration_ns = 300'000'000;
  options.rules_dir = std::string(KESTREL_SOURCE_DIR) + "/rules";
  testing::internal::CaptureStderr();
  absl::Status s = RunPipeline(options);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_TRUE(s.ok()) << s << err;
  EXPECT_NE(err.find("kernel drops: 0, user drops: 0, parse failures: 0"), std::string::npos)
      << err;
}
#endif

}  // namespace
}  // namespace kestrel::pipeline
