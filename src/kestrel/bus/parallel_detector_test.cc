#include "kestrel/bus/parallel_detector.h"

#include <atomic>
#include <chrono>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kestrel/eql/sema.h"

namespace kestrel::bus {
namespace {

// Rules of every shape: the first four are entity-local, the others global.
const char* kRules[] = {
    R"(process where process.name == "curl")",
    R"(file where file.path : "/tmp/*")",
    R"(sequence by process.entity_id with maxspan=5s [process where process.name == "bash"] [file where file.path : "/tmp/*"])",
    R"(sequence by process.entity_id [process where process.name == "sh"] [network where destination.port == 443] until [process where process.name == "reboot"])",
    R"(sequence by host.name with maxspan=10s [process where process.name == "curl"] [network where destination.port == 443])",
    R"(sequence [process where process.name == "wget"] [process where process.name == "sh"])",
    R"(process where process.name == "bash" | unique process.parent.name)",
    R"(sequence by process.entity_id with maxspan=2s [process where process.name == "bash"] ![file where file.path : "/var/*"])",
};

class ParallelDetectorTest : public ::testing::Test {
 protected:
  ParallelDetectorTest() {
    for (const char* text : kRules) {
      eql::CompileResult r = eql::Compile(text, schema_, {});
      EXPECT_TRUE(r.ok()) << text;
      programs_.push_back(std::move(r.program));
    }
    std::mt19937_64 rng(11);
    const char* names[] = {"bash", "curl", "wget", "sh", "python3", "reboot"};
    int64_t t = 1'700'000'000'000'000'000;
    for (int i = 0; i < 30000; ++i) {
      t += static_cast<int64_t>(rng() % 300'000'000);
      int pid = static_cast<int>(rng() % 200);
      event::EventBuilder b(schema_);
      b.Time(t)
          .Str("host.name", fmt::format("h{}", pid % 5))
          .Str("process.entity_id", fmt::format("e{}", pid));
      int kind = static_cast<int>(rng() % 10);
      if (kind < 5) {
        b.Category("process")
            .Str("process.name", names[rng() % 6])
            .Str("process.parent.name", names[rng() % 6]);
      } else if (kind < 8) {
        b.Category("file").Str("file.path", fmt::format("/{}/f", rng() % 2 ? "tmp" : "var"));
      } else {
        b.Category("network").Int("destination.port", rng() % 2 ? 443 : 80);
      }
      events_.push_back(b.Build());
    }
  }

  std::vector<const eql::IrProgram*> Programs() const {
    std::vector<const eql::IrProgram*> out;
    for (const auto& p : programs_) out.push_back(p.get());
    return out;
  }

  // "rule:index,index,..." per match, in delivery order; `stats`: each rule's at the end.
  std::vector<std::string> Single(std::vector<engine::EngineStats>* stats = nullptr) {
    engine::Detector d(schema_, limits_);
    for (const auto& p : programs_) EXPECT_TRUE(d.AddRule(p.get()).ok());
    EXPECT_TRUE(d.Seal().ok());
    std::vector<std::string> out;
    auto cb = [&](size_t rule, engine::QueryMatch& m) {
      out.push_back(fmt::format("{}:{}", rule, fmt::join(m.event_indexes, ",")));
    };
    for (size_t i = 0; i < events_.size(); ++i) d.Process(events_[i], i, cb);
    d.Finish(cb);
    for (size_t r = 0; stats != nullptr && r < programs_.size(); ++r) stats->push_back(d.stats(r));
    return out;
  }

  struct Run {
    size_t workers = 2;
    Routing routing = Routing::kByEntity;
    size_t capacity = 256;
    bool encode = false;  // EncodeFn on the workers, LineFn on the merger
    bool move = false;    // Publish(Event&&) of a copy
    size_t max_inflight = size_t{8} << 20;
    uint64_t* inflight_waits = nullptr;  // out: times Publish waited for the merger
    bool slow_first_delivery = false;    // the merger sleeps 20 ms in its first delivery
    // out: events routed to workers p != 0 (kByEntity), and of those, read by worker 0 in place
    // and copied for it.
    uint64_t* routed_elsewhere = nullptr;
    uint64_t* routed_shared = nullptr;
    uint64_t* routed_copied = nullptr;
  };

  std::vector<std::string> Parallel(const Run& run,
                                    std::vector<engine::EngineStats>* stats = nullptr) {
    std::vector<std::string> out;
    ParallelOptions options;
    options.workers = run.workers;
    options.routing = run.routing;
    options.queue_capacity = run.capacity;
    options.max_inflight_bytes = run.max_inflight;
    options.limits = limits_;
    std::thread::id producer = std::this_thread::get_id();
    bool slept = !run.slow_first_delivery;
    auto delivered = [&] {
      if (slept) return;
      slept = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    };
    auto d =
        run.encode
            ? ParallelDetector::Create(
                  schema_, Programs(), options,
                  [&, producer](size_t, size_t rule, engine::QueryMatch& m, std::string* line) {
                    EXPECT_NE(std::this_thread::get_id(), producer);
                    *line = fmt::format("{}:{}", rule, fmt::join(m.event_indexes, ","));
                  },
                  [&](size_t, std::string_view line) {
                    delivered();
                    out.emplace_back(line);
                  })
            : ParallelDetector::Create(
                  schema_, Programs(), options, [&](size_t rule, engine::QueryMatch& m) {
                    delivered();
                    out.push_back(fmt::format("{}:{}", rule, fmt::join(m.event_indexes, ",")));
                  });
    EXPECT_TRUE(d.ok()) << d.status();
    if (!d.ok()) return out;
    bool by_rule = run.routing == Routing::kByRule;
    EXPECT_EQ((*d)->local_rules(), by_rule ? 8u : 4u);
    EXPECT_EQ((*d)->global_rules(), by_rule ? 0u : 4u);
    event::Event spare;
    for (const event::Event& e : events_) {
      if (run.move) {
        spare = e;
        EXPECT_TRUE((*d)->Publish(std::move(spare)));
      } else {
        EXPECT_TRUE((*d)->Publish(e));
      }
    }
    (*d)->Finish();
    if (run.inflight_waits != nullptr) *run.inflight_waits = (*d)->inflight_waits();
    uint64_t routed = 0, elsewhere = 0;
    for (const PartitionStats& s : (*d)->partition_stats()) routed += s.routed;
    for (size_t p = 1; p < (*d)->partition_stats().size(); ++p) {
      elsewhere += (*d)->partition_stats()[p].routed;
    }
    if (run.routed_elsewhere != nullptr) *run.routed_elsewhere = elsewhere;
    if (run.routed_shared != nullptr) *run.routed_shared = (*d)->routed_shared();
    if (run.routed_copied != nullptr) *run.routed_copied = (*d)->routed_copied();
    // kByRule: every event goes to every worker.
    EXPECT_EQ(routed, events_.size() * (by_rule ? run.workers : 1));
    for (size_t r = 0; stats != nullptr && r < programs_.size(); ++r) {
      stats->push_back((*d)->stats(r));
    }
    return out;
  }
  std::vector<std::string> Parallel(size_t workers, size_t capacity = 256) {
    return Parallel(Run{.workers = workers, .capacity = capacity});
  }

  schema::Schema schema_;
  engine::EngineLimits limits_;
  std::vector<std::unique_ptr<eql::IrProgram>> programs_;
  std::vector<event::Event> events_;
};

TEST_F(ParallelDetectorTest, AnyWorkerCountGivesTheSingleThreadedMatchesInOrder) {
  std::vector<std::string> want = Single();
  ASSERT_GT(want.size(), 1000u);
  // Every rule matched something, so every shape is compared.
  for (size_t r = 0; r < std::size(kRules); ++r) {
    EXPECT_TRUE(std::any_of(want.begin(), want.end(), [&](const std::string& m) {
      return m.starts_with(fmt::format("{}:", r));
    })) << kRules[r];
  }
  EXPECT_EQ(Parallel(1), want);
  EXPECT_EQ(Parallel(2), want);
  EXPECT_EQ(Parallel(4), want);
  EXPECT_EQ(Parallel(3, 2), want);  // tiny queues: the producer waits constantly
}

TEST_F(ParallelDetectorTest, ByRuleRoutingGivesTheSingleThreadedMatchesInOrder) {
  std::vector<std::string> want = Single();
  for (size_t workers : {1u, 2u, 3u, 4u}) {
    EXPECT_EQ(Parallel(Run{.workers = workers, .routing = Routing::kByRule}), want) << workers;
  }
  // Tiny queues: shared event slots are reused as fast as the slowest worker allows.
  EXPECT_EQ(Parallel(Run{.workers = 3, .routing = Routing::kByRule, .capacity = 2}), want);
  EXPECT_EQ(Parallel(Run{.workers = 9, .routing = Routing::kByRule, .capacity = 4}), want)
      << "more workers than rules";
}

TEST_F(ParallelDetectorTest, WorkersEncodeAndEventsMayBeMovedIn) {
  std::vector<std::string> want = Single();
  for (Routing routing : {Routing::kByEntity, Routing::kByRule}) {
    for (size_t workers : {1u, 3u}) {
      for (bool move : {false, true}) {
        EXPECT_EQ(Parallel(Run{.workers = workers,
                               .routing = routing,
                               .capacity = 16,
                               .encode = true,
                               .move = move}),
                  want)
            << workers << " workers, routing " << static_cast<int>(routing) << ", move " << move;
      }
    }
  }
}

// kByEntity: an event routed to worker p != 0 is read in place by worker 0 too (for the global
// rules) instead of being copied for it, unless its ring entry is still being read by a lagging
// worker (then copied: never waited for; with two workers it cannot be). Tiny queues make the
// ring (capacity entries) wrap constantly, so entries are rewritten right after their last
// reader is done (under TSan too).
TEST_F(ParallelDetectorTest, EventsRoutedElsewhereAreSharedWithWorkerZero) {
  std::vector<std::string> want = Single();
  struct Case {
    size_t workers, capacity;
    bool move;
  } cases[] = {{2, 2, true}, {3, 2, false}, {2, 256, false}};  // lean: CI runs it under TSan
  for (const Case& c : cases) {
    uint64_t elsewhere = 0, shared = 0, copied = 0;
    EXPECT_EQ(Parallel(Run{.workers = c.workers,
                           .capacity = c.capacity,
                           .move = c.move,
                           .routed_elsewhere = &elsewhere,
                           .routed_shared = &shared,
                           .routed_copied = &copied}),
              want)
        << c.workers << " workers, capacity " << c.capacity << ", move " << c.move;
    EXPECT_GT(elsewhere, events_.size() / 4);
    EXPECT_EQ(shared + copied, elsewhere) << "every event routed elsewhere reached worker 0";
    // Two-slot queues: a lagging worker may hold the next entry often; never always.
    EXPECT_GT(shared, c.capacity > 2 ? elsewhere / 2 : 0) << "mostly shared, not copied";
    if (c.workers == 2) {
      EXPECT_EQ(copied, 0u) << "two workers: the next entry is always free";
    }
  }
}

// Matches in flight between the workers and the merger are bounded: with a bound of one byte the
// producer waits for the merger whenever a match is reported and not yet delivered (certain while
// the merger sleeps in its first delivery), and the stream is still the single thread's, in
// order, for both routings and both ways of handing matches over.
TEST_F(ParallelDetectorTest, BoundedInFlightMatchesKeepTheSingleThreadedStream) {
  std::vector<std::string> want = Single();
  for (Routing routing : {Routing::kByEntity, Routing::kByRule}) {
    for (bool encode : {false, true}) {
      uint64_t waits = 0;
      EXPECT_EQ(Parallel(Run{.workers = 3,
                             .routing = routing,
                             .capacity = 64,
                             .encode = encode,
                             .max_inflight = 1,
                             .inflight_waits = &waits,
                             .slow_first_delivery = true}),
                want)
          << "routing " << static_cast<int>(routing) << ", encode " << encode;
      EXPECT_GT(waits, 0u);
      uint64_t unbounded_waits = 1;
      EXPECT_EQ(Parallel(Run{.workers = 2,
                             .routing = routing,
                             .encode = encode,
                             .inflight_waits = &unbounded_waits}),
                want);
      EXPECT_EQ(unbounded_waits, 0u) << "the default bound is not reached by this test's stream";
    }
  }
}

void ExpectSameCounts(const std::vector<engine::EngineStats>& got,
                      const std::vector<engine::EngineStats>& want, bool all_counts) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t r = 0; r < want.size(); ++r) {
    EXPECT_EQ(got[r].partials, want[r].partials) << "rule " << r << ": " << kRules[r];
    if (!all_counts) continue;
    EXPECT_EQ(got[r].keys, want[r].keys) << "rule " << r;
    EXPECT_EQ(got[r].expired, want[r].expired) << "rule " << r;
    EXPECT_EQ(got[r].evicted, want[r].evicted) << "rule " << r;
    EXPECT_EQ(got[r].evicted_budget, want[r].evicted_budget) << "rule " << r;
  }
}

// Routing by rule: each rule's engine is the one engine of a single Detector, quotas and all.
TEST_F(ParallelDetectorTest, ByRuleStatisticsEqualOneDetectorsUnderQuotaPressure) {
  limits_.max_partials = 5;
  limits_.max_keys = 5;
  std::vector<engine::EngineStats> want, got;
  std::vector<std::string> matches = Single(&want);
  uint64_t evicted = 0, expired = 0;
  for (const engine::EngineStats& s : want) {
    evicted += s.evicted;
    expired += s.expired;
  }
  ASSERT_GT(evicted, 0u) << "no quota pressure";
  ASSERT_GT(expired, 0u);
  EXPECT_EQ(Parallel(Run{.workers = 2, .routing = Routing::kByRule}, &got), matches);
  ExpectSameCounts(got, want, true);
}

// Routing by entity without quota pressure: each partial match lives on its process's worker,
// so the sums are one Detector's counts — expiries included: an engine counts what has expired
// before an event can replace it, and Finish() sweeps at the stream's latest time on every
// worker (a worker's own latest time is earlier than the stream's).
TEST_F(ParallelDetectorTest, ByEntityPartialCountsEqualOneDetectorsWithoutQuotaPressure) {
  std::vector<engine::EngineStats> want, got;
  Single(&want);
  uint64_t partials = 0;
  for (const engine::EngineStats& s : want) partials += s.partials;
  ASSERT_GT(partials, 0u);
  for (size_t workers : {2u, 3u}) {
    got.clear();
    Parallel(Run{.workers = workers, .routing = Routing::kByEntity}, &got);
    ASSERT_EQ(got.size(), want.size());
    for (size_t r = 0; r < want.size(); ++r) {
      EXPECT_EQ(got[r].partials, want[r].partials) << "rule " << r << ": " << kRules[r];
      EXPECT_EQ(got[r].expired, want[r].expired) << "rule " << r << ": " << kRules[r];
      EXPECT_EQ(got[r].evicted, 0u);
    }
  }
}

// Routing by entity under quota pressure: an entity-local sequence keeps its partial matches in
// state shards, each with its share of the quota, and a shard's events all go to one worker; so
// every count (evictions included) and every match are one Detector's, whatever the number of
// workers. (Before: each worker had a whole quota of its own, and evictions differed.)
TEST_F(ParallelDetectorTest, ByEntityStatisticsEqualOneDetectorsUnderQuotaPressure) {
  limits_.max_partials = 5;
  limits_.max_keys = 5;
  std::vector<engine::EngineStats> want, got;
  std::vector<std::string> matches = Single(&want);
  uint64_t evicted = 0;
  for (const engine::EngineStats& s : want) evicted += s.evicted;
  ASSERT_GT(evicted, 0u) << "no quota pressure";
  for (size_t workers : {2u, 3u}) {
    got.clear();
    EXPECT_EQ(Parallel(Run{.workers = workers, .routing = Routing::kByEntity}, &got), matches)
        << workers << " workers";
    ExpectSameCounts(got, want, true);
  }
}

// stats() and predicate_errors() from another thread while the workers run (for TSan).
TEST_F(ParallelDetectorTest, StatisticsAreReadableFromAnyThreadWhileRunning) {
  for (Routing routing : {Routing::kByEntity, Routing::kByRule}) {
    ParallelOptions options;
    options.workers = 2;
    options.routing = routing;
    options.queue_capacity = 64;
    auto d =
        ParallelDetector::Create(schema_, Programs(), options, [](size_t, engine::QueryMatch&) {});
    ASSERT_TRUE(d.ok());
    std::atomic<bool> done{false};
    uint64_t reads = 0;
    std::thread reader([&] {
      while (!done.load()) {
        for (size_t r = 0; r < programs_.size(); ++r) {
          reads += (*d)->stats(r).partials + (*d)->predicate_errors(r);
        }
        EXPECT_EQ((*d)->stats(programs_.size()).partials, 0u);  // no such rule
      }
    });
    for (const event::Event& e : events_) (*d)->Publish(e);
    (*d)->Finish();
    done.store(true);
    reader.join();
    if (routing == Routing::kByRule) {
      std::vector<engine::EngineStats> want, got;
      Single(&want);
      for (size_t r = 0; r < programs_.size(); ++r) got.push_back((*d)->stats(r));
      ExpectSameCounts(got, want, true);
    }
  }
}

TEST_F(ParallelDetectorTest, ByRuleDropsAnEventForEveryWorkerOrNone) {
  ParallelOptions options;
  options.workers = 3;
  options.routing = Routing::kByRule;
  options.queue_capacity = 2;
  options.policy = FullPolicy::kDrop;
  auto d =
      ParallelDetector::Create(schema_, Programs(), options, [](size_t, engine::QueryMatch&) {});
  ASSERT_TRUE(d.ok());
  uint64_t accepted = 0, refused = 0;
  for (int pass = 0; pass < 3; ++pass) {
    for (const event::Event& e : events_) ((*d)->Publish(e) ? accepted : refused)++;
  }
  (*d)->Finish();
  uint64_t dropped = 0;
  for (const PartitionStats& s : (*d)->partition_stats()) {
    EXPECT_EQ(s.routed, accepted);
    EXPECT_EQ(s.processed, accepted);
    dropped += s.dropped;
  }
  EXPECT_EQ(dropped, refused);
  EXPECT_GT(refused, 0u);
  EXPECT_EQ(accepted + refused, 3 * events_.size());
}

TEST_F(ParallelDetectorTest, ByRuleRefusesReload) {
  ParallelOptions options;
  options.routing = Routing::kByRule;
  auto d =
      ParallelDetector::Create(schema_, Programs(), options, [](size_t, engine::QueryMatch&) {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->Reload(Programs(), std::vector<int64_t>(programs_.size(), -1)).code(),
            absl::StatusCode::kFailedPrecondition);
}

struct ReloadStep {
  size_t at;  // before event `at`
  std::vector<const eql::IrProgram*> set;
  std::vector<int64_t> keep;
};

// "generation/rule:indexes" per match: one Detector reloaded at each step the way the rule
// reloader does it (AdoptRule of kept engines), or a ParallelDetector with Reload().
std::vector<std::string> ReloadedSingle(schema::Schema& schema, const engine::EngineLimits& limits,
                                        const std::vector<const eql::IrProgram*>& first,
                                        const std::vector<ReloadStep>& steps,
                                        const std::vector<event::Event>& events) {
  std::vector<std::string> out;
  int gen = 1;
  auto cb = [&](size_t rule, engine::QueryMatch& m) {
    out.push_back(fmt::format("{}/{}:{}", gen, rule, fmt::join(m.event_indexes, ",")));
  };
  auto d = std::make_unique<engine::Detector>(schema, limits);
  for (const auto* p : first) EXPECT_TRUE(d->AddRule(p).ok());
  EXPECT_TRUE(d->Seal().ok());
  size_t next_step = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    while (next_step < steps.size() && steps[next_step].at == i) {
      const ReloadStep& step = steps[next_step++];
      auto next = std::make_unique<engine::Detector>(schema, limits);
      for (size_t r = 0; r < step.set.size(); ++r) {
        if (step.keep[r] >= 0) {
          next->AdoptRule(step.set[r], d->ReleaseEngine(static_cast<size_t>(step.keep[r])));
        } else {
          EXPECT_TRUE(next->AddRule(step.set[r]).ok());
        }
      }
      EXPECT_TRUE(next->Seal().ok());
      d = std::move(next);
      ++gen;
    }
    d->Process(events[i], i, cb);
  }
  d->Finish(cb);
  return out;
}

std::vector<std::string> ReloadedParallel(size_t workers, schema::Schema& schema,
                                          const engine::EngineLimits& limits,
                                          const std::vector<const eql::IrProgram*>& first,
                                          const std::vector<ReloadStep>& steps,
                                          const std::vector<event::Event>& events) {
  std::vector<std::string> out;
  std::atomic<int> gen{1};
  ParallelOptions options;
  options.workers = workers;
  options.queue_capacity = 64;
  options.limits = limits;
  auto d =
      ParallelDetector::Create(schema, first, options, [&](size_t rule, engine::QueryMatch& m) {
        out.push_back(fmt::format("{}/{}:{}", gen.load(), rule, fmt::join(m.event_indexes, ",")));
      });
  EXPECT_TRUE(d.ok()) << d.status();
  if (!d.ok()) return out;
  size_t next_step = 0;
  uint64_t routed_before = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    while (next_step < steps.size() && steps[next_step].at == i) {
      const ReloadStep& step = steps[next_step++];
      EXPECT_TRUE((*d)->Reload(step.set, step.keep).ok());
      EXPECT_EQ((*d)->local_rules() + (*d)->global_rules(), step.set.size());
      ++gen;  // Reload() returned: every match of the old set was delivered
    }
    EXPECT_TRUE((*d)->Publish(events[i]));
  }
  (*d)->Finish();
  for (const PartitionStats& s : (*d)->partition_stats()) routed_before += s.routed;
  EXPECT_EQ(routed_before, events.size());  // no event lost across the reloads
  return out;
}

// Reload mid-stream: kept rules carry their partial matches over on every worker, changed and
// new rules start empty, removed rules stop; the result is exactly that of one Detector
// reloaded at the same event, with any worker count, and again after a second reload back to
// the first set.
TEST_F(ParallelDetectorTest, ReloadBetweenEventsGivesTheSingleThreadedMatches) {
  eql::CompileResult extra =
      eql::Compile(R"(process where process.name == "python3")", schema_, {});
  ASSERT_TRUE(extra.ok());
  eql::CompileResult changed = eql::Compile(
      R"(process where process.name == "bash" | unique process.parent.name)", schema_, {});
  ASSERT_TRUE(changed.ok());
  // Set 2: rules 2, 4 and 7 kept (a local sequence, a global sequence, a missing-event rule), a
  // new rule, and rule 6 recompiled (a changed definition: starts over).
  std::vector<const eql::IrProgram*> set2 = {programs_[2].get(), programs_[4].get(),
                                             extra.program.get(), programs_[7].get(),
                                             changed.program.get()};
  std::vector<int64_t> keep2 = {2, 4, -1, 7, -1};
  // Set 3: back to the first set; rules 2, 4 and 7 keep their state once more.
  std::vector<int64_t> keep3(programs_.size(), -1);
  keep3[2] = 0;
  keep3[4] = 1;
  keep3[7] = 3;
  std::vector<ReloadStep> steps = {{10'000, set2, keep2}, {20'000, Programs(), keep3}};

  std::vector<std::string> want = ReloadedSingle(schema_, limits_, Programs(), steps, events_);
  ASSERT_GT(want.size(), 1000u);
  for (const char* prefix : {"1/", "2/", "3/", "2/2:"}) {  // 2/2: the new rule matched
    EXPECT_TRUE(std::any_of(want.begin(), want.end(), [&](const std::string& m) {
      return m.starts_with(prefix);
    })) << prefix;
  }
  for (size_t workers : {1u, 2u, 3u}) {
    EXPECT_EQ(ReloadedParallel(workers, schema_, limits_, Programs(), steps, events_), want)
        << workers << " workers";
  }
}

// A hundred reloads while events flow (one every 290 events, alternating between two sets):
// no event lost, the kept rules keep detecting, the same matches as one thread.
TEST_F(ParallelDetectorTest, HundredReloadsWhileEventsFlow) {
  std::vector<const eql::IrProgram*> small = {programs_[0].get(), programs_[2].get(),
                                              programs_[4].get()};
  std::vector<int64_t> to_small = {0, 2, 4};
  std::vector<int64_t> to_full(programs_.size(), -1);
  to_full[0] = 0;
  to_full[2] = 1;
  to_full[4] = 2;
  std::vector<ReloadStep> steps;
  for (size_t k = 0; k < 100; ++k) {
    bool shrink = k % 2 == 0;
    steps.push_back({(k + 1) * 290, shrink ? small : Programs(), shrink ? to_small : to_full});
  }
  std::vector<std::string> want = ReloadedSingle(schema_, limits_, Programs(), steps, events_);
  // Rule 0 of both sets (process.name == "curl") keeps alerting after the last reload.
  EXPECT_TRUE(std::any_of(want.begin(), want.end(),
                          [](const std::string& m) { return m.starts_with("101/0:"); }));
  EXPECT_EQ(ReloadedParallel(2, schema_, limits_, Programs(), steps, events_), want);
}

TEST_F(ParallelDetectorTest, DropPolicyCountsExactlyWhatItDropped) {
  ParallelOptions options;
  options.workers = 2;
  options.queue_capacity = 2;
  options.policy = FullPolicy::kDrop;
  uint64_t matches = 0;
  auto d = ParallelDetector::Create(schema_, Programs(), options,
                                    [&](size_t, engine::QueryMatch&) { ++matches; });
  ASSERT_TRUE(d.ok());
  uint64_t accepted = 0, refused = 0;
  for (int pass = 0; pass < 5; ++pass) {
    for (const event::Event& e : events_) ((*d)->Publish(e) ? accepted : refused)++;
  }
  (*d)->Finish();
  uint64_t routed = 0, dropped = 0, processed = 0;
  for (const PartitionStats& s : (*d)->partition_stats()) {
    routed += s.routed;
    dropped += s.dropped;
    processed += s.processed;
    EXPECT_EQ(s.depth, 0u);
  }
  EXPECT_EQ(routed, accepted);
  EXPECT_EQ(routed + refused, 5 * events_.size());
  // Worker 0 also ran the copies of events routed elsewhere that reached it (for global rules);
  // copies that found its queue full are counted as its drops.
  EXPECT_EQ(processed + dropped, accepted + refused + ((*d)->partition_stats()[1].routed));
  EXPECT_GT(refused, 0u) << "a 2-slot queue under a burst of 150,000 events never filled";
}

TEST_F(ParallelDetectorTest, DropPolicyWaitsOutABurstBeforeDropping) {
  // The same burst on 2-slot queues, with a wait before dropping longer than any worker needs
  // for one event: nothing is dropped and the matches are the single-threaded ones.
  ParallelOptions options;
  options.workers = 2;
  options.queue_capacity = 2;
  options.policy = FullPolicy::kDrop;
  options.drop_wait = std::chrono::seconds(30);
  options.limits = limits_;
  std::vector<std::string> got;
  auto d = ParallelDetector::Create(
      schema_, Programs(), options, [&](size_t rule, engine::QueryMatch& m) {
        got.push_back(fmt::format("{}:{}", rule, fmt::join(m.event_indexes, ",")));
      });
  ASSERT_TRUE(d.ok());
  uint64_t refused = 0;
  for (const event::Event& e : events_) refused += (*d)->Publish(e) ? 0 : 1;
  (*d)->Finish();
  EXPECT_EQ(refused, 0u);
  for (const PartitionStats& s : (*d)->partition_stats()) EXPECT_EQ(s.dropped, 0u);
  EXPECT_EQ(got, Single());
}

TEST_F(ParallelDetectorTest, AQuietStreamDoesNotHoldMatchesBack) {
  // Live sources can go quiet: a match must reach the callback without waiting for more events
  // (or a tick) on the other workers.
  ParallelOptions options;
  options.workers = 3;
  std::atomic<int> delivered{0};
  auto d =
      ParallelDetector::Create(schema_, Programs(), options, [&](size_t rule, engine::QueryMatch&) {
        if (rule == 0) delivered.fetch_add(1);
      });
  ASSERT_TRUE(d.ok());
  for (int round = 1; round <= 5; ++round) {
    event::Event curl = event::EventBuilder(schema_)
                            .Time(1'800'000'000'000'000'000 + round)
                            .Category("process")
                            .Str("process.entity_id", fmt::format("quiet-{}", round))
                            .Str("process.name", "curl")
                            .Build();
    ASSERT_TRUE((*d)->Publish(curl));
    for (int i = 0; i < 2000 && delivered.load() < round; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_EQ(delivered.load(), round) << "match " << round << " held back with no later events";
  }
  (*d)->Finish();
}

TEST_F(ParallelDetectorTest, ClassifiesRulesByWhetherStateSpansProcesses) {
  ParallelOptions options;
  options.workers = 2;
  auto d =
      ParallelDetector::Create(schema_, Programs(), options, [](size_t, engine::QueryMatch&) {});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->local_rules(), 4u);
  EXPECT_EQ((*d)->global_rules(), 4u);
}

// A queue slot reuses its memory for the next event (no allocation), but does not keep the
// memory of an event larger than kSlotKeepBytes once a smaller one comes.
TEST(CopyIntoSlot, KeepsTypicalCapacityAndReleasesALargeEventsMemory) {
  schema::Schema schema;
  auto build = [&](size_t args) {
    event::EventBuilder b(schema);
    b.Category("process").Str("process.name", "cc1plus");
    for (size_t i = 0; i < args; ++i) b.Str(fmt::format("labels.a{}", i), std::string(40, 'x'));
    return b.Build();
  };
  event::Event small = build(4), large = build(200);
  ASSERT_LT(small.MemoryBytes(), kSlotKeepBytes);
  event::Event slot(kSlotArenaBlock);
  CopyIntoSlot(&slot, small);
  size_t typical = slot.MemoryBytes();
  CopyIntoSlot(&slot, small);
  EXPECT_EQ(slot.MemoryBytes(), typical);  // reused as it is
  CopyIntoSlot(&slot, large);
  EXPECT_GT(slot.MemoryBytes(), kSlotKeepBytes);
  EXPECT_EQ(slot.entries().size(), large.entries().size());
  CopyIntoSlot(&slot, small);
  EXPECT_LE(slot.MemoryBytes(), typical);  // the large event's memory is released
  EXPECT_EQ(slot.entries().size(), small.entries().size());
  EXPECT_EQ(slot.Find(*schema.Find("process.name"))->as_string(), "cc1plus");
}

// Publish(Event&&) swaps the event into a slot: the event handed back came out of a slot and
// goes into one again, so it too keeps at most kSlotKeepBytes.
TEST(ReleaseIfLarge, EmptiesOnlyAnEventOverTheSlotBound) {
  schema::Schema schema;
  auto build = [&](size_t args) {
    event::EventBuilder b(schema);
    b.Category("process").Str("process.name", "cc1plus");
    for (size_t i = 0; i < args; ++i) b.Str(fmt::format("labels.a{}", i), std::string(40, 'x'));
    return b.Build();
  };
  event::Event small = build(4), large = build(200);
  size_t small_bytes = small.MemoryBytes();
  ReleaseIfLarge(&small);
  EXPECT_EQ(small.MemoryBytes(), small_bytes);
  EXPECT_EQ(small.entries().size(), 5u);
  ASSERT_GT(large.MemoryBytes(), kSlotKeepBytes);
  ReleaseIfLarge(&large);
  EXPECT_LE(large.MemoryBytes(), kSlotKeepBytes);
  EXPECT_EQ(large.entries().size(), 0u);
}

// Routing by entity under state budget pressure: the budget's domains (one per state shard, one
// global) have the limits one Detector gives them and see the events one Detector's would, so
// budget evictions, every count and every match are one Detector's whatever the number of
// workers (decision 53).
TEST_F(ParallelDetectorTest, ByEntityStatisticsEqualOneDetectorsUnderBudgetPressure) {
  limits_.state_budget_bytes = 48 * 1024;
  std::vector<engine::EngineStats> want, got;
  std::vector<std::string> matches = Single(&want);
  uint64_t evicted = 0;
  for (const engine::EngineStats& s : want) evicted += s.evicted_budget;
  ASSERT_GT(evicted, 0u) << "no budget pressure";
  for (size_t workers : {1u, 2u, 3u}) {
    got.clear();
    EXPECT_EQ(Parallel(Run{.workers = workers, .routing = Routing::kByEntity}, &got), matches)
        << workers << " workers";
    ExpectSameCounts(got, want, true);
  }
}

}  // namespace
}  // namespace kestrel::bus
