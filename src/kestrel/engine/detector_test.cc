#include "kestrel/engine/detector.h"

#include <gtest/gtest.h>

#include "kestrel/base/time.h"
#include "kestrel/engine/entity_routing.h"
#include "kestrel/eql/sema.h"

namespace kestrel::engine {
namespace {

using event::EventBuilder;

using base::kSecond;

class DetectorTest : public ::testing::Test {
 protected:
  void Add(std::string_view query) {
    eql::CompileResult r = eql::Compile(query, schema_, {});
    ASSERT_TRUE(r.ok()) << r.diagnostics[0].message;
    programs_.push_back(std::move(r.program));
  }
  event::Event Event(int64_t n, int64_t seconds, std::string_view category, std::string_view name,
                     std::string_view entity) {
    return EventBuilder(schema_)
        .Time(seconds * kSecond)
        .Category(category)
        .Int("n", n)
        .Str("process.name", name)
        .Str("process.entity_id", entity)
        .Build();
  }
  // "rule:n,n" per match, in delivery order.
  std::string Run(Detector& d, const std::vector<event::Event>& events) {
    std::string out;
    auto record = [&](size_t rule, QueryMatch& m) {
      out += (out.empty() ? "" : " ") + std::to_string(rule) + ":";
      for (size_t i = 0; i < m.events.size(); ++i) {
        out += (i ? "," : "") + std::to_string(m.events[i]->Find(*schema_.Find("n"))->as_int());
      }
    };
    for (size_t i = 0; i < events.size(); ++i) d.Process(events[i], i, record);
    d.Finish(record);
    return out;
  }

  schema::Schema schema_;
  std::vector<std::unique_ptr<eql::IrProgram>> programs_;
};

TEST_F(DetectorTest, TimesOneEventInSampleIntervalPerCandidateRule) {
  Add(R"(process where process.name == "a")");
  Add(R"(file where process.name == "a")");  // never a candidate: the index skips it
  Detector d(schema_, {});
  for (const auto& p : programs_) ASSERT_TRUE(d.AddRule(p.get()).ok());
  ASSERT_TRUE(d.Seal().ok());
  std::vector<event::Event> events;
  for (int i = 0; i < 3 * static_cast<int>(EvalTimeHistogram::kSampleInterval); ++i) {
    events.push_back(Event(i, i, "process", "a", "x"));
  }
  Run(d, events);
  EvalTimeHistogram::Snapshot timed = d.eval_time(0).Read();
  EXPECT_EQ(timed.count, 3u);  // events 0, 64 and 128
  uint64_t in_buckets = 0;
  for (uint64_t b : timed.buckets) in_buckets += b;
  EXPECT_EQ(in_buckets, 3u);
  EXPECT_GT(timed.sum_ns, 0u);
  EXPECT_EQ(d.eval_time(1).Read().count, 0u);
}

// Join keys are built once per event for all the rules of a Detector (JoinKeyCache): rules by the
// same field share the key, rules by other fields or by expressions build their own, and every
// rule matches what it matches alone.
TEST_F(DetectorTest, RulesSharingJoinKeysMatchWhatTheyMatchAlone) {
  const char* queries[] = {
      R"(sequence by process.entity_id [process where process.name == "a"] [process where process.name == "b"])",
      R"(sequence by process.entity_id [process where true] [process where process.name == "c"])",
      R"(sequence by process.name [process where true] [process where true])",
      R"(sequence [process where true] by process.entity_id [process where true] by process.name)",
      R"(sequence by length(process.entity_id) [process where process.name == "a"] [process where process.name == "c"])",
  };
  std::vector<event::Event> events;
  const char* names[] = {"a", "b", "c", "a", "c", "b"};
  const char* entities[] = {"x", "x", "a", "y", "x", "c"};
  for (int i = 0; i < 6; ++i) events.push_back(Event(i, i, "process", names[i], entities[i]));
  for (const char* q : queries) Add(q);
  std::vector<std::string> alone;
  for (const auto& p : programs_) {
    Detector d(schema_, {});
    ASSERT_TRUE(d.AddRule(p.get()).ok());
    ASSERT_TRUE(d.Seal().ok());
    alone.push_back(Run(d, events));
  }
  EXPECT_EQ(alone[0], "0:0,1");
  EXPECT_EQ(alone[1], "0:1,4");
  EXPECT_EQ(alone[2], "0:0,3 0:2,4 0:1,5");
  EXPECT_EQ(alone[3], "0:2,3");
  EXPECT_EQ(alone[4], "0:0,2 0:3,4");
  Detector all(schema_, {});
  for (const auto& p : programs_) ASSERT_TRUE(all.AddRule(p.get()).ok());
  ASSERT_TRUE(all.Seal().ok());
  std::string together = Run(all, events);
  for (size_t r = 0; r < alone.size(); ++r) {
    std::string expected = alone[r];
    for (size_t at = 0; (at = expected.find("0:", at)) != std::string::npos; at += 2) {
      expected[at] = static_cast<char>('0' + r);
      EXPECT_NE(together.find(expected.substr(at, expected.find(' ', at) - at)), std::string::npos)
          << "rule " << r << " in " << together;
    }
  }
}

TEST(EvalTimeHistogramTest, BucketsArePowersOfTwoFrom128Ns) {
  EvalTimeHistogram h;
  for (uint64_t ns : {0u, 128u, 129u, 256u, 257u, 1'000'000'000u}) h.Record(ns);
  EvalTimeHistogram::Snapshot s = h.Read();
  EXPECT_EQ(s.buckets[0], 2u);                            // 0, 128
  EXPECT_EQ(s.buckets[1], 2u);                            // 129, 256
  EXPECT_EQ(s.buckets[2], 1u);                            // 257
  EXPECT_EQ(s.buckets[EvalTimeHistogram::kBuckets], 1u);  // 1 s: past the last bound
  EXPECT_EQ(s.count, 6u);
  EXPECT_EQ(EvalTimeHistogram::UpperBoundNs(EvalTimeHistogram::kBuckets - 1), 1u << 24);
}

TEST_F(DetectorTest, DeliversInEventOrderThenRuleOrder) {
  Add(R"(process where process.name == "b")");
  Add(R"(sequence by process.entity_id [process where process.name == "a"]
                                        [process where process.name == "b"])");
  Add(R"(process where process.name : ("a", "b"))");
  Detector d(schema_, {});
  for (const auto& p : programs_) ASSERT_TRUE(d.AddRule(p.get()).ok());
  ASSERT_TRUE(d.Seal().ok());
  std::vector<event::Event> events = {Event(1, 0, "process", "a", "x"),
                                      Event(2, 1, "file", "b", "x"),
                                      Event(3, 2, "process", "b", "x")};
  EXPECT_EQ(Run(d, events), "2:1 0:3 1:1,3 2:3");
  EXPECT_EQ(d.evaluated(), 5u);  // event 1: rules 1, 2; event 2: none; event 3: all three
  EXPECT_EQ(d.skipped(), 4u);
}

// A sequence holding no partial match is not run for an event its first stage cannot match (its
// later stages have nothing to advance): counted as skipped, and matches are unchanged.
TEST_F(DetectorTest, IdleSequenceRunsOnlyWhenItsFirstStageMayMatch) {
  Add(R"(sequence by process.entity_id [process where process.name == "a"]
                                        [process where process.name == "b"])");
  Detector d(schema_, {});
  for (const auto& p : programs_) ASSERT_TRUE(d.AddRule(p.get()).ok());
  ASSERT_TRUE(d.Seal().ok());
  std::vector<event::Event> events = {
      Event(0, 0, "process", "z", "x"),  // a timed event (eval_timing.h), and no candidate
      Event(1, 1, "process", "b", "x"),  // stage 2 open, nothing held: skipped
      Event(2, 2, "process", "a", "x"),  // starts a partial match
      Event(3, 3, "process", "b", "x"),  // completes it
      Event(4, 4, "process", "b", "x"),  // nothing held again: skipped
      Event(5, 5, "process", "a", "y"), Event(6, 6, "process", "b", "x"),  // held (y): run
      Event(7, 7, "process", "b", "y")};
  EXPECT_EQ(Run(d, events), "0:2,3 0:5,7");
  EXPECT_EQ(d.evaluated(), 5u);  // events 2, 3, 5, 6, 7
  EXPECT_EQ(d.skipped(), 3u);    // events 0, 1, 4
}

TEST_F(DetectorTest, FinishCompletesTrailingMissingStages) {
  Add(R"(sequence by process.entity_id with maxspan=10s [process where process.name == "a"]
                                                         ![process where process.name == "b"])");
  Detector d(schema_, {});
  ASSERT_TRUE(d.AddRule(programs_[0].get()).ok());
  ASSERT_TRUE(d.Seal().ok());
  EXPECT_EQ(Run(d, {Event(1, 0, "process", "a", "x"), Event(2, 1, "process", "a", "y"),
                    Event(3, 2, "process", "b", "y")}),
            "0:1");
}

TEST_F(DetectorTest, RefusesWhatCannotStream) {
  Add(R"(process where true | tail 3)");
  EngineLimits limits;
  limits.streaming = true;
  Detector d(schema_, limits);
  absl::Status s = d.AddRule(programs_[0].get());
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tail"), std::string_view::npos) << s;
  EXPECT_EQ(d.rule_count(), 0u);
}

TEST_F(DetectorTest, SkippedRulesAreSweptForExpiredState) {
  Add(R"(sequence by process.entity_id with maxspan=1s [process where process.name == "a"]
                                                        [process where process.name == "b"])");
  Detector d(schema_, {});
  ASSERT_TRUE(d.AddRule(programs_[0].get()).ok());
  ASSERT_TRUE(d.Seal().ok());
  auto ignore = [](size_t, QueryMatch&) {};
  d.Process(Event(1, 0, "process", "a", "x"), 0, ignore);
  EXPECT_EQ(d.stats(0).partials, 1u);
  event::Event other = Event(2, 5, "file", "z", "y");
  for (uint64_t i = 1; i <= Detector::kSweepInterval; ++i) d.Process(other, i, ignore);
  EXPECT_EQ(d.stats(0).partials, 0u);
  EXPECT_EQ(d.stats(0).expired, 1u);
}

// An entity-local sequence keeps its partial matches in kStateShards stores by process, each
// with its share of the quota (so that one Detector and N bus workers evict alike): one
// process's matches are bounded by one share. A sequence not keyed by process keeps one store
// with the whole quota.
TEST_F(DetectorTest, EntityLocalSequencesHoldAShareOfTheQuotaPerShard) {
  Add("sequence by process.entity_id, process.name [process where true] [file where true]");
  Add("sequence by process.name [process where true] [file where true]");
  EngineLimits limits;
  limits.max_partials = 2 * kStateShards;  // a share of 2
  Detector d(schema_, limits);
  ASSERT_TRUE(d.AddRule(programs_[0].get()).ok());
  ASSERT_TRUE(d.AddRule(programs_[1].get()).ok());
  ASSERT_TRUE(d.Seal().ok());
  auto ignore = [](size_t, QueryMatch&) {};
  for (int i = 0; i < 5; ++i) {
    d.Process(Event(i, i, "process", "p" + std::to_string(i), "x"), i, ignore);
  }
  EXPECT_EQ(d.stats(0).partials, 2u);
  EXPECT_EQ(d.stats(0).evicted, 3u);
  EXPECT_EQ(d.stats(1).partials, 5u);
  EXPECT_EQ(d.stats(1).evicted, 0u);
  // Other processes land in other shards, each with its own share.
  for (int i = 0; i < 40; ++i) {
    d.Process(Event(10 + i, 10, "process", "q", "e" + std::to_string(i)), 10 + i, ignore);
  }
  EXPECT_EQ(d.stats(0).partials + d.stats(0).evicted, 45u);
  EXPECT_GT(d.stats(0).partials, 2u);
}

}  // namespace
}  // namespace kestrel::engine

namespace kestrel::engine {
namespace {

// The state budget bounds the bytes of every rule's partial matches together, evicting the least
// recently written of any rule (it was a per-rule count only: one rule could take gigabytes).
class StateBudgetTest : public DetectorTest {
 protected:
  static constexpr size_t kBudget = 256 * 1024;
  void SetUp() override {
    Add("sequence by process.entity_id [process where process.name == \"a\"] "
        "[file where process.name == \"a\"]");
    Add("sequence by process.entity_id [process where process.name == \"b\"] "
        "[file where process.name == \"b\"]");
    Add("sample by process.entity_id [process where process.name == \"c\"] "
        "[file where process.name == \"c\"]");
  }
  std::unique_ptr<Detector> Make(size_t budget) {
    EngineLimits limits;
    limits.state_budget_bytes = budget;
    auto d = std::make_unique<Detector>(schema_, limits);
    for (const auto& p : programs_) EXPECT_TRUE(d->AddRule(p.get()).ok());
    EXPECT_TRUE(d->Seal().ok());
    return d;
  }
  std::string matches_;
  void Feed(Detector& d, const event::Event& e) {
    d.Process(e, n_++, [&](size_t rule, QueryMatch&) { matches_ += std::to_string(rule); });
  }
  uint64_t n_ = 0;
};

// A flood of one rule's partial matches cannot starve the others: rules 1 and 2 hold less than
// their floor, so the budget evicts only the flooded rule's (least recently written first), and
// rule 1's lone partial match survives the flood and completes.
TEST_F(StateBudgetTest, AFloodedRuleCannotStarveTheOthers) {
  auto d = Make(kBudget);
  Feed(*d, Event(0, 0, "process", "b", "old-b"));  // rule 1's only key, written first
  Feed(*d, Event(1, 0, "process", "c", "old-c"));  // rule 2's only key
  for (int i = 0; i < 5000; ++i) {
    Feed(*d, Event(2 + i, 1, "process", "a", "key-" + std::to_string(i)));
    ASSERT_LE(d->state_budget()->used(), static_cast<int64_t>(kBudget)) << i;
  }
  EXPECT_GT(d->state_budget()->evictions(), 1000u);
  EXPECT_EQ(d->stats(0).evicted_budget, d->state_budget()->evictions());
  EXPECT_EQ(d->stats(1).evicted_budget, 0u);
  EXPECT_EQ(d->stats(2).evicted_budget, 0u);
  EXPECT_EQ(d->stats(0).evicted, 0u);  // the per-rule quota (100,000) was never reached
  Feed(*d, Event(9000, 2, "file", "a", "key-4999"));  // the newest flooded match: held
  Feed(*d, Event(9001, 2, "file", "a", "key-0"));     // the oldest: evicted
  Feed(*d, Event(9002, 2, "file", "b", "old-b"));     // survived the flood
  EXPECT_EQ(matches_, "01");
  // Without a budget nothing is evicted (the per-rule quota is 100,000).
  matches_.clear();
  auto unbounded = Make(0);
  Feed(*unbounded, Event(0, 0, "process", "b", "old-b"));
  for (int i = 0; i < 5000; ++i) {
    Feed(*unbounded, Event(2 + i, 1, "process", "a", "key-" + std::to_string(i)));
  }
  EXPECT_EQ(unbounded->state_budget(), nullptr);
  EXPECT_EQ(unbounded->stats(0).evicted, 0u);
}

// Rules over their floors give way in write order, whichever rule wrote: two flooded rules of
// the global domain (keyed by a field that is not the process) lose their oldest matches
// alternately, each eviction counted for its rule.
TEST_F(StateBudgetTest, EvictsTheLeastRecentlyWrittenAcrossRules) {
  programs_.clear();
  Add("sequence by n [process where process.name == \"g\"] [file where process.name == \"g\"]");
  Add("sequence by n [process where process.name == \"h\"] [file where process.name == \"h\"]");
  auto d = Make(64 * 1024);
  EXPECT_EQ(d->state_budget()->domain(StateBudgets::kGlobalDomain).limit(), 64u * 1024);
  for (int i = 0; i < 2000; ++i) {
    Feed(*d, Event(i, 1, "process", i % 2 == 0 ? "g" : "h", "p"));
    ASSERT_LE(d->state_budget()->used(), 64 * 1024) << i;
  }
  uint64_t g = d->stats(0).evicted_budget, h = d->stats(1).evicted_budget;
  EXPECT_GT(g, 100u);
  EXPECT_EQ(g + h, d->state_budget()->evictions());
  EXPECT_LE(g - h, 1u);  // alternately: the oldest writes were g, h, g, h, ...
  // The oldest g and h matches are gone, the newest of each still waits.
  Feed(*d, Event(0, 2, "file", "g", "p"));
  Feed(*d, Event(1, 2, "file", "h", "p"));
  Feed(*d, Event(1998, 2, "file", "g", "p"));
  Feed(*d, Event(1999, 2, "file", "h", "p"));
  EXPECT_EQ(matches_, "01");
}

TEST_F(StateBudgetTest, EveryByteChargedIsGivenBack) {
  auto budget = std::make_shared<StateBudgets>(size_t{1} << 30);
  EngineLimits limits;
  auto d = std::make_unique<Detector>(schema_, limits);
  d->ShareStateBudget(budget);
  for (const auto& p : programs_) ASSERT_TRUE(d->AddRule(p.get()).ok());
  ASSERT_TRUE(d->Seal().ok());
  for (int i = 0; i < 100; ++i) {
    std::string key = "k" + std::to_string(i % 10);
    Feed(*d, Event(i, i, "process", "a", key));  // replaces the waiting match of the key
    Feed(*d, Event(i, i, "process", "c", key));
  }
  EXPECT_GT(budget->used(), 0);
  for (int i = 0; i < 10; ++i) {
    std::string key = "k" + std::to_string(i);
    Feed(*d, Event(200 + i, 200, "file", "a", key));  // completes: frees the partial match
    Feed(*d, Event(300 + i, 300, "file", "c", key));  // completes the sample: frees the key
  }
  EXPECT_EQ(budget->used(), 0);
  // What a Detector still holds is given back when it goes (a reload drops a rule).
  for (int i = 0; i < 10; ++i) Feed(*d, Event(i, 400, "process", "b", "x" + std::to_string(i)));
  EXPECT_GT(budget->used(), 0);
  d.reset();
  EXPECT_EQ(budget->used(), 0);
}

// The flood benchmark's shape (BM_SequenceFlood10M): single-event rules between the sequences
// hold no state and are never asked to evict; the entity-local sequence's shard domains and the
// other sequence's global domain each stay within their limits, every eviction counted on the
// rule that lost the match.
TEST_F(StateBudgetTest, AFloodOfBothDomainsEvictsOnlyTheSequencesThatHoldState) {
  programs_.clear();
  Add(R"(process where process.name == "f")");
  Add("sequence by process.entity_id [process where process.name == \"f\"] "
      "[file where process.name == \"f\"]");
  Add(R"(file where process.name == "f")");
  Add("sequence by n [process where process.name == \"f\"] [file where process.name == \"f\"]");
  auto d = Make(kBudget);
  const StateBudgets& budget = *d->state_budget();
  for (int i = 0; i < 20000; ++i) {
    Feed(*d, Event(i, 1, "process", "f", "key-" + std::to_string(i)));
    for (uint32_t dom = 0; dom < StateBudgets::kDomains; ++dom) {
      ASSERT_LE(budget.domain(dom).used(), static_cast<int64_t>(budget.domain(dom).limit()))
          << "event " << i << ", domain " << dom;
    }
  }
  EXPECT_GT(d->stats(1).evicted_budget, 1000u);
  EXPECT_GT(d->stats(3).evicted_budget, 1000u);
  EXPECT_EQ(d->stats(1).evicted_budget + d->stats(3).evicted_budget, budget.evictions());
  EXPECT_EQ(budget.domain(StateBudgets::kGlobalDomain).evictions(), d->stats(3).evicted_budget);
  EXPECT_EQ(d->stats(0).partials + d->stats(2).partials, 0u);
  EXPECT_EQ(matches_, std::string(20000, '0'));  // the single-event rule, every event
}

TEST_F(StateBudgetTest, ARunsRuleOverManyKeysStaysWithinTheBudget) {
  programs_.clear();
  Add("sequence by process.entity_id [process where process.name == \"r\"] with runs=100 "
      "[file where true]");
  auto d = Make(kBudget);
  for (int i = 0; i < 20000; ++i) {
    Feed(*d, Event(i, 1, "process", "r", "key-" + std::to_string(i % 2000)));
  }
  EXPECT_LE(d->state_budget()->used(), static_cast<int64_t>(kBudget));
  EXPECT_GT(d->stats(0).evicted_budget, 0u);
}

}  // namespace
}  // namespace kestrel::engine
