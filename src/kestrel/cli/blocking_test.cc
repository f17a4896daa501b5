#include "kestrel/cli/blocking.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "kestrel/eql/sema.h"

namespace kestrel::cli {
namespace {

using actions::blocking::EnforceMode;

class BlockingOptionsTest : public ::testing::Test {
 protected:
  const rules::CompiledRule* Rule(std::string query, rules::RuleAction action) {
    eql::CompileResult r = eql::Compile(query, schema_);
    EXPECT_TRUE(r.ok()) << query;
    auto rule = std::make_unique<rules::CompiledRule>();
    rule->spec.id = "r" + std::to_string(rules_.size());
    rule->spec.action = action;
    rule->program = std::move(r.program);
    rules_.push_back(std::move(rule));
    return rules_.back().get();
  }
  schema::Schema schema_;
  std::vector<std::unique_ptr<rules::CompiledRule>> rules_;
};

TEST_F(BlockingOptionsTest, EnforceDefaultsToDryRunLiveAndOffForFiles) {
  RunOptions o;
  EXPECT_EQ(*RunEnforceMode(o, true), EnforceMode::kDryRun);
  EXPECT_EQ(*RunEnforceMode(o, false), EnforceMode::kOff);
  o.enforce = "on";
  EXPECT_EQ(*RunEnforceMode(o, false), EnforceMode::kOn);
  o.enforce = "always";
  EXPECT_FALSE(RunEnforceMode(o, true).ok());
}

TEST_F(BlockingOptionsTest, KillAtExecOnlyForExactExecutables) {
  using rules::RuleAction;
  std::vector<const rules::CompiledRule*> active = {
      Rule(R"(process where process.executable == "/usr/bin/nc")", RuleAction::kKill),
      Rule(R"(process where process.executable in ("/a/x", "/a/y"))", RuleAction::kKill),
      Rule(R"(process where process.executable : "/tmp/*")", RuleAction::kKill),  // a pattern
      Rule(R"(process where process.executable == "/b" and user.id == "0")", RuleAction::kKill),
      Rule(R"(process where process.executable == "/c")", RuleAction::kAlert),
      Rule(R"(process where process.executable == "/d")", RuleAction::kBlock),
      Rule(R"(sequence [process where process.executable == "/e"] [file where true])",
           RuleAction::kKill),
  };
  EXPECT_EQ(KillAtExecPaths(active), (std::vector<std::string>{"/usr/bin/nc", "/a/x", "/a/y"}));
}

TEST_F(BlockingOptionsTest, ApplyKillByMode) {
  pid_t child = ::fork();
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  auto alert_for = [&](int64_t pid) {
    engine::Alert a;
    a.rule_id = "r";
    a.events.push_back(std::make_shared<event::Event>(
        event::EventBuilder(schema_).Category("process").Int("process.pid", pid).Build()));
    return a;
  };
  engine::Alert off = alert_for(child);
  ApplyKill(EnforceMode::kOff, true, &off);
  EXPECT_EQ(off.action, "");
  engine::Alert dry = alert_for(child);
  ApplyKill(EnforceMode::kDryRun, true, &dry);
  EXPECT_EQ(dry.action, "would-kill");
  engine::Alert file = alert_for(child);
  ApplyKill(EnforceMode::kOn, false, &file);  // a file's pids are not this machine's
  EXPECT_EQ(file.action, "would-kill");
  EXPECT_EQ(::kill(child, 0), 0);  // still alive
  engine::Alert on = alert_for(child);
  ApplyKill(EnforceMode::kOn, true, &on);
  EXPECT_EQ(on.action, "kill");
  EXPECT_EQ(on.outcome, "success");
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  engine::Alert self = alert_for(::getpid());
  ApplyKill(EnforceMode::kOn, true, &self);
  EXPECT_EQ(self.outcome, "failure");  // never Kestrel itself
  engine::Alert init = alert_for(1);
  ApplyKill(EnforceMode::kOn, true, &init);
  EXPECT_EQ(init.outcome, "failure");  // never PID 1
}

}  // namespace
}  // namespace kestrel::cli
