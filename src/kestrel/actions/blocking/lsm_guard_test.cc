// The BPF-LSM guard (lsm_guard.h) and its kernel side (sources/ebpf/lsm_program.h):
//   LsmGuardFakeTest: map filling (stat -> the kernel's (dev, ino)), Rearm, allow-list, mode and
//     decision reports through a fake kernel side: runs everywhere. Two of its tests (root) use
//     the raw tracepoint build of the same BPF object instead (loads where LSM programs are
//     refused, never attached): TheKernelsJudgementThroughTheGuard runs the programs' judgement
//     (maps, allow-list, mode, decision records, ring buffer) with BPF_PROG_TEST_RUN and checks
//     the guard's verdicts.
//   LsmProbeTest, LsmProgramTest (root): the probe's reason, the verifier over the code, the
//     kernel's maps (layout, capacity, errors).
//   LsmGuardKernelTest: the attached programs on a tmpfs of its own, in a private mount
//     namespace (never `/`): deny exec and open, the loader bypass, dry run, allow-listed pid,
//     Rearm. Skipped with the probe's reason where the kernel refuses BPF-LSM programs (this kind
//     of machine: EPERM at load).
#include "kestrel/actions/blocking/lsm_guard.h"

#include "kestrel/actions/blocking/fake_lsm_maps.h"
#include "kestrel/actions/blocking/test_children.h"
#include "kestrel/sources/ebpf/file_key.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace kestrel::actions::blocking {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using sources::LsmTable;

using testing::FakeMaps;
using testing::FakeState;

// The key the guard puts in the maps for `path` (file_key.h).
std::pair<uint32_t, uint64_t> KernelKey(const std::string& path) {
  auto key = sources::KernelFileKeys().Of(path);
  EXPECT_TRUE(key.ok()) << path << ": " << key.status();
  return key.ok() ? std::make_pair(key->dev, key->ino) : std::make_pair(0u, uint64_t{0});
}

// The kernel's own key of a file: /proc/locks prints inode->i_sb->s_dev and i_ino of a locked
// file, exactly what the programs read. nullopt when it cannot be read.
std::optional<std::pair<uint32_t, uint64_t>> KernelKeyFromLocks(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::flock(fd, LOCK_SH) != 0) {
    if (fd >= 0) ::close(fd);
    return std::nullopt;
  }
  std::optional<std::pair<uint32_t, uint64_t>> out;
  std::ifstream locks("/proc/locks");
  std::string line;
  while (std::getline(locks, line)) {
    // "1: FLOCK  ADVISORY  READ 1234 00:2a:5678 0 EOF"
    char kind[16], mode[16], access[16];
    int id = 0, pid = 0;
    unsigned major = 0, minor = 0;
    unsigned long long ino = 0;
    if (std::sscanf(line.c_str(), "%d: %15s %15s %15s %d %x:%x:%llu", &id, kind, mode, access, &pid,
                    &major, &minor, &ino) == 8 &&
        pid == ::getpid() && std::string_view(kind) == "FLOCK") {
      out = std::make_pair((major << 20) | minor, static_cast<uint64_t>(ino));
    }
  }
  ::close(fd);  // releases the lock
  return out;
}

std::string Str(const event::Event& e, schema::FieldId field) {
  const event::Value* v = e.Find(field);
  return v != nullptr && v->kind() == event::ValueKind::kString ? std::string(v->as_string()) : "";
}

class LsmGuardFakeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kestrel-lsm-fake.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    for (const char* name : {"prog", "other", "secret.txt"}) {
      std::ofstream out(dir_ + "/" + name);
      out << name;
    }
  }
  void TearDown() override {
    guard_.reset();
    fs::remove_all(dir_);
  }
  std::string P(const char* name) const { return dir_ + "/" + name; }

  void Start(EnforceMode mode, std::vector<RulePath> exec, std::vector<RulePath> open,
             std::vector<int32_t> allow = {}, int poll_ms = 1) {
    auto started = LsmGuard::StartWith(
        std::make_unique<FakeMaps>(&state_), schema_, mode, std::move(exec), std::move(open),
        std::move(allow),
        [this](Verdict& v) {
          std::lock_guard<std::mutex> lock(mu_);
          verdicts_.push_back(std::move(v));
        },
        poll_ms);
    ASSERT_TRUE(started.ok()) << started.status();
    guard_ = std::move(*started);
  }
  void Decide(uint8_t hook, const std::string& path, uint32_t rule, bool denied) {
    auto [dev, ino] = KernelKey(path);
    kestrel_lsm_decision d{};
    d.boot_ns = 1'000;
    d.ino = ino;
    d.dev = dev;
    d.pid = d.tgid = static_cast<uint32_t>(::getpid());
    d.rule = rule;
    d.hook = hook;
    d.denied = denied ? 1 : 0;
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.pending.push_back(d);
  }
  std::vector<Verdict> WaitVerdicts(size_t n) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (verdicts_.size() >= n) return std::move(verdicts_);
      }
      std::this_thread::sleep_for(1ms);
    }
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(verdicts_);
  }

  schema::Schema schema_;
  std::string dir_;
  FakeState state_;
  std::unique_ptr<LsmGuard> guard_;
  std::mutex mu_;
  std::vector<Verdict> verdicts_;
};

TEST_F(LsmGuardFakeTest, StartFillsTheMapsWithTheKernelsDeviceAndInode) {
  Start(EnforceMode::kOn, {{P("prog"), 0}, {P("missing"), 1}}, {{P("secret.txt"), 2}}, {4242});
  std::lock_guard<std::mutex> lock(state_.mu);
  EXPECT_EQ(state_.maps[0],
            (std::map<std::pair<uint32_t, uint64_t>, uint32_t>{{KernelKey(P("prog")), 0}}));
  EXPECT_EQ(state_.maps[1],
            (std::map<std::pair<uint32_t, uint64_t>, uint32_t>{{KernelKey(P("secret.txt")), 2}}));
  EXPECT_TRUE(state_.enforce);
  EXPECT_TRUE(state_.attached);
  std::vector<uint32_t> allowed = state_.allowed;
  std::sort(allowed.begin(), allowed.end());
  std::vector<uint32_t> want = {1, 4242, static_cast<uint32_t>(::getpid())};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(allowed, want);
  ASSERT_EQ(guard_->unarmed().size(), 1u);
  EXPECT_EQ(guard_->unarmed()[0].file, (RulePath{P("missing"), 1}));
  EXPECT_EQ(guard_->unarmed()[0].reason, "No such file or directory");
  EXPECT_EQ(guard_->UnarmedRules(), std::vector<size_t>{1});
  EXPECT_EQ(guard_->counters().armed_exec.load(), 1u);
  EXPECT_EQ(guard_->counters().armed_open.load(), 1u);
}

TEST_F(LsmGuardFakeTest, KeysAreTheKernelsDeviceAndInode) {
  // The kernel's dev_t encoding (MAJOR << 20 | MINOR) is not glibc's st_dev (which splits the
  // minor around the major): the map holds the kernel's, as /proc/locks shows it.
  dev_t user = ::makedev(8, 300);
  EXPECT_NE(static_cast<uint32_t>(user), (8u << 20) | 300u);
  Start(EnforceMode::kDryRun, {{P("prog"), 0}}, {});
  auto kernel = KernelKeyFromLocks(P("prog"));
  ASSERT_TRUE(kernel.has_value());
  std::lock_guard<std::mutex> lock(state_.mu);
  ASSERT_EQ(state_.maps[0].size(), 1u);
  EXPECT_EQ(state_.maps[0].begin()->first, *kernel);
  EXPECT_FALSE(state_.enforce);  // dry run
}

TEST_F(LsmGuardFakeTest, AFileNamedTwiceKeepsItsFirstRule) {
  Start(EnforceMode::kOn, {{P("prog"), 3}, {P("prog"), 5}}, {});
  std::lock_guard<std::mutex> lock(state_.mu);
  ASSERT_EQ(state_.maps[0].size(), 1u);
  EXPECT_EQ(state_.maps[0].begin()->second, 3u);
}

TEST_F(LsmGuardFakeTest, OffIsNotAMode) {
  auto started = LsmGuard::StartWith(std::make_unique<FakeMaps>(&state_), schema_,
                                     EnforceMode::kOff, {}, {}, {}, [](Verdict&) {});
  EXPECT_FALSE(started.ok());
  EXPECT_FALSE(state_.attached);
}

TEST_F(LsmGuardFakeTest, DecisionsBecomeVerdictsWithTheRuleAndAnEvidenceEvent) {
  Start(EnforceMode::kOn, {{P("prog"), 7}}, {{P("secret.txt"), 9}});
  Decide(KESTREL_LSM_EXEC, P("prog"), 7, true);
  Decide(KESTREL_LSM_OPEN, P("secret.txt"), 9, true);
  Decide(KESTREL_LSM_MMAP, P("prog"), 7, true);
  std::vector<Verdict> v = WaitVerdicts(3);
  ASSERT_EQ(v.size(), 3u);

  EXPECT_EQ(v[0].action, VerdictAction::kDeny);
  EXPECT_EQ(v[0].kind, AccessKind::kExec);
  EXPECT_EQ(v[0].path, P("prog"));
  EXPECT_EQ(v[0].pid, ::getpid());
  EXPECT_GT(v[0].time_ns, int64_t{1'000'000'000} * 1'600'000'000);  // a wall-clock time
  ASSERT_TRUE(v[0].match.has_value());
  EXPECT_EQ(v[0].match->rule_id, 7u);
  ASSERT_EQ(v[0].match->events.size(), 1u);
  const event::Event& exec = *v[0].match->events[0];
  EXPECT_EQ(Str(exec, schema::ecs::Field("event.action")), "exec");
  EXPECT_EQ(Str(exec, schema::ecs::Field("process.executable")), P("prog"));

  EXPECT_EQ(v[1].kind, AccessKind::kOpen);
  EXPECT_EQ(v[1].path, P("secret.txt"));
  ASSERT_TRUE(v[1].match.has_value());
  EXPECT_EQ(v[1].match->rule_id, 9u);
  const event::Event& open = *v[1].match->events[0];
  EXPECT_EQ(Str(open, schema::ecs::Field("event.action")), "open");
  EXPECT_EQ(Str(open, schema::ecs::Field("file.path")), P("secret.txt"));
  EXPECT_EQ(Str(open, schema::ecs::Field("process.executable")),
            fs::read_symlink("/proc/self/exe").string());

  // The loader bypass (an executable mapping) is reported as the exec it stands for.
  EXPECT_EQ(v[2].kind, AccessKind::kExec);
  EXPECT_EQ(v[2].path, P("prog"));
  EXPECT_EQ(guard_->counters().denied.load(), 3u);
}

TEST_F(LsmGuardFakeTest, DryRunDecisionsAreWouldDeny) {
  Start(EnforceMode::kDryRun, {{P("prog"), 0}}, {});
  Decide(KESTREL_LSM_EXEC, P("prog"), 0, false);
  std::vector<Verdict> v = WaitVerdicts(1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].action, VerdictAction::kWouldDeny);
  EXPECT_EQ(guard_->counters().would_deny.load(), 1u);
  EXPECT_EQ(guard_->counters().denied.load(), 0u);
}

TEST_F(LsmGuardFakeTest, RearmAddsNewFilesBeforeRemovingStaleOnes) {
  Start(EnforceMode::kOn, {{P("prog"), 0}}, {{P("secret.txt"), 1}});
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.log.clear();
  }
  ASSERT_TRUE(guard_->Rearm({{P("other"), 2}, {P("prog"), 4}}, {}).ok());
  std::lock_guard<std::mutex> lock(state_.mu);
  EXPECT_EQ(state_.log, (std::vector<std::string>{"put exec 4", "put exec 2", "remove open 1"}))
      << "prog stays denied (its rule renumbered), other is added, secret.txt removed";
  EXPECT_EQ(state_.maps[0].size(), 2u);
  EXPECT_EQ(state_.maps[0].at(KernelKey(P("prog"))), 4u);
  EXPECT_TRUE(state_.maps[1].empty());
  EXPECT_EQ(guard_->counters().armed_exec.load(), 2u);
  EXPECT_EQ(guard_->counters().armed_open.load(), 0u);
}

TEST_F(LsmGuardFakeTest, ADecisionRecordedBeforeRearmKeepsItsPath) {
  Start(EnforceMode::kOn, {}, {{P("secret.txt"), 1}}, {}, /*poll_ms=*/60'000);
  ASSERT_TRUE(guard_->Rearm({}, {}).ok());
  Decide(KESTREL_LSM_OPEN, P("secret.txt"), 1, true);  // recorded just before the removal
  guard_->Stop();                                      // the last drain reports it
  std::vector<Verdict> v = WaitVerdicts(1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].path, P("secret.txt"));
}

TEST_F(LsmGuardFakeTest, AFullMapLeavesThePathUnarmed) {
  state_.capacity = 1;
  Start(EnforceMode::kOn, {{P("prog"), 0}, {P("other"), 1}}, {});
  ASSERT_EQ(guard_->unarmed().size(), 1u);
  EXPECT_EQ(guard_->unarmed()[0].reason, "the BPF LSM deny map is full");
  EXPECT_EQ(guard_->counters().armed_exec.load(), 1u);
  std::lock_guard<std::mutex> lock(state_.mu);
  EXPECT_EQ(state_.maps[0].size(), 1u);
}

TEST_F(LsmGuardFakeTest, StopDetachesThenReportsWhatIsQueued) {
  Start(EnforceMode::kOn, {{P("prog"), 0}}, {}, {}, /*poll_ms=*/60'000);
  std::this_thread::sleep_for(20ms);  // the first drain has run
  Decide(KESTREL_LSM_EXEC, P("prog"), 0, true);
  {
    std::lock_guard<std::mutex> lock(state_.mu);
    state_.lost = 3;
  }
  guard_->Stop();
  EXPECT_TRUE(state_.detached);
  EXPECT_EQ(WaitVerdicts(1).size(), 1u);
  EXPECT_EQ(guard_->counters().lost.load(), 3u);
  guard_->Stop();  // idempotent
}

// ---- the kernel ----

TEST(LsmProbeTest, ProbeReportsWhy) {
  absl::Status probe = ProbeBpfLsm();
  std::string lsm = ActiveLsmList();
  std::cout << "active LSMs: '" << lsm << "'; BPF LSM probe: "
            << (probe.ok() ? "programs load and attach" : std::string(probe.message())) << "\n";
  if (probe.ok()) return;
  EXPECT_EQ(probe.code(), absl::StatusCode::kFailedPrecondition);
  std::string why(probe.message());
  bool listed = lsm == "bpf" || lsm.starts_with("bpf,") || lsm.ends_with(",bpf") ||
                lsm.find(",bpf,") != std::string::npos;
  if (!lsm.empty() && !listed) {
    EXPECT_TRUE(why.starts_with("bpf not in the active LSM list '" + lsm + "'")) << why;
  } else {
    EXPECT_TRUE(why.starts_with("BPF LSM program refused at")) << why;
    if (::geteuid() == 0 && listed) {
      EXPECT_NE(why.find("bpf is in the active LSM list '" + lsm + "'"), std::string::npos) << why;
    }
  }
}

TEST(LsmProbeTest, TheProgramsPassTheVerifier) {
  // Where LSM programs are refused before verification, the same code is verified as raw
  // tracepoint programs (never attached): a verifier error in kestrel_lsm.bpf.c fails here.
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
  absl::Status verified = sources::VerifyLsmCode();
  EXPECT_TRUE(verified.ok()) << verified.message();
}

// The kernel's maps, through the raw tracepoint build of the same object (same maps; loads where
// LSM programs are refused, never attached).
TEST(LsmProgramTest, TheKernelMapsTakeTheRecordsLayout) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
  auto loaded = sources::LsmProgram::LoadAsRawTracepoints();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  sources::LsmProgram& program = **loaded;
  kestrel_lsm_key key{12345, (8u << 20) | 1u, 0};
  EXPECT_EQ(program.Lookup(LsmTable::kExec, key), std::nullopt);
  ASSERT_TRUE(program.Put(LsmTable::kExec, key, 7).ok());
  EXPECT_EQ(program.Lookup(LsmTable::kExec, key), 7u);
  EXPECT_EQ(program.Lookup(LsmTable::kOpen, key), std::nullopt);  // the other map
  ASSERT_TRUE(program.Put(LsmTable::kExec, key, 9).ok());         // replaces
  EXPECT_EQ(program.Lookup(LsmTable::kExec, key), 9u);
  ASSERT_TRUE(program.Remove(LsmTable::kExec, key).ok());
  EXPECT_EQ(program.Lookup(LsmTable::kExec, key), std::nullopt);
  EXPECT_TRUE(program.Remove(LsmTable::kExec, key).ok());  // absent: not an error

  for (uint32_t i = 0; i < KESTREL_LSM_MAX_INODES; ++i) {
    ASSERT_TRUE(program.Put(LsmTable::kOpen, kestrel_lsm_key{i + 1, 1, 0}, i).ok()) << i;
  }
  absl::Status full = program.Put(LsmTable::kOpen, kestrel_lsm_key{999'999, 1, 0}, 0);
  EXPECT_TRUE(absl::IsResourceExhausted(full)) << full;
  EXPECT_EQ(program.Lookup(LsmTable::kOpen, kestrel_lsm_key{KESTREL_LSM_MAX_INODES, 1, 0}),
            KESTREL_LSM_MAX_INODES - 1);

  for (uint32_t pid = 1; pid <= KESTREL_LSM_MAX_PIDS; ++pid) {
    ASSERT_TRUE(program.AllowTgid(pid).ok()) << pid;
  }
  EXPECT_TRUE(absl::IsResourceExhausted(program.AllowTgid(KESTREL_LSM_MAX_PIDS + 1)));
  EXPECT_TRUE(program.SetEnforce(true).ok());
  EXPECT_TRUE(program.SetEnforce(false).ok());
  EXPECT_EQ(program.Drain([](const kestrel_lsm_decision&) { FAIL() << "no decision yet"; }), 0u);
  EXPECT_EQ(program.Lost(), 0u);
  absl::Status attach = program.Attach();
  EXPECT_EQ(attach.code(), absl::StatusCode::kFailedPrecondition) << attach;
}

TEST_F(LsmGuardFakeTest, TheGuardOverTheKernelMapsReportsAnAttachFailure) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
  auto loaded = sources::LsmProgram::LoadAsRawTracepoints();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  auto started = LsmGuard::StartWith(std::move(*loaded), schema_, EnforceMode::kOn,
                                     {{P("prog"), 0}}, {}, {}, [](Verdict&) {});
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.status().message().find("never attached"), std::string_view::npos)
      << started.status();
}

// The kernel side of the guard where LSM programs cannot be attached: the raw tracepoint build's
// real maps, judgement code and ring buffer (LsmProgram::JudgeForTest runs the judgement in this
// process); attaching is a no-op, and this process is not allow-listed, so its judgements are
// judged.
class UnattachedKernel final : public sources::LsmMaps {
 public:
  explicit UnattachedKernel(sources::LsmProgram* program) : p_(program) {}
  absl::Status Put(LsmTable table, const kestrel_lsm_key& key, uint32_t rule) override {
    return p_->Put(table, key, rule);
  }
  absl::Status Remove(LsmTable table, const kestrel_lsm_key& key) override {
    return p_->Remove(table, key);
  }
  absl::Status AllowTgid(uint32_t tgid) override {
    if (tgid == static_cast<uint32_t>(::getpid())) return absl::OkStatus();
    return p_->AllowTgid(tgid);
  }
  absl::Status SetEnforce(bool enforce) override { return p_->SetEnforce(enforce); }
  absl::Status Attach() override { return absl::OkStatus(); }
  void Detach() override {}
  size_t Drain(const std::function<void(const kestrel_lsm_decision&)>& fn) override {
    return p_->Drain(fn);
  }
  uint64_t Lost() override { return p_->Lost(); }

 private:
  sources::LsmProgram* p_;
};

TEST_F(LsmGuardFakeTest, TheKernelsJudgementThroughTheGuard) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to load BPF programs";
  auto loaded = sources::LsmProgram::LoadAsRawTracepoints();
  ASSERT_TRUE(loaded.ok()) << loaded.status().message();
  std::unique_ptr<sources::LsmProgram> program = std::move(*loaded);
  auto started = LsmGuard::StartWith(
      std::make_unique<UnattachedKernel>(program.get()), schema_, EnforceMode::kOn,
      {{P("prog"), 3}}, {{P("secret.txt"), 4}}, {},
      [this](Verdict& v) {
        std::lock_guard<std::mutex> lock(mu_);
        verdicts_.push_back(std::move(v));
      },
      1);
  ASSERT_TRUE(started.ok()) << started.status();
  guard_ = std::move(*started);
  auto key = [](const std::string& path) {
    auto [dev, ino] = KernelKey(path);
    return kestrel_lsm_key{ino, dev, 0};
  };
  auto judge = [&](uint8_t hook, const std::string& path) {
    absl::StatusOr<int> r = program->JudgeForTest(hook, key(path));
    EXPECT_TRUE(r.ok()) << r.status();
    return r.value_or(-999);
  };
  EXPECT_EQ(judge(KESTREL_LSM_EXEC, P("prog")), -EPERM);
  EXPECT_EQ(judge(KESTREL_LSM_EXEC, P("other")), 0);
  EXPECT_EQ(judge(KESTREL_LSM_OPEN, P("secret.txt")), -EPERM);
  EXPECT_EQ(judge(KESTREL_LSM_OPEN, P("prog")), 0);  // denied for exec, not for open
  EXPECT_EQ(judge(KESTREL_LSM_MMAP, P("prog")), -EPERM);
  std::vector<Verdict> v = WaitVerdicts(3);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].action, VerdictAction::kDeny);
  EXPECT_EQ(v[0].kind, AccessKind::kExec);
  EXPECT_EQ(v[0].path, P("prog"));
  EXPECT_EQ(v[0].pid, ::getpid());
  ASSERT_TRUE(v[0].match.has_value());
  EXPECT_EQ(v[0].match->rule_id, 3u);
  EXPECT_EQ(v[1].kind, AccessKind::kOpen);
  EXPECT_EQ(v[1].path, P("secret.txt"));
  EXPECT_EQ(v[1].match->rule_id, 4u);
  EXPECT_EQ(v[2].kind, AccessKind::kExec);  // the executable mapping
  EXPECT_LE(std::abs(v[0].time_ns - std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count()),
            int64_t{60'000'000'000})
      << "the kernel's boot time converted to wall-clock time";

  // Rearm: prog is no longer denied.
  ASSERT_TRUE(guard_->Rearm({}, {{P("secret.txt"), 4}}).ok());
  EXPECT_EQ(judge(KESTREL_LSM_EXEC, P("prog")), 0);
  // Dry run: allowed, recorded.
  ASSERT_TRUE(program->SetEnforce(false).ok());
  EXPECT_EQ(judge(KESTREL_LSM_OPEN, P("secret.txt")), 0);
  // Allow-listed: allowed, not recorded.
  ASSERT_TRUE(program->AllowTgid(static_cast<uint32_t>(::getpid())).ok());
  ASSERT_TRUE(program->SetEnforce(true).ok());
  EXPECT_EQ(judge(KESTREL_LSM_OPEN, P("secret.txt")), 0);
  guard_->Stop();
  v = WaitVerdicts(1);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].action, VerdictAction::kWouldDeny);
  EXPECT_EQ(v[0].path, P("secret.txt"));
  EXPECT_EQ(guard_->counters().denied.load(), 3u);
  EXPECT_EQ(guard_->counters().would_deny.load(), 1u);
  EXPECT_EQ(guard_->counters().lost.load(), 0u);
  guard_.reset();
}

// The key the guard computes for a file matches the kernel's, on the filesystems where stat's
// device is not the superblock's too (an overlay of two filesystems).
class LsmKeyTest : public LsmGuardFakeTest {
 protected:
  static void SetUpTestSuite() {
    if (::unshare(CLONE_NEWNS) == 0) ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
  }
  void TearDown() override {
    guard_.reset();
    for (auto it = mounts_.rbegin(); it != mounts_.rend(); ++it) ::umount2(it->c_str(), MNT_DETACH);
    LsmGuardFakeTest::TearDown();
  }
  void Mount(const char* type, const std::string& dir, const std::string& options) {
    fs::create_directories(dir);
    ASSERT_EQ(::mount(type, dir.c_str(), type, 0, options.c_str()), 0)
        << "mount " << type << " on " << dir << ": " << std::strerror(errno);
    mounts_.push_back(dir);
  }
  std::vector<std::string> mounts_;
};

TEST_F(LsmKeyTest, TheGuardsKeysAreTheKernels) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount";
  Mount("tmpfs", P("lower"), "size=4m");
  Mount("tmpfs", P("upperfs"), "size=4m");
  fs::create_directories(P("upperfs") + "/upper");
  fs::create_directories(P("upperfs") + "/work");
  {
    std::ofstream(P("lower") + "/from-lower") << "x";
    std::ofstream(P("upperfs") + "/upper/from-upper") << "x";
  }
  // Layers on two filesystems: stat reports a layer's or a pseudo device for their files.
  Mount("overlay", P("merged"),
        "lowerdir=" + P("lower") + ",upperdir=" + P("upperfs") + "/upper,workdir=" + P("upperfs") +
            "/work");
  std::vector<std::string> files = {P("prog"), P("lower") + "/from-lower",
                                    P("merged") + "/from-lower", P("merged") + "/from-upper"};
  std::vector<RulePath> exec;
  for (size_t i = 0; i < files.size(); ++i) exec.push_back(RulePath{files[i], i});
  Start(EnforceMode::kOn, exec, {});
  ASSERT_TRUE(guard_->unarmed().empty());
  std::lock_guard<std::mutex> lock(state_.mu);
  sources::KernelFileKeys keys;
  for (size_t i = 0; i < files.size(); ++i) {
    auto kernel = KernelKeyFromLocks(files[i]);
    ASSERT_TRUE(kernel.has_value()) << files[i];
    auto key = keys.Of(files[i]);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(std::make_pair(key->dev, key->ino), *kernel) << files[i];
    auto it = state_.maps[0].find(*kernel);
    EXPECT_TRUE(it != state_.maps[0].end() && it->second == i)
        << files[i] << ": the kernel's key (" << (kernel->first >> 20) << ":"
        << (kernel->first & 0xfffff) << ", " << kernel->second << ") is not in the map";
  }
}

using testing::CloseInherited;
using testing::OpenInChild;
using testing::Wait;

int ExecInChild(const std::string& path) { return testing::RunChild({path}); }

class LsmGuardKernelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { testing::PrivateMountNamespace(); }
  void SetUp() override {
    if (absl::Status probe = ProbeBpfLsm(); !probe.ok()) {
      GTEST_SKIP() << "BPF LSM unavailable: " << probe.message();
    }
    std::string failed = fs_.Mount();
    ASSERT_EQ(failed, "");
    dir_ = fs_.dir();
  }
  void TearDown() override {
    guard_.reset();  // detaches
  }
  std::string P(const char* name) const { return dir_ + "/" + name; }

  void Start(EnforceMode mode, std::vector<RulePath> exec, std::vector<RulePath> open,
             std::vector<int32_t> allow = {}) {
    auto started = LsmGuard::Start(schema_, mode, std::move(exec), std::move(open),
                                   std::move(allow), [this](Verdict& v) {
                                     std::lock_guard<std::mutex> lock(mu_);
                                     verdicts_.push_back(std::move(v));
                                   });
    ASSERT_TRUE(started.ok()) << started.status();
    guard_ = std::move(*started);
    ASSERT_TRUE(guard_->unarmed().empty());
  }
  std::vector<Verdict> Verdicts() {
    guard_->Stop();  // reports everything recorded
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(verdicts_);
  }

  schema::Schema schema_;
  std::string dir_;
  testing::MarkedTmpfs fs_;
  std::unique_ptr<LsmGuard> guard_;
  std::mutex mu_;
  std::vector<Verdict> verdicts_;
};

TEST_F(LsmGuardKernelTest, DeniesExecAndOpenOfTheMarkedFilesOnly) {
  Start(EnforceMode::kOn, {{P("marker"), 0}}, {{P("secret.txt"), 1}});
  EXPECT_EQ(ExecInChild(P("marker")), 200 + EPERM);
  EXPECT_EQ(ExecInChild(P("other")), 0);
  EXPECT_EQ(OpenInChild(P("secret.txt")), EPERM);
  EXPECT_EQ(OpenInChild(P("public.txt")), 0);
  // The loader bypass: the dynamic loader maps the program instead of exec'ing it.
  pid_t pid = ::fork();
  if (pid == 0) {
    CloseInherited();
    std::string marker = P("marker");
    char* argv[] = {const_cast<char*>("/lib64/ld-linux-x86-64.so.2"), marker.data(), nullptr};
    ::execv(argv[0], argv);
    ::_exit(100);
  }
  EXPECT_NE(Wait(pid), 0) << "the loader ran the blocked program";
  std::vector<Verdict> v = Verdicts();
  ASSERT_GE(v.size(), 3u);
  EXPECT_EQ(v[0].action, VerdictAction::kDeny);
  EXPECT_EQ(v[0].kind, AccessKind::kExec);
  EXPECT_EQ(v[0].path, P("marker"));
  ASSERT_TRUE(v[0].match.has_value());
  EXPECT_EQ(v[0].match->rule_id, 0u);
  EXPECT_EQ(v[1].kind, AccessKind::kOpen);
  EXPECT_EQ(v[1].path, P("secret.txt"));
  EXPECT_EQ(v[1].match->rule_id, 1u);
}

TEST_F(LsmGuardKernelTest, DryRunAllowsAndReports) {
  Start(EnforceMode::kDryRun, {{P("marker"), 0}}, {{P("secret.txt"), 1}});
  EXPECT_EQ(ExecInChild(P("marker")), 0);
  EXPECT_EQ(OpenInChild(P("secret.txt")), 0);
  std::vector<Verdict> v = Verdicts();
  ASSERT_GE(v.size(), 2u);
  for (const Verdict& verdict : v) EXPECT_EQ(verdict.action, VerdictAction::kWouldDeny);
  EXPECT_EQ(guard_->counters().denied.load(), 0u);
}

TEST_F(LsmGuardKernelTest, AnAllowListedProcessPasses) {
  int go[2];
  ASSERT_EQ(::pipe(go), 0);
  std::string marker = P("marker");
  pid_t pid = ::fork();
  if (pid == 0) {
    char c;
    (void)::read(go[0], &c, 1);
    CloseInherited();
    char* argv[] = {marker.data(), nullptr};
    ::execv(argv[0], argv);
    ::_exit(200 + errno);
  }
  ::close(go[0]);
  Start(EnforceMode::kOn, {{marker, 0}}, {}, {pid});
  ASSERT_EQ(::write(go[1], "x", 1), 1);
  ::close(go[1]);
  EXPECT_EQ(Wait(pid), 0);
  EXPECT_EQ(ExecInChild(marker), 200 + EPERM);  // another process is still denied
}

TEST_F(LsmGuardKernelTest, RearmRemovesADenial) {
  Start(EnforceMode::kOn, {{P("marker"), 0}}, {{P("secret.txt"), 1}});
  EXPECT_EQ(ExecInChild(P("marker")), 200 + EPERM);
  ASSERT_TRUE(guard_->Rearm({{P("other"), 2}}, {}).ok());
  EXPECT_EQ(ExecInChild(P("marker")), 0);
  EXPECT_EQ(OpenInChild(P("secret.txt")), 0);
  EXPECT_EQ(ExecInChild(P("other")), 200 + EPERM);
}

}  // namespace
}  // namespace kestrel::actions::blocking
