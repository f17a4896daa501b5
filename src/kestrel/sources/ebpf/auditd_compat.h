// auditd-compatible syscall events: a few syscalls reported the way Elastic's auditd_manager
// integration (Auditbeat's auditd module: go-libaudit's auparse and aucoalesce, then the
// integration's ingest pipeline) shapes them, so that the Elastic rules written for it can fire on
// what the eBPF collector sees. They come in addition to Kestrel's Elastic Defend-shaped events,
// each syscall its own kind in the declaration (emitted.h): rules over Defend's event.action
// values never see them, and auditd rules never see Defend's events.
//
// Which calls (filtered in the kernel, bpf/kestrel_auditd.bpf.h, mirrored by AuditdArgsWanted):
//   prctl(PR_SET_NAME, ...)                       process / info / (no action)
//   kill, tkill, tgkill with a real-time signal    process / end / killed-pid
//     (32..64)
//   mprotect with PROT_WRITE and PROT_EXEC         process / info / (no action)
//   open (the x86_64 `open` syscall, not openat)   file / info / opened-file, file.path
//     with mode argument exactly 0666 (musl's fopen passes 0666 whatever the flags; glibc uses
//     openat, so ordinary opens never reach user space)
//   init_module, finit_module                      driver / start / loaded-kernel-module
// Every one, successful or not (auditd reports failures too; auditd.result says which).
//
// Values and their sources:
//   - event.category / event.type / event.action: go-libaudit aucoalesce/normalizations.yaml
//     (kill/tkill/tgkill: action killed-pid, ecs process/end; open: opened-file, file/info;
//     init_module/finit_module: loaded-kernel-module, driver/start; prctl and mprotect have no
//     normalization: the catch-all "*" gives process/info and an empty action, which the
//     integration's pipeline removes (it drops empty strings), so event.action is absent).
//   - auditd.data.syscall: the syscall's name (auparse setSyscallName, x86_64 table);
//     auditd.data.arch: "x86_64" (auparse arch()).
//   - auditd.data.a0..a3: the raw argument registers as the kernel's SYSCALL record prints them
//     (`a0=%lx`): lowercase hex, no 0x, the full 64-bit register (a negative int passed in a
//     register is whatever the caller left there; glibc sign-extends, so -1 is ffffffffffffffff).
//   - auditd.result: "success" / "fail" (auparse result()); event.outcome: "success" /
//     "failure" (Auditbeat, and the pipeline's fail -> failure).
//   - auditd.data.exit: the return value as a long. Auparse turns a negative one into an errno
//     name (ENOENT) and the pipeline then converts the field to long; what an index holds for a
//     failure is therefore unconfirmed. Kestrel keeps the number (-2).
//   - file.path (open): the path argument, made absolute with the cwd when relative, not
//     resolved (auditd's PATH record name; /proc/net/route stays /proc/net/route).
//   - The acting process and user (process.*, user.*, group.*) as on every live event
//     (kProcessFields), not Auditbeat's smaller set; host.*, agent.* likewise.
// Not reproduced: auditd.data.* beyond these (items, ses, tty, auid, ...), auditd.summary.*,
// auditd.paths, process.title, event.module/dataset (Kestrel's own), user.audit.*.
//
// Cost: the kernel tests the argument of a wanted syscall before storing anything, so an
// mprotect, kill or prctl that does not match costs the `wanted` lookup, four register reads and a
// compare (docs/benchmarks.md has the measured figure). Switch: EbpfOptions::auditd_compat
// (config `run.auditd_compat`, default true).
//
// Decoding (RecordDecoder::DecodeAuditd, defined in auditd_compat.cc): no allocation beyond the
// event's arena, field ids resolved once (AuditdFields). Thread safety: pure functions and
// constant tables. Tested by auditd_compat_test.cc (synthetic records) and
// auditd_compat_live_test.cc (root: the emulations through the kernel).
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/ebpf/emitted.h"

namespace kestrel::sources::ebpf {

// The syscalls of the auditd-compatible events, with the kind each becomes.
struct AuditdSyscall {
  uint32_t number;        // x86_64
  std::string_view name;  // auditd.data.syscall
  EmittedKindId kind;
};
std::span<const AuditdSyscall> AuditdSyscalls();

// The entry for syscall `number`, or nullptr when it is not one of AuditdSyscalls().
const AuditdSyscall* FindAuditdSyscall(uint32_t number);

// The kernel's argument filter (bpf/kestrel_auditd.bpf.h auditd_args_wanted), for tests and docs.
bool AuditdArgsWanted(uint32_t number, const uint64_t (&args)[4]);

// `v` as the kernel's audit record prints it (%lx): lowercase hex without 0x into `buf`.
std::string_view AuditdHex(uint64_t v, char (&buf)[16]);

// Field ids of the auditd fields, interned once.
struct AuditdFields {
  schema::FieldId a[4], exit, result;
  static AuditdFields For(schema::Schema& schema);
};

}  // namespace kestrel::sources::ebpf
