// RecordDecoder on records built by hand (no kernel, no root): each record kind to its ECS
// fields, the process table links, and malformed records.
#include "kestrel/sources/ebpf/decoder.h"

#include <cstddef>
#include <cstring>

#include <gtest/gtest.h>

#include "kestrel/sources/ebpf/ebpf_test_util.h"

namespace kestrel::sources::ebpf {
namespace {

using event::Event;
using event::Value;
using schema::ecs::Field;

using ebpf_test::Components;
using ebpf_test::ExecRecord;
using ebpf_test::Nul;
using ebpf_test::PackExec;
using ebpf_test::Parts;

std::string Str(const Event& e, schema::FieldId id) { return ebpf_test::ValueText(e.Find(id)); }

template <typename T>
std::span<const uint8_t> Bytes(const T& r) {
  return ebpf_test::RecordBytes(r);
}

// A header of uid 1000, gid 100, in the session of `ppid`, leading its process group.
void Header(kestrel_header* h, uint32_t kind, uint32_t pid, uint32_t ppid, const char* comm) {
  ebpf_test::FillHeader(h, kind,
                        {.pid = pid,
                         .ppid = ppid,
                         .uid = 1000,
                         .gid = 100,
                         .sid = ppid,
                         .pgid = pid,
                         .boot_ns = 5'000'000'000,
                         .comm = comm});
}

TEST(JoinPath, ComponentsLeafFirstToAbsoluteNormalisedPaths) {
  struct Case {
    std::string components;
    std::string path;
  } cases[] = {
      {std::string("x.txt\0tmp\0", 10), "/tmp/x.txt"},
      {std::string("", 0), ""},
      {std::string("\0", 1), "/"},
      {std::string("/etc/passwd\0", 12), "/etc/passwd"},   // absolute argument
      {std::string("./a/../b\0tmp\0", 13), "/tmp/b"},      // relative, normalised
      {std::string("/abs\0ignored\0dirs\0", 18), "/abs"},  // absolute wins
      {std::string("..\0..\0..\0", 9), "/"},
  };
  for (const Case& c : cases) EXPECT_EQ(JoinPath(c.components), c.path) << c.path;
}

class DecoderTest : public ebpf_test::DecoderFixture {
 protected:
  DecoderTest() : DecoderFixture(Options()) {
    ProcessInfo& shell = table_.Touch(10, 10);
    shell.executable = "/bin/bash";
    shell.name = "bash";
    shell.args = {"bash"};
    shell.command_line = "bash";
  }
  static DecoderOptions Options() {
    DecoderOptions o;
    o.boot_wall_ns = 1'700'000'000'000'000'000;
    o.ignore_paths = {"/var/log/"};
    o.resolve_user_names = false;
    return o;
  }
};

TEST_F(DecoderTest, ForkThenExecGivesOneEntityWithItsParent) {
  kestrel_fork f;
  Header(&f.h, KESTREL_FORK, 10, 1, "bash");
  f.child_tgid = 20;
  f.child_start_boottime = 20 * kNsPerClockTick;
  ASSERT_EQ(decoder_.Decode(Bytes(f), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.action")), "fork");
  EXPECT_EQ(Str(event_, Field("process.pid")), "20");
  EXPECT_EQ(Str(event_, Field("process.name")), "bash");  // inherited until exec
  EXPECT_EQ(Str(event_, Field("process.parent.pid")), "10");
  EXPECT_EQ(Str(event_, Field("process.parent.entity_id")), table_.EntityId(10, 10));
  std::string child_id = Str(event_, Field("process.entity_id"));
  EXPECT_EQ(child_id, table_.EntityId(20, 20));

  kestrel_header eh;
  Header(&eh, KESTREL_EXEC, 20, 10, "curl");
  ASSERT_EQ(decoder_.Decode(PackExec(eh, {.filename = "/usr/bin/curl",
                                          .cwd = Parts({"alice", "home"}),
                                          .args = Nul("curl\0-s\0http://x/y.sh"),
                                          .argc = 3}),
                            &event_, &why_),
            RecordDecoder::Outcome::kEvent);
  EXPECT_TRUE(event_.InCategory(*schema_.FindCategory("process")));
  EXPECT_EQ(Str(event_, Field("event.category")), "process");
  EXPECT_EQ(Str(event_, Field("event.type")), "start");
  EXPECT_EQ(Str(event_, Field("event.action")), "exec");
  EXPECT_EQ(Str(event_, Field("process.entity_id")), child_id);
  EXPECT_EQ(Str(event_, Field("process.executable")), "/usr/bin/curl");
  EXPECT_EQ(Str(event_, Field("process.name")), "curl");
  EXPECT_EQ(Str(event_, Field("process.args")), "curl|-s|http://x/y.sh");
  EXPECT_EQ(Str(event_, Field("process.args_count")), "3");
  EXPECT_EQ(Str(event_, Field("process.command_line")), "curl -s http://x/y.sh");
  EXPECT_EQ(Str(event_, Field("process.working_directory")), "/home/alice");
  EXPECT_EQ(Str(event_, Field("process.parent.name")), "bash");
  EXPECT_EQ(Str(event_, Field("process.parent.executable")), "/bin/bash");
  EXPECT_EQ(Str(event_, Field("process.parent.args_count")), "1");
  EXPECT_EQ(Str(event_, Field("process.Ext.ancestry")), table_.EntityId(10, 10));
  EXPECT_EQ(Str(event_, Field("user.id")), "1000");
  EXPECT_EQ(Str(event_, Field("group.id")), "100");
  EXPECT_EQ(Str(event_, Field("host.os.type")), "linux");
  EXPECT_EQ(Str(event_, Field("process.tty.char_device.major")), "<missing>");
  EXPECT_EQ(event_.wall_ns(), 1'700'000'000'000'000'000 + 5'000'000'000);
  EXPECT_EQ(event_.time_ns(), event_.wall_ns());

  kestrel_exit x;
  Header(&x.h, KESTREL_EXIT, 20, 10, "curl");
  x.exit_code = 7 << 8;
  ASSERT_EQ(decoder_.Decode(Bytes(x), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.action")), "end");
  EXPECT_EQ(Str(event_, Field("event.type")), "end");
  EXPECT_EQ(Str(event_, Field("process.exit_code")), "7");
  EXPECT_EQ(Str(event_, Field("process.executable")), "/usr/bin/curl");
  x.exit_code = 9;  // killed by SIGKILL
  table_.Touch(20, 20);
  ASSERT_EQ(decoder_.Decode(Bytes(x), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("process.exit_code")), "137");
}

// A relative's fields are a snapshot built once per process and role and shared by the events
// that name it (ProcessInfo::Snapshots); an exec of the relative makes a new one, and events
// decoded before keep what was true when they happened.
TEST_F(DecoderTest, RelativesAreSharedSnapshotsRenewedWhenTheProcessChanges) {
  auto fork_of_shell = [&](uint32_t child) {
    kestrel_fork f;
    Header(&f.h, KESTREL_FORK, 10, 1, "bash");
    f.child_tgid = child;
    f.child_start_boottime = uint64_t{child} * kNsPerClockTick;
    EXPECT_EQ(decoder_.Decode(Bytes(f), &event_, &why_), RecordDecoder::Outcome::kEvent);
  };
  fork_of_shell(20);
  Event before = event_;  // a copy shares the snapshots
  const uint64_t built = decoder_.snapshots_built();
  EXPECT_GT(built, 0u);
  ASSERT_FALSE(before.shared().empty());
  fork_of_shell(21);
  EXPECT_EQ(decoder_.snapshots_built(), built);  // the shell's snapshots again
  EXPECT_EQ(event_.shared()[0].get(), before.shared()[0].get());
  EXPECT_EQ(Str(event_, Field("process.parent.command_line")), "bash");
  EXPECT_EQ(Str(event_, Field("process.parent.pid")), "10");

  kestrel_header eh;
  Header(&eh, KESTREL_EXEC, 10, 1, "zsh");
  eh.start_boottime = 10 * kNsPerClockTick;
  ASSERT_EQ(decoder_.Decode(PackExec(eh, {.filename = "/usr/bin/zsh", .args = Nul("zsh\0-l")}),
                            &event_, &why_),
            RecordDecoder::Outcome::kEvent);
  fork_of_shell(22);
  EXPECT_GT(decoder_.snapshots_built(), built);
  EXPECT_EQ(Str(event_, Field("process.parent.executable")), "/usr/bin/zsh");
  EXPECT_EQ(Str(event_, Field("process.parent.command_line")), "zsh -l");
  EXPECT_EQ(Str(event_, Field("process.group_leader.name")), "zsh");
  EXPECT_EQ(Str(before, Field("process.parent.executable")), "/bin/bash");
  EXPECT_EQ(Str(before, Field("process.parent.name")), "bash");
  EXPECT_EQ(Str(before, Field("process.group_leader.args")), "bash");
}

// process.start and the relatives' start: boot wall time + the task's start time from the
// record (deterministic: nothing read from the clock at decode time); a fork's is the child's.
TEST_F(DecoderTest, ProcessStartDatesFromTheRecord) {
  char buf[32];
  EXPECT_EQ(FormatProcessStart(0, buf), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatProcessStart(1'700'000'000'123'456'789, buf), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(FormatProcessStart(-1, buf), "");
  kestrel_fork f;
  Header(&f.h, KESTREL_FORK, 10, 1, "bash");
  f.child_tgid = 20;
  f.child_start_boottime = 20 * kNsPerClockTick + 3'000'000;  // 203 ms after boot
  ASSERT_EQ(decoder_.Decode(Bytes(f), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("process.start")), "2023-11-14T22:13:20.203Z");
  EXPECT_EQ(Str(event_, Field("process.parent.start")), "2023-11-14T22:13:20.100Z");  // ticks
  kestrel_header eh;
  Header(&eh, KESTREL_EXEC, 20, 10, "true");
  eh.start_boottime = f.child_start_boottime;
  eh.sid = 10;
  ASSERT_EQ(decoder_.Decode(PackExec(eh, {.filename = "/bin/true"}), &event_, &why_),
            RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("process.start")), "2023-11-14T22:13:20.203Z");
  EXPECT_EQ(Str(event_, Field("process.parent.start")), "2023-11-14T22:13:20.100Z");
  EXPECT_EQ(Str(event_, Field("process.session_leader.start")), "2023-11-14T22:13:20.100Z");
  // File events carry the parent's start, not the leaders' (not declared for them).
  kestrel_file fr{};
  Header(&fr.h, KESTREL_FILE, 20, 10, "true");
  fr.h.start_boottime = f.child_start_boottime;
  fr.h.sid = 10;
  fr.op = KESTREL_FILE_CREATE;
  fr.path_len = Components(fr.path, {"x", "tmp"});
  ASSERT_EQ(decoder_.Decode(Bytes(fr), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("process.start")), "2023-11-14T22:13:20.203Z");
  EXPECT_EQ(Str(event_, Field("process.parent.start")), "2023-11-14T22:13:20.100Z");
  EXPECT_EQ(Str(event_, Field("process.session_leader.start")), "<missing>");
}

TEST_F(DecoderTest, ControllingTerminalMakesTheProcessInteractive) {
  kestrel_exit x;
  Header(&x.h, KESTREL_EXIT, 10, 1, "bash");
  x.h.tty = (136u << 20) | 3;  // /dev/pts/3
  x.exit_code = 0;
  ASSERT_EQ(decoder_.Decode(Bytes(x), &event_, &why_), RecordDecoder::Outcome::kEvent);
  const Value* interactive = event_.Find(Field("process.interactive"));
  ASSERT_NE(interactive, nullptr);
  EXPECT_TRUE(interactive->as_bool());
  EXPECT_EQ(Str(event_, Field("process.tty.char_device.major")), "136");
  EXPECT_EQ(Str(event_, Field("process.tty.char_device.minor")), "3");
  x.h.tty = 0;
  table_.Touch(10, 10);
  ASSERT_EQ(decoder_.Decode(Bytes(x), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_FALSE(event_.Find(Field("process.interactive"))->as_bool());
}

TEST_F(DecoderTest, RelativeExecFilenameResolvedAgainstTheCwd) {
  kestrel_header eh;
  Header(&eh, KESTREL_EXEC, 30, 10, "run.sh");
  ASSERT_EQ(decoder_.Decode(PackExec(eh, {.filename = "./run.sh", .cwd = Parts({"tmp"})}), &event_,
                            &why_),
            RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("process.executable")), "/tmp/run.sh");
  EXPECT_EQ(Str(event_, Field("process.args_count")), "0");
}

TEST_F(DecoderTest, FileRecordsToFileEvents) {
  auto f = std::make_unique<kestrel_file>();
  std::memset(f.get(), 0, sizeof(*f));
  Header(&f->h, KESTREL_FILE, 10, 1, "bash");
  f->op = KESTREL_FILE_RENAME;
  f->syscall = KSYS_RENAMEAT2;
  f->path_len = Components(f->path, {"a.sh", "tmp"});
  f->path2_len = Components(f->path2, {"/usr/local/bin/b.tar.gz"});
  ASSERT_EQ(decoder_.Decode(Bytes(*f), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.category")), "file");
  EXPECT_EQ(Str(event_, Field("event.action")), "rename");
  EXPECT_EQ(Str(event_, Field("event.type")), "change");
  EXPECT_EQ(Str(event_, Field("file.path")), "/usr/local/bin/b.tar.gz");
  EXPECT_EQ(Str(event_, Field("file.name")), "b.tar.gz");
  EXPECT_EQ(Str(event_, Field("file.extension")), "gz");
  EXPECT_EQ(Str(event_, Field("file.directory")), "/usr/local/bin");
  EXPECT_EQ(Str(event_, Field("file.Ext.original.path")), "/tmp/a.sh");
  EXPECT_EQ(Str(event_, Field("file.Ext.original.extension")), "sh");
  EXPECT_EQ(Str(event_, Field("process.name")), "bash");
  EXPECT_EQ(Str(event_, Field("process.entity_id")), table_.EntityId(10, 10));

  struct {
    uint32_t op;
    const char* type;
    const char* action;
  } ops[] = {{KESTREL_FILE_CREATE, "creation", "creation"},
             {KESTREL_FILE_MODIFY, "change", "modification"},
             {KESTREL_FILE_READ, "access", "open"},
             {KESTREL_FILE_DELETE, "deletion", "deletion"},
             {KESTREL_FILE_CHMOD, "change", "attributes_modified"}};
  for (const auto& op : ops) {
    f->op = op.op;
    f->mode = 04755;
    ASSERT_EQ(decoder_.Decode(Bytes(*f), &event_, &why_), RecordDecoder::Outcome::kEvent);
    EXPECT_EQ(Str(event_, Field("event.type")), op.type);
    EXPECT_EQ(Str(event_, Field("event.action")), op.action);
    EXPECT_EQ(Str(event_, Field("file.path")), "/tmp/a.sh");
  }
  EXPECT_EQ(Str(event_, Field("file.mode")), "4755");

  // --ignore-path: the event is skipped.
  f->op = KESTREL_FILE_MODIFY;
  f->path_len = Components(f->path, {"syslog", "log", "var"});
  EXPECT_EQ(decoder_.Decode(Bytes(*f), &event_, &why_), RecordDecoder::Outcome::kSkipped);
}

TEST_F(DecoderTest, NetworkRecordsIPv4AndIPv6) {
  kestrel_net n;
  std::memset(&n, 0, sizeof(n));
  Header(&n.h, KESTREL_NET, 10, 1, "bash");
  n.syscall = KSYS_CONNECT;
  n.family = 2;
  n.protocol = 6;
  uint8_t remote[4] = {93, 184, 216, 34}, local[4] = {10, 0, 0, 5};
  std::memcpy(n.remote_addr, remote, 4);
  std::memcpy(n.local_addr, local, 4);
  n.remote_port = 443;
  n.local_port = 51000;
  n.ret = -115;  // EINPROGRESS: a non-blocking connect under way
  ASSERT_EQ(decoder_.Decode(Bytes(n), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.category")), "network");
  EXPECT_EQ(Str(event_, Field("event.action")), "connection_attempted");
  EXPECT_EQ(Str(event_, Field("destination.ip")), "93.184.216.34");
  EXPECT_EQ(Str(event_, Field("destination.port")), "443");
  EXPECT_EQ(Str(event_, Field("source.ip")), "10.0.0.5");
  EXPECT_EQ(Str(event_, Field("source.port")), "51000");
  EXPECT_EQ(Str(event_, Field("network.transport")), "tcp");
  EXPECT_EQ(Str(event_, Field("network.direction")), "egress");
  EXPECT_EQ(Str(event_, Field("event.outcome")), "success");

  n.syscall = KSYS_ACCEPT4;
  n.family = 10;
  n.protocol = 6;
  std::memset(n.remote_addr, 0, 16);
  n.remote_addr[15] = 1;  // ::1
  std::memset(n.local_addr, 0, 16);
  n.local_addr[0] = 0x20;
  n.local_addr[1] = 0x01;
  n.local_addr[2] = 0x0d;
  n.local_addr[3] = 0xb8;
  n.local_addr[15] = 2;  // 2001:db8::2
  n.ret = 5;
  ASSERT_EQ(decoder_.Decode(Bytes(n), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.action")), "connection_accepted");
  EXPECT_EQ(Str(event_, Field("network.direction")), "ingress");
  EXPECT_EQ(Str(event_, Field("source.ip")), "::1");  // the peer initiated
  EXPECT_EQ(Str(event_, Field("source.port")), "443");
  EXPECT_EQ(Str(event_, Field("destination.ip")), "2001:db8::2");
  EXPECT_EQ(Str(event_, Field("destination.port")), "51000");
  EXPECT_EQ(Str(event_, Field("network.type")), "ipv6");
}

TEST_F(DecoderTest, ProcessChangeAndDefendShapedSyscallEvents) {
  auto s = std::make_unique<kestrel_syscall_rec>();
  std::memset(s.get(), 0, sizeof(*s));
  Header(&s->h, KESTREL_SYSCALL, 10, 1, "bash");
  // setuid(0) that succeeded: the header holds the new ids (read at sys_exit).
  s->h.uid = s->h.euid = 0;
  s->h.cap_effective = uint64_t{1} << 7;
  s->syscall = KSYS_SETUID;
  ASSERT_EQ(decoder_.Decode(Bytes(*s), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.action")), "uid_change");
  EXPECT_EQ(Str(event_, Field("event.category")), "process");
  EXPECT_EQ(Str(event_, Field("event.type")), "change");
  EXPECT_EQ(Str(event_, Field("user.id")), "0");
  EXPECT_EQ(Str(event_, Field("process.user.id")), "0");
  EXPECT_EQ(Str(event_, Field("process.real_user.id")), "0");
  EXPECT_EQ(Str(event_, Field("process.thread.capabilities.effective")), "CAP_SETUID");
  EXPECT_EQ(Str(event_, Field("user.target.id")), "<missing>");  // no iam event any more
  EXPECT_EQ(table_.Find(10)->euid, 0u);                          // the table follows
  s->syscall = KSYS_SETRESGID;
  ASSERT_EQ(decoder_.Decode(Bytes(*s), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.action")), "gid_change");
  s->syscall = KSYS_SETSID;
  s->h.sid = s->h.pgid = 10;
  ASSERT_EQ(decoder_.Decode(Bytes(*s), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.action")), "session_id_change");
  EXPECT_EQ(Str(event_, Field("event.type")), "change");
  EXPECT_EQ(Str(event_, Field("process.session_leader.pid")), "10");
  EXPECT_EQ(Str(event_, Field("process.session_leader.name")), "bash");
  EXPECT_EQ(event_.Find(Field("process.session_leader.same_as_process"))->as_bool(), true);
  s->syscall = KSYS_MEMFD_CREATE;
  std::strcpy(s->name, "payload");
  s->args[1] = 0x1;  // MFD_CLOEXEC
  ASSERT_EQ(decoder_.Decode(Bytes(*s), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.action")), "memfd_create");
  EXPECT_EQ(Str(event_, Field("event.category")), "process");
  EXPECT_EQ(Str(event_, *schema_.Find("process.Ext.memfd.name")), "payload");
  EXPECT_TRUE(event_.Find(*schema_.Find("process.Ext.memfd.flag_cloexec"))->as_bool());
  EXPECT_FALSE(event_.Find(*schema_.Find("process.Ext.memfd.flag_allow_seal"))->as_bool());
  s->syscall = KSYS_FINIT_MODULE;
  std::strcpy(s->name, "rootkit.ko.xz");
  s->ret = -38;  // ENOSYS: an attempt
  ASSERT_EQ(decoder_.Decode(Bytes(*s), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.category")), "process");
  EXPECT_EQ(Str(event_, Field("event.type")), "start");
  EXPECT_EQ(Str(event_, Field("event.action")), "load_module");
  EXPECT_EQ(Str(event_, *schema_.Find("process.Ext.load_module.name")), "rootkit");
  EXPECT_EQ(Str(event_, Field("event.outcome")), "failure");
  s->ret = 0;
  s->syscall = KSYS_PTRACE;
  s->args[0] = 16;  // PTRACE_ATTACH
  s->args[1] = 4321;
  ASSERT_EQ(decoder_.Decode(Bytes(*s), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.action")), "ptrace");
  EXPECT_EQ(Str(event_, *schema_.Find("process.Ext.ptrace.child_pid")), "4321");
  EXPECT_EQ(Str(event_, *schema_.Find("process.Ext.ptrace.request")), "16");
  EXPECT_EQ(Str(event_, *schema_.Find("process.target.pid")), "4321");
  s->syscall = 999;
  EXPECT_EQ(decoder_.Decode(Bytes(*s), &event_, &why_), RecordDecoder::Outcome::kMalformed);
}

TEST_F(DecoderTest, ExecReportsTheKernelsImageEnvAllowListAndLeaders) {
  // A #! script: the kernel's image is the interpreter (mm->exe_file), the script is in argv.
  table_.FindMutable(10)->uid = table_.FindMutable(10)->euid = 1000;
  kestrel_header eh;
  Header(&eh, KESTREL_EXEC, 50, 10, "x.sh");
  eh.sid = 10;  // bash (pid 10) leads the session
  eh.pgid = 50;
  eh.cap_permitted = ~uint64_t{0};
  const std::string env = Nul("PATH=/bin\0HISTFILE=/dev/null\0SSH_CLIENT=192.0.2.9 5000 22");
  const std::vector<uint8_t> script = PackExec(eh, {.filename = "/tmp/x.sh",
                                                    .exe = Parts({"dash", "bin", "usr"}),
                                                    .args = Nul("/bin/sh\0/tmp/x.sh"),
                                                    .env = env});
  ASSERT_EQ(decoder_.Decode(script, &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("process.executable")), "/usr/bin/dash");
  EXPECT_EQ(Str(event_, Field("process.name")), "dash");
  EXPECT_EQ(Str(event_, Field("process.args")), "/bin/sh|/tmp/x.sh");
  EXPECT_EQ(Str(event_, Field("process.env_vars")),
            "HISTFILE=/dev/null|SSH_CLIENT=192.0.2.9 5000 22");
  EXPECT_NE(Str(event_, Field("process.thread.capabilities.permitted")).find("CAP_SYS_ADMIN"),
            std::string::npos);
  EXPECT_EQ(Str(event_, Field("process.thread.capabilities.effective")), "<missing>");
  EXPECT_EQ(Str(event_, Field("process.session_leader.executable")), "/bin/bash");
  EXPECT_EQ(Str(event_, Field("process.session_leader.user.id")), "1000");
  EXPECT_EQ(Str(event_, Field("process.group_leader.pid")), "50");
  EXPECT_EQ(Str(event_, Field("process.group_leader.name")), "dash");
  EXPECT_EQ(Str(event_, Field("process.parent.real_user.id")), "1000");
  EXPECT_EQ(Str(event_, Field("user.effective.id")), "1000");
  // Not a session leader, first seen at exec, its parent without one: its own, "unknown".
  EXPECT_EQ(Str(event_, Field("process.entry_leader.pid")), "50");
  EXPECT_EQ(Str(event_, Field("process.entry_leader.entry_meta.type")), "unknown");
  // The size of what is queued is the whole packed record: every part, argv and environment.
  EXPECT_EQ(CompactRecordSize(script), script.size());
  EXPECT_EQ(script.size(), offsetof(kestrel_exec, data) + 9 + 13 + 18 + env.size());

  // A memfd image: "memfd:NAME", no directory.
  Header(&eh, KESTREL_EXEC, 51, 10, "3");
  eh.flags = KESTREL_F_EXE_PSEUDO;
  ASSERT_EQ(
      decoder_.Decode(PackExec(eh, {.filename = "/dev/fd/3", .exe = Parts({"memfd:payload"})}),
                      &event_, &why_),
      RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("process.executable")), "memfd:payload");
  EXPECT_EQ(Str(event_, Field("process.name")), "memfd:payload");

  // Under sshd, a session leader is the entry leader of an ssh session with its client.
  ProcessInfo& sshd = table_.OnExec(7, 7);
  sshd.name = "sshd";
  Header(&eh, KESTREL_EXEC, 52, 7, "bash");
  eh.sid = 52;
  // No argv, just the environment.
  ASSERT_EQ(decoder_.Decode(PackExec(eh, {.exe = Parts({"bash", "bin", "usr"}), .env = env}),
                            &event_, &why_),
            RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("process.entry_leader.entry_meta.type")), "sshd");
  EXPECT_EQ(Str(event_, Field("process.entry_leader.entry_meta.source.ip")), "192.0.2.9");
  EXPECT_EQ(Str(event_, Field("process.entry_leader.executable")), "/usr/bin/bash");
  EXPECT_EQ(Str(event_, Field("process.entry_leader.entity_id")), table_.EntityId(52, 52));
}

TEST_F(DecoderTest, AlreadyRunningFromTheTable) {
  ProcessInfo& p = table_.OnExec(77, 77);
  p.name = "cron";
  p.executable = "/usr/sbin/cron";
  p.ppid = 1;
  p.cap_effective = 1;
  kestrel_header h{};
  h.kind = KESTREL_ALREADY_RUNNING;
  h.tgid = 77;
  h.boot_ns = 9;
  ASSERT_EQ(decoder_.Decode(Bytes(h), &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("event.category")), "process");
  EXPECT_EQ(Str(event_, Field("event.type")), "info");
  EXPECT_EQ(Str(event_, Field("event.action")), "already_running");
  EXPECT_EQ(Str(event_, Field("process.executable")), "/usr/sbin/cron");
  EXPECT_EQ(Str(event_, Field("process.parent.pid")), "1");
  EXPECT_EQ(Str(event_, Field("process.thread.capabilities.effective")), "CAP_CHOWN");
  h.tgid = 78;  // gone before its event was decoded
  EXPECT_EQ(decoder_.Decode(Bytes(h), &event_, &why_), RecordDecoder::Outcome::kSkipped);
}

TEST_F(DecoderTest, CompactedRecordsDecodeLikeFullOnes) {
  auto f = std::make_unique<kestrel_file>();
  std::memset(f.get(), 0, sizeof(*f));
  Header(&f->h, KESTREL_FILE, 10, 1, "bash");
  f->op = KESTREL_FILE_CREATE;
  f->path_len = Components(f->path, {"x.sh", "tmp"});
  size_t n = CompactRecordSize(Bytes(*f));
  EXPECT_EQ(n, offsetof(kestrel_file, path) + 9);
  std::vector<uint8_t> compact(reinterpret_cast<const uint8_t*>(f.get()),
                               reinterpret_cast<const uint8_t*>(f.get()) + n);
  ASSERT_EQ(decoder_.Decode(compact, &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("file.path")), "/tmp/x.sh");
  f->op = KESTREL_FILE_RENAME;
  f->path2_len = Components(f->path2, {"y.sh", "tmp"});
  EXPECT_EQ(CompactRecordSize(Bytes(*f)), offsetof(kestrel_file, path2) + 9);

  kestrel_header eh;
  Header(&eh, KESTREL_EXEC, 40, 10, "ls");
  std::vector<uint8_t> ce = PackExec(eh, {.filename = "/bin/ls", .args = Nul("ls\0-l")});
  EXPECT_EQ(CompactRecordSize(ce), offsetof(kestrel_exec, data) + 7 + 6);
  ASSERT_EQ(decoder_.Decode(ce, &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("process.executable")), "/bin/ls");
  EXPECT_EQ(Str(event_, Field("process.args")), "ls|-l");
  // Longer than it uses (a reader may hand more bytes): compacted to what its lengths say.
  ce.resize(ce.size() + 100, 'x');
  EXPECT_EQ(CompactRecordSize(ce), offsetof(kestrel_exec, data) + 7 + 6);
  ASSERT_EQ(decoder_.Decode(ce, &event_, &why_), RecordDecoder::Outcome::kEvent);
  EXPECT_EQ(Str(event_, Field("process.args")), "ls|-l");

  // Exec records are read in place: every part is cut at the record's end, whatever the
  // lengths say (each prefix is copied to its own buffer so that ASan sees a read past it).
  std::vector<uint8_t> full = PackExec(eh, {.filename = "/bin/ls",
                                            .cwd = Parts({"alice", "home"}),
                                            .exe = Parts({"ls", "bin", "usr"}),
                                            .args = Nul("ls\0-l"),
                                            .env = Nul("HISTFILE=/dev/null")});
  const size_t args_at = offsetof(kestrel_exec, data) + 7 + 11 + 11;
  for (size_t cut = offsetof(kestrel_exec, data); cut <= full.size(); ++cut) {
    std::vector<uint8_t> prefix(full.begin(), full.begin() + static_cast<ptrdiff_t>(cut));
    ASSERT_EQ(decoder_.Decode(prefix, &event_, &why_), RecordDecoder::Outcome::kEvent) << cut;
    EXPECT_LE(CompactRecordSize(prefix), cut);
    if (cut <= args_at) {
      EXPECT_EQ(Str(event_, Field("process.args_count")), "0") << cut;
    }
  }
  EXPECT_EQ(Str(event_, Field("process.executable")), "/usr/bin/ls");
  EXPECT_EQ(Str(event_, Field("process.working_directory")), "/home/alice");
  EXPECT_EQ(Str(event_, Field("process.env_vars")), "HISTFILE=/dev/null");
  // Lengths that lie (more than their part's maximum, more than the record): clamped as the
  // BPF side clamps them, then cut at the record's end.
  auto lie = [&](size_t offset, uint32_t v) { std::memcpy(full.data() + offset, &v, sizeof(v)); };
  lie(offsetof(kestrel_exec, args_len), 4000);
  lie(offsetof(kestrel_exec, cwd_len), 60000);
  lie(offsetof(kestrel_exec, filename_len), UINT32_MAX);
  lie(offsetof(kestrel_exec, env_len), UINT32_MAX);
  ExecParts parts = ExecPartsOf(full);
  EXPECT_EQ(parts.filename.size(), full.size() - offsetof(kestrel_exec, data));
  EXPECT_EQ(parts.end, offsetof(kestrel_exec, data) + KESTREL_FILENAME_MAX - 1 + KESTREL_PATH_MAX +
                           11 + KESTREL_ARGS_MAX + KESTREL_ENV_MAX);
  EXPECT_EQ(CompactRecordSize(full), full.size());
  ASSERT_EQ(decoder_.Decode(full, &event_, &why_), RecordDecoder::Outcome::kEvent);
  std::vector<uint8_t> header_only(full.begin(), full.begin() + offsetof(kestrel_exec, data) - 1);
  EXPECT_EQ(decoder_.Decode(header_only, &event_, &why_), RecordDecoder::Outcome::kMalformed);
  EXPECT_TRUE(ExecPartsOf(header_only).filename.empty());
}

TEST_F(DecoderTest, MalformedRecordsAreReportedNotDecoded) {
  uint8_t tiny[8] = {};
  EXPECT_EQ(decoder_.Decode({tiny, sizeof(tiny)}, &event_, &why_),
            RecordDecoder::Outcome::kMalformed);
  EXPECT_NE(why_.find("shorter than its header"), std::string::npos);
  kestrel_header h;
  Header(&h, 99, 1, 0, "x");
  EXPECT_EQ(decoder_.Decode(Bytes(h), &event_, &why_), RecordDecoder::Outcome::kMalformed);
  EXPECT_NE(why_.find("unknown kind 99"), std::string::npos);
  Header(&h, KESTREL_EXEC, 1, 0, "x");  // an exec header without its body
  EXPECT_EQ(decoder_.Decode(Bytes(h), &event_, &why_), RecordDecoder::Outcome::kMalformed);
}

}  // namespace
}  // namespace kestrel::sources::ebpf
