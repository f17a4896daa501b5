// The event bus (issue 8): detection throughput with 1 and 2 workers on the shared Endgame
// workload held in memory (no decoding, no alert encoding: the bus and the rules only), and the
// latency from Publish() to the match reaching the merger callback.
//
//   ./build/release/bench/bus_bench --benchmark_repetitions=3
//   --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "endgame_workload.h"
#include "kestrel/bus/parallel_detector.h"
#include "kestrel/eql/sema.h"
#include "toml++/toml.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<std::unique_ptr<kestrel::eql::IrProgram>> Rules(kestrel::schema::Schema& schema) {
  std::vector<std::unique_ptr<kestrel::eql::IrProgram>> out;
  for (const char* file : {"single.toml", "sequence.toml"}) {
    toml::table table = toml::parse_file(kestrel::bench::kWorkloadDir + file);
    for (const toml::node& node : *table["rule"].as_array()) {
      kestrel::eql::CompileOptions options;
      options.dialect = kestrel::eql::Dialect::kEndgame;
      auto r =
          kestrel::eql::Compile(*(*node.as_table())["query"].value<std::string>(), schema, options);
      if (r.ok()) out.push_back(std::move(r.program));
    }
  }
  return out;
}

// Events per second through ParallelDetector with state.range(0) workers (all 25 rules).
void BM_BusThroughput(benchmark::State& state) {
  auto* w = kestrel::bench::LoadEndgameWorkload();
  if (w->events.empty()) {
    state.SkipWithError("workload not available");
    return;
  }
  auto rules = Rules(w->schema);
  std::vector<const kestrel::eql::IrProgram*> programs;
  for (const auto& r : rules) programs.push_back(r.get());
  uint64_t matches = 0;
  for (auto _ : state) {
    kestrel::bus::ParallelOptions options;
    options.workers = static_cast<size_t>(state.range(0));
    options.limits.streaming = true;
    options.limits.default_ttl_ns = int64_t{24} * 3600 * 1'000'000'000;
    matches = 0;
    auto d = kestrel::bus::ParallelDetector::Create(
        w->schema, programs, options, [&](size_t, kestrel::engine::QueryMatch&) { ++matches; });
    for (const auto& e : w->events) (*d)->Publish(e);
    (*d)->Finish();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w->events.size()));
  state.counters["matches"] = static_cast<double>(matches);
}
BENCHMARK(BM_BusThroughput)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();

// Publish-to-callback latency of single-event matches at a paced 100,000 events/s.
void BM_BusLatency(benchmark::State& state) {
  auto* w = kestrel::bench::LoadEndgameWorkload();
  if (w->events.empty()) {
    state.SkipWithError("workload not available");
    return;
  }
  kestrel::schema::Schema& schema = w->schema;
  kestrel::eql::CompileOptions options;
  options.dialect = kestrel::eql::Dialect::kEndgame;
  auto rule = kestrel::eql::Compile("process where true", schema, options);
  std::vector<const kestrel::eql::IrProgram*> programs = {rule.program.get()};
  size_t n = std::min<size_t>(w->events.size(), 50'000);
  std::vector<Clock::time_point> published(n);
  std::vector<double> latencies_us;
  latencies_us.reserve(n);
  for (auto _ : state) {
    kestrel::bus::ParallelOptions bus_options;
    bus_options.workers = static_cast<size_t>(state.range(0));
    bus_options.limits.streaming = true;
    latencies_us.clear();
    auto d = kestrel::bus::ParallelDetector::Create(
        schema, programs, bus_options, [&](size_t, kestrel::engine::QueryMatch& m) {
          auto now = Clock::now();
          latencies_us.push_back(
              std::chrono::duration<double, std::micro>(now - published[m.event_indexes[0]])
                  .count());
        });
    auto start = Clock::now();
    for (size_t i = 0; i < n; ++i) {
      auto due = start + std::chrono::microseconds(10 * i);  // 100k events/s
      while (Clock::now() < due) {
      }
      published[i] = Clock::now();
      (*d)->Publish(w->events[i]);
    }
    (*d)->Finish();
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  if (latencies_us.empty()) return;
  state.counters["p50_us"] = latencies_us[latencies_us.size() / 2];
  state.counters["p99_us"] = latencies_us[latencies_us.size() * 99 / 100];
  state.counters["alerts"] = static_cast<double>(latencies_us.size());
}
BENCHMARK(BM_BusLatency)
    ->Arg(1)
    ->Arg(2)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
