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
#include "kestrel/sources/ebpf/ebpf_test_util.h"

namespace kestrel::sources {
namespace {

using event::Event;

class AuditdLiveTest : public ebpf_test::LiveSourceTest {
 protected:
  // The helper, copied to a private directory under /tmp.
  void BeforeOpen() override {
    char dir[] = "/tmp/kestrel-auditd.XXXXXX";
    ASSERT_NE(mkdtemp(dir), nullptr);
    dir_ = dir;
    helper_ = dir_ + "/emulate";
    std::filesystem::copy_file(KESTREL_AUDITD_EMULATE, helper_);
    chmod(helper_.c_str(), 0755);
  }
  EbpfOptions Options() override {
    EbpfOptions options;
    options.auditd_compat = AuditdOn();
    options.already_running_events = false;
    return options;
  }
  void TearDown() override {
    LiveSourceTest::TearDown();
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

  // The auditd events of process `pid` for `syscall`, after waiting `wait` for them.
  std::vector<Event> Audit(pid_t pid, std::string_view syscall,
                           std::chrono::milliseconds wait = std::chrono::milliseconds(1500)) {
    std::this_thread::sleep_for(wait);
    return Matching([&](const Event& e) {
      return Str(e, "process.pid") == std::to_string(pid) &&
             Str(e, "auditd.data.syscall") == syscall;
    });
  }

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
  EXPECT_TRUE(Any([&](const Event& e) {
    return Str(e, "process.pid") == std::to_string(pid) &&
           Str(e, "event.action") == "connection_attempted" &&
           Str(e, "destination.ip") == "192.0.2.1";
  })) << "the Defend-shaped connection of the same process";
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
  EXPECT_TRUE(Any([&](const Event& e) {
    return Str(e, "process.pid") == std::to_string(c) && Str(e, "event.action") == "open";
  }));
}

}  // namespace
}  // namespace kestrel::sources
