// The auditd-compatible syscall events through the running kernel (needs root and BPF; skips with
// the reason otherwise): the kestrel_auditd_emulate helper, copied to a private directory under
// /tmp, renames itself with prctl, sends a real-time signal to a child that ignores it, makes a
// page RWX, opens files through the `open` syscall with mode 0666 and tries to load a file that is
// no module. Each call must arrive as its auditd_manager shape, and each look-alike the kernel
// filter drops (prctl PR_GET_NAME, SIGTERM, mprotect R+X, mode 0644) must not arrive. With
// auditd_compat off, none arrives. The rules that use these events are run on them by
// cli/auditd_emulations_test.sh.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "kestrel/sources/ebpf/ebpf_source.h"

namespace kestrel::sources {
namespace {

using event::Event;
using event::Value;

class AuditdLiveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::vector<std::string> missing = EbpfMissingRequirements();
    if (!missing.empty()) {
      std::string why;
      for (const auto& m : missing) why += m + "; ";
      std::printf("SKIPPED: the kernel or process lacks: %s\n", why.c_str());
      GTEST_SKIP() << "missing: " << why;
    }
    char dir[] = "/tmp/kestrel-auditd.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    helper_ = dir_ + "/emulate";
    std::filesystem::copy_file(KESTREL_AUDITD_EMULATE, helper_);
    chmod(helper_.c_str(), 0755);
    EbpfOptions options;
    options.auditd_compat = AuditdOn();
    options.already_running_events = false;
    options.stop = &stop_;
    auto source = EbpfSource::Open(&schema_, options, [](const SourceDiagnostic& d) {
      std::printf("diagnostic: %s %s\n", d.location.c_str(), d.reason.c_str());
    });
    ASSERT_TRUE(source.ok()) << source.status();
    source_ = std::move(*source);
    puller_ = std::thread([this] {
      Event e;
      while (true) {
        auto more = source_->Next(&e);
        if (!more.ok() || !*more) return;
        std::lock_guard<std::mutex> lock(mu_);
        events_.push_back(e);
      }
    });
  }
  void TearDown() override {
    stop_.store(true);
    if (puller_.joinable()) puller_.join();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  virtual bool AuditdOn() const { return true; }

  // Runs the helper with `args`; returns its pid.
  pid_t Run(std::vector<std::string> args) {
    pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      argv.push_back(helper_.data());
      for (std::string& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(helper_.c_str(), argv.data());
      _exit(127);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "helper " << args[0];
    return pid;
  }

  std::string Str(const Event& e, std::string_view field) {
    auto id = schema_.Find(field);
    if (!id) return "<missing>";
    const Value* v = e.Find(*id);
    if (v == nullptr) return "<missing>";
    if (v->kind() == event::ValueKind::kString) return std::string(v->as_string());
    if (v->kind() == event::ValueKind::kInt) return std::to_string(v->as_int());
    if (v->kind() == event::ValueKind::kIp) return v->as_ip().ToString();
    if (v->kind() == event::ValueKind::kArray) {
      std::string out;
      for (const Value& x : v->as_array())
        out += (out.empty() ? "" : "|") + std::string(x.as_string());
      return out;
    }
    return "<other>";
  }

  // The auditd events of process `pid` for `syscall`, after waiting `wait` for them.
  std::vector<Event> Audit(pid_t pid, std::string_view syscall,
                           std::chrono::milliseconds wait = std::chrono::milliseconds(1500)) {
    std::this_thread::sleep_for(wait);
    std::vector<Event> out;
    std::lock_guard<std::mutex> lock(mu_);
    for (const Event& e : events_) {
      if (Str(e, "process.pid") == std::to_string(pid) &&
          Str(e, "auditd.data.syscall") == syscall) {
        out.push_back(e);
      }
    }
    return out;
  }

  schema::Schema schema_;
  std::atomic<bool> stop_{false};
  std::unique_ptr<EbpfSource> source_;
  std::thread puller_;
  std::mutex mu_;
  std::vector<Event> events_;
  std::string dir_, helper_;
};

TEST_F(AuditdLiveTest, PrctlSetNameFromATmpBinary) {
  pid_t pid = Run({"prctl", "kworker/0:1"});
  std::vector<Event> got = Audit(pid, "prctl");
  ASSERT_EQ(got.size(), 1u) << "PR_SET_NAME once, PR_GET_NAME never";
  EXPECT_EQ(Str(got[0], "event.category"), "process");
  EXPECT_EQ(Str(got[0], "event.type"), "info");
  EXPECT_EQ(Str(got[0], "event.action"), "<missing>");
  EXPECT_EQ(Str(got[0], "auditd.data.a0"), "f");
  EXPECT_EQ(Str(got[0], "auditd.result"), "success");
  EXPECT_EQ(Str(got[0], "process.executable"), helper_);
}

TEST_F(AuditdLiveTest, RealTimeSignalToAChildThatIgnoresIt) {
  pid_t pid = Run({"kill", "40"});
  std::vector<Event> got = Audit(pid, "kill");
  ASSERT_EQ(got.size(), 1u) << "signal 40 once; SIGTERM and SIGKILL never";
  EXPECT_EQ(Str(got[0], "event.action"), "killed-pid");
  EXPECT_EQ(Str(got[0], "event.type"), "end");
  EXPECT_EQ(Str(got[0], "auditd.data.a1"), "28");
  EXPECT_EQ(Str(got[0], "event.outcome"), "success");
}

TEST_F(AuditdLiveTest, MprotectRwxThenAConnection) {
  pid_t pid = Run({"mprotect", "192.0.2.1", "9"});
  std::vector<Event> got = Audit(pid, "mprotect");
  ASSERT_EQ(got.size(), 1u) << "RWX once; R+X never";
  EXPECT_EQ(Str(got[0], "auditd.data.a2"), "7");
  EXPECT_EQ(Str(got[0], "event.category"), "process");
  bool connect = false;
  std::lock_guard<std::mutex> lock(mu_);
  for (const Event& e : events_) {
    connect = connect || (Str(e, "process.pid") == std::to_string(pid) &&
                          Str(e, "event.action") == "connection_attempted" &&
                          Str(e, "destination.ip") == "192.0.2.1");
  }
  EXPECT_TRUE(connect) << "the Defend-shaped connection of the same process";
}

TEST_F(AuditdLiveTest, OpenSyscallWithMode0666) {
  std::string created = dir_ + "/x";
  pid_t pid = Run({"open", "/etc/passwd", "/proc/net/route", "+" + created});
  std::vector<Event> got = Audit(pid, "open");
  ASSERT_EQ(got.size(), 3u) << "mode 0666 three times; mode 0644 never";
  std::vector<std::string> paths;
  for (const Event& e : got) {
    paths.push_back(Str(e, "file.path"));
    EXPECT_EQ(Str(e, "event.category"), "file");
    EXPECT_EQ(Str(e, "event.action"), "opened-file");
    EXPECT_EQ(Str(e, "auditd.data.a2"), "1b6");
  }
  EXPECT_EQ(paths, (std::vector<std::string>{"/etc/passwd", "/proc/net/route", created}));
  EXPECT_EQ(Str(got[2], "auditd.data.a1"), "41");  // O_CREAT|O_WRONLY
}

TEST_F(AuditdLiveTest, RefusedModuleLoadAsRootAndAsNobody) {
  std::string file = dir_ + "/not-a-module.ko";
  std::FILE* f = std::fopen(file.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fclose(f);
  for (const char* uid : {"", "65534"}) {
    std::vector<std::string> args = {"finit_module", file};
    if (*uid != '\0') args.push_back(uid);
    pid_t pid = Run(args);
    std::vector<Event> got = Audit(pid, "finit_module");
    ASSERT_EQ(got.size(), 1u) << "uid " << uid;
    EXPECT_EQ(Str(got[0], "event.category"), "driver");
    EXPECT_EQ(Str(got[0], "event.action"), "loaded-kernel-module");
    EXPECT_EQ(Str(got[0], "auditd.result"), "fail");
    EXPECT_EQ(Str(got[0], "user.id"), *uid == '\0' ? std::to_string(geteuid()) : uid);
  }
}

class AuditdOffLiveTest : public AuditdLiveTest {
  bool AuditdOn() const override { return false; }
};

TEST_F(AuditdOffLiveTest, NoAuditdEventsWhenSwitchedOff) {
  pid_t a = Run({"prctl", "renamed"});
  pid_t b = Run({"kill", "40"});
  pid_t c = Run({"open", "/etc/passwd"});
  EXPECT_TRUE(Audit(a, "prctl").empty());
  EXPECT_TRUE(Audit(b, "kill", std::chrono::milliseconds(0)).empty());
  EXPECT_TRUE(Audit(c, "open", std::chrono::milliseconds(0)).empty());
  // The Defend-shaped sensitive read is still reported.
  bool read = false;
  std::lock_guard<std::mutex> lock(mu_);
  for (const Event& e : events_) {
    read = read || (Str(e, "process.pid") == std::to_string(c) && Str(e, "event.action") == "open");
  }
  EXPECT_TRUE(read);
}

}  // namespace
}  // namespace kestrel::sources
