// Detection on ECS-shaped events (issue 4's targets):
//   BM_EcsSingleRules200   200 single-event rules (Elasticsearch dialect, shaped like Elastic's
//                          Linux rules) on process/file/network events: events/s and the p99 of
//                          the per-event time through all rules (target >= 2 M/s, p99 < 1 us)
//   BM_EcsSequenceRules50  50 sequence rules keyed by process.entity_id over 100,000 distinct
//                          entities: events/s, p99, and the partial matches held at the end of
//                          each pass (flat once the per-rule quota is reached)
//   BM_EcsSequenceState10M the same 50 rules without maxspan over 10,000,000 events: partial
//                          matches and RSS after each million (flat once the quota is reached)
//   BM_SequencePartials100k 100,000 partial matches of one 3-stage rule, each started by its own
//                          ordinary ECS process-start event (~30 fields): the RSS and heap each
//                          adds (bytes per partial match, evidence included), and what the state
//                          accounting charges for it
// Events are generated deterministically in memory (already decoded); rules run through
// engine::Detector (the rule index), as in `kestrel run`.
//
// Run: build/release/bench/engine_ecs_bench --benchmark_repetitions=3
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench_memory.h"
#include "kestrel/engine/detector.h"
#include "kestrel/engine/evidence.h"
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

std::unique_ptr<kestrel::engine::Detector> MakeDetector(
    kestrel::schema::Schema& schema,
    const std::vector<std::unique_ptr<kestrel::eql::IrProgram>>& programs) {
  EngineLimits limits;
  limits.streaming = true;
  auto detector = std::make_unique<kestrel::engine::Detector>(schema, limits);
  for (const auto& p : programs) {
    if (!detector->AddRule(p.get()).ok()) return nullptr;
  }
  if (!detector->Seal().ok()) return nullptr;
  return detector;
}

using kestrel::bench::RssMb;

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
  auto detector = MakeDetector(schema, programs);
  if (!detector) {
    state.SkipWithError("a benchmark rule was refused");
    return;
  }
  uint64_t matches = 0;
  auto count = [&](size_t, kestrel::engine::QueryMatch&) { ++matches; };
  // Each pass continues the stream: event times move on by the span of one pass (outside the
  // timed region), so state from the previous pass expires instead of seeing time go back.
  std::vector<int64_t> times;
  for (const Event& e : events) times.push_back(e.time_ns());
  int64_t pass_span = times.empty() ? 0 : times.back() - times.front() + 1'000'000;
  uint64_t index = 0;
  for (auto _ : state) {
    state.PauseTiming();
    int64_t offset = static_cast<int64_t>(index / std::max<size_t>(events.size(), 1)) * pass_span;
    for (size_t i = 0; i < events.size(); ++i) events[i].set_time_ns(times[i] + offset);
    state.ResumeTiming();
    for (size_t i = 0; i < events.size(); ++i, ++index) {
      auto start = std::chrono::steady_clock::now();
      detector->Process(events[i], index, count);
      latencies[i] = (std::chrono::steady_clock::now() - start).count();
    }
  }
  std::sort(latencies.begin(), latencies.end());
  uint64_t partials = 0;
  for (size_t r = 0; r < detector->rule_count(); ++r) partials += detector->stats(r).partials;
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

// State memory over 10,000,000 events: the 1,000,000 generated events are replayed ten times
// with times moved forward (entities recur, so keys keep churning). Counters: the partial
// matches held and the RSS after each million events, with a small quota (10,000 per rule) so
// that the quota, not maxspan, bounds the state.
void BM_EcsSequenceState10M(benchmark::State& state) {
  std::vector<std::string> q;
  for (int i = 0; i < 50; ++i) {
    q.push_back(fmt::format(
        R"(sequence by process.entity_id [process where process.name == "{}"] [file where file.path == "/tmp/f{}.sh"] [network where destination.port == {}])",
        kNames[i % std::size(kNames)], i % 50, i));
  }
  kestrel::schema::Schema schema;
  std::vector<Event> events = MakeEvents(schema, 1'000'000, 100'000);
  auto programs = Compile(schema, q);
  EngineLimits limits;
  limits.streaming = true;
  limits.max_partials = 10'000;
  limits.default_ttl_ns = 0;  // no maxspan, no TTL: only the quota bounds the state
  for (auto _ : state) {
    kestrel::engine::Detector detector(schema, limits);
    for (const auto& p : programs) (void)detector.AddRule(p.get());
    (void)detector.Seal();
    uint64_t matches = 0, index = 0;
    auto count = [&](size_t, kestrel::engine::QueryMatch&) { ++matches; };
    for (int pass = 0; pass < 10; ++pass) {
      for (size_t i = 0; i < events.size(); ++i, ++index) {
        events[i].set_time_ns(static_cast<int64_t>(index) * 1'000'000);
        detector.Process(events[i], index, count);
      }
      uint64_t partials = 0, evicted = 0;
      for (size_t r = 0; r < detector.rule_count(); ++r) {
        partials += detector.stats(r).partials;
        evicted += detector.stats(r).evicted;
      }
      state.counters[fmt::format("partials_{:02}M", pass + 1)] = static_cast<double>(partials);
      state.counters[fmt::format("rss_mb_{:02}M", pass + 1)] = RssMb();
      if (pass == 9) state.counters["evicted"] = static_cast<double>(evicted);
    }
    state.counters["matches"] = static_cast<double>(matches);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * 10 * events.size()));
}
BENCHMARK(BM_EcsSequenceState10M)->Unit(benchmark::kMillisecond)->Iterations(1);

// An ordinary ECS process-start event (what Elastic Defend / auditbeat report): ~30 fields.
Event ProcessStart(kestrel::schema::Schema& schema, size_t i) {
  const char* name = kNames[i % std::size(kNames)];
  const char* parent = kNames[(i / 7) % std::size(kNames)];
  EventBuilder b(schema);
  b.Time(static_cast<int64_t>(i) * 1'000'000)
      .Category("process")
      .Str("event.kind", "event")
      .Str("event.action", "exec")
      .Str("event.type", "start")
      .Str("event.dataset", "endpoint.events.process")
      .Str("host.os.type", "linux")
      .Str("host.name", "web-01.example.com")
      .Str("host.id", "8d3c2c7e5c5b4f0c9d6f7a1e2b3c4d5e")
      .Str("agent.id", "1f0e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b")
      .Str("user.name", i % 5 == 0 ? "root" : "www-data")
      .Int("user.id", i % 5 == 0 ? 0 : 33)
      .Int("process.pid", static_cast<int64_t>(10'000 + i))
      .Str("process.entity_id", fmt::format("ZjE3NmQ0OTktOWQ{:08}", i))
      .Str("process.name", name)
      .Str("process.executable", fmt::format("/usr/bin/{}", name))
      .Str("process.command_line",
           fmt::format("/usr/bin/{} -c 'echo job {} >> /var/log/x'", name, i))
      .Strs("process.args", {name, "-c", "echo job >> /var/log/x"})
      .Int("process.args_count", 3)
      .Str("process.working_directory", "/var/www")
      .Str("process.hash.sha256",
           "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
      .Int("process.parent.pid", static_cast<int64_t>(9'000 + i / 7))
      .Str("process.parent.entity_id", fmt::format("ZjE3NmQ0OTktOWP{:08}", i / 7))
      .Str("process.parent.name", parent)
      .Str("process.parent.executable", fmt::format("/usr/sbin/{}", parent))
      .Str("process.parent.command_line", fmt::format("/usr/sbin/{} -D", parent))
      .Str("process.group_leader.entity_id", fmt::format("ZjE3NmQ0OTktOWL{:08}", i / 7))
      .Str("process.session_leader.name", "sshd")
      .Int("process.session_leader.pid", 812)
      .Str("process.user.name", i % 5 == 0 ? "root" : "www-data")
      .Bool("process.interactive", false);
  return b.Build();
}

// Memory in use on the heap (glibc), and the process RSS, in bytes.
size_t HeapBytes() { return mallinfo2().uordblks; }
size_t RssBytes() { return static_cast<size_t>(RssMb() * (1 << 20)); }

// 100,000 partial matches of one 3-stage rule: every event matches stage 1 (each its own
// process), no event matches the later stages, so each event becomes one partial match holding
// it as evidence. Counters (per partial match): the RSS and heap growth, and the engine's
// accounting (state_bytes, what a state budget is charged).
void BM_SequencePartials100k(benchmark::State& state) {
  constexpr size_t kPartials = 100'000;
  kestrel::schema::Schema schema;
  std::vector<Event> events;
  events.reserve(kPartials);
  for (size_t i = 0; i < kPartials; ++i) events.push_back(ProcessStart(schema, i));
  auto programs =
      Compile(schema, {R"(sequence by process.entity_id [process where event.type == "start"]
                  [process where process.name == "never-1"] [file where file.path == "/never"])"});
  if (programs.size() != 1) {
    state.SkipWithError("the benchmark rule did not compile");
    return;
  }
  EngineLimits limits;
  limits.streaming = true;
  // The rule is entity-local: its state is split into 64 shards, each with 1/64 of the quota;
  // a quota 64 times larger keeps every shard from evicting.
  limits.max_partials = 64 * kPartials;
  limits.max_keys = 64 * kPartials;
  limits.state_budget_bytes = size_t{1} << 40;  // charged, never reached
  for (auto _ : state) {
    state.PauseTiming();
    malloc_trim(0);
    size_t rss0 = RssBytes(), heap0 = HeapBytes();
    state.ResumeTiming();
    {
      kestrel::engine::Detector detector(schema, limits);
      if (!detector.AddRule(programs[0].get()).ok() || !detector.Seal().ok()) {
        state.SkipWithError("the benchmark rule was refused");
        return;
      }
      auto none = [](size_t, kestrel::engine::QueryMatch&) {};
      for (size_t i = 0; i < kPartials; ++i) detector.Process(events[i], i, none);
      state.PauseTiming();
      double n = static_cast<double>(detector.stats(0).partials);
      state.counters["partials"] = n;
      state.counters["rss_bytes_per_partial"] =
          static_cast<double>(RssBytes() - rss0) / std::max(n, 1.0);
      state.counters["heap_bytes_per_partial"] =
          static_cast<double>(HeapBytes() - heap0) / std::max(n, 1.0);
      state.counters["rss_delta_mb"] = static_cast<double>(RssBytes() - rss0) / (1 << 20);
      // One event as a full copy (what a partial match held before compact evidence).
      state.counters["event_copy_bytes"] = static_cast<double>(Event(events[0]).MemoryBytes());
      state.counters["evidence_bytes_per_event"] =
          static_cast<double>(kestrel::engine::Evidence::LiveBytes()) /
          static_cast<double>(std::max<int64_t>(kestrel::engine::Evidence::Live(), 1));
      state.counters["state_bytes_per_partial"] =
          static_cast<double>(detector.state_budget() != nullptr ? detector.state_budget()->used()
                                                                 : 0) /
          std::max(n, 1.0);
    }
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPartials));
}
BENCHMARK(BM_SequencePartials100k)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
