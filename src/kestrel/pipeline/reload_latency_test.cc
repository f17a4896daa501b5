// A rule set whose compile takes seconds (48,000 wildcard patterns: their analysis and the rule
// index's vectorscan databases) dropped into the rule directory while events flow at a steady rate:
// detection never pauses for it. Every alert of the running rule must be written within 100 ms
// of its event reaching the pipeline, before, during and after the compile; the test also checks
// that the compile really took over a second (else it proves nothing).
// Its own executable, run serially (CTest RUN_SERIAL): it measures wall time.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kestrel/metrics/metrics.h"
#include "kestrel/pipeline/pipeline.h"
#include "kestrel/pipeline/stop.h"

namespace kestrel::pipeline {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string SlowRule(size_t patterns, std::string_view field, unsigned seed) {
  std::mt19937 rng(seed);
  std::string list;
  for (size_t i = 0; i < patterns; ++i) {
    std::string a, b;
    for (int k = 0; k < 6; ++k) a += static_cast<char>('a' + rng() % 10);
    for (int k = 0; k < 5; ++k) b += static_cast<char>('k' + rng() % 10);
    list += fmt::format("{}\"*{}*{}*\"", i == 0 ? "" : ", ", a, b);
  }
  return fmt::format("process where {} : ({})\n", field, list);
}

uint64_t Metric(int port, const std::string& name) {
  auto text = metrics::Scrape(fmt::format("127.0.0.1:{}", port));
  if (!text.ok()) return 0;
  size_t at = text->find("\n" + name + " ");
  if (at == std::string::npos) return 0;
  return std::stoull(text->substr(at + name.size() + 2));
}

void RunScenario(size_t workers) {
#ifdef KESTREL_UNDER_EMULATOR
  std::printf(
      "SKIPPED: a wall-time measurement under qemu-user measures the emulator; the "
      "release build on the build machine runs it\n");
  GTEST_SKIP() << "under qemu-user emulation";
#endif
  std::string tmpl = (fs::temp_directory_path() / "kestrel_latency.XXXXXX").string();
  fs::path dir(::mkdtemp(tmpl.data()));
  fs::create_directories(dir / "rules");
  std::ofstream(dir / "rules" / "shell.eql") << "process where process.name == \"sh\"\n";
  fs::path fifo = dir / "events.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  RunConfig config;
  config.rules_dir = (dir / "rules").string();
  config.source = "ndjson:" + fifo.string();
  config.output = (dir / "alerts.jsonl").string();
  config.workers = workers;
  config.metrics_addr = "127.0.0.1:0";
  auto opened = std::async(std::launch::async, [&] { return Pipeline::Open(config); });
  int writer = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(writer, 0);
  auto pipeline = opened.get();
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  int port = (*pipeline)->metrics_port();
  auto run = std::async(std::launch::async, [&] { return (*pipeline)->Run(); });

  // Events every 20 ms; alert k answers event k.
  std::vector<Clock::time_point> sent, seen;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    int fd = -1;
    char buf[65536];
    while (!done.load()) {
      if (fd < 0) fd = ::open((dir / "alerts.jsonl").c_str(), O_RDONLY);
      ssize_t n = fd >= 0 ? ::read(fd, buf, sizeof buf) : 0;
      for (ssize_t k = 0; k < n; ++k) {
        if (buf[k] == '\n') seen.push_back(Clock::now());
      }
      if (n <= 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (fd >= 0) ::close(fd);
  });
  auto write_event = [&](int i) {
    std::string e = fmt::format(
        R"({{"@timestamp":"2026-01-01T00:00:00Z","event":{{"category":"process"}},"process":{{"name":"sh","pid":{},"command_line":"sh -c x"}}}})"
        "\n",
        1000 + i);
    sent.push_back(Clock::now());
    ASSERT_EQ(::write(writer, e.data(), e.size()), static_cast<ssize_t>(e.size()));
  };
  int i = 0;
  for (; i < 25; ++i) {  // half a second before
    write_event(i);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Clock::time_point dropped = Clock::now();
  // Twelve rules of 4,000 wildcards, one field each (one pattern database each, at its budget),
  // moved in at once (a directory rename) so that one reload compiles them all.
  fs::create_directories(dir / "staging");
  unsigned seed = 1;
  for (const char* field :
       {"process.command_line", "process.executable", "process.working_directory",
        "process.parent.command_line", "process.parent.executable", "process.name",
        "process.parent.name", "process.title", "user.name", "process.parent.working_directory",
        "host.name", "process.entity_id"}) {
    std::ofstream(dir / "staging" / fmt::format("slow{}.eql", seed)) << SlowRule(4000, field, seed);
    ++seed;
  }
  fs::rename(dir / "staging", dir / "rules" / "slow");
  Clock::time_point committed;
  for (; i < 3000; ++i) {  // until the new set took over (at most a minute), then half a second
    write_event(i);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (committed == Clock::time_point() && i % 5 == 0 &&
        Metric(port, "kestrel_rule_reloads_total") == 1) {
      committed = Clock::now();
    }
    if (committed != Clock::time_point() &&
        Clock::now() - committed > std::chrono::milliseconds(500)) {
      break;
    }
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  done.store(true);
  reader.join();
  RequestStop();
  EXPECT_TRUE(run.get().ok());
  ::close(writer);

  ASSERT_NE(committed, Clock::time_point()) << "the slow rule set never took over";
  double compile_s = std::chrono::duration<double>(committed - dropped).count();
  EXPECT_GT(compile_s, 1.0) << "the compile was too quick to prove anything";
  ASSERT_EQ(seen.size(), sent.size()) << "every event of the running rule alerts";
  double worst_ms = 0;
  size_t during = 0;
  for (size_t k = 0; k < sent.size(); ++k) {
    worst_ms =
        std::max(worst_ms, std::chrono::duration<double, std::milli>(seen[k] - sent[k]).count());
    if (sent[k] > dropped && sent[k] < committed) ++during;
  }
  std::printf("workers %zu: compile took %.1f s; %zu alerts during it; worst alert delay %.1f ms\n",
              workers, compile_s, during, worst_ms);
  EXPECT_GT(during, 20u);
  EXPECT_LT(worst_ms, 100.0) << "detection paused while a rule set compiled";
  fs::remove_all(dir);
}

TEST(ReloadLatencyTest, OneWorkerNeverWaitsForACompile) { RunScenario(1); }
TEST(ReloadLatencyTest, TwoWorkersNeverWaitForACompile) { RunScenario(2); }

}  // namespace
}  // namespace kestrel::pipeline
