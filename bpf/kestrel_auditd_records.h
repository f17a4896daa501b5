/* auditd-compatible syscall records (docs/collection.md "auditd-compatible syscall events"):
 * the syscalls Elastic's auditd_manager rules test by auditd.data.syscall and raw arguments,
 * written by bpf/kestrel_auditd.bpf.h beside Kestrel's Defend-shaped events and decoded by
 * sources/ebpf/auditd_compat.h. Included by kestrel_records.h; plain C, fixed-size types.
 * Tested by sources/ebpf/auditd_compat_test.cc (records built by hand) and
 * auditd_compat_live_test.cc. */
#ifndef KESTREL_BPF_AUDITD_RECORDS_H_
#define KESTREL_BPF_AUDITD_RECORDS_H_

/* struct kestrel_header.kind of an auditd-compatible record (kept apart from enum kestrel_kind's
 * small numbers). */
#define KESTREL_AUDITD 16

/* Bits of the `wanted` syscall array map's values: a syscall wanted for the Defend-shaped events
 * (kestrel.bpf.c), for the auditd-compatible records, or both. */
#define KESTREL_WANT_DEFEND 1u
#define KESTREL_WANT_AUDITD 2u

/* x86_64 syscall numbers used only by the auditd-compatible records (open, init_module and
 * finit_module are in enum kestrel_syscall). */
enum kestrel_auditd_syscall {
  KSYS_MPROTECT = 10,
  KSYS_KILL = 62,
  KSYS_PRCTL = 157,
  KSYS_TKILL = 200,
  KSYS_TGKILL = 234,
};

/* Argument filters, applied in the kernel at sys_enter (and mirrored by AuditdArgsWanted in user
 * space, for tests): only these calls become records. */
#define KESTREL_PR_SET_NAME 15 /* prctl option */
#define KESTREL_SIGRTMIN 32    /* kill/tkill/tgkill: real-time signals 32..64 only */
#define KESTREL_SIGRTMAX 64
#define KESTREL_PROT_WX 6           /* mprotect: PROT_WRITE | PROT_EXEC both requested */
#define KESTREL_OPEN_MODE_0666 0666 /* open: mode argument exactly 0666 (musl's fopen) */

struct kestrel_auditd {
  struct kestrel_header h;
  __u32 syscall;  /* x86_64 number */
  __u32 path_len; /* bytes used in path */
  __s64 ret;      /* the syscall's return value (negative errno on failure) */
  __u64 args[4];  /* raw registers a0..a3 at sys_enter */
  /* open: the path argument (leaf first like kestrel_file.path; made absolute with the cwd when
   * relative). Records are copied at the size they use: the decoder zero-pads. */
  char path[KESTREL_PATH_MAX];
};

#endif /* KESTREL_BPF_AUDITD_RECORDS_H_ */
