#include "kestrel/pipeline/rule_manager.h"
#include "kestrel/pipeline/run_config.h"

#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kestrel::pipeline {
namespace {

namespace fs = std::filesystem;

class RuleManagerTest : public ::testing::Test {
 protected:
  RuleManagerTest() {
    std::string tmpl = (fs::temp_directory_path() / "kestrel_reload.XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    limits_ = StreamingLimits(1000, 0, kDefaultStateBudgetBytes);
  }
  ~RuleManagerTest() override { fs::remove_all(dir_); }

  void Write(const std::string& name, const std::string& query) {
    std::ofstream(fs::path(dir_) / name) << "// severity: low\n" << query << "\n";
  }
  event::Event Proc(const std::string& entity, const std::string& name) {
    return event::EventBuilder(schema_)
        .Time(++t_ * 1'000'000)
        .Category("process")
        .Str("process.entity_id", entity)
        .Str("process.name", name)
        .Build();
  }
  // Runs `e` through the generation; returns the ids of the rules that alerted.
  std::vector<std::string> Feed(RuleGeneration& g, const event::Event& e) {
    std::vector<std::string> ids;
    g.detector->Process(e, static_cast<uint64_t>(t_), [&](size_t rule, engine::QueryMatch&) {
      ids.push_back(g.rules.active[rule]->spec.id);
    });
    return ids;
  }

  std::string dir_;
  schema::Schema schema_;
  engine::EngineLimits limits_;
  int64_t t_ = 0;
};

using ::testing::ElementsAre;

TEST_F(RuleManagerTest, UnchangedRulesKeepTheirStateChangedOnesStartOverBrokenSetsAreRefused) {
  Write(
      "seq.eql",
      R"(sequence by process.entity_id [process where process.name == "a"] [process where process.name == "b"])");
  Write("single.eql", R"(process where process.name == "x")");
  auto g = FirstGeneration(dir_, false, schema_, limits_, nullptr);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_TRUE(Feed(*g, Proc("e1", "a")).empty());  // seq: a partial match for e1

  Write("single.eql", R"(process where process.name == "y")");
  Write("new.eql", R"(process where process.name == "z")");
  ReloadOutcome outcome;
  auto next = NextGeneration(*g, false, schema_, limits_, nullptr, &outcome);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(outcome.kept, 1u);
  EXPECT_EQ(outcome.changed, 1u);
  EXPECT_EQ(outcome.added, 1u);
  EXPECT_EQ(outcome.removed, 0u);
  EXPECT_EQ(next->version, 2u);
  *g = std::move(*next);
  EXPECT_THAT(Feed(*g, Proc("e1", "b")), ElementsAre("seq"));  // state survived the reload
  EXPECT_TRUE(Feed(*g, Proc("e2", "x")).empty());              // the old definition is gone
  EXPECT_THAT(Feed(*g, Proc("e2", "y")), ElementsAre("single"));
  EXPECT_THAT(Feed(*g, Proc("e2", "z")), ElementsAre("new"));

  // A broken rule: the whole new set is refused, the running one keeps detecting.
  EXPECT_TRUE(Feed(*g, Proc("e3", "a")).empty());
  Write("broken.eql", R"(process where process.nme == )");
  auto refused = NextGeneration(*g, false, schema_, limits_, nullptr, &outcome);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(g->version, 2u);
  EXPECT_THAT(Feed(*g, Proc("e3", "b")), ElementsAre("seq"));

  // Fixed and a rule removed: accepted; seq (unchanged all along) still has its state.
  fs::remove(fs::path(dir_) / "broken.eql");
  fs::remove(fs::path(dir_) / "new.eql");
  EXPECT_TRUE(Feed(*g, Proc("e4", "a")).empty());
  next = NextGeneration(*g, false, schema_, limits_, nullptr, &outcome);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(outcome.removed, 1u);
  EXPECT_EQ(outcome.kept, 2u);
  *g = std::move(*next);
  EXPECT_EQ(g->version, 3u);
  EXPECT_THAT(Feed(*g, Proc("e4", "b")), ElementsAre("seq"));
  EXPECT_TRUE(Feed(*g, Proc("e4", "z")).empty());
}

TEST_F(RuleManagerTest, HundredReloadsWhileEventsFlow) {
  Write(
      "seq.eql",
      R"(sequence by process.entity_id [process where process.name == "a"] [process where process.name == "b"])");
  auto g = FirstGeneration(dir_, false, schema_, limits_, nullptr);
  ASSERT_TRUE(g.ok());
  uint64_t fed = 0, seq_alerts = 0, refused = 0, accepted = 0;
  for (int round = 0; round < 100; ++round) {
    // Events keep flowing: a full a→b chain per entity, split across the reload.
    std::string entity = fmt::format("p{}", round);
    for (const std::string& id : Feed(*g, Proc(entity, "a"))) seq_alerts += id == "seq";
    ++fed;
    switch (round % 4) {
      case 0:
        Write(fmt::format("r{}.eql", round), R"(process where process.name == "q")");
        break;
      case 1:
        Write(fmt::format("r{}.eql", round - 1), R"(process where process.name == "w")");
        break;
      case 2:
        fs::remove(fs::path(dir_) / fmt::format("r{}.eql", round - 2));
        break;
      case 3:
        Write("bad.eql", "sequence [");
        break;
    }
    ReloadOutcome outcome;
    auto next = NextGeneration(*g, false, schema_, limits_, nullptr, &outcome);
    if (next.ok()) {
      *g = std::move(*next);
      ++accepted;
      EXPECT_EQ(outcome.kept, 1u) << round;  // seq never changes
    } else {
      ++refused;
      fs::remove(fs::path(dir_) / "bad.eql");
    }
    for (const std::string& id : Feed(*g, Proc(entity, "b"))) seq_alerts += id == "seq";
    ++fed;
  }
  EXPECT_EQ(fed, 200u);
  EXPECT_EQ(refused, 25u);
  EXPECT_EQ(accepted, 75u);
  EXPECT_EQ(seq_alerts, 100u);  // every chain completed across its reload: no state lost
  EXPECT_EQ(g->version, 76u);
}

TEST_F(RuleManagerTest, CompilesOffTheDetectionThreadAndCommitsBetweenEvents) {
  Write(
      "seq.eql",
      R"(sequence by process.entity_id [process where process.name == "a"] [process where process.name == "b"])");
  RuleManagerOptions options;
  options.rules_dir = dir_;
  options.limits = limits_;
  options.quiet_ms = 20;
  auto manager = RuleManager::Open(options, schema_);
  ASSERT_TRUE(manager.ok()) << manager.status();
  RuleManager& m = **manager;
  EXPECT_TRUE(Feed(m.current(), Proc("e1", "a")).empty());
  Write("single.eql", R"(process where process.name == "x")");
  // The compile runs on the manager's thread while this one keeps detecting.
  uint64_t fed = 0;
  for (int i = 0; i < 500 && !m.ReloadReady(); ++i) {
    m.Poll();
    Feed(m.current(), Proc("other", "c"));
    ++fed;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(m.ReloadReady()) << "no generation compiled within 5 s";
  EXPECT_GT(fed, 0u);
  EXPECT_EQ(m.version(), 1u);  // not yet: the commit is the detection thread's
  auto compiled = m.TakeCompiled();
  ASSERT_TRUE(compiled.has_value());
  EXPECT_EQ(compiled->outcome.kept, 1u);
  EXPECT_EQ(compiled->outcome.added, 1u);
  ASSERT_TRUE(m.Commit(std::move(*compiled)).ok());
  EXPECT_EQ(m.version(), 2u);
  EXPECT_EQ(m.reloads(), 1u);
  EXPECT_THAT(Feed(m.current(), Proc("e1", "b")), ElementsAre("seq"));  // state carried over
  EXPECT_THAT(Feed(m.current(), Proc("e2", "x")), ElementsAre("single"));

  // A broken set is refused by the compile thread: counted at once, nothing to commit.
  Write("broken.eql", "sequence [");
  for (int i = 0; i < 500 && m.refused() == 0; ++i) {
    m.Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(m.refused(), 1u);
  EXPECT_FALSE(m.ReloadReady());
  EXPECT_EQ(m.version(), 2u);
}

// With a Lua predicate runtime the compile thread builds the index only; the engines are made at
// the commit, on the thread that owns the runtime (the reloaded set detects, state carried over).
TEST_F(RuleManagerTest, ALuaRuntimeReloadMakesItsEnginesAtTheCommit) {
  Write(
      "seq.eql",
      R"(sequence by process.entity_id [process where process.name == "a"] [process where process.name == "b"])");
  RuleManagerOptions options;
  options.rules_dir = dir_;
  options.limits = limits_;
  options.quiet_ms = 20;
  options.predicate_runtime = "lua";
  auto manager = RuleManager::Open(options, schema_);
  ASSERT_TRUE(manager.ok()) << manager.status();
  RuleManager& m = **manager;
  EXPECT_TRUE(Feed(m.current(), Proc("e1", "a")).empty());
  Write("single.eql", R"(process where process.name == "x")");
  for (int i = 0; i < 500 && !m.ReloadReady(); ++i) {
    m.Poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  auto compiled = m.TakeCompiled();
  ASSERT_TRUE(compiled.has_value()) << "no generation compiled within 5 s";
  EXPECT_EQ(compiled->generation.detector, nullptr);
  ASSERT_NE(compiled->generation.index, nullptr);
  ASSERT_TRUE(m.Commit(std::move(*compiled)).ok());
  EXPECT_THAT(Feed(m.current(), Proc("e1", "b")), ElementsAre("seq"));
  EXPECT_THAT(Feed(m.current(), Proc("e2", "x")), ElementsAre("single"));
}

TEST_F(RuleManagerTest, ACompileOverItsBudgetIsRefused) {
  Write("a.eql", R"(process where process.name == "a")");
  auto g = FirstGeneration(dir_, false, schema_, limits_, nullptr);
  ASSERT_TRUE(g.ok());
  // Some patterns: their database is larger than one byte.
  Write("b.eql", R"(process where process.command_line : ("*x1*", "*x2*", "*x3*"))");
  CompileBudget budget;
  budget.index_bytes = 1;
  auto refused = CompileGeneration(*g, false, schema_, limits_, true, budget);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_NE(refused.status().message().find("reload_memory_budget"), std::string::npos);
  budget = {};
  budget.time_ns = 1;  // nothing compiles in a nanosecond
  refused = CompileGeneration(*g, false, schema_, limits_, true, budget);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("reload_compile_budget"), std::string::npos);
  EXPECT_TRUE(CompileGeneration(*g, false, schema_, limits_, true, {}).ok());
}

// `--sigma-mapping`: read once at start (LoadSigmaMappingOption), used by the first load and by
// every reload; a field only the user's mapping knows fails its rule without it.
TEST_F(RuleManagerTest, ASigmaMappingIsReadOnceAndEveryReloadUsesIt) {
  auto sigma = [&](const std::string& name, const std::string& id, const std::string& value) {
    std::ofstream(fs::path(dir_) / name)
        << "title: " << name << "\nid: " << id
        << "\nlogsource: {product: linux, category: process_creation}\ndetection:\n  sel:\n"
           "    Hashes|contains: "
        << value << "\n  condition: sel\nlevel: high\n";
  };
  auto exec = [&](const std::string& hash) {
    return event::EventBuilder(schema_)
        .Time(++t_ * 1'000'000)
        .Category("process")
        .Str("event.type", "start")
        .Str("event.action", "exec")
        .Str("process.hash.sha256", hash)
        .Build();
  };
  sigma("a.yml", "sigma-a", "aaa");
  // Without the mapping the field is unknown: the rule fails, naming the field.
  RuleManagerOptions options;
  options.rules_dir = dir_;
  options.limits = limits_;
  options.watch = false;
  options.strict_rules = true;
  auto refused = RuleManager::Open(options, schema_);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);

  std::string map_dir = dir_ + ".map";
  fs::create_directories(map_dir);
  std::string map_path = map_dir + "/map.yaml";
  std::ofstream(map_path) << "logsources:\n  process_creation:\n    fields:\n"
                             "      Hashes: process.hash.sha256\n";
  auto mapping = LoadSigmaMappingOption(map_path);
  ASSERT_TRUE(mapping.ok()) << mapping.status();
  ASSERT_NE(*mapping, nullptr);
  EXPECT_EQ(*LoadSigmaMappingOption(std::nullopt), nullptr);  // unset: the built-in mapping
  options.sigma_mapping = *mapping;
  auto manager = RuleManager::Open(options, schema_);
  ASSERT_TRUE(manager.ok()) << manager.status();
  RuleGeneration& g = (*manager)->current();
  EXPECT_THAT(Feed(g, exec("xaaax")), ElementsAre("sigma-a"));
  // The file changes after the start: a reload still uses what was read at the start.
  std::ofstream(map_path) << "logsources: []\n";
  sigma("b.yml", "sigma-b", "bbb");
  ReloadOutcome outcome;
  auto next = NextGeneration(g, false, schema_, limits_, nullptr, &outcome);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(outcome.added, 1u);
  EXPECT_EQ(outcome.kept, 1u);
  EXPECT_EQ(next->sigma_mapping, *mapping);
  EXPECT_THAT(Feed(*next, exec("bbb")), ElementsAre("sigma-b"));

  // A bad mapping is a usage error naming FILE:LINE:COL; a rule package refuses any mapping.
  std::ofstream(map_path) << "logsources:\n  x: {colour: red}\n";
  auto bad = LoadSigmaMappingOption(map_path);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find(map_path + ":2:15: unknown key 'colour'"),
            std::string::npos)
      << bad.status();
  EXPECT_EQ(CheckSigmaMappingWithPackage(true, mapping->get()).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckSigmaMappingWithPackage(true, nullptr).ok());
  EXPECT_TRUE(CheckSigmaMappingWithPackage(false, mapping->get()).ok());
  fs::remove_all(map_dir);
}

TEST_F(RuleManagerTest, WatcherSeesChangesAndSighup) {
  Write("a.eql", R"(process where process.name == "a")");
  auto w = RuleWatcher::Start(dir_, 50);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_FALSE((*w)->ReloadDue());
  Write("b.eql", R"(process where process.name == "b")");
  bool due = false;
  for (int i = 0; i < 200 && !due; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    due = (*w)->ReloadDue();
  }
  EXPECT_TRUE(due) << "a new rule file was not noticed within 2 s";
  EXPECT_FALSE((*w)->ReloadDue());  // once per change
  // A new subdirectory and a file in it.
  fs::create_directory(fs::path(dir_) / "sub");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  while ((*w)->ReloadDue()) {
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  (void)(*w)->ReloadDue();
  Write("sub/c.eql", R"(process where process.name == "c")");
  due = false;
  for (int i = 0; i < 200 && !due; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    due = (*w)->ReloadDue();
  }
  EXPECT_TRUE(due) << "a rule file in a new subdirectory was not noticed";
  std::raise(SIGHUP);
  EXPECT_TRUE((*w)->ReloadDue());
}

}  // namespace
}  // namespace kestrel::pipeline
