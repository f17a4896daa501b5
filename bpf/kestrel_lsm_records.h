/* The contract between bpf/kestrel_lsm.bpf.c (the BPF-LSM blocking programs) and user space
 * (sources/ebpf/lsm_program.cc): map keys and values and the decision record. Plain C,
 * fixed-size types, included by both sides (the BPF side after vmlinux.h). Tested by
 * sources/ebpf/lsm_program_test.cc and actions/blocking/lsm_guard_test.cc. */
#ifndef KESTREL_BPF_LSM_RECORDS_H_
#define KESTREL_BPF_LSM_RECORDS_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KESTREL_LSM_MAX_INODES 4096 /* entries of each deny map */
#define KESTREL_LSM_MAX_PIDS 256    /* entries of the allow-listed tgid map */

/* A file, as the kernel names it: the key of deny_exec_inodes and deny_open_inodes, laid out
 * like kestrel.bpf.c's kill_inodes key. */
struct kestrel_lsm_key {
  __u64 ino;
  __u32 dev; /* the kernel's dev_t: MAJOR << 20 | MINOR (not the user-space st_dev encoding) */
  __u32 pad; /* 0 */
};

/* The value of a deny map: which rule put the file there (the caller's index). */
struct kestrel_lsm_value {
  __u32 rule;
  __u32 pad;
};

/* lsm_config[0]. */
struct kestrel_lsm_config {
  __u32 enforce; /* 1: deny (-EPERM); 0: dry run (record a would-deny, allow) */
  __u32 pad;
};

enum kestrel_lsm_hook {
  KESTREL_LSM_EXEC = 1, /* bprm_check_security: an execve of a deny_exec_inodes file */
  KESTREL_LSM_OPEN = 2, /* file_open: an open of a deny_open_inodes file */
  KESTREL_LSM_MMAP =
      3, /* mmap_file with PROT_EXEC of a deny_exec_inodes file (the loader bypass) */
};

/* Counters (per-CPU array `lsm_counters`). */
enum {
  KESTREL_LSM_CTR_DENIED = 0,
  KESTREL_LSM_CTR_WOULD_DENY = 1,
  KESTREL_LSM_CTR_ALLOWLISTED = 2, /* an allow-listed process touched a denied file */
  KESTREL_LSM_CTR_DROPS = 3,       /* decisions not reported: the ring buffer was full */
  KESTREL_LSM_CTR_N = 4
};

/* One decision (deny or would-deny), written to the `decisions` ring buffer. */
struct kestrel_lsm_decision {
  __u64 boot_ns; /* bpf_ktime_get_boot_ns() */
  __u64 ino;
  __u32 dev;
  __u32 pid;   /* thread id */
  __u32 tgid;  /* process id */
  __u32 uid;   /* real uid */
  __u32 rule;  /* kestrel_lsm_value.rule */
  __u8 hook;   /* enum kestrel_lsm_hook */
  __u8 denied; /* 1: -EPERM returned; 0: dry run, allowed */
  __u16 pad;
};

#endif /* KESTREL_BPF_LSM_RECORDS_H_ */
