// The sequence flood (issue 23's flood benchmark): 10,000,000 events, each starting a new partial
// match of one sequence rule of the default pack, cycling through the rules, with the limits
// `kestrel run` uses by default (pipeline::RunConfig's defaults through pipeline::StreamingLimits:
// the 64 MB state budget, the per-rule quota, the default TTL).
//
//   BM_SequenceFlood10M  the default pack's sequence rules (rules/linux/*.eql whose query is a
//                        sequence, compiled as `kestrel run` compiles them: rules::BuildRuleSet,
//                        Elasticsearch dialect, engine refusals checked) in one engine::Detector,
//                        fed one event at a time (Detector::Process, as `kestrel run --workers 1`
//                        does). Counters: events/s (timed region: Process only), partial
//                        matches held, budget and quota evictions, process RSS after each million
//                        events and its peak, the events after which the budget first evicted
//                        and after which every domain of it had (RSS min/max from then on).
//                        A table per rule (templates, flood check, evictions) goes to stderr.
//
// No single event can match the first stage of every sequence rule (their categories and
// conditions differ), so the stream cycles through the R floodable rules: event i is the
// (i mod R)th one's template, the first event of the first positive case of its `ID.test.yaml`,
// with the fields of its first stage's join key (the sequence's `by` and the stage's own, from
// the IR) given values unique to i (a string gets "-i" appended, so prefix and wildcard
// conditions stay true; an integer becomes i). Every event therefore starts a new partial match of
// one rule and every rule is flooded; a rule whose template cannot be made to do that is listed
// with the reason (stderr, and counted in `rules_not_flooded`), not silently left out. Events are 1
// us apart in event time (a 1 M events/s flood): maxspans (>= 5 s) do not expire what the budget
// holds.
//
// The harness holds the decoded templates and a ring of kBatch reused events, refilled outside
// the timed region (PauseTiming) for each batch; counter `harness_mb` is what they hold.
//
// Run: build/release/bench/sequence_flood_bench --benchmark_filter=SequenceFlood
// Diagnosis only (the figures of docs/benchmarks.md are without them): KESTREL_FLOOD_EVENTS=N
// (a multiple of 1,000,000: a shorter run, e.g. under perf), KESTREL_FLOOD_STATE_MB=N
// (another budget), KESTREL_FLOOD_ALL_RULES=1 (every rule of the pack in the Detector, as
// `kestrel run`).
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bench_memory.h"
#include "kestrel/engine/detector.h"
#include "kestrel/engine/evidence.h"
#include "kestrel/eql/ir.h"
#include "kestrel/event/json_decoder.h"
#include "kestrel/pipeline/rule_loader.h"
#include "kestrel/pipeline/run_config.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/rules/rule_test_file.h"

namespace {

using kestrel::event::Event;
using kestrel::event::Value;
using kestrel::schema::FieldId;

// Events fed; env KESTREL_FLOOD_EVENTS (a multiple of 1,000,000) shortens it, e.g. to profile.
uint64_t FloodEvents() {
  const char* env = std::getenv("KESTREL_FLOOD_EVENTS");
  uint64_t n = env != nullptr ? std::strtoull(env, nullptr, 10) / 1'000'000 * 1'000'000 : 0;
  return n == 0 ? 10'000'000 : n;
}
constexpr uint64_t kBatch = 1000;          // events per refill of the ring (divides 1M)
constexpr uint64_t kCheckEvents = 21'000;  // the flood check: after this many events
constexpr int64_t kStepNs = 1000;          // event time between events (1 us)
constexpr int64_t kBaseNs = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z

using kestrel::bench::PeakRssMb;
using kestrel::bench::RssMb;

struct FloodRule {
  size_t rule = 0;  // the Detector's rule number
  std::string id;
  const kestrel::eql::IrProgram* program = nullptr;
  Event tmpl;                     // the template event
  std::vector<FieldId> keys;      // its first stage's join-key fields, made unique per event
  std::string problem;            // why it cannot be flooded ("" : it can)
  uint64_t started_at_check = 0;  // partial matches started after kCheckEvents events
};

// Rebuilds `out` as `rule`'s template for event number i (keys unique to i). No allocation once
// `out` has held the template (Clear keeps capacity).
void MakeEvent(const FloodRule& rule, uint64_t i, Event& out) {
  out.Clear();
  char buf[512];
  rule.tmpl.ForEachField([&](const Event::Entry& e) {
    if (std::find(rule.keys.begin(), rule.keys.end(), e.id) == rule.keys.end()) {
      out.Set(e.id, e.value);
    } else if (e.value.kind() == kestrel::event::ValueKind::kString) {
      std::string_view s = e.value.as_string();
      auto r = fmt::format_to_n(buf, sizeof buf, "{}-{}", s, i);
      out.SetString(e.id, std::string_view(buf, std::min(r.size, sizeof buf)));
    } else {
      out.SetInt(e.id, static_cast<int64_t>(i));
    }
  });
  for (uint32_t c = 0; c < 64; ++c) {
    if (rule.tmpl.InCategory(static_cast<kestrel::schema::CategoryId>(c))) {
      out.AddCategory(static_cast<kestrel::schema::CategoryId>(c));
    }
  }
  out.Finish();
  int64_t t = kBaseNs + static_cast<int64_t>(i) * kStepNs;
  out.set_time_ns(t);
  out.set_wall_ns(t);
}

// Fills rule.tmpl and rule.keys from the rule's test file and IR, or sets rule.problem.
void PrepareTemplate(kestrel::schema::Schema& schema, const kestrel::rules::CompiledRule& compiled,
                     FloodRule& rule) {
  namespace fs = std::filesystem;
  fs::path test = fs::path(compiled.spec.file).replace_extension(".test.yaml");
  kestrel::rules::RuleTestLoad load = kestrel::rules::LoadRuleTestFile(test);
  if (!load.test) {
    rule.problem = fmt::format("cannot read {}", test.string());
    return;
  }
  const kestrel::rules::RuleTestCase* positive = nullptr;
  for (const auto& c : load.test->cases) {
    if (c.positive() && !c.events.empty()) {
      positive = &c;
      break;
    }
  }
  if (positive == nullptr) {
    rule.problem = "its test file has no positive case";
    return;
  }
  kestrel::event::JsonDecoder decoder(&schema);
  if (auto s = decoder.Decode(positive->events[0], &rule.tmpl); !s.ok()) {
    rule.problem = fmt::format("its template does not decode: {}", std::string(s.message()));
    return;
  }
  const kestrel::eql::IrStage& first = rule.program->stages.front();
  if (first.by.empty()) {
    rule.problem = "its first stage has no join key (every event is the same partial match)";
    return;
  }
  for (const auto& by : first.by) {
    if (by->op != kestrel::eql::IrOp::kField || by->index) {
      rule.problem = "a join key of its first stage is not a plain field";
      return;
    }
    const Value* v = rule.tmpl.Find(by->field);
    if (v == nullptr || !(v->kind() == kestrel::event::ValueKind::kString ||
                          v->kind() == kestrel::event::ValueKind::kInt)) {
      rule.problem = "its template lacks a string or integer value for a join-key field";
      return;
    }
    rule.keys.push_back(by->field);
  }
}

uint64_t Started(const kestrel::engine::EngineStats& s) {
  return s.partials + s.expired + s.evicted + s.evicted_budget;
}

void BM_SequenceFlood10M(benchmark::State& state) {
  kestrel::schema::Schema schema;
  // The limits `kestrel run` uses by default.
  kestrel::pipeline::RunConfig config;
  // Env KESTREL_FLOOD_STATE_MB: another budget (`--state-memory`), to see how the cost per event
  // depends on the state's size (diagnosis only; the benchmark's figure is the default's).
  if (const char* mb = std::getenv("KESTREL_FLOOD_STATE_MB"); mb != nullptr) {
    config.state_budget_bytes = std::strtoull(mb, nullptr, 10) << 20;
  }
  kestrel::engine::EngineLimits limits = kestrel::pipeline::StreamingLimits(
      config.max_partials_per_rule, config.default_ttl_ns, config.state_budget_bytes);
  kestrel::rules::RuleSetOptions options;
  options.engine_limits = &limits;
  kestrel::rules::RuleSetBuild build =
      kestrel::rules::BuildRuleSet({KESTREL_RULES_DIR}, schema, options);
  if (build.failed > 0) {
    state.SkipWithError("a rule of the default pack failed to load");
    return;
  }
  // Every sequence rule runs; with env KESTREL_FLOOD_ALL_RULES=1 every rule of the pack, as in
  // `kestrel run` (diagnosis: the single-event rules' share). The stream cycles through the
  // floodable sequence rules either way.
  bool all_rules = std::getenv("KESTREL_FLOOD_ALL_RULES") != nullptr;
  std::vector<FloodRule> all;
  kestrel::engine::Detector detector(schema, limits);
  for (const auto& compiled : build.rules) {
    bool sequence = compiled.program->kind == kestrel::eql::QueryKind::kSequence;
    if (!sequence && !all_rules) continue;
    if (!detector.AddRule(compiled.program.get()).ok()) {
      state.SkipWithError("a rule was refused");
      return;
    }
    if (!sequence) continue;
    FloodRule& r = all.emplace_back();
    r.rule = detector.rule_count() - 1;
    r.id = compiled.spec.id;
    r.program = compiled.program.get();
    PrepareTemplate(schema, compiled, r);
  }
  if (!detector.Seal().ok()) {
    state.SkipWithError("the rule index was refused");
    return;
  }
  std::vector<size_t> flood;  // indexes into `all`
  for (size_t r = 0; r < all.size(); ++r) {
    if (all[r].problem.empty()) flood.push_back(r);
  }
  if (flood.empty()) {
    state.SkipWithError("no sequence rule can be flooded");
    return;
  }
  const uint64_t kEvents = FloodEvents();
  std::vector<Event> ring(kBatch);
  uint64_t matches = 0;
  auto count = [&](size_t, kestrel::engine::QueryMatch&) { ++matches; };
  double rss_at_reach = 0, rss_min_after = 1e18, rss_max_after = 0;
  uint64_t reached_at = 0;  // events processed when the budget first evicted (0: never)
  uint64_t full_at = 0;     // ... when every budget domain had evicted (RSS min/max from then)
  size_t harness_bytes = 0;
  for (auto _ : state) {
    for (uint64_t base = 0; base < kEvents; base += kBatch) {
      state.PauseTiming();
      for (uint64_t j = 0; j < kBatch; ++j) {
        uint64_t i = base + j;
        MakeEvent(all[flood[i % flood.size()]], i, ring[j]);
      }
      state.ResumeTiming();
      for (uint64_t j = 0; j < kBatch; ++j) detector.Process(ring[j], base + j, count);
      state.PauseTiming();
      uint64_t done = base + kBatch;
      double rss = RssMb();
      const kestrel::engine::StateBudgets* budget = detector.state_budget();
      if (reached_at == 0 && budget != nullptr && budget->evictions() > 0) {
        reached_at = done;
        rss_at_reach = rss;
      }
      if (full_at == 0 && budget != nullptr) {
        bool all_full = true;
        for (uint32_t d = 0; d < kestrel::engine::StateBudgets::kDomains; ++d) {
          all_full = all_full && budget->domain(d).evictions() > 0;
        }
        if (all_full) full_at = done;
      }
      if (full_at != 0) {
        rss_min_after = std::min(rss_min_after, rss);
        rss_max_after = std::max(rss_max_after, rss);
      }
      if (done == kCheckEvents) {
        for (FloodRule& r : all) {
          r.started_at_check = Started(detector.stats(r.rule));
        }
      }
      if (done % 1'000'000 == 0) {
        uint64_t partials = 0;
        for (size_t r = 0; r < detector.rule_count(); ++r) partials += detector.stats(r).partials;
        int m = static_cast<int>(done / 1'000'000);
        state.counters[fmt::format("partials_{:02}M", m)] = static_cast<double>(partials);
        state.counters[fmt::format("rss_mb_{:02}M", m)] = rss;
        state.counters[fmt::format("state_mb_{:02}M", m)] =
            budget != nullptr ? static_cast<double>(budget->used()) / (1 << 20) : 0;
      }
      state.ResumeTiming();
    }
    state.PauseTiming();
    for (const Event& e : ring) harness_bytes += e.MemoryBytes();
    for (const FloodRule& r : all) harness_bytes += r.tmpl.MemoryBytes();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kEvents));

  // The flood check: each floodable rule must have started a new partial match for each of its
  // events among the first kCheckEvents (kCheckEvents / R of them; other templates may start
  // more, e.g. any exec event starts a rule whose first stage is any exec).
  uint64_t per_rule = kCheckEvents / flood.size();
  size_t flooded = 0, not_flooded = 0;
  for (size_t r : flood) {
    if (all[r].started_at_check >= per_rule) {
      ++flooded;
    } else {
      all[r].problem = fmt::format("its template started {} partial matches of {}",
                                   all[r].started_at_check, per_rule);
    }
  }
  not_flooded = all.size() - flooded;
  uint64_t partials = 0, evicted = 0, evicted_budget = 0, expired = 0;
  fmt::print(stderr, "{:<48} {:>9} {:>9} {:>9} {:>11} {:>8}  {}\n", "rule", "started21k", "held",
             "evicted", "evicted_mem", "expired", "keys / problem");
  for (size_t r = 0; r < all.size(); ++r) {
    const kestrel::engine::EngineStats& s = detector.stats(all[r].rule);
    partials += s.partials;
    evicted += s.evicted;
    evicted_budget += s.evicted_budget;
    expired += s.expired;
    std::string keys;
    for (FieldId f : all[r].keys)
      keys += std::string(keys.empty() ? "" : ",") + std::string(schema.Info(f).name);
    fmt::print(stderr, "{:<48} {:>9} {:>9} {:>9} {:>11} {:>8}  {}\n", all[r].id,
               all[r].started_at_check, s.partials, s.evicted, s.evicted_budget, s.expired,
               all[r].problem.empty() ? keys : "NOT FLOODED: " + all[r].problem);
  }
  const kestrel::engine::StateBudgets* budget = detector.state_budget();
  state.counters["rules"] = static_cast<double>(detector.rule_count());
  state.counters["sequence_rules"] = static_cast<double>(all.size());
  state.counters["rules_flooded"] = static_cast<double>(flooded);
  state.counters["rules_not_flooded"] = static_cast<double>(not_flooded);
  state.counters["partials_held"] = static_cast<double>(partials);
  state.counters["evicted_budget"] = static_cast<double>(evicted_budget);
  state.counters["evicted_quota"] = static_cast<double>(evicted);
  state.counters["expired"] = static_cast<double>(expired);
  state.counters["matches"] = static_cast<double>(matches);
  state.counters["budget_mb"] =
      budget != nullptr ? static_cast<double>(budget->limit()) / (1 << 20) : 0;
  state.counters["budget_reached_at_event"] = static_cast<double>(reached_at);
  state.counters["rss_mb_at_reach"] = rss_at_reach;
  state.counters["budget_full_at_event"] = static_cast<double>(full_at);
  state.counters["rss_mb_min_after_full"] = full_at != 0 ? rss_min_after : 0;
  state.counters["rss_mb_max_after_full"] = rss_max_after;
  state.counters["rss_mb_peak"] = PeakRssMb();
  state.counters["evidence_live"] = static_cast<double>(kestrel::engine::Evidence::Live());
  state.counters["rules_evaluated_per_event"] =
      static_cast<double>(detector.evaluated()) / static_cast<double>(kEvents);
  state.counters["harness_mb"] = static_cast<double>(harness_bytes) / (1 << 20);
}
BENCHMARK(BM_SequenceFlood10M)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace

BENCHMARK_MAIN();
