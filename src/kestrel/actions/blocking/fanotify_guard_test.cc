// The fanotify guard against the real kernel. Every test marks only a tmpfs of its own (mounted
// on a fresh temporary directory, unmounted at the end), never `/`: while a permission mark is
// active every exec/open on the marked filesystem waits for the guard. Marks die with the
// fanotify fd (Stop(), or the process's death). Skipped, with the reason, when this kernel or
// this process cannot use fanotify permission events.
#include "kestrel/actions/blocking/fanotify_guard.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "kestrel/actions/blocking/test_children.h"
#include "kestrel/eql/sema.h"

namespace kestrel::actions::blocking {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kLoader = "/lib64/ld-linux-x86-64.so.2";

using testing::OpenInChild;
using testing::RunChild;
using testing::Wait;

class FanotifyGuardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::PrivateMountNamespace(); }
  void SetUp() override {
    if (absl::Status probe = ProbeFanotifyPermissionEvents(); !probe.ok()) {
      GTEST_SKIP() << "fanotify permission events unavailable: " << probe.message();
    }
    std::string failed = fs_.Mount();
    ASSERT_EQ(failed, "");
    dir_ = fs_.dir();
  }
  void TearDown() override {
    guard_.reset();  // Stop(): the mark goes with the fanotify fd
  }

  std::unique_ptr<GuardEvaluator> Evaluator(const std::vector<std::string>& queries) {
    std::vector<GuardRule> rules;
    for (size_t i = 0; i < queries.size(); ++i) {
      eql::CompileResult r = eql::Compile(queries[i], schema_);
      EXPECT_TRUE(r.ok()) << queries[i];
      programs_.push_back(std::move(r.program));
      rules.push_back(GuardRule{programs_.back().get(), i});
    }
    engine::EngineLimits limits;
    limits.streaming = true;
    auto made = GuardEvaluator::Create(schema_, rules, limits);
    EXPECT_TRUE(made.ok()) << made.status();
    return std::move(*made);
  }

  FanotifyGuardOptions Options(EnforceMode mode) {
    FanotifyGuardOptions o;
    o.mode = mode;
    o.mark_path = dir_;
    o.allow = AllowList::ForThisProcess({});
    // Deny verdicts must not depend on the scheduler of a loaded CI machine (or a sanitizer
    // build); the fail-open tests set their own budget.
    o.budget_ns = 2'000'000'000;
    return o;
  }

  void Start(FanotifyGuardOptions options, const std::vector<std::string>& queries,
             int judges = 1) {
    std::vector<std::unique_ptr<GuardEvaluator>> evaluators;
    for (int j = 0; j < judges; ++j) evaluators.push_back(Evaluator(queries));
    auto started =
        FanotifyGuard::Start(std::move(options), std::move(evaluators), [this](Verdict& v) {
          std::lock_guard<std::mutex> lock(mu_);
          verdicts_.push_back(std::move(v));
        });
    ASSERT_TRUE(started.ok()) << started.status();
    guard_ = std::move(*started);
  }

  std::vector<Verdict> Verdicts() {
    guard_->Stop();  // the reporter has handed over everything
    std::lock_guard<std::mutex> lock(mu_);
    return verdicts_;
  }

  std::string ExecRule() const {
    return "process where process.executable == \"" + dir_ + "/marker\"";
  }

  std::string dir_;
  testing::MarkedTmpfs fs_;
  // What fault-injection hooks record: members, so that a hook still running on a judge thread
  // when the test body ends (until TearDown stops the guard) never writes to a dead frame.
  std::atomic<int> entered_{0};
  std::atomic<bool> hook_done_{false};
  schema::Schema schema_;
  std::vector<std::unique_ptr<eql::IrProgram>> programs_;
  std::unique_ptr<FanotifyGuard> guard_;
  std::mutex mu_;
  std::vector<Verdict> verdicts_;
};

TEST_F(FanotifyGuardTest, BlockRuleDeniesTheMarkerExecOthersRun) {
  Start(Options(EnforceMode::kOn), {ExecRule()});
  EXPECT_EQ(RunChild({dir_ + "/marker"}), 200 + EPERM);
  EXPECT_EQ(RunChild({dir_ + "/other"}), 0);
  EXPECT_EQ(RunChild({"/bin/true"}), 0);  // not on the marked filesystem
  EXPECT_EQ(guard_->counters().denied.load(), 1u);
  std::vector<Verdict> v = Verdicts();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].action, VerdictAction::kDeny);
  EXPECT_EQ(v[0].kind, AccessKind::kExec);
  EXPECT_EQ(v[0].path, dir_ + "/marker");
  ASSERT_TRUE(v[0].match.has_value());
  EXPECT_EQ(v[0].match->rule_id, 0u);
}

// Threads of this process scheduled SCHED_FIFO (field 41 of /proc/self/task/TID/stat).
int RealtimeThreads() {
  int n = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream in(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 2));
    std::string f;
    for (int i = 3; i <= 41 && fields >> f; ++i) {
      if (i == 41 && f == "1") ++n;
    }
  }
  return n;
}

TEST_F(FanotifyGuardTest, AnsweringThreadsRunRealtimeWhenAsked) {
  int before = RealtimeThreads();
  FanotifyGuardOptions o = Options(EnforceMode::kOn);
  o.rt_priority = 10;
  Start(std::move(o), {ExecRule()}, /*judges=*/2);
  EXPECT_EQ(guard_->realtime_error(), "");
  EXPECT_EQ(RealtimeThreads() - before, 3);  // two judges and the watchdog
  EXPECT_EQ(RunChild({dir_ + "/marker"}), 200 + EPERM);
}

TEST_F(FanotifyGuardTest, MountMarkDeniesToo) {
  FanotifyGuardOptions o = Options(EnforceMode::kOn);
  o.mark_type = MarkType::kMount;
  Start(std::move(o), {ExecRule()});
  EXPECT_EQ(RunChild({dir_ + "/marker"}), 200 + EPERM);
  EXPECT_EQ(RunChild({dir_ + "/other"}), 0);
}

TEST_F(FanotifyGuardTest, DryRunLetsItRunAndRecordsTheVerdict) {
  Start(Options(EnforceMode::kDryRun), {ExecRule()});
  EXPECT_EQ(RunChild({dir_ + "/marker"}), 0);
  std::vector<Verdict> v = Verdicts();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].action, VerdictAction::kWouldDeny);
  EXPECT_EQ(guard_->counters().would_deny.load(), 1u);
  EXPECT_EQ(guard_->counters().denied.load(), 0u);
}

TEST_F(FanotifyGuardTest, BlockRuleDeniesOpeningTheProtectedFile) {
  Start(Options(EnforceMode::kOn), {"file where file.name == \"secret.txt\""});
  EXPECT_EQ(OpenInChild(dir_ + "/secret.txt"), EPERM);
  EXPECT_EQ(OpenInChild(dir_ + "/public.txt"), 0);
  EXPECT_EQ(RunChild({dir_ + "/marker"}), 0);
  // Kestrel itself (allow-listed) may read it.
  EXPECT_TRUE(std::ifstream(dir_ + "/secret.txt").good());
  std::vector<Verdict> v = Verdicts();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].kind, AccessKind::kOpen);
  EXPECT_EQ(v[0].path, dir_ + "/secret.txt");
}

TEST_F(FanotifyGuardTest, AllowListedPathIsNeverBlocked) {
  FanotifyGuardOptions o = Options(EnforceMode::kOn);
  o.allow = AllowList({1}, {dir_});
  Start(std::move(o), {ExecRule()});
  EXPECT_EQ(RunChild({dir_ + "/marker"}), 0);
  EXPECT_EQ(guard_->counters().allowlisted.load(), 1u);
}

TEST_F(FanotifyGuardTest, LoaderBypassIsRefusedToo) {
  if (!fs::exists(kLoader)) GTEST_SKIP() << kLoader << " does not exist on this machine";
  Start(Options(EnforceMode::kOn), {ExecRule()});
  EXPECT_NE(RunChild({kLoader, dir_ + "/marker"}), 0);
  EXPECT_EQ(RunChild({kLoader, dir_ + "/other"}), 0);
  EXPECT_EQ(OpenInChild(dir_ + "/marker"), 0);  // reading it is not running it
  std::vector<Verdict> v = Verdicts();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].action, VerdictAction::kDeny);
  EXPECT_EQ(v[0].kind, AccessKind::kOpen);
  EXPECT_EQ(v[0].path, dir_ + "/marker");
}

TEST_F(FanotifyGuardTest, SlowGuardFailsOpenAndCounts) {
  FanotifyGuardOptions o = Options(EnforceMode::kOn);
  o.budget_ns = 5'000'000;
  o.before_evaluate = [&](const AccessRequest&) {
    std::this_thread::sleep_for(500ms);
    hook_done_ = true;
  };
  Start(std::move(o), {ExecRule()});
  EXPECT_EQ(RunChild({dir_ + "/marker"}), 0);  // allowed by the watchdog, not denied
  EXPECT_FALSE(hook_done_.load());             // ... while the evaluation was still running
  EXPECT_EQ(guard_->counters().timeouts.load(), 1u);
  std::vector<Verdict> v = Verdicts();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].action, VerdictAction::kAllowTimeout);
  EXPECT_EQ(guard_->counters().denied.load(), 0u);
}

// A judge that hangs: its access is allowed at the budget (timeout) and, while it hangs, the
// watchdog reads the accesses that come meanwhile and allows them unjudged (overload): none
// waits for the hung judge.
TEST_F(FanotifyGuardTest, HungJudgeFailsOpenForItsAccessAndTheNextOnes) {
  FanotifyGuardOptions o = Options(EnforceMode::kOn);
  o.budget_ns = 200'000'000;
  o.before_evaluate = [&](const AccessRequest&) {
    if (++entered_ == 1) {
      std::this_thread::sleep_for(3s);
      hook_done_ = true;
    }
  };
  Start(std::move(o), {ExecRule()});
  pid_t first = 0;
  RunChild({dir_ + "/marker"}, &first);
  while (entered_.load() == 0) std::this_thread::sleep_for(1ms);  // the only judge hangs
  EXPECT_EQ(RunChild({dir_ + "/marker"}), 0);                     // taken over: allowed
  EXPECT_EQ(RunChild({dir_ + "/other"}), 0);
  EXPECT_EQ(Wait(first), 0);  // allowed at its deadline
  EXPECT_FALSE(hook_done_.load());
  EXPECT_EQ(entered_.load(), 1);  // the others were never judged
  EXPECT_EQ(guard_->counters().timeouts.load(), 1u);
  EXPECT_EQ(guard_->counters().overloads.load(), 2u);
  EXPECT_EQ(guard_->counters().denied.load(), 0u);
}

// More accesses held at once than slots (two judges, one slot): the access that finds none is
// allowed at once (overload, counted); the other is judged.
TEST_F(FanotifyGuardTest, NoFreeSlotFailsOpenAndCounts) {
  FanotifyGuardOptions o = Options(EnforceMode::kOn);
  o.max_pending = 1;
  o.before_evaluate = [&](const AccessRequest&) {
    if (++entered_ == 1) std::this_thread::sleep_for(300ms);
  };
  Start(std::move(o), {ExecRule()}, /*judges=*/2);
  pid_t first = 0;
  RunChild({dir_ + "/marker"}, &first);
  while (entered_.load() == 0) std::this_thread::sleep_for(1ms);  // the only slot is taken
  EXPECT_EQ(RunChild({dir_ + "/marker"}), 0);  // the other judge has no slot: allowed at once
  EXPECT_EQ(Wait(first), 200 + EPERM);         // judged in time: denied
  EXPECT_EQ(entered_.load(), 1);
  EXPECT_EQ(guard_->counters().overloads.load(), 1u);
  EXPECT_EQ(guard_->counters().denied.load(), 1u);
}

TEST_F(FanotifyGuardTest, StopAnswersWhatIsHeld) {
  FanotifyGuardOptions o = Options(EnforceMode::kOn);
  o.budget_ns = 60'000'000'000;
  o.before_evaluate = [&](const AccessRequest&) {
    ++entered_;
    std::this_thread::sleep_for(1s);
  };
  Start(std::move(o), {ExecRule()});
  pid_t child = 0;
  RunChild({dir_ + "/marker"}, &child);
  while (entered_.load() == 0) std::this_thread::sleep_for(1ms);
  guard_->Stop();
  EXPECT_EQ(Wait(child), 0);
  EXPECT_EQ(guard_->counters().shutdown.load(), 1u);
  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(verdicts_.size(), 1u);
  EXPECT_EQ(verdicts_[0].action, VerdictAction::kAllowShutdown);
}

// Sequence-aware blocking: the final stage's exec is denied once the first stage was seen in
// the event stream for the same key (here: a file created by the same user).
TEST_F(FanotifyGuardTest, SequenceBlockDeniesTheFinalStageOnceTheFirstMatched) {
  std::string dropped = dir_ + "/dropped";
  fs::copy_file("/bin/true", dropped);
  fs::permissions(dropped, fs::perms(0755));
  Start(Options(EnforceMode::kOn),
        {"sequence by user.id with maxspan=10s [file where event.type == \"creation\" and "
         "file.path == \"" +
         dropped + "\"] [process where process.executable == \"" + dropped + "\"]"});
  EXPECT_EQ(RunChild({dropped}), 0);  // no first stage yet: it runs
  auto now = std::chrono::system_clock::now().time_since_epoch();
  event::Event created =
      event::EventBuilder(schema_)
          .Time(std::chrono::duration_cast<std::chrono::nanoseconds>(now).count())
          .Category("file")
          .Str("event.type", "creation")
          .Str("file.path", dropped)
          .Str("user.id", std::to_string(::geteuid()))
          .Build();
  guard_->Feed(created);
  EXPECT_EQ(RunChild({dropped}), 200 + EPERM);  // stage 1 seen: the final exec is denied
  EXPECT_EQ(RunChild({dir_ + "/other"}), 0);
  std::vector<Verdict> v = Verdicts();
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].action, VerdictAction::kDeny);
  ASSERT_TRUE(v[0].match.has_value());
  EXPECT_EQ(v[0].match->events.size(), 2u);  // both stages are the evidence
  EXPECT_EQ(guard_->counters().fed.load(), 1u);
}

// The kernel's behaviour: when the listener dies (SIGKILL, no chance to answer), its fanotify
// fd is closed and every held access is allowed.
TEST_F(FanotifyGuardTest, KilledGuardLetsTheHeldExecProceed) {
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t guardian = ::fork();
  if (guardian == 0) {
    ::close(ready[0]);
    FanotifyGuardOptions o = Options(EnforceMode::kOn);
    o.budget_ns = 600'000'000'000;
    o.before_evaluate = [&](const AccessRequest&) {
      char c = 'h';
      (void)!::write(ready[1], &c, 1);
      while (true) ::pause();  // hangs: only the kernel can answer now
    };
    std::vector<std::unique_ptr<GuardEvaluator>> evaluators;
    evaluators.push_back(Evaluator({ExecRule()}));
    auto started = FanotifyGuard::Start(std::move(o), std::move(evaluators), nullptr);
    char c = started.ok() ? 'r' : 'f';
    (void)!::write(ready[1], &c, 1);
    while (true) ::pause();
  }
  ::close(ready[1]);
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ASSERT_EQ(c, 'r');
  pid_t child = 0;
  RunChild({dir_ + "/marker"}, &child);
  ASSERT_EQ(::read(ready[0], &c, 1), 1);  // the guard holds the exec
  EXPECT_EQ(c, 'h');
  std::this_thread::sleep_for(50ms);
  int status = 0;
  EXPECT_EQ(::waitpid(child, &status, WNOHANG), 0);  // still held
  ::kill(guardian, SIGKILL);
  EXPECT_EQ(Wait(guardian), 300 + SIGKILL);
  EXPECT_EQ(Wait(child), 0);  // the exec proceeded
  ::close(ready[0]);
}

}  // namespace
}  // namespace kestrel::actions::blocking
