#include "kestrel/actions/blocking/guard.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "kestrel/eql/sema.h"

namespace kestrel::actions::blocking {
namespace {

class GuardEvaluatorTest : public ::testing::Test {
 protected:
  std::unique_ptr<GuardEvaluator> Make(std::vector<std::string> queries) {
    std::vector<GuardRule> rules;
    for (size_t i = 0; i < queries.size(); ++i) {
      eql::CompileResult r = eql::Compile(queries[i], schema_);
      EXPECT_TRUE(r.ok()) << queries[i];
      programs_.push_back(std::move(r.program));
      rules.push_back(GuardRule{programs_.back().get(), 100 + i});
    }
    engine::EngineLimits limits;
    limits.streaming = true;
    auto made = GuardEvaluator::Create(schema_, rules, limits);
    EXPECT_TRUE(made.ok()) << made.status();
    return std::move(*made);
  }
  AccessRequest Request(AccessKind kind, std::string_view path) {
    AccessRequest r;
    r.kind = kind;
    r.pid = static_cast<int32_t>(::getpid());
    r.path = path;
    r.time_ns = ++time_ns_;
    return r;
  }

  schema::Schema schema_;
  std::vector<std::unique_ptr<eql::IrProgram>> programs_;
  int64_t time_ns_ = 1'700'000'000'000'000'000;
};

TEST(EnforceModeTest, NamesRoundTrip) {
  for (EnforceMode m : {EnforceMode::kOff, EnforceMode::kDryRun, EnforceMode::kOn}) {
    EXPECT_EQ(ParseEnforceMode(EnforceModeName(m)), m);
  }
  EXPECT_EQ(ParseEnforceMode("DRY-RUN"), EnforceMode::kDryRun);
  EXPECT_EQ(ParseEnforceMode("enforce"), std::nullopt);
  EXPECT_EQ(VerdictActionName(VerdictAction::kWouldDeny), "would-deny");
  EXPECT_EQ(VerdictOutcome(VerdictAction::kDeny), "success");
  EXPECT_EQ(VerdictOutcome(VerdictAction::kAllowTimeout), "failure");
}

TEST(AllowListTest, PidOneThisProcessItsParentsAndPathPrefixes) {
  AllowList allow = AllowList::ForThisProcess({"/opt/app/", "/usr/lib/kestrel"});
  EXPECT_TRUE(allow.AllowsPid(1));
  EXPECT_TRUE(allow.AllowsPid(static_cast<int32_t>(::getpid())));
  EXPECT_TRUE(allow.AllowsPid(static_cast<int32_t>(::getppid())));
  EXPECT_FALSE(allow.AllowsPid(-5));
  EXPECT_TRUE(allow.AllowsPath("/opt/app"));
  EXPECT_TRUE(allow.AllowsPath("/opt/app/bin/x"));
  EXPECT_FALSE(allow.AllowsPath("/opt/application"));
  EXPECT_TRUE(allow.AllowsPath("/usr/lib/kestrel/k"));
  EXPECT_FALSE(allow.AllowsPath("/usr/bin/true"));
}

TEST(GuardEvaluatorTest2, LoaderNames) {
  EXPECT_TRUE(GuardEvaluator::IsLoader("/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"));
  EXPECT_TRUE(GuardEvaluator::IsLoader("/lib/ld-musl-x86_64.so.1"));
  EXPECT_TRUE(GuardEvaluator::IsLoader("/lib/ld.so.1"));
  EXPECT_FALSE(GuardEvaluator::IsLoader("/usr/bin/ld"));
  EXPECT_FALSE(GuardEvaluator::IsLoader("/usr/bin/bash"));
}

TEST_F(GuardEvaluatorTest, ExecRuleMatchesTheProgramAboutToRun) {
  auto g = Make({R"(process where process.executable == "/t/marker" and event.action == "exec")"});
  EXPECT_TRUE(g->wants_exec());
  EXPECT_FALSE(g->wants_open());
  auto m = g->Evaluate(Request(AccessKind::kExec, "/t/marker"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->rule_id, 100u);
  ASSERT_EQ(m->events.size(), 1u);
  EXPECT_FALSE(g->Evaluate(Request(AccessKind::kExec, "/t/other")).has_value());
  // An open of the marker by an ordinary process (this test) is not an exec.
  EXPECT_FALSE(g->Evaluate(Request(AccessKind::kOpen, "/t/marker")).has_value());
}

TEST_F(GuardEvaluatorTest, OpenRuleSeesTheFileAndTheOpener) {
  auto g = Make({R"(file where file.name == "secret.txt" and event.type == "access")",
                 R"(process where process.name == "never")"});
  EXPECT_TRUE(g->wants_open());
  auto m = g->Evaluate(Request(AccessKind::kOpen, "/t/dir/secret.txt"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->rule_id, 100u);
  const event::Event& e = *m->events[0];
  const event::Value* dir = e.Find(schema::ecs::Field("file.directory"));
  ASSERT_NE(dir, nullptr);
  EXPECT_EQ(dir->as_string(), "/t/dir");
  const event::Value* pid = e.Find(schema::ecs::Field("process.pid"));
  ASSERT_NE(pid, nullptr);
  EXPECT_EQ(pid->as_int(), ::getpid());
  EXPECT_NE(e.Find(schema::ecs::Field("process.executable")), nullptr);  // the opener: this test
  // No rule uses the user or the parent: /proc/PID/status was not read while the access was
  // held; Complete() adds them to the evidence afterwards.
  EXPECT_FALSE(g->needs_status());
  EXPECT_EQ(e.Find(schema::ecs::Field("user.id")), nullptr);
  g->Complete(&*m);
  const event::Value* uid = m->events[0]->Find(schema::ecs::Field("user.id"));
  ASSERT_NE(uid, nullptr);
  EXPECT_EQ(uid->as_string(), std::to_string(::geteuid()));
  const event::Value* ppid = m->events[0]->Find(schema::ecs::Field("process.parent.pid"));
  ASSERT_NE(ppid, nullptr);
  EXPECT_EQ(ppid->as_int(), ::getppid());
  EXPECT_EQ(m->events[0]->Find(schema::ecs::Field("file.directory"))->as_string(), "/t/dir");
  EXPECT_FALSE(g->Evaluate(Request(AccessKind::kOpen, "/t/dir/public.txt")).has_value());
}

TEST_F(GuardEvaluatorTest, RulesOnTheUserOrParentReadThemWhileHeld) {
  std::string uid = std::to_string(::geteuid());
  for (const std::string& q : std::vector<std::string>{
           "process where user.id == \"" + uid + "\"",
           "process where process.parent.pid == " + std::to_string(::getppid()),
           "sequence by process.ppid [process where true] [process where true]"}) {
    auto g = Make({q});
    EXPECT_TRUE(g->needs_status()) << q;
  }
  auto g = Make({"process where process.executable == \"/t/m\" and user.id == \"" + uid + "\""});
  EXPECT_TRUE(g->Evaluate(Request(AccessKind::kExec, "/t/m")).has_value());
  auto other = Make({"process where process.executable == \"/t/m\" and user.id == \"99999\""});
  EXPECT_FALSE(other->Evaluate(Request(AccessKind::kExec, "/t/m")).has_value());
}

TEST_F(GuardEvaluatorTest, SequenceCompletesOnTheHeldExec) {
  auto g = Make({R"(sequence by user.id with maxspan=10s
                      [file where file.path == "/t/stage1"]
                      [process where process.executable == "/t/stage2"])"});
  EXPECT_FALSE(g->Evaluate(Request(AccessKind::kExec, "/t/stage2")).has_value());
  EXPECT_FALSE(g->Evaluate(Request(AccessKind::kOpen, "/t/stage1")).has_value());
  auto m = g->Evaluate(Request(AccessKind::kExec, "/t/stage2"));
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->events.size(), 2u);
}
}  // namespace
}  // namespace kestrel::actions::blocking
