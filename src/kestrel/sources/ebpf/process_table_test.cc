// Tests of ProcessTable and the /proc parsing helpers: no kernel or root needed (a fake /proc
// tree is written to a temporary directory).
#include "kestrel/sources/ebpf/process_table.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace kestrel::sources::ebpf {
namespace {

namespace fs = std::filesystem;

TEST(ParseProcStat, ReadsFieldsAroundACommWithSpacesAndParentheses) {
  auto st = ParseProcStat(
      "4242 (my (odd) prog) S 17 4242 100 34817 4242 4194304 95 0 0 0 1 2 0 0 20 0 1 0 "
      "123456 10000 200 18446744073709551615\n");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->pid, 4242u);
  EXPECT_EQ(st->comm, "my (odd) prog");
  EXPECT_EQ(st->ppid, 17u);
  EXPECT_EQ(st->pgid, 4242u);
  EXPECT_EQ(st->sid, 100u);
  EXPECT_EQ(st->start_ticks, 123456u);
  EXPECT_EQ(st->tty, (136u << 20) | 1u);  // 34817 = /dev/pts/1 (major 136, minor 1)
}

TEST(ParseProcStat, RejectsTruncatedText) {
  EXPECT_FALSE(ParseProcStat("12 (x) S 1 2 3").has_value());
  EXPECT_FALSE(ParseProcStat("garbage").has_value());
}

TEST(SplitNulSeparated, KeepsATruncatedLastString) {
  std::string bytes("ls\0-l\0/tm", 9);
  EXPECT_EQ(SplitNulSeparated(bytes), (std::vector<std::string>{"ls", "-l", "/tm"}));
  EXPECT_EQ(SplitNulSeparated(std::string("a\0\0b\0", 5)),
            (std::vector<std::string>{"a", "", "b"}));
  EXPECT_TRUE(SplitNulSeparated("").empty());
}

TEST(EntityId, StableForPidAndStartAndDifferentOtherwise) {
  ProcessTable a("boot-1"), b("boot-1"), c("boot-2");
  EXPECT_EQ(a.EntityId(10, 500), b.EntityId(10, 500));
  EXPECT_EQ(a.EntityId(10, 500).size(), 32u);
  EXPECT_NE(a.EntityId(10, 500), a.EntityId(10, 501));  // pid reused later
  EXPECT_NE(a.EntityId(10, 500), a.EntityId(11, 500));
  EXPECT_NE(a.EntityId(10, 500), c.EntityId(10, 500));  // another boot
}

TEST(ProcessTable, ForkCopiesTheParentAndExecKeepsTheIdentity) {
  ProcessTable t("boot");
  ProcessInfo& parent = t.Touch(100, 5);
  parent.executable = "/bin/bash";
  parent.name = "bash";
  parent.args = {"bash", "-i"};
  ProcessInfo& child = t.OnFork(100, 200, 9, 0);
  EXPECT_EQ(child.ppid, 100u);
  EXPECT_EQ(child.executable, "/bin/bash");
  EXPECT_EQ(child.entity_id, t.EntityId(200, 9));
  std::string id = child.entity_id;
  ProcessInfo& execd = t.OnExec(200, 9);
  EXPECT_EQ(execd.entity_id, id);
  // A record for the same pid with another start time is another process (pid reuse).
  EXPECT_NE(t.Touch(200, 77).entity_id, id);
}

TEST(ProcessTable, ExitedProcessesExpireAfterTheGracePeriod) {
  ProcessTable t("boot", 100, /*exit_grace_ns=*/1000);
  t.Touch(1, 1);
  t.Touch(2, 1);
  t.OnExit(2, 5000);
  t.Expire(5500);
  EXPECT_NE(t.Find(2), nullptr);
  t.Expire(6001);
  EXPECT_EQ(t.Find(2), nullptr);
  EXPECT_NE(t.Find(1), nullptr);
}

TEST(ProcessTable, BoundedByMaxProcessesExitedFirst) {
  ProcessTable t("boot", 3, 1'000'000);
  t.Touch(1, 1);
  t.Touch(2, 2);
  t.Touch(3, 3);
  t.OnExit(3, 10);
  t.Touch(4, 4);  // evicts the exited 3
  EXPECT_EQ(t.Find(3), nullptr);
  t.Touch(5, 5);  // evicts the oldest live one, 1
  EXPECT_EQ(t.Find(1), nullptr);
  EXPECT_EQ(t.size(), 3u);
  EXPECT_EQ(t.evicted(), 2u);
}

TEST(ProcessTable, LoadsAFakeProcTree) {
  fs::path root = fs::temp_directory_path() / ("kestrel-proc-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "321");
  fs::create_directories(root / "self-not-a-pid");
  std::ofstream(root / "321" / "stat")
      << "321 (sshd) S 1 321 321 0 -1 4194560 1 0 0 0 0 0 0 0 20 0 1 0 777 0 0\n";
  std::ofstream(root / "321" / "cmdline") << std::string("/usr/sbin/sshd\0-D\0", 18);
  std::ofstream(root / "321" / "status") << "Name:\tsshd\nUid:\t0\t0\t0\t0\nGid:\t4\t5\t0\t0\n";
  fs::create_symlink("/usr/sbin/sshd", root / "321" / "exe");
  fs::create_symlink("/", root / "321" / "cwd");
  ProcessTable t("boot");
  ASSERT_TRUE(t.LoadFromProc(root.string(), 1'000'000'000).ok());
  const ProcessInfo* p = t.Find(321);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->executable, "/usr/sbin/sshd");
  EXPECT_EQ(p->name, "sshd");
  EXPECT_EQ(p->args, (std::vector<std::string>{"/usr/sbin/sshd", "-D"}));
  EXPECT_EQ(p->command_line, "/usr/sbin/sshd -D");
  EXPECT_EQ(p->ppid, 1u);
  EXPECT_EQ(p->gid, 4u);
  EXPECT_EQ(p->egid, 5u);
  EXPECT_EQ(p->working_directory, "/");
  EXPECT_EQ(p->entity_id, t.EntityId(321, 777));
  EXPECT_EQ(p->start_wall_ns, 1'000'000'000 + 777 * int64_t{10'000'000});
  EXPECT_EQ(t.size(), 1u);
  fs::remove_all(root);
  EXPECT_FALSE(t.LoadFromProc(root.string(), 0).ok());
}

TEST(ProcessTable, LoadsTheRealProcWithThisProcess) {
  ProcessTable t("boot");
  ASSERT_TRUE(t.LoadFromProc("/proc", 0).ok());
  const ProcessInfo* self = t.Find(static_cast<uint32_t>(getpid()));
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(self->ppid, static_cast<uint32_t>(getppid()));
  EXPECT_FALSE(self->executable.empty());
}

}  // namespace
}  // namespace kestrel::sources::ebpf
