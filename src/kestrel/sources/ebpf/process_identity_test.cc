// Process identity helpers: environment allow-list, capability names, entry types, and the
// process table's entry leaders (no kernel needed).
#include "kestrel/sources/ebpf/process_identity.h"

#include <ctime>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "kestrel/sources/ebpf/process_table.h"

namespace kestrel::sources::ebpf {
namespace {

using namespace std::string_literals;

// The hand-written calendar against gmtime_r: leap days, century years (2100), the epoch.
TEST(FormatProcessStart, MatchesGmtimeAcrossCalendarEdges) {
  char buf[32];
  EXPECT_EQ(FormatProcessStart(0, buf), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatProcessStart(1'796'652'273'123'456'789, buf), "2026-12-07T14:04:33.123Z");
  EXPECT_EQ(FormatProcessStart(951'782'400'999'000'000, buf), "2000-02-29T00:00:00.999Z");
  EXPECT_EQ(FormatProcessStart(-1, buf), "");
  int checked = 0;
  // Every 36h6m40.5s over 1970..2261 (int64 ns): every day, hour, leap and century rule.
  for (int64_t ns = 0; ns < int64_t{9'200'000'000} * 1'000'000'000;
       ns += int64_t{130'000'500} * 1'000'000) {
    time_t secs = static_cast<time_t>(ns / 1'000'000'000);
    struct tm tm;
    ASSERT_NE(gmtime_r(&secs, &tm), nullptr);
    std::string want = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900,
                                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                                   static_cast<int>(ns / 1'000'000 % 1000));
    ASSERT_EQ(FormatProcessStart(ns, buf), want) << ns;
    ++checked;
  }
  EXPECT_GT(checked, 70'000);
}

TEST(FilterEnv, KeepsAllowedNamesCutsValuesAndFindsSshClient) {
  std::string env =
      "PATH=/usr/bin\0HISTFILE=/dev/null\0LD_PRELOAD=/tmp/evil.so\0"
      "SSH_CLIENT=192.0.2.7 51234 22\0HISTFILE=/second\0NOEQUALS\0=x\0"
      "PROMPT_COMMAND=0123456789"s;
  std::string ssh;
  auto kept = FilterEnv(env, {"HISTFILE", "LD_PRELOAD", "PROMPT_COMMAND"}, 4, &ssh);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[0], "HISTFILE=/dev");  // cut to 4 bytes
  EXPECT_EQ(kept[1], "LD_PRELOAD=/tmp");
  EXPECT_EQ(kept[2], "PROMPT_COMMAND=0123");  // the first HISTFILE won; no NUL at the end
  EXPECT_EQ(ssh, "192.0.2.7 51234 22");       // found though not allowed
  EXPECT_EQ(SshClientAddress(ssh), "192.0.2.7");
  EXPECT_TRUE(FilterEnv("", DefaultEnvAllowList(), 256, &ssh).empty());
  EXPECT_EQ(ssh, "");
  EXPECT_EQ(DefaultEnvAllowList().size(), 8u);
}

TEST(CapabilityNames, BitsToKernelNames) {
  std::vector<event::Value> names;
  CapabilityNames((uint64_t{1} << 7) | (uint64_t{1} << 6) | (uint64_t{1} << 39), &names);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0].as_string(), "CAP_SETGID");
  EXPECT_EQ(names[1].as_string(), "CAP_SETUID");
  EXPECT_EQ(names[2].as_string(), "CAP_BPF");
  CapabilityNames(0, &names);
  EXPECT_TRUE(names.empty());
  EXPECT_EQ(CapabilityName(40), "CAP_CHECKPOINT_RESTORE");
  EXPECT_EQ(CapabilityName(63), "");
}

TEST(EntryTypeForParent, EntryPointsByParent) {
  EXPECT_EQ(EntryTypeForParent(1, "systemd"), "init");
  EXPECT_EQ(EntryTypeForParent(2, "kthreadd"), "kthread");
  EXPECT_EQ(EntryTypeForParent(900, "sshd"), "sshd");
  EXPECT_EQ(EntryTypeForParent(900, "sshd-session"), "sshd");
  EXPECT_EQ(EntryTypeForParent(900, "login"), "console");
  EXPECT_EQ(EntryTypeForParent(900, "tmux: server"), "terminal");
  EXPECT_EQ(EntryTypeForParent(900, "containerd-shim"), "container");
  EXPECT_EQ(EntryTypeForParent(900, "bash"), "");
}

TEST(ProcessTableEntryLeader, SessionUnderSshdIsAnEntryChildrenInheritIt) {
  ProcessTable table("boot");
  ProcessInfo& init = table.OnExec(1, 1);
  init.name = "systemd";
  init.sid = 1;
  table.AssignEntryLeader(init);
  EXPECT_EQ(init.entry_type, "init");
  ProcessInfo& sshd = table.OnFork(1, 500, 50, 0);
  sshd.name = "sshd";
  sshd.sid = 500;
  table.AssignEntryLeader(sshd);  // a daemon: a session of its own under init
  EXPECT_EQ(sshd.entry_pid, 500u);
  EXPECT_EQ(sshd.entry_type, "init");
  ProcessInfo& shell = table.OnFork(500, 600, 60, 0);
  EXPECT_EQ(shell.entry_pid, 500u);  // inherited at fork
  shell.name = "bash";
  shell.sid = 600;
  shell.ssh_client = "198.51.100.4 40000 22";
  table.AssignEntryLeader(shell);  // setsid under sshd: the ssh session's entry leader
  EXPECT_EQ(shell.entry_pid, 600u);
  EXPECT_EQ(shell.entry_entity_id, shell.entity_id);
  EXPECT_EQ(shell.entry_type, "sshd");
  EXPECT_EQ(shell.entry_source_ip, "198.51.100.4");
  ProcessInfo& child = table.OnFork(600, 700, 70, 0);
  child.sid = 700;  // a setsid of its own under bash: still the ssh session
  table.AssignEntryLeader(child);
  EXPECT_EQ(child.entry_pid, 600u);
  EXPECT_EQ(child.entry_type, "sshd");
}

}  // namespace
}  // namespace kestrel::sources::ebpf
