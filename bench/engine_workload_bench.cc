// Detection throughput on the shared Endgame-schema workload (../shared/bench/endgame-workload):
// the 20 single-event rules of single.toml and the 5 sequence rules of sequence.toml, each over
// events already decoded (issue 4's target: >= 2,000,000 events/s on one core).
//
// The events come from gen_events.py --seed 1 (generated once into /tmp, 200,000 events by
// default; set KESTREL_WORKLOAD_EVENTS to change). Rules run through engine::Detector (the rule
// index picks the candidates, as `kestrel run` does); the *Unindexed variants run every rule on
// every event, for comparison. Alerts are built for every match but not written.
//
// Run: build/release/bench/engine_workload_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "endgame_workload.h"
#include "kestrel/engine/alert.h"
#include "kestrel/engine/detector.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/sema.h"
#include "toml++/toml.h"

namespace {

namespace fs = std::filesystem;
using Workload = kestrel::bench::EndgameWorkload;
Workload* LoadEvents() { return kestrel::bench::LoadEndgameWorkload(); }

std::vector<std::unique_ptr<kestrel::eql::IrProgram>> CompileRules(
    const std::string& file, kestrel::schema::Schema& schema) {
  std::vector<std::unique_ptr<kestrel::eql::IrProgram>> programs;
  toml::table table = toml::parse_file(kestrel::bench::kWorkloadDir + file);
  for (const toml::node& node : *table["rule"].as_array()) {
    std::string query = *(*node.as_table())["query"].value<std::string>();
    kestrel::eql::CompileOptions options;
    options.dialect = kestrel::eql::Dialect::kEndgame;
    auto result = kestrel::eql::Compile(query, schema, options);
    if (result.ok()) programs.push_back(std::move(result.program));
  }
  return programs;
}

kestrel::engine::Alert MakeAlert(kestrel::engine::QueryMatch& m) {
  kestrel::engine::Alert alert;
  alert.rule_id = "r";
  alert.events = std::move(m.events);
  benchmark::DoNotOptimize(alert.events.data());
  return alert;
}

// indexed: the rules run behind the RuleIndex (engine::Detector, as `kestrel run` does);
// otherwise every rule is evaluated on every event (the baseline).
void RunRules(benchmark::State& state, const std::string& file, bool indexed) {
  Workload* w = LoadEvents();
  if (w->events.empty()) {
    state.SkipWithError("workload events could not be generated (python3 gen_events.py)");
    return;
  }
  auto programs = CompileRules(file, w->schema);
  uint64_t alerts = 0;
  kestrel::engine::EngineLimits limits;
  limits.streaming = true;
  limits.state_budget_bytes = size_t{192} << 20;  // `kestrel run`'s default state budget
  for (auto _ : state) {
    if (indexed) {
      kestrel::engine::Detector detector(w->schema, limits);
      for (const auto& p : programs) {
        if (!detector.AddRule(p.get()).ok()) state.SkipWithError("rule refused");
      }
      if (!detector.Seal().ok()) state.SkipWithError("index refused");
      auto on_match = [&](size_t, kestrel::engine::QueryMatch& m) {
        MakeAlert(m);
        ++alerts;
      };
      detector.ProcessBatch(w->events, 0, on_match);
      detector.Finish(on_match);
      continue;
    }
    std::vector<std::unique_ptr<kestrel::engine::QueryEngine>> engines;
    for (const auto& p : programs) {
      engines.push_back(std::move(*kestrel::engine::QueryEngine::Create(p.get(), w->schema)));
    }
    for (size_t i = 0; i < w->events.size(); ++i) {
      for (auto& engine : engines) {
        engine->Process(w->events[i], i);
        for (kestrel::engine::QueryMatch& m : engine->TakeResults()) {
          MakeAlert(m);
          ++alerts;
        }
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w->events.size()));
  state.counters["rules"] = static_cast<double>(programs.size());
  state.counters["alerts_per_pass"] =
      static_cast<double>(alerts) / static_cast<double>(state.iterations());
}

void BM_SingleRules(benchmark::State& state) { RunRules(state, "single.toml", true); }
void BM_SequenceRules(benchmark::State& state) { RunRules(state, "sequence.toml", true); }
void BM_SingleRulesUnindexed(benchmark::State& state) { RunRules(state, "single.toml", false); }
void BM_SequenceRulesUnindexed(benchmark::State& state) { RunRules(state, "sequence.toml", false); }
BENCHMARK(BM_SingleRules)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SequenceRules)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SingleRulesUnindexed)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SequenceRulesUnindexed)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
