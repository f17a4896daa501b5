// Real rule sets over real recordings (issue 23 item 7): Elastic's public Linux and
// cross-platform EQL rules, and the default pack (rules/), replaying testdata/benign/*.klog.
//   BM_ElasticStart    load + compile + seal of the Elastic rules (what `kestrel replay` does
//                      before its first event): target <= 100 ms
//   BM_ElasticReplay   after start: the three logs read, decoded and run through one Detector,
//                      one core (target >= 1 M events/s); peak RSS of the whole (target <= 40 MB)
//   BM_ElasticDetect   the same events decoded beforehand: detection alone
//   BM_DefaultPack*    the same three with rules/ (target >= 2 M events/s after start)
// The Elastic rules stay outside the repository: KESTREL_ELASTIC_RULES_DIR names a directory
// of them (e.g. a copy of detection-rules' rules/linux and rules/cross-platform), or
// KESTREL_DETECTION_RULES the detection-rules checkout's rules/ (its linux and cross-platform
// folders are read, in the order `kestrel replay --rules` reads a directory holding both).
// Without either the Elastic benchmarks skip with the reason.
//
// peak_rss_mb is the process's VmHWM since the benchmark began (reset through
// /proc/self/clear_refs), so run one benchmark per process for a figure of its own:
//   build/release/bench/elastic_rules_bench --benchmark_filter=BM_ElasticReplay
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bench_memory.h"
#include "kestrel/engine/detector.h"
#include "kestrel/pipeline/rule_loader.h"
#include "kestrel/sources/replay/replay_source.h"

namespace {

namespace fs = std::filesystem;
using kestrel::engine::Detector;
using kestrel::engine::QueryMatch;

using kestrel::bench::ResetPeakRss;
using kestrel::bench::StatusMb;

// The Elastic rule paths, or nullopt with the reason in *why.
std::optional<std::vector<std::string>> ElasticPaths(std::string* why) {
  if (const char* dir = std::getenv("KESTREL_ELASTIC_RULES_DIR"); dir != nullptr && *dir) {
    if (!fs::is_directory(dir)) {
      *why = fmt::format("KESTREL_ELASTIC_RULES_DIR={} is not a directory", dir);
      return std::nullopt;
    }
    return std::vector<std::string>{dir};
  }
  if (const char* root = std::getenv("KESTREL_DETECTION_RULES"); root != nullptr && *root) {
    std::vector<std::string> paths;
    for (const char* sub : {"cross-platform", "linux"}) {  // directory order, as replay reads
      fs::path p = fs::path(root) / sub;
      if (!fs::is_directory(p)) {
        *why = fmt::format("KESTREL_DETECTION_RULES={}: no {} folder", root, sub);
        return std::nullopt;
      }
      paths.push_back(p.string());
    }
    return paths;
  }
  *why =
      "SKIPPED: set KESTREL_ELASTIC_RULES_DIR (a directory of Elastic's Linux and cross-platform "
      "rules) or KESTREL_DETECTION_RULES (a detection-rules checkout's rules/) to run it";
  return std::nullopt;
}

std::vector<std::string> BenignLogs() {
  std::vector<std::string> logs;
  for (const auto& e : fs::directory_iterator(KESTREL_SOURCE_DIR "/testdata/benign")) {
    if (e.path().extension() == ".klog") logs.push_back(e.path().string());
  }
  std::sort(logs.begin(), logs.end());
  return logs;
}

// A rule set as `kestrel replay` starts it: compiled, checked, one engine each, the index built.
struct Loaded {
  std::shared_ptr<kestrel::schema::Schema> schema;
  kestrel::rules::RuleSetBuild build;
  std::unique_ptr<Detector> detector;
};

kestrel::engine::EngineLimits Limits() {
  return kestrel::pipeline::StreamingLimits(100'000, int64_t{24} * 3600 * 1'000'000'000,
                                            size_t{64} << 20);
}

// Loads into `schema` (the logs are decoded into the same one).
absl::Status Load(const std::vector<std::string>& paths,
                  std::shared_ptr<kestrel::schema::Schema> schema, Loaded* out) {
  out->schema = std::move(schema);
  kestrel::engine::EngineLimits limits = Limits();
  out->build = kestrel::pipeline::CheckRuleSet(paths, *out->schema, limits);
  out->detector = std::make_unique<Detector>(*out->schema, limits);
  for (const kestrel::rules::CompiledRule& rule : out->build.rules) {
    if (absl::Status s = out->detector->AddRule(rule.program.get()); !s.ok()) {
      return s;  // CheckRuleSet already refused what the engine refuses
    }
  }
  return out->detector->Seal();
}

bool LoadOrSkip(benchmark::State& state, const std::vector<std::string>& paths, Loaded* out,
                std::shared_ptr<kestrel::schema::Schema> schema = nullptr) {
  if (schema == nullptr) schema = std::make_shared<kestrel::schema::Schema>();
  absl::Status s = Load(paths, std::move(schema), out);
  if (!s.ok()) {
    state.SkipWithError(std::string(s.message()).c_str());
    return false;
  }
  return true;
}

void Start(benchmark::State& state, const std::vector<std::string>& paths) {
  ResetPeakRss();
  size_t rules = 0, failed = 0;
  for (auto _ : state) {
    Loaded loaded;
    if (!LoadOrSkip(state, paths, &loaded)) return;
    rules = loaded.build.rules.size();
    failed = loaded.build.failed;
    state.PauseTiming();
    loaded = Loaded();  // freeing is not start-up
    state.ResumeTiming();
  }
  state.counters["rules"] = static_cast<double>(rules);
  state.counters["failed"] = static_cast<double>(failed);
  state.counters["peak_rss_mb"] = StatusMb("VmHWM");
}

// Decode + detect (decode_in_loop) or detect alone over the benign logs, a fresh Detector per
// pass (built while the timer is paused).
void Replay(benchmark::State& state, const std::vector<std::string>& paths, bool decode_in_loop) {
  ResetPeakRss();
  std::vector<std::string> logs = BenignLogs();
  uint64_t events = 0, matches = 0, evaluated = 0;
  double start_rss = 0;
  std::vector<kestrel::event::Event> decoded;
  std::shared_ptr<kestrel::schema::Schema> decoded_schema;  // the schema of `decoded`
  for (auto _ : state) {
    state.PauseTiming();
    Loaded loaded;
    if (!LoadOrSkip(state, paths, &loaded, decoded_schema)) return;
    kestrel::sources::ReplayOptions options;
    options.paths = logs;
    auto source =
        kestrel::sources::ReplaySource::Open(loaded.schema.get(), options, [](const auto&) {});
    if (!source.ok()) {
      state.SkipWithError(std::string(source.status().message()).c_str());
      return;
    }
    start_rss = StatusMb("VmRSS");
    if (!decode_in_loop && decoded.empty()) {
      kestrel::event::Event e;
      while (true) {
        auto next = (*source)->Next(&e);
        if (!next.ok() || !*next) break;
        decoded.push_back(e);
      }
      decoded_schema = loaded.schema;
    }
    events = matches = 0;
    auto on_match = [&](size_t, QueryMatch&) { ++matches; };
    state.ResumeTiming();
    if (decode_in_loop) {
      kestrel::event::Event e;
      while (true) {
        auto next = (*source)->Next(&e);
        if (!next.ok() || !*next) break;
        loaded.detector->Process(e, ++events, on_match);
      }
    } else {
      loaded.detector->ProcessBatch(decoded, 1, on_match);
      events = decoded.size();
    }
    loaded.detector->Finish(on_match);
    state.PauseTiming();
    evaluated = loaded.detector->evaluated();
    loaded = Loaded();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(events * state.iterations()));
  state.counters["events"] = static_cast<double>(events);
  state.counters["matches"] = static_cast<double>(matches);
  state.counters["rss_after_start_mb"] = start_rss;
  state.counters["evaluated_per_event"] = static_cast<double>(evaluated) / events;
  state.counters["peak_rss_mb"] = StatusMb("VmHWM");
}

// Reading and decoding alone (no rule loaded): what the replay benchmarks spend before detection.
void BM_DecodeOnly(benchmark::State& state) {
  std::vector<std::string> logs = BenignLogs();
  kestrel::schema::Schema schema;
  uint64_t events = 0;
  for (auto _ : state) {
    kestrel::sources::ReplayOptions options;
    options.paths = logs;
    auto source = kestrel::sources::ReplaySource::Open(&schema, options, [](const auto&) {});
    if (!source.ok()) return state.SkipWithError(std::string(source.status().message()).c_str());
    kestrel::event::Event e;
    events = 0;
    while (true) {
      auto next = (*source)->Next(&e);
      if (!next.ok() || !*next) break;
      ++events;
      benchmark::DoNotOptimize(e);
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(events * state.iterations()));
}
BENCHMARK(BM_DecodeOnly)->Unit(benchmark::kMillisecond);

std::vector<std::string> DefaultPack() { return {KESTREL_SOURCE_DIR "/rules"}; }

void BM_ElasticStart(benchmark::State& state) {
  std::string why;
  auto paths = ElasticPaths(&why);
  if (!paths) return state.SkipWithError(why.c_str());
  Start(state, *paths);
}
void BM_ElasticReplay(benchmark::State& state) {
  std::string why;
  auto paths = ElasticPaths(&why);
  if (!paths) return state.SkipWithError(why.c_str());
  Replay(state, *paths, true);
}
void BM_ElasticDetect(benchmark::State& state) {
  std::string why;
  auto paths = ElasticPaths(&why);
  if (!paths) return state.SkipWithError(why.c_str());
  Replay(state, *paths, false);
}
void BM_DefaultPackStart(benchmark::State& state) { Start(state, DefaultPack()); }
void BM_DefaultPackReplay(benchmark::State& state) { Replay(state, DefaultPack(), true); }
void BM_DefaultPackDetect(benchmark::State& state) { Replay(state, DefaultPack(), false); }

BENCHMARK(BM_ElasticStart)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ElasticReplay)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ElasticDetect)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DefaultPackStart)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DefaultPackReplay)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DefaultPackDetect)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
