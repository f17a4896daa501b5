// SPDX-License-Identifier: GPL-2.0
/* Kestrel's BPF-LSM blocking programs (docs/blocking.md, "BPF-LSM path"): a separate object
 * from kestrel.bpf.c, so a kernel that refuses LSM programs never affects collection.
 *
 *   lsm/bprm_check_security  an execve of a file in deny_exec_inodes fails with EPERM;
 *   lsm/mmap_file            so does mapping it executable (PROT_EXEC) from another program:
 *                            the dynamic loader run directly (`ld-linux-x86-64.so.2
 *                            /blocked/prog`) maps the program instead of exec'ing it (the ELF
 *                            loader mapping the program of an allowed exec is not judged again);
 *   lsm/file_open            an open of a file in deny_open_inodes fails with EPERM.
 *
 * Files are matched by (device, inode) as user space stat'ed them, never by name or comm.
 * Processes whose tgid is in allow_tgids (Kestrel, PID 1, ...) are never denied. In dry run
 * (lsm_config.enforce == 0) the decision is recorded and the access allowed. Every decision is
 * written to the `decisions` ring buffer (no wakeup: user space drains it every few ms); a
 * record that does not fit is counted. The path is not read in the kernel: user space knows the
 * path of every inode it put in a map (the rule index comes back in the record).
 * Cost per exec/open of a file not in the maps: two reads of the inode and one hash lookup. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kestrel_lsm_records.h"

char LICENSE[] SEC("license") = "GPL";

#define EPERM 1
#define PROT_EXEC 0x4

#ifdef KESTREL_LSM_AS_RAW_TP
/* The same code built as raw tracepoint programs, never attached (kestrel_lsm_raw_tp.bpf.o):
 * where the kernel refuses LSM programs before verifying them, loading this object still runs
 * the verifier over every instruction (sources/ebpf/lsm_program.h, VerifyLsmCode). */
#define KESTREL_LSM_SEC(hook) SEC("raw_tp/" hook)
#else
#define KESTREL_LSM_SEC(hook) SEC("lsm/" hook)
#endif

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, KESTREL_LSM_MAX_INODES);
  __type(key, struct kestrel_lsm_key);
  __type(value, struct kestrel_lsm_value);
} deny_exec_inodes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, KESTREL_LSM_MAX_INODES);
  __type(key, struct kestrel_lsm_key);
  __type(value, struct kestrel_lsm_value);
} deny_open_inodes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, KESTREL_LSM_MAX_PIDS);
  __type(key, __u32);
  __type(value, __u8);
} allow_tgids SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct kestrel_lsm_config);
} lsm_config SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, KESTREL_LSM_CTR_N);
  __type(key, __u32);
  __type(value, __u64);
} lsm_counters SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 256 << 10); /* 40-byte records */
} decisions SEC(".maps");

static __always_inline void count(__u32 which) {
  __u64* v = bpf_map_lookup_elem(&lsm_counters, &which);
  if (v) *v += 1;
}

/* -EPERM as the verifier can bound it: kernels that check an LSM program's return value (it must
 * lie in [-MAX_ERRNO, 0]) and do not track the range of a negation (BPF_NEG) would refuse the
 * `-(deny)` clang emits for `deny ? -EPERM : 0`. The volatile asm is not speculated out of its
 * branch, so each exit moves a constant into r0. */
static __always_inline int eperm(void) {
  int rc;
  asm volatile("%[rc] = -1" : [rc] "=r"(rc)); /* -EPERM */
  return rc;
}

/* 1 to deny the file `*key` (hook `hook`) when it is in `map` and enforcing, else 0. Records
 * the decision (deny or would-deny) unless the process is allow-listed. */
static __always_inline int judge_key(void* map, struct kestrel_lsm_key* key, __u8 hook) {
  struct kestrel_lsm_key k = *key;
  struct kestrel_lsm_value* v = bpf_map_lookup_elem(map, &k);
  if (!v) return 0;
  __u64 id = bpf_get_current_pid_tgid();
  __u32 tgid = id >> 32;
  if (bpf_map_lookup_elem(&allow_tgids, &tgid)) {
    count(KESTREL_LSM_CTR_ALLOWLISTED);
    return 0;
  }
  __u32 zero = 0;
  struct kestrel_lsm_config* c = bpf_map_lookup_elem(&lsm_config, &zero);
  __u8 deny = c && c->enforce;
  count(deny ? KESTREL_LSM_CTR_DENIED : KESTREL_LSM_CTR_WOULD_DENY);
  struct kestrel_lsm_decision* d = bpf_ringbuf_reserve(&decisions, sizeof(*d), 0);
  if (d) {
    d->boot_ns = bpf_ktime_get_boot_ns();
    d->ino = k.ino;
    d->dev = k.dev;
    d->pid = (__u32)id;
    d->tgid = tgid;
    d->uid = (__u32)bpf_get_current_uid_gid();
    d->rule = v->rule;
    d->hook = hook;
    d->denied = deny;
    d->pad = 0;
    bpf_ringbuf_submit(d, BPF_RB_NO_WAKEUP);
  } else {
    count(KESTREL_LSM_CTR_DROPS);
  }
  return deny;
}

/* 1 to deny `file` (hook `hook`) when it is in `map` and enforcing, else 0. */
static __always_inline int judge(void* map, struct file* file, __u8 hook) {
  struct kestrel_lsm_key k = {};
  struct inode* inode = BPF_CORE_READ(file, f_inode);
  if (!inode) return 0;
  k.ino = BPF_CORE_READ(inode, i_ino);
  k.dev = BPF_CORE_READ(inode, i_sb, s_dev);
  return judge_key(map, &k, hook);
}

KESTREL_LSM_SEC("bprm_check_security")
int BPF_PROG(kestrel_lsm_exec, struct linux_binprm* bprm, int ret) {
  /* ret: an earlier BPF program's verdict. The trampoline stops at the first non-zero one, so it
   * is 0 here; should it not be, stay denied (with a constant the verifier can bound). */
  if (ret != 0) return eperm();
  return judge(&deny_exec_inodes, BPF_CORE_READ(bprm, file), KESTREL_LSM_EXEC) ? eperm() : 0;
}

KESTREL_LSM_SEC("mmap_file")
int BPF_PROG(kestrel_lsm_mmap, struct file* file, unsigned long reqprot, unsigned long prot,
             unsigned long flags, int ret) {
  if (ret != 0) return eperm();
  if (!file || !(prot & PROT_EXEC)) return 0;
  /* A process mapping its own executable: the kernel's ELF loader during an execve that
   * bprm_check_security already judged (and recorded, in dry run). Not a second decision. */
  struct task_struct* task = (struct task_struct*)bpf_get_current_task();
  struct inode* exe = BPF_CORE_READ(task, mm, exe_file, f_inode);
  if (exe && exe == BPF_CORE_READ(file, f_inode)) return 0;
  return judge(&deny_exec_inodes, file, KESTREL_LSM_MMAP) ? eperm() : 0;
}

KESTREL_LSM_SEC("file_open")
int BPF_PROG(kestrel_lsm_open, struct file* file, int ret) {
  if (ret != 0) return eperm();
  return judge(&deny_open_inodes, file, KESTREL_LSM_OPEN) ? eperm() : 0;
}

#ifdef KESTREL_LSM_AS_RAW_TP
/* The raw tracepoint build only, run by BPF_PROG_TEST_RUN (LsmProgram::JudgeForTest): judges a
 * file given by its key as `hook` would, from the map lookup on (the allow-list, the mode, the
 * decision record, the counters), in the calling process. ctx: ino, dev, hook. */
SEC("raw_tp/kestrel_lsm_judge_key")
int BPF_PROG(kestrel_lsm_judge_key, __u64 ino, __u64 dev, __u64 hook) {
  struct kestrel_lsm_key k = {};
  k.ino = ino;
  k.dev = (__u32)dev;
  if (hook == KESTREL_LSM_OPEN) {
    return judge_key(&deny_open_inodes, &k, KESTREL_LSM_OPEN) ? eperm() : 0;
  }
  return judge_key(&deny_exec_inodes, &k, (__u8)hook) ? eperm() : 0;
}
#endif
