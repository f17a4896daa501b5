#include "kestrel/engine/query_engine.h"

#include <gtest/gtest.h>

#include "kestrel/base/time.h"
#include "kestrel/eql/sema.h"
#include "kestrel/event/json_writer.h"

namespace kestrel::engine {
namespace {

using event::EventBuilder;

using base::kSecond;

class QueryEngineTest : public ::testing::Test {
 protected:
  // Runs `query` over events_ and returns the `n` values of each result, results joined by '|'.
  std::string Run(std::string_view query, eql::Dialect dialect = eql::Dialect::kElasticsearch,
                  EngineLimits limits = {}, EngineStats* stats = nullptr) {
    eql::CompileOptions options;
    options.dialect = dialect;
    eql::CompileResult compiled = eql::Compile(query, schema_, options);
    if (!compiled.ok()) return "compile error: " + compiled.diagnostics[0].message;
    auto engine = QueryEngine::Create(compiled.program.get(), schema_, limits);
    if (!engine.ok()) return "engine error";
    for (size_t i = 0; i < events_.size(); ++i) (*engine)->Process(events_[i], i);
    if (stats != nullptr) *stats = (*engine)->stats();
    std::string out;
    schema::FieldId n = *schema_.Find("n");
    for (const QueryMatch& m : (*engine)->Finish()) {
      if (!out.empty()) out += "|";
      for (size_t i = 0; i < m.events.size(); ++i) {
        if (i > 0) out += ",";
        out += std::to_string(m.events[i]->Find(n)->as_int());
      }
    }
    return out;
  }
  void Add(int64_t n, int64_t t_seconds, std::string_view category, std::string_view name,
           std::string_view entity, std::string_view parent = "") {
    EventBuilder b(schema_);
    b.Time(t_seconds * kSecond)
        .Category(category)
        .Int("n", n)
        .Str("process.name", name)
        .Str("process.entity_id", entity);
    if (!parent.empty()) b.Str("process.parent.entity_id", parent);
    events_.push_back(b.Build());
  }

  schema::Schema schema_;
  std::vector<event::Event> events_;
};

TEST_F(QueryEngineTest, EventQueryAndCategories) {
  Add(1, 0, "process", "bash", "a");
  Add(2, 1, "file", "bash", "a");
  Add(3, 2, "process", "sh", "b");
  EXPECT_EQ(Run(R"(process where process.name : "*sh")"), "1|3");
  EXPECT_EQ(Run(R"(any where process.name == "bash")"), "1|2");
  EXPECT_EQ(Run(R"(file where true)"), "2");
}

TEST_F(QueryEngineTest, SequenceByKeyAndMaxspanBoundary) {
  Add(1, 0, "process", "bash", "a");
  Add(2, 0, "process", "bash", "b");
  Add(3, 5, "file", "x", "a");  // exactly maxspan after 1: still in
  Add(4, 6, "file", "x", "b");  // one second past maxspan after 2: out
  EXPECT_EQ(Run(R"(sequence by process.entity_id with maxspan=5s
                  [process where true] [file where true])"),
            "1,3");
}

// `maxspan=0s` is a zero span in the Endgame dialect (only events of the same time; it was read
// as "no bound"), with or without a default TTL; Elasticsearch refuses it.
TEST_F(QueryEngineTest, ZeroMaxspanIsAZeroSpan) {
  Add(1, 0, "process", "bash", "a");
  Add(2, 0, "file", "x", "a");  // same time: in
  Add(3, 0, "process", "bash", "b");
  Add(4, 1, "file", "x", "b");  // one second later: out
  const char* query =
      "sequence by process.entity_id with maxspan=0s [process where true] [file where true]";
  EXPECT_EQ(Run(query, eql::Dialect::kEndgame), "1,2");
  EngineLimits limits;
  limits.default_ttl_ns = 60 * kSecond;
  EngineStats stats;
  EXPECT_EQ(Run(query, eql::Dialect::kEndgame, limits, &stats), "1,2");
  EXPECT_EQ(stats.expired, 1u);
  EXPECT_EQ(Run(query), "compile error: a positive maxspan value is required; found [0]");
}

TEST_F(QueryEngineTest, NewerStartReplacesOlderAndUntilCancels) {
  Add(1, 0, "process", "bash", "a");
  Add(2, 1, "process", "bash", "a");  // replaces 1
  Add(3, 2, "file", "x", "a");
  Add(4, 3, "process", "bash", "b");
  Add(5, 4, "process", "end", "b");  // until for b
  Add(6, 5, "file", "x", "b");
  EXPECT_EQ(Run(R"(sequence by process.entity_id [process where process.name == "bash"]
                  [file where true] until [process where process.name == "end"])"),
            "2,3");
}

TEST_F(QueryEngineTest, QuotaEvictsOldestPartialMatches) {
  for (int i = 0; i < 10; ++i) Add(i, i, "process", "bash", "e" + std::to_string(i));
  for (int i = 0; i < 10; ++i) Add(100 + i, 20 + i, "file", "x", "e" + std::to_string(i));
  EngineLimits limits;
  limits.max_partials = 3;
  EngineStats stats;
  // Only the three newest starts survive to meet their file event.
  EXPECT_EQ(Run("sequence by process.entity_id [process where true] [file where true]",
                eql::Dialect::kElasticsearch, limits, &stats),
            "7,107|8,108|9,109");
  EXPECT_EQ(stats.evicted, 7u);
  EXPECT_EQ(stats.partials, 0u);
}

TEST_F(QueryEngineTest, KeyQuotaBoundsSamples) {
  for (int i = 0; i < 10; ++i) Add(i, i, "process", "bash", "e" + std::to_string(i));
  // The three newest keys survive; an evicted key starts again from nothing (e0's file event).
  for (int i : {7, 8, 9, 0}) Add(100 + i, 20 + i, "file", "x", "e" + std::to_string(i));
  EngineLimits limits;
  limits.max_keys = 3;
  EngineStats stats;
  EXPECT_EQ(Run("sample by process.entity_id [process where true] [file where true]",
                eql::Dialect::kElasticsearch, limits, &stats),
            "7,107|8,108|9,109");
  EXPECT_EQ(stats.evicted, 7u);  // e0..e6
  EXPECT_EQ(stats.keys, 1u);     // e0, waiting for its process event
}

TEST_F(QueryEngineTest, DefaultTtlExpiresSequencesWithoutMaxspan) {
  Add(1, 0, "process", "bash", "a");
  Add(2, 100, "process", "bash", "b");
  Add(3, 150, "file", "x", "a");  // 150 s after its start: past a 60 s TTL
  Add(4, 150, "file", "x", "b");
  EngineLimits limits;
  limits.default_ttl_ns = 60 * kSecond;
  EngineStats stats;
  EXPECT_EQ(Run("sequence by process.entity_id [process where true] [file where true]",
                eql::Dialect::kElasticsearch, limits, &stats),
            "2,4");
  EXPECT_EQ(stats.expired, 1u);
  // Without a TTL (query mode, the reference semantics) both match.
  EXPECT_EQ(Run("sequence by process.entity_id [process where true] [file where true]"), "1,3|2,4");
}

TEST_F(QueryEngineTest, RunsRepeatAStage) {
  for (int i = 1; i <= 4; ++i) Add(i, i, "process", "sudo", "a");
  // Reference semantics: an event may end one match and continue another (2 and 3 are reused).
  EXPECT_EQ(Run(R"(sequence by process.entity_id [process where true] with runs=3)"),
            "1,2,3|2,3,4");
}

TEST_F(QueryEngineTest, JoinKeepsFirstPerStageInStageOrder) {
  Add(1, 0, "file", "x", "a");
  Add(2, 1, "file", "y", "a");
  Add(3, 2, "process", "p", "a");
  EXPECT_EQ(Run(R"(join by process.entity_id [process where true] [file where true])",
                eql::Dialect::kEndgame),
            "3,1");
}

TEST_F(QueryEngineTest, LineageDescendantAndChild) {
  Add(1, 0, "process", "sshd", "p1");
  Add(2, 1, "process", "bash", "p2", "p1");
  Add(3, 2, "process", "curl", "p3", "p2");
  Add(4, 3, "file", "curl", "p3");
  EXPECT_EQ(Run(R"(any where n > 1 and descendant of [process where process.name == "sshd"])",
                eql::Dialect::kEndgame),
            "2|3|4");
  EXPECT_EQ(Run(R"(process where child of [process where process.name == "sshd"])",
                eql::Dialect::kEndgame),
            "2");
}

TEST_F(QueryEngineTest, PipesHeadTailUniqueSort) {
  Add(3, 0, "process", "b", "x");
  Add(1, 1, "process", "a", "x");
  Add(2, 2, "process", "b", "y");
  EXPECT_EQ(Run("process where true | head 2"), "3|1");
  EXPECT_EQ(Run("process where true | tail 1"), "2");
  EXPECT_EQ(Run("process where true | sort n"), "1|2|3");
  EXPECT_EQ(Run("process where true | unique process.name", eql::Dialect::kEndgame), "3|1");
}

TEST_F(QueryEngineTest, StreamingPipesHeadAndUniqueOthersRejected) {
  Add(1, 0, "process", "a", "x");
  Add(2, 1, "process", "a", "y");
  Add(3, 2, "process", "b", "z");
  Add(4, 3, "process", "c", "w");
  eql::CompileResult compiled =
      eql::Compile("process where true | unique process.name | head 2", schema_);
  ASSERT_TRUE(compiled.ok());
  EngineLimits limits;
  limits.streaming = true;
  auto engine = QueryEngine::Create(compiled.program.get(), schema_, limits);
  ASSERT_TRUE(engine.ok());
  std::vector<int64_t> got;
  for (size_t i = 0; i < events_.size(); ++i) {
    (*engine)->Process(events_[i], i);
    for (const QueryMatch& m : (*engine)->TakeResults())
      got.push_back(m.events[0]->Find(*schema_.Find("n"))->as_int());
  }
  EXPECT_EQ(got, (std::vector<int64_t>{1, 3}));
  eql::CompileResult sorted = eql::Compile("process where true | sort process.name", schema_);
  auto rejected = QueryEngine::Create(sorted.program.get(), schema_, limits);
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.status().message().find("`sort` pipe"), std::string::npos);
}

TEST_F(QueryEngineTest, MissingEventInTheMiddleCancels) {
  Add(1, 0, "process", "start", "a");
  Add(2, 0, "process", "start", "b");
  Add(3, 1, "file", "x", "a");  // the forbidden event, for a only
  Add(4, 2, "process", "end", "a");
  Add(5, 2, "process", "end", "b");
  EXPECT_EQ(Run(R"(sequence by process.entity_id with maxspan=10s
                  [process where process.name == "start"] ![file where true]
                  [process where process.name == "end"])"),
            "2,5");
}

TEST_F(QueryEngineTest, TrailingMissingEventWaitsForTheWindow) {
  Add(1, 0, "process", "start", "a");
  Add(2, 0, "process", "start", "b");
  Add(3, 3, "file", "x", "b");      // within 5 s of b's start: b is disproved
  Add(4, 20, "network", "n", "c");  // time passes: a's window has closed
  EXPECT_EQ(Run(R"(sequence by process.entity_id with maxspan=5s
                  [process where process.name == "start"] ![file where true])"),
            "1");
}

TEST_F(QueryEngineTest, LeadingMissingEventBlocksTheStart) {
  Add(1, 0, "file", "x", "a");
  Add(2, 1, "process", "start", "a");  // 1 s after the forbidden event: blocked
  Add(3, 1, "process", "start", "b");
  Add(4, 2, "process", "end", "a");
  Add(5, 2, "process", "end", "b");
  EXPECT_EQ(Run(R"(sequence by process.entity_id with maxspan=5s
                  ![file where true] [process where process.name == "start"]
                  [process where process.name == "end"])"),
            "3,5");
}

// The statistics events of a `count` pipe, as "key=count@percent" ("key=count" for totals).
TEST_F(QueryEngineTest, CountPipeTotalsAndPerKey) {
  Add(1, 0, "process", "bash", "a");
  Add(2, 1, "process", "sh", "b");
  Add(3, 2, "process", "bash", "c");
  Add(4, 3, "process", "zsh", "d");
  Add(5, 4, "file", "bash", "e");
  auto counts = [&](std::string_view query) {
    eql::CompileResult compiled = eql::Compile(query, schema_, {});
    EXPECT_TRUE(compiled.ok());
    auto engine = QueryEngine::Create(compiled.program.get(), schema_, {});
    EXPECT_TRUE(engine.ok()) << engine.status();
    for (size_t i = 0; i < events_.size(); ++i) (*engine)->Process(events_[i], i);
    std::string out;
    schema::FieldId key = *schema_.Find("key"), count = *schema_.Find("count");
    for (const QueryMatch& m : (*engine)->Finish()) {
      const event::Event& e = *m.events[0];
      if (!out.empty()) out += " ";
      const event::Value* k = e.Find(key);
      out += k->kind() == event::ValueKind::kArray
                 ? std::string(k->as_array()[0].as_string()) + "+" +
                       std::to_string(k->as_array()[1].as_int())
                 : std::string(k->as_string());
      out += "=" + std::to_string(e.Find(count)->as_int());
      if (const event::Value* p = e.Find(*schema_.Find("percent"))) {
        out += "@" + std::to_string(static_cast<int>(p->as_double() * 100));
      }
    }
    return out;
  };
  EXPECT_EQ(counts("process where true | count"), "totals=4");
  EXPECT_EQ(counts("process where true | count process.name"), "sh=1@25 zsh=1@25 bash=2@50");
  EXPECT_EQ(counts(R"(any where process.name == "bash" | count process.name, n)"),
            "bash+1=1@33 bash+3=1@33 bash+5=1@33");
  EXPECT_EQ(counts(R"(process where process.name == "none" | count)"), "totals=0");
}

// `count` over an array field counts each element (as an Elasticsearch terms aggregation counts
// a multi-valued field), in both dialects: never a null key for a present value (issue 24).
// Several arguments count each combination; a missing field or an empty array is one null key.
TEST_F(QueryEngineTest, CountPipeCountsArrayElements) {
  auto add = [&](int64_t n, std::initializer_list<std::string_view> categories,
                 std::string_view user) {
    EventBuilder b(schema_);
    b.Time(n * kSecond).Category("process").Int("n", n);
    if (categories.size() > 0) b.Strs("event.type", categories);
    if (!user.empty()) b.Str("user.name", user);
    events_.push_back(b.Build());
  };
  add(1, {"start", "info", "info"}, "root");  // a repeated value counts the result once
  add(2, {"start"}, "alice");
  add(3, {}, "root");                           // no event.type
  add(4, {"end", "info", "start", "END"}, "");  // "END" is another key, even in endgame
  auto counts = [&](std::string_view query, eql::Dialect dialect) {
    eql::CompileOptions options;
    options.dialect = dialect;
    eql::CompileResult compiled = eql::Compile(query, schema_, options);
    if (!compiled.ok()) return "compile error: " + compiled.diagnostics[0].message;
    auto engine = QueryEngine::Create(compiled.program.get(), schema_, {});
    if (!engine.ok()) return std::string("engine error");
    for (size_t i = 0; i < events_.size(); ++i) (*engine)->Process(events_[i], i);
    std::string out;
    schema::FieldId key = *schema_.Find("key"), count = *schema_.Find("count");
    for (const QueryMatch& m : (*engine)->Finish()) {
      if (!out.empty()) out += " ";
      event::AppendJsonValue(&out, *m.events[0]->Find(key));
      out += "=" + std::to_string(m.events[0]->Find(count)->as_int());
    }
    EXPECT_EQ((*engine)->stats().count_truncated, 0u);
    return out;
  };
  for (eql::Dialect dialect : {eql::Dialect::kElasticsearch, eql::Dialect::kEndgame}) {
    SCOPED_TRACE(dialect == eql::Dialect::kEndgame ? "endgame" : "elasticsearch");
    EXPECT_EQ(counts("process where true | count event.type", dialect),
              R"("END"=1 "end"=1 null=1 "info"=2 "start"=3)");
    EXPECT_EQ(counts("process where true | count event.type, user.name", dialect),
              R"(["END",null]=1 ["end",null]=1 ["info","root"]=1 ["info",null]=1 )"
              R"(["start","alice"]=1 )"
              R"(["start","root"]=1 ["start",null]=1 [null,"root"]=1)");
    EXPECT_EQ(counts("process where true | count", dialect), R"("totals"=4)");
  }
}

// The combinations one result makes are bounded; past the bound they are counted as truncated.
TEST_F(QueryEngineTest, CountPipeBoundsCombinations) {
  std::vector<std::string> many;
  for (int i = 0; i < 100; ++i) many.push_back("v" + std::to_string(i));
  EventBuilder b(schema_);
  b.Time(kSecond).Category("process").Int("n", 1);
  b.Strs("event.type", {"x"}).Strs("event.category", {"x"});  // declares the array fields
  event::Event e = b.Build();
  std::vector<event::Value> elements;
  for (const std::string& v : many) elements.push_back(event::Value::String(v));
  e.SetArray(*schema_.Find("event.type"), elements);  // 100 x 100 combinations
  e.SetArray(*schema_.Find("event.category"), elements);
  e.Finish();  // the later values win
  events_.push_back(std::move(e));
  eql::CompileResult compiled =
      eql::Compile("any where true | count event.type, event.category", schema_, {});
  ASSERT_TRUE(compiled.ok());
  auto engine = QueryEngine::Create(compiled.program.get(), schema_, {});
  ASSERT_TRUE(engine.ok());
  (*engine)->Process(events_[0], 0);
  EXPECT_EQ((*engine)->Finish().size(), kMaxCountCombinations);
  EXPECT_EQ((*engine)->stats().count_truncated, 1u);
}

TEST_F(QueryEngineTest, StreamingRefusesCount) {
  eql::CompileResult compiled = eql::Compile("process where true | count", schema_, {});
  EngineLimits limits;
  limits.streaming = true;
  auto engine = QueryEngine::Create(compiled.program.get(), schema_, limits);
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.status().message().find("`count` pipe needs every result"), std::string::npos)
      << engine.status();
}

}  // namespace
}  // namespace kestrel::engine
