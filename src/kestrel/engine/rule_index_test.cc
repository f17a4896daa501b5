#include "kestrel/engine/rule_index.h"

#include <gtest/gtest.h>

#include "kestrel/engine/detector.h"
#include "kestrel/eql/sema.h"
#include "kestrel/testing/conformance.h"

namespace kestrel::engine {
namespace {

using event::EventBuilder;

class RuleIndexTest : public ::testing::Test {
 protected:
  // Compiles `queries` (rule i = queries[i]) and builds the index and a matcher over them.
  void Build(std::vector<std::string> queries, eql::Dialect dialect = eql::Dialect::kElasticsearch,
             const RuleIndexLimits& limits = {}) {
    programs_.clear();
    std::vector<const eql::IrProgram*> raw;
    for (const std::string& q : queries) {
      eql::CompileOptions options;
      options.dialect = dialect;
      eql::CompileResult r = eql::Compile(q, schema_, options);
      ASSERT_TRUE(r.ok()) << q << ": " << r.diagnostics[0].message;
      programs_.push_back(std::move(r.program));
      raw.push_back(programs_.back().get());
    }
    auto index = RuleIndex::Build(raw, limits);
    ASSERT_TRUE(index.ok()) << index.status();
    index_ = std::move(*index);
    matcher_ = std::make_unique<RuleMatcher>(*index_);
  }

  // The candidate rules of `e`, e.g. "0,2".
  std::string Candidates(const event::Event& e) {
    matcher_->Prepare(e);
    std::string out;
    for (uint32_t r : matcher_->rules()) out += (out.empty() ? "" : ",") + std::to_string(r);
    return out;
  }

  event::Event Process(std::string_view name, std::string_view category = "process") {
    return EventBuilder(schema_).Category(category).Str("process.name", name).Build();
  }

  schema::Schema schema_;
  std::vector<std::unique_ptr<eql::IrProgram>> programs_;
  std::unique_ptr<const RuleIndex> index_;
  std::unique_ptr<RuleMatcher> matcher_;
};

TEST_F(RuleIndexTest, EqualityIsHashedWithCaseRulesPerOperator) {
  Build({R"(process where process.name == "Bash")", R"(process where process.name : "zsh")",
         R"(process where process.name in~ ("CURL", "wget"))"});
  EXPECT_EQ(Candidates(Process("Bash")), "0");
  EXPECT_EQ(Candidates(Process("bash")), "");  // `==` is case-sensitive in Elasticsearch EQL
  EXPECT_EQ(Candidates(Process("ZSH")), "1");  // `:` is not
  EXPECT_EQ(Candidates(Process("curl")), "2");
  EXPECT_EQ(Candidates(Process("WGET")), "2");
  EXPECT_EQ(Candidates(Process("sh")), "");
  EXPECT_EQ(index_->stats().anchored_stages, 3u);
}

TEST_F(RuleIndexTest, EndgameDefaultsToCaseInsensitive) {
  Build({R"(process where process_name == "CMD.exe")"}, eql::Dialect::kEndgame);
  EXPECT_EQ(
      Candidates(EventBuilder(schema_).Category("process").Str("process_name", "cmd.EXE").Build()),
      "0");
}

TEST_F(RuleIndexTest, PatternsAreScannedOnce) {
  Build({R"(process where process.name : "py*n?")", R"(process where process.name like "*sh")",
         R"(process where startsWith(process.name, "ba"))",
         R"(process where endsWith~(process.name, "SH"))",
         R"(process where stringContains(process.name, "as"))",
         R"(process where process.name : "a*b*c")"});
  EXPECT_EQ(Candidates(Process("python3")), "0");
  // A glob with a metacharacter between literals anchors on its longest literal segment only
  // (here the prefixes "py" and "a"): a superset, which the evaluator narrows.
  EXPECT_EQ(Candidates(Process("pythonXY")), "0");
  EXPECT_EQ(Candidates(Process("xpython3")), "");
  EXPECT_EQ(Candidates(Process("bash")), "1,2,3,4");
  EXPECT_EQ(Candidates(Process("dash")), "1,3,4");
  EXPECT_EQ(Candidates(Process("dashx")), "4");  // `*sh` and endsWith: only at the end
  EXPECT_EQ(Candidates(Process("xba")), "");     // startsWith: only at the start
  EXPECT_EQ(Candidates(Process("aXbYc")), "5");
  EXPECT_EQ(Candidates(Process("aXbYcd")), "5");
  EXPECT_EQ(Candidates(Process("XbYc")), "");
  EXPECT_EQ(index_->stats().patterns, 6u);
}

// The longest literal segment of a glob is its anchor, kept where it must occur.
TEST_F(RuleIndexTest, InteriorGlobsAnchorOnTheirLongestLiteral) {
  Build({R"(process where process.name : "/home/*/.ssh/id_*")",
         R"(process where process.name : "*curl*http*")",
         R"(process where process.name : "ab*/tmp/bin")", R"(process where process.name : "?*?")"});
  // Rule 3 (`?*?`, no literal) is unanchored: a candidate for every process event.
  EXPECT_EQ(Candidates(Process("/root/.ssh/id_rsa")), "0,3");  // "/.ssh/id_" anywhere
  EXPECT_EQ(Candidates(Process("/home/u/.SSH/ID_x")), "0,3");  // `:` folds case
  EXPECT_EQ(Candidates(Process("/home/u/.ssh/keys")), "3");
  EXPECT_EQ(Candidates(Process("x curl -o http")), "1,3");  // "curl" (longest, first)
  EXPECT_EQ(Candidates(Process("xx/tmp/bin")), "2,3");      // the suffix "/tmp/bin"
  EXPECT_EQ(Candidates(Process("ab/tmp/binx")), "3");       // not at the end
  EXPECT_EQ(index_->stats().anchored_stages, 3u);           // `?*?` has no literal
}

TEST_F(RuleIndexTest, QuestionMarkIsLiteralWhereTheDialectSaysSo) {
  // The Endgame `==` knows only `*`: `?` is an ordinary byte there.
  Build({R"(process where process_name == "a?c*")"}, eql::Dialect::kEndgame);
  auto e = [&](std::string_view name) {
    return EventBuilder(schema_).Category("process").Str("process_name", name).Build();
  };
  EXPECT_EQ(Candidates(e("a?cde")), "0");
  EXPECT_EQ(Candidates(e("abcde")), "");
}

TEST_F(RuleIndexTest, ArraysOpenOnAnyElementNumbersAndIpsByValue) {
  Build({R"(process where process.args : "-e")", R"(process where process.args == "*x*")",
         R"(process where process.name == "0")", R"(process where process.pid in (4, 5.0))",
         R"(network where destination.ip == "10.0.0.1")"});
  event::Event with_args =
      EventBuilder(schema_).Category("process").Strs("process.args", {"nc", "-e"}).Build();
  EXPECT_EQ(Candidates(with_args), "0");
  // Strings and numbers never compare equal (no coercion at evaluation).
  event::Event numeric = EventBuilder(schema_).Category("process").Int("process.name", 0).Build();
  EXPECT_EQ(Candidates(numeric), "");
  EXPECT_EQ(Candidates(EventBuilder(schema_).Category("process").Int("process.pid", 5).Build()),
            "3");
  EXPECT_EQ(Candidates(EventBuilder(schema_).Category("process").Int("process.pid", 6).Build()),
            "");
  // An IP may equal the text of one: the evaluator decides.
  EXPECT_EQ(Candidates(
                EventBuilder(schema_).Category("network").Ip("destination.ip", "10.0.0.2").Build()),
            "4");
  event::Event missing = EventBuilder(schema_).Category("process").Build();
  EXPECT_EQ(Candidates(missing), "");
}

TEST_F(RuleIndexTest, UnanchoredStagesRunForTheirCategory) {
  Build({R"(process where true)", R"(file where length(file.path) > 3)",
         R"(process where process.name != "x")", R"(process where not process.name in ("a"))",
         R"(process where process.name : "*")", R"(any where process.name == "x")"});
  EXPECT_EQ(Candidates(Process("y")), "0,2,3,4");
  EXPECT_EQ(Candidates(Process("x")), "0,2,3,4,5");
  EXPECT_EQ(Candidates(Process("y", "file")), "1");
  EXPECT_EQ(index_->stats().anchored_stages, 1u);
}

TEST_F(RuleIndexTest, AndPicksOneConjunctOrNeedsEveryBranch) {
  Build({R"(process where process.pid > 4 and process.name == "a" and process.args : "*b*")",
         R"(process where process.name == "a" or startsWith(process.executable, "/tmp/"))",
         R"(process where process.name == "a" or process.pid > 1)"});
  // Rule 0 is anchored on its rarest conjunct (`process.args`; three rules share name == "a").
  EXPECT_EQ(Candidates(Process("a")), "1,2");
  event::Event args =
      EventBuilder(schema_).Category("process").Strs("process.args", {"abc"}).Build();
  EXPECT_EQ(Candidates(args), "0,2");
  event::Event tmp =
      EventBuilder(schema_).Category("process").Str("process.executable", "/tmp/x").Build();
  EXPECT_EQ(Candidates(tmp), "1,2");  // rule 2's `or` has an unanchorable branch
}

TEST_F(RuleIndexTest, ConjunctsEveryRuleSharesAreNotChosen) {
  Build({R"(process where host.os.type == "linux" and process.name == "nc")",
         R"(process where host.os.type == "linux" and process.name == "socat")",
         R"(process where host.os.type == "linux" and process.name : "*ncat*")"});
  event::Event linux_bash = EventBuilder(schema_)
                                .Category("process")
                                .Str("host.os.type", "linux")
                                .Str("process.name", "bash")
                                .Build();
  EXPECT_EQ(Candidates(linux_bash), "");
  event::Event linux_nc = EventBuilder(schema_)
                              .Category("process")
                              .Str("host.os.type", "linux")
                              .Str("process.name", "nc")
                              .Build();
  EXPECT_EQ(Candidates(linux_nc), "0");
}

TEST_F(RuleIndexTest, SequenceStagesAreGatedOneByOne) {
  Build({R"(sequence by process.entity_id [process where process.name == "a"]
                                           [file where file.name == "b"]
            until [process where process.name == "c"])"});
  const eql::IrProgram& p = *programs_[0];
  uint32_t first = *index_->SlotOf(&p.stages[0]);
  uint32_t second = *index_->SlotOf(&p.stages[1]);
  uint32_t until = *index_->SlotOf(&*p.until);
  EXPECT_EQ(Candidates(Process("a")), "0");
  EXPECT_TRUE(matcher_->StageOpen(first));
  EXPECT_FALSE(matcher_->StageOpen(second));
  EXPECT_FALSE(matcher_->StageOpen(until));
  EXPECT_EQ(Candidates(Process("c")), "0");
  EXPECT_TRUE(matcher_->StageOpen(until));
  EXPECT_FALSE(matcher_->StageOpen(first));
}

TEST_F(RuleIndexTest, RelationsAndTrailingMissingStagesSeeEveryEvent) {
  Build({R"(process where process_name == "a" and descendant of [process where true])",
         R"(process where process_name == "b")"},
        eql::Dialect::kEndgame);
  EXPECT_EQ(Candidates(EventBuilder(schema_).Category("file").Build()), "0");
  Build({R"(sequence by process.entity_id with maxspan=5s [process where process.name == "a"]
            ![process where process.name == "b"])"});
  EXPECT_EQ(Candidates(EventBuilder(schema_).Category("network").Build()), "0");
  EXPECT_EQ(index_->stats().always_rules, 1u);
}

// The index must never change a result: every streamable conformance query runs once on its own
// (no index) and once inside one Detector holding all of them, in each case mode; each rule's
// matches must be identical, in the same order.
std::string Describe(const QueryMatch& m) {
  std::string out;
  for (uint64_t i : m.event_indexes) out += std::to_string(i) + ",";
  return out + "|" + m.entity_key;
}

// An atom many rules share (here `event.outcome == "success"`, in four) is likely true of most
// events: a list of rare values is the better anchor even when it is longer (cost grows with the
// square of the sharing, so five rare names beat an atom four rules repeat).
TEST_F(RuleIndexTest, ListsOfRareValuesAnchorBeforeWidelySharedAtoms) {
  Build({R"(file where event.outcome == "success" and file.path == "/x")",
         R"(file where event.outcome == "success" and file.path == "/y")",
         R"(file where event.outcome == "success" and file.path == "/z")",
         R"(file where event.outcome == "success" and
                       process.name in ("a1", "a2", "a3", "a4", "a5"))"});
  auto file = [&](std::string_view name, std::string_view path) {
    return EventBuilder(schema_)
        .Category("file")
        .Str("event.outcome", "success")
        .Str("process.name", name)
        .Str("file.path", path)
        .Build();
  };
  EXPECT_EQ(Candidates(file("zz", "/q")), "");
  EXPECT_EQ(Candidates(file("a3", "/y")), "1,3");
}

// The database budget (issue #20): patterns past it are not compiled; their stages stay exact
// candidates (unanchored) instead.
TEST_F(RuleIndexTest, PatternsOverTheDatabaseBudgetLeaveTheirStagesUnanchored) {
  RuleIndexLimits limits;
  limits.max_database_patterns = 2;
  Build({R"(process where process.name : "a*")", R"(process where process.name : "b*")",
         R"(process where process.name : "c*")"},
        eql::Dialect::kElasticsearch, limits);
  EXPECT_EQ(index_->stats().patterns, 2u);
  EXPECT_EQ(index_->stats().pattern_fallbacks, 1u);
  EXPECT_EQ(Candidates(Process("ax")), "0,2");
  EXPECT_EQ(Candidates(Process("cx")), "2");
  EXPECT_EQ(Candidates(Process("zz")), "2");

  limits = {};
  limits.max_database_pattern_bytes = 8;  // "^a" and "^b" (2 bytes each) fit, not a third
  Build({R"(process where process.name : "a*")", R"(process where process.name : "bbbbbbbbbb*")"},
        eql::Dialect::kElasticsearch, limits);
  EXPECT_EQ(index_->stats().patterns, 1u);
  EXPECT_EQ(index_->stats().pattern_fallbacks, 1u);
  EXPECT_EQ(Candidates(Process("zz")), "1");
}

TEST(RuleIndexConformanceTest, IndexedResultsEqualUnindexedResults) {
  KESTREL_SKIP_IF_MISSING(testing::ConformancePath("test_queries.toml"),
                          "the index differential test");
  std::vector<testing::ConformanceCase> cases = testing::LoadConformanceCases();
  for (bool case_sensitive : {false, true}) {
    schema::Schema schema;
    std::vector<event::Event> events = testing::LoadConformanceEvents(schema);
    ASSERT_FALSE(events.empty());
    EngineLimits limits;
    limits.streaming = true;
    std::vector<std::unique_ptr<eql::IrProgram>> programs;
    std::vector<std::vector<std::string>> expected;
    for (const testing::ConformanceCase& c : cases) {
      const std::string& query = c.query;
      eql::CompileOptions options;
      options.dialect = eql::Dialect::kEndgame;
      options.case_sensitive = case_sensitive;
      eql::CompileResult r = eql::Compile(query, schema, options);
      if (!r.ok()) continue;
      auto alone = QueryEngine::Create(r.program.get(), schema, limits);
      if (!alone.ok()) continue;  // a pipe that cannot stream
      std::vector<std::string> results;
      for (size_t i = 0; i < events.size(); ++i) {
        (*alone)->Process(events[i], i);
        for (const QueryMatch& m : (*alone)->TakeResults()) results.push_back(Describe(m));
      }
      (*alone)->EndOfInput();
      for (const QueryMatch& m : (*alone)->TakeResults()) results.push_back(Describe(m));
      programs.push_back(std::move(r.program));
      expected.push_back(std::move(results));
    }
    ASSERT_GT(programs.size(), 200u);

    Detector detector(schema, limits);
    for (const auto& p : programs) ASSERT_TRUE(detector.AddRule(p.get()).ok());
    ASSERT_TRUE(detector.Seal().ok());
    std::vector<std::vector<std::string>> got(programs.size());
    for (size_t i = 0; i < events.size(); ++i) {
      detector.Process(events[i], i,
                       [&](size_t rule, QueryMatch& m) { got[rule].push_back(Describe(m)); });
    }
    detector.Finish([&](size_t rule, QueryMatch& m) { got[rule].push_back(Describe(m)); });
    size_t with_results = 0;
    for (size_t r = 0; r < programs.size(); ++r) {
      EXPECT_EQ(got[r], expected[r]) << "rule " << r << (case_sensitive ? " (cs)" : " (ci)");
      with_results += !expected[r].empty();
    }
    EXPECT_GT(with_results, 150u);
    // The index did prune: most rule evaluations were skipped.
    // The index did prune (most conformance queries test structure, so fewer are anchored than
    // in a real rule pack).
    EXPECT_GT(detector.skipped(), detector.evaluated());
    EXPECT_GT(detector.index_stats().anchored_stages, detector.index_stats().stages / 3);
  }
}

}  // namespace
}  // namespace kestrel::engine
