#include "kestrel/pipeline/blocking.h"

#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "kestrel/eql/sema.h"
#ifdef KESTREL_HAVE_FANOTIFY
#include "kestrel/actions/blocking/fake_lsm_maps.h"
#include "kestrel/actions/blocking/fanotify_guard.h"
#include "kestrel/sources/ebpf/file_key.h"
#endif

namespace kestrel::pipeline {
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
  RunConfig o;
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
  // A dry run reports what a live run would do: PID 1, -1 (every process) and Kestrel refused.
  for (int64_t refused : {int64_t{1}, int64_t{-1}, int64_t{0}, int64_t{::getpid()}}) {
    engine::Alert dry_refused = alert_for(refused);
    ApplyKill(EnforceMode::kDryRun, true, &dry_refused);
    EXPECT_EQ(dry_refused.action, "would-kill");
    EXPECT_EQ(dry_refused.outcome, "failure") << refused;
  }
  EXPECT_EQ(dry.outcome, "success");
}

#ifdef KESTREL_HAVE_FANOTIFY
using actions::blocking::testing::FakeMaps;
using actions::blocking::testing::FakeState;

class BlockingLsmTest : public BlockingOptionsTest {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kestrel-lsm-wiring.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    MakeFiles();
  }
  void MakeFiles() {
    std::ofstream(dir_ + "/marker") << "x";
    std::ofstream(dir_ + "/secret.txt") << "x";
  }
  // A tmpfs of the test's own on dir_, in a private mount namespace: what a fanotify guard may
  // mark (never the filesystem of /tmp, which may be `/`).
  absl::Status MountTmpfs() {
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0 ||
        ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=1m,mode=0755") != 0) {
      return absl::FailedPreconditionError(std::strerror(errno));
    }
    mounted_ = true;
    MakeFiles();
    return absl::OkStatus();
  }
  void TearDown() override {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::filesystem::remove_all(dir_);
  }
  bool mounted_ = false;

  // The key the kernel knows `path` by (file_key.h): the fake's map key.
  std::pair<uint32_t, uint64_t> Key(const std::string& path) {
    auto key = sources::KernelFileKeys().Of(path);
    EXPECT_TRUE(key.ok()) << key.status();
    return key.ok() ? std::make_pair(key->dev, key->ino) : std::make_pair(0u, uint64_t{0});
  }

  absl::StatusOr<std::unique_ptr<BlockingGuard>> Start(
      const std::vector<const rules::CompiledRule*>& active, absl::Status probe) {
    RunConfig o;
    o.enforce = "on";
    o.guard_mark = dir_;
    LsmSeams seams;
    seams.probe = [probe] { return probe; };
    seams.kernel = [this] { return std::make_unique<FakeMaps>(&kernel_); };
    return BlockingGuard::Start(
        o, true, active, schema_,
        [this](engine::Alert& a) {
          std::lock_guard<std::mutex> lock(alerts_mu_);
          alerts_.push_back(a);
        },
        {}, seams);
  }

  std::string dir_;
  FakeState kernel_;
  std::mutex alerts_mu_;
  std::vector<engine::Alert> alerts_;
};

// Where BPF-LSM loads: the exact-path block rules are denied in the kernel (the deny maps hold
// their files' keys, enforcing), a kernel decision becomes a deny alert naming its rule, and a
// reload re-arms the maps.
TEST_F(BlockingLsmTest, ExactPathRulesAreDeniedInTheKernelWhereBpfLsmLoads) {
  const rules::CompiledRule* exec = Rule(
      "process where process.executable == \"" + dir_ + "/marker\"", rules::RuleAction::kBlock);
  const rules::CompiledRule* open =
      Rule("file where file.path == \"" + dir_ + "/secret.txt\"", rules::RuleAction::kBlock);
  const rules::CompiledRule* alert =
      Rule("process where process.name == \"x\"", rules::RuleAction::kAlert);
  auto guard = Start({exec, open, alert}, absl::OkStatus());
  ASSERT_TRUE(guard.ok()) << guard.status();
  ASSERT_NE(*guard, nullptr);
  EXPECT_EQ((*guard)->block_rules(), 2u);
  EXPECT_EQ((*guard)->lsm_rules(), 2u);  // no fanotify guard needed: nothing left for it
  auto exec_key = Key(dir_ + "/marker");
  auto open_key = Key(dir_ + "/secret.txt");
  auto& exec_map = kernel_.maps[static_cast<size_t>(sources::LsmTable::kExec)];
  auto& open_map = kernel_.maps[static_cast<size_t>(sources::LsmTable::kOpen)];
  {
    std::lock_guard<std::mutex> lock(kernel_.mu);
    EXPECT_TRUE(kernel_.attached);
    EXPECT_TRUE(kernel_.enforce);
    ASSERT_EQ(exec_map.size(), 1u);
    ASSERT_EQ(open_map.size(), 1u);
    EXPECT_EQ(exec_map.at(exec_key), 0u);
    EXPECT_EQ(open_map.at(open_key), 1u);
    kestrel_lsm_decision d{};
    d.dev = exec_key.first;
    d.ino = exec_key.second;
    d.pid = d.tgid = static_cast<uint32_t>(::getpid());
    d.rule = 0;
    d.hook = KESTREL_LSM_EXEC;
    d.denied = 1;
    kernel_.pending.push_back(d);
  }
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard<std::mutex> lock(alerts_mu_);
      if (!alerts_.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  {
    std::lock_guard<std::mutex> lock(alerts_mu_);
    ASSERT_EQ(alerts_.size(), 1u);
    EXPECT_EQ(alerts_[0].rule_id, exec->spec.id);
    EXPECT_EQ(alerts_[0].action, "deny");
    EXPECT_EQ(alerts_[0].outcome, "success");
  }
  // Reload without the open rule: its file is no longer denied; the exec rule stays.
  ASSERT_TRUE((*guard)->Reload({exec, alert}).ok());
  EXPECT_EQ((*guard)->lsm_rules(), 1u);
  {
    std::lock_guard<std::mutex> lock(kernel_.mu);
    EXPECT_EQ(open_map.count(open_key), 0u);
    EXPECT_EQ(exec_map.count(exec_key), 1u);
  }
  EXPECT_NE((*guard)->Summary().find("in the kernel (BPF-LSM): denied 1"), std::string::npos)
      << (*guard)->Summary();
  (*guard)->Stop();
  std::lock_guard<std::mutex> lock(kernel_.mu);
  EXPECT_TRUE(kernel_.detached);
}

// Where the probe fails (this kind of machine), nothing goes to the kernel: every block rule is
// judged by the fanotify guard.
TEST_F(BlockingLsmTest, WithoutBpfLsmEveryRuleGoesToFanotify) {
  if (absl::Status probe = actions::blocking::ProbeFanotifyPermissionEvents(); !probe.ok()) {
    GTEST_SKIP() << "fanotify permission events unavailable: " << probe.message();
  }
  ASSERT_TRUE(MountTmpfs().ok());
  const rules::CompiledRule* exec = Rule(
      "process where process.executable == \"" + dir_ + "/marker\"", rules::RuleAction::kBlock);
  auto guard = Start({exec}, absl::FailedPreconditionError("no BPF LSM here"));
  ASSERT_TRUE(guard.ok()) << guard.status();
  EXPECT_EQ((*guard)->block_rules(), 1u);
  EXPECT_EQ((*guard)->lsm_rules(), 0u);
  EXPECT_NE((*guard)->Summary().find("guard (on): held"), std::string::npos);
  EXPECT_EQ((*guard)->Summary().find("BPF-LSM"), std::string::npos);
  std::lock_guard<std::mutex> lock(kernel_.mu);
  EXPECT_TRUE(kernel_.maps[0].empty() && kernel_.maps[1].empty());
  EXPECT_FALSE(kernel_.attached);
}
#endif

}  // namespace
}  // namespace kestrel::pipeline
