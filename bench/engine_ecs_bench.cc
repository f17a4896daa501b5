// Detection on ECS-shaped events (issue 4's targets):
//   BM_EcsSingleRules200   200 single-event rules (Elasticsearch dialect, shaped like Elastic's
//                          Linux rules) on process/file/network events: events/s and the p99 of
//                          the per-event time through all rules (target >= 2 M/s, p99 < 1 us)
//   BM_EcsSequenceRules50  50 sequence rules keyed by process.entity_id over 100,000 distinct
//                          entities: events/s, p99, and the partial matches held at the end of
//                          each pass (flat once the per-rule quota is reached)
// Events are generated deterministically in memory (already decoded).
//
// Run: build/release/bench/engine_ecs_bench --benchmark_repetitions=3
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/sema.h"

namespace {

using kestrel::engine::EngineLimits;
using kestrel::engine::QueryEngine;
using kestrel::event::Event;
using kestrel::event::EventBuilder;

const char* kNames[] = {"bash", "sh",   "curl", "wget", "python3", "sshd", "cron",   "systemd",
                        "nc",   "perl", "git",  "tar",  "sudo",    "id",   "whoami", "apt"};

std::vector<Event> MakeEvents(kestrel::schema::Schema& schema, size_t n, size_t entities) {
  std::mt19937_64 rng(7);
  std::vector<Event> events;
  events.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const char* name = kNames[rng() % std::size(kNames)];
    const char* category = i % 10 < 6 ? "process" : (i % 10 < 9 ? "file" : "network");
    std::string entity = fmt::format("e{}", rng() % entities);
    EventBuilder b(schema);
    b.Time(static_cast<int64_t>(i) * 1'000'000)  // 1 ms apart
        .Category(category)
        .Str("host.os.type", "linux")
        .Str("event.type", i % 3 == 0 ? "start" : "info")
        .Str("process.name", name)
        .Str("process.executable", fmt::format("/usr/bin/{}", name))
        .Str("process.parent.name", kNames[rng() % std::size(kNames)])
        .Str("process.entity_id", entity)
        .Strs("process.args", {name, "-c", "echo hello"})
        .Str("process.command_line", fmt::format("{} -c echo hello {}", name, i % 97))
        .Str("file.path", fmt::format("/tmp/f{}.sh", i % 50))
        .Int("destination.port", static_cast<int64_t>(rng() % 1024));
    events.push_back(b.Build());
  }
  return events;
}

std::vector<std::unique_ptr<kestrel::eql::IrProgram>> Compile(
    kestrel::schema::Schema& schema, const std::vector<std::string>& queries) {
  std::vector<std::unique_ptr<kestrel::eql::IrProgram>> programs;
  for (const std::string& q : queries) {
    auto r = kestrel::eql::Compile(q, schema);
    if (r.ok()) programs.push_back(std::move(r.program));
  }
  return programs;
}

void Run(benchmark::State& state, const std::vector<std::string>& queries, size_t n_events,
         size_t entities) {
  kestrel::schema::Schema schema;
  std::vector<Event> events = MakeEvents(schema, n_events, entities);
  auto programs = Compile(schema, queries);
  if (programs.size() != queries.size()) {
    state.SkipWithError("a benchmark rule did not compile");
    return;
  }
  std::vector<int64_t> latencies(events.size());
  std::vector<std::unique_ptr<QueryEngine>> engines;
  EngineLimits limits;
  limits.streaming = true;
  for (const auto& p : programs)
    engines.push_back(std::move(*QueryEngine::Create(p.get(), schema, limits)));
  uint64_t matches = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < events.size(); ++i) {
      auto start = std::chrono::steady_clock::now();
      for (auto& engine : engines) {
        engine->Process(events[i], i);
        matches += engine->TakeResults().size();
      }
      latencies[i] = (std::chrono::steady_clock::now() - start).count();
    }
  }
  std::sort(latencies.begin(), latencies.end());
  uint64_t partials = 0;
  for (const auto& e : engines) partials += e->stats().partials;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events.size()));
  state.counters["rules"] = static_cast<double>(programs.size());
  state.counters["p50_ns"] = static_cast<double>(latencies[latencies.size() / 2]);
  state.counters["p99_ns"] = static_cast<double>(latencies[latencies.size() * 99 / 100]);
  state.counters["partials_held"] = static_cast<double>(partials);
  state.counters["matches_per_pass"] =
      static_cast<double>(matches) / static_cast<double>(state.iterations());
}

void BM_EcsSingleRules200(benchmark::State& state) {
  std::vector<std::string> q;
  for (int i = 0; i < 200; ++i) {
    switch (i % 5) {
      case 0:
        q.push_back(fmt::format(
            R"(process where host.os.type == "linux" and event.type == "start" and process.name in ("x{}", "{}", "zz{}"))",
            i, kNames[i % std::size(kNames)], i));
        break;
      case 1:
        q.push_back(fmt::format(
            R"(process where process.parent.name : ("nginx{}", "apache2") and process.args : ("-c", "*curl*"))",
            i));
        break;
      case 2:
        q.push_back(fmt::format(R"(file where file.path like~ "/etc/cron{}/*")", i));
        break;
      case 3:
        q.push_back(fmt::format(
            R"(network where destination.port == {} and not process.name in ("sshd", "curl"))",
            1024 + i));
        break;
      case 4:
        q.push_back(fmt::format(
            R"(process where event.type == "start" and process.command_line : "*nohup{}*")", i));
        break;
    }
  }
  Run(state, q, 200'000, 1000);
}
BENCHMARK(BM_EcsSingleRules200)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_EcsSequenceRules50(benchmark::State& state) {
  std::vector<std::string> q;
  for (int i = 0; i < 50; ++i) {
    q.push_back(fmt::format(
        R"(sequence by process.entity_id with maxspan=30s [process where process.name == "{}"] [file where file.path == "/tmp/f{}.sh"] [network where destination.port == {}])",
        kNames[i % std::size(kNames)], i % 50, i));
  }
  Run(state, q, 1'000'000, 100'000);
}
BENCHMARK(BM_EcsSequenceRules50)->Unit(benchmark::kMillisecond)->Iterations(2);

}  // namespace

BENCHMARK_MAIN();
