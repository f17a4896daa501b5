// auditd-compatible syscall events on records built by hand (no kernel, no root): each syscall's
// record to auditd_manager's fields, the argument filter mirrored from the kernel, the hex form of
// the arguments, short and unknown records.
#include "kestrel/sources/ebpf/auditd_compat.h"

#include <cstddef>
#include <cstring>
#include <initializer_list>
#include <string>

#include <gtest/gtest.h>

#include "kestrel/sources/ebpf/decoder.h"
#include "kestrel/sources/ebpf/ebpf_test_util.h"

namespace kestrel::sources::ebpf {
namespace {

using ebpf_test::Components;

class AuditdCompatTest : public ebpf_test::DecoderFixture {
 protected:
  AuditdCompatTest() : DecoderFixture(Options()) {
    AddProcess(42, 1, "/tmp/k/payload", "payload", {"/tmp/k/payload", "-x"}, "/tmp/k/payload -x");
  }
  static DecoderOptions Options() {
    DecoderOptions o;
    o.boot_wall_ns = 1'700'000'000'000'000'000;
    o.resolve_user_names = false;
    o.ignore_paths = {"/var/lib/ignored"};
    return o;
  }
  kestrel_auditd Record(uint32_t syscall, std::initializer_list<uint64_t> args, int64_t ret) {
    kestrel_auditd r;
    std::memset(&r, 0, sizeof(r));
    ebpf_test::FillHeader(
        &r.h, KESTREL_AUDITD,
        {.pid = 42, .ppid = 1, .uid = 1000, .boot_ns = 7'000'000'000, .comm = "renamed"});
    r.syscall = syscall;
    size_t i = 0;
    for (uint64_t a : args) r.args[i++] = a;
    r.ret = ret;
    return r;
  }
  RecordDecoder::Outcome Decode(const kestrel_auditd& r, size_t size = sizeof(kestrel_auditd)) {
    why_.clear();
    return decoder_.Decode(ebpf_test::RecordBytes(r, size), &event_, &why_);
  }
  std::string Get(std::string_view field) { return FieldText(field); }
};

TEST_F(AuditdCompatTest, PrctlSetNameIsAProcessInfoEventWithoutAction) {
  kestrel_auditd r = Record(KSYS_PRCTL, {15, 0x7ffc8e2a1000, 0, 0}, 0);
  ASSERT_EQ(Decode(r), RecordDecoder::Outcome::kEvent) << why_;
  EXPECT_EQ(Get("event.category"), "process");
  EXPECT_EQ(Get("event.type"), "info");
  EXPECT_EQ(Get("event.action"), "<missing>");
  EXPECT_EQ(Get("auditd.data.syscall"), "prctl");
  EXPECT_EQ(Get("auditd.data.arch"), "x86_64");
  EXPECT_EQ(Get("auditd.data.a0"), "f");
  EXPECT_EQ(Get("auditd.data.a1"), "7ffc8e2a1000");
  EXPECT_EQ(Get("auditd.data.a2"), "0");
  EXPECT_EQ(Get("auditd.data.exit"), "0");
  EXPECT_EQ(Get("auditd.result"), "success");
  EXPECT_EQ(Get("event.outcome"), "success");
  // The acting process as on every live event: the executable, not the new comm.
  EXPECT_EQ(Get("process.executable"), "/tmp/k/payload");
  EXPECT_EQ(Get("process.name"), "payload");
  EXPECT_EQ(Get("process.pid"), "42");
  EXPECT_EQ(Get("user.id"), "1000");
  EXPECT_EQ(Get("file.path"), "<missing>");
}

TEST_F(AuditdCompatTest, RealTimeSignalsAreKilledPidWithTheSignalInHex) {
  kestrel_auditd r = Record(KSYS_KILL, {4242, 40, 0, 0}, 0);
  ASSERT_EQ(Decode(r), RecordDecoder::Outcome::kEvent) << why_;
  EXPECT_EQ(Get("event.category"), "process");
  EXPECT_EQ(Get("event.type"), "end");
  EXPECT_EQ(Get("event.action"), "killed-pid");
  EXPECT_EQ(Get("auditd.data.syscall"), "kill");
  EXPECT_EQ(Get("auditd.data.a0"), "1092");
  EXPECT_EQ(Get("auditd.data.a1"), "28");  // 40: the rule's "21".."47" range

  r = Record(KSYS_TGKILL, {4242, 4243, 64, 0}, -3);  // ESRCH
  ASSERT_EQ(Decode(r), RecordDecoder::Outcome::kEvent) << why_;
  EXPECT_EQ(Get("event.action"), "killed-pid");
  EXPECT_EQ(Get("auditd.data.syscall"), "tgkill");
  EXPECT_EQ(Get("auditd.data.a2"), "40");
  EXPECT_EQ(Get("auditd.data.exit"), "-3");
  EXPECT_EQ(Get("auditd.result"), "fail");
  EXPECT_EQ(Get("event.outcome"), "failure");

  r = Record(KSYS_TKILL, {4243, 33, 0, 0}, 0);
  ASSERT_EQ(Decode(r), RecordDecoder::Outcome::kEvent) << why_;
  EXPECT_EQ(Get("auditd.data.syscall"), "tkill");
  EXPECT_EQ(Get("auditd.data.a1"), "21");
}

TEST_F(AuditdCompatTest, MprotectRwxHasA2Seven) {
  kestrel_auditd r = Record(KSYS_MPROTECT, {0x7f3a5c000000, 0x1000, 7, 0}, 0);
  ASSERT_EQ(Decode(r), RecordDecoder::Outcome::kEvent) << why_;
  EXPECT_EQ(Get("event.category"), "process");
  EXPECT_EQ(Get("event.type"), "info");
  EXPECT_EQ(Get("event.action"), "<missing>");
  EXPECT_EQ(Get("auditd.data.syscall"), "mprotect");
  EXPECT_EQ(Get("auditd.data.a0"), "7f3a5c000000");
  EXPECT_EQ(Get("auditd.data.a1"), "1000");
  EXPECT_EQ(Get("auditd.data.a2"), "7");
}

TEST_F(AuditdCompatTest, OpenWithMode0666IsOpenedFileWithThePathAsPassed) {
  kestrel_auditd r = Record(KSYS_OPEN, {0x55d0c0de0000, 0, 0666, 0}, 3);
  r.path_len = Components(r.path, {"route", "net", "/proc"});
  ASSERT_EQ(Decode(r, offsetof(kestrel_auditd, path) + r.path_len), RecordDecoder::Outcome::kEvent)
      << why_;  // a compact record, as the kernel copies it
  EXPECT_EQ(Get("event.category"), "file");
  EXPECT_EQ(Get("event.type"), "info");
  EXPECT_EQ(Get("event.action"), "opened-file");
  EXPECT_EQ(Get("auditd.data.syscall"), "open");
  EXPECT_EQ(Get("auditd.data.a1"), "0");  // O_RDONLY
  EXPECT_EQ(Get("auditd.data.a2"), "1b6");
  EXPECT_EQ(Get("auditd.data.exit"), "3");
  EXPECT_EQ(Get("file.path"), "/proc/net/route");  // not resolved to /proc/self/net
  EXPECT_EQ(Get("file.name"), "<missing>");        // auditd_manager fills file.path only

  r = Record(KSYS_OPEN, {0x55d0c0de0000, 0, 0666, 0}, -2);  // ENOENT: reported, as auditd does
  r.path_len = Components(r.path, {"ipv6_route", "net", "/proc"});
  ASSERT_EQ(Decode(r), RecordDecoder::Outcome::kEvent) << why_;
  EXPECT_EQ(Get("file.path"), "/proc/net/ipv6_route");
  EXPECT_EQ(Get("auditd.result"), "fail");
  EXPECT_EQ(Get("auditd.data.exit"), "-2");

  r.path_len = Components(r.path, {"x", "ignored", "lib", "var", "/"});
  EXPECT_EQ(Decode(r), RecordDecoder::Outcome::kSkipped);  // --ignore-path applies
}

TEST_F(AuditdCompatTest, ModuleLoadsAreDriverLoadedKernelModule) {
  for (uint32_t sys : {uint32_t{KSYS_INIT_MODULE}, uint32_t{KSYS_FINIT_MODULE}}) {
    kestrel_auditd r = Record(sys, {3, 0, 0, 0}, -1);  // EPERM
    ASSERT_EQ(Decode(r), RecordDecoder::Outcome::kEvent) << why_;
    EXPECT_EQ(Get("event.category"), "driver");
    EXPECT_EQ(Get("event.type"), "start");
    EXPECT_EQ(Get("event.action"), "loaded-kernel-module");
    EXPECT_EQ(Get("auditd.data.syscall"), sys == KSYS_INIT_MODULE ? "init_module" : "finit_module");
    EXPECT_EQ(Get("auditd.result"), "fail");
    EXPECT_EQ(Get("event.outcome"), "failure");
    EXPECT_EQ(Get("user.id"), "1000");
  }
}

TEST_F(AuditdCompatTest, ShortAndUnknownRecordsAreMalformedWithAReason) {
  kestrel_auditd r = Record(KSYS_KILL, {1, 40, 0, 0}, 0);
  EXPECT_EQ(Decode(r, offsetof(kestrel_auditd, args)), RecordDecoder::Outcome::kMalformed);
  EXPECT_NE(why_.find("expected at least"), std::string::npos) << why_;
  r.syscall = 59;  // execve: not an auditd-compatible syscall
  EXPECT_EQ(Decode(r), RecordDecoder::Outcome::kMalformed);
  EXPECT_NE(why_.find("unknown syscall 59"), std::string::npos) << why_;
}

TEST(AuditdCompat, ArgumentFilterMatchesTheKernels) {
  auto wanted = [](uint32_t sys, uint64_t a0, uint64_t a1, uint64_t a2) {
    const uint64_t args[4] = {a0, a1, a2, 0};
    return AuditdArgsWanted(sys, args);
  };
  EXPECT_TRUE(wanted(KSYS_PRCTL, 15, 0, 0));   // PR_SET_NAME
  EXPECT_FALSE(wanted(KSYS_PRCTL, 16, 0, 0));  // PR_GET_NAME
  EXPECT_TRUE(wanted(KSYS_KILL, 1, 32, 0));
  EXPECT_TRUE(wanted(KSYS_KILL, 1, 64, 0));
  EXPECT_FALSE(wanted(KSYS_KILL, 1, 15, 0));  // SIGTERM
  EXPECT_FALSE(wanted(KSYS_KILL, 1, 0, 0));   // existence probe
  EXPECT_FALSE(wanted(KSYS_KILL, 1, 65, 0));
  EXPECT_TRUE(wanted(KSYS_TKILL, 1, 40, 0));
  EXPECT_TRUE(wanted(KSYS_TGKILL, 1, 2, 40));
  EXPECT_FALSE(wanted(KSYS_TGKILL, 1, 40, 9));
  EXPECT_TRUE(wanted(KSYS_MPROTECT, 0, 4096, 7));
  EXPECT_TRUE(wanted(KSYS_MPROTECT, 0, 4096, 6));   // W+X without R
  EXPECT_FALSE(wanted(KSYS_MPROTECT, 0, 4096, 5));  // R+X: what the loader does
  EXPECT_FALSE(wanted(KSYS_MPROTECT, 0, 4096, 3));  // R+W
  EXPECT_TRUE(wanted(KSYS_OPEN, 0, 0, 0666));
  EXPECT_FALSE(wanted(KSYS_OPEN, 0, 0101, 0644));
  EXPECT_FALSE(wanted(KSYS_OPEN, 0, 0, 0));
  EXPECT_TRUE(wanted(KSYS_FINIT_MODULE, 3, 0, 0));
  EXPECT_TRUE(wanted(KSYS_INIT_MODULE, 0, 0, 0));
  EXPECT_FALSE(wanted(KSYS_OPENAT, 0, 0, 0666));  // openat is never auditd-compatible here
  for (const AuditdSyscall& s : AuditdSyscalls()) {
    EXPECT_EQ(FindAuditdSyscall(s.number), &s);
    EXPECT_EQ(Kind(s.kind).constants[0].value, s.name) << s.name;
  }
  EXPECT_EQ(FindAuditdSyscall(KSYS_OPENAT), nullptr);
}

TEST(AuditdCompat, ArgumentsAreLowercaseHexWithoutPrefix) {
  char buf[16];
  EXPECT_EQ(AuditdHex(0, buf), "0");
  EXPECT_EQ(AuditdHex(15, buf), "f");
  EXPECT_EQ(AuditdHex(0666, buf), "1b6");
  EXPECT_EQ(AuditdHex(0x7ffc8e2a1000, buf), "7ffc8e2a1000");
  EXPECT_EQ(AuditdHex(~uint64_t{0}, buf), "ffffffffffffffff");
  EXPECT_EQ(AuditdHex(static_cast<uint64_t>(int64_t{-100}), buf), "ffffffffffffff9c");
}

// sys_enter (bpf/kestrel.bpf.c) runs the DNS filter (kestrel_dns.bpf.h) on every sendto, sendmsg
// and sendmmsg: an auditd-compatible syscall among them would lose its calls to other ports.
TEST(AuditdCompat, NoAuditdSyscallIsADnsSend) {
  for (const AuditdSyscall& s : AuditdSyscalls()) {
    EXPECT_NE(s.number, static_cast<uint32_t>(KSYS_SENDTO)) << s.name;
    EXPECT_NE(s.number, static_cast<uint32_t>(KSYS_SENDMSG)) << s.name;
    EXPECT_NE(s.number, static_cast<uint32_t>(KSYS_SENDMMSG)) << s.name;
  }
}

}  // namespace
}  // namespace kestrel::sources::ebpf
