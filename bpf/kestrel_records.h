/* Records that bpf/kestrel.bpf.c writes to the ring buffer and sources/ebpf decodes: the one
 * contract between kernel and user space. Plain C, fixed-size types, included by both sides
 * (the BPF side after vmlinux.h; user space gets the __u32 types from <linux/types.h>). Every
 * record starts with struct kestrel_header; `kind` says which struct follows. Sizes are limits
 * documented in docs/collection.md: change both together. Tested by sources/ebpf/decoder_test.cc
 * (records built by hand) and ebpf_source_test.cc. */
#ifndef KESTREL_BPF_RECORDS_H_
#define KESTREL_BPF_RECORDS_H_

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define KESTREL_COMM_LEN 16
#define KESTREL_PATH_MAX 1024    /* bytes of one path (components, leaf first, NUL-separated) */
#define KESTREL_PATH_DEPTH 32    /* directory levels walked up from a dentry */
#define KESTREL_NAME_MAX 256     /* bytes of one path component, or of a syscall path argument */
#define KESTREL_ARGS_MAX 2048    /* bytes of argv (NUL-separated) kept per exec */
#define KESTREL_FILENAME_MAX 512 /* bytes of the exec filename (bprm->filename) */
#define KESTREL_ENV_MAX 8192     /* bytes of the environment (NUL-separated) kept per exec */

enum kestrel_kind {
  KESTREL_EXEC = 1,
  KESTREL_FORK = 2,
  KESTREL_EXIT = 3,
  KESTREL_FILE = 4,    /* open for write/create, sensitive read, unlink, rename, chmod, chown */
  KESTREL_NET = 5,     /* connect, accept, bind */
  KESTREL_SYSCALL = 6, /* ptrace, setuid family, setsid, memfd_create, module load */
  /* Made in user space, never by the kernel: one per process found in /proc at start
   * (a bare header; the decoder takes the rest from the process table). */
  KESTREL_ALREADY_RUNNING = 7,
  KESTREL_DNS = 9, /* a UDP datagram sent to port 53: struct kestrel_dns */
};

/* Syscall numbers of x86_64 (arch/x86/entry/syscalls/syscall_64.tbl). The programs are built
 * for x86_64 only; another architecture needs its own table here. */
enum kestrel_syscall {
  KSYS_OPEN = 2,
  KSYS_CONNECT = 42,
  KSYS_ACCEPT = 43,
  KSYS_SENDTO = 44,
  KSYS_SENDMSG = 46,
  KSYS_BIND = 49,
  KSYS_RENAME = 82,
  KSYS_CREAT = 85,
  KSYS_UNLINK = 87,
  KSYS_CHMOD = 90,
  KSYS_FCHMOD = 91,
  KSYS_CHOWN = 92,
  KSYS_FCHOWN = 93,
  KSYS_LCHOWN = 94,
  KSYS_PTRACE = 101,
  KSYS_SETUID = 105,
  KSYS_SETGID = 106,
  KSYS_SETSID = 112,
  KSYS_SETREUID = 113,
  KSYS_SETREGID = 114,
  KSYS_SETRESUID = 117,
  KSYS_SETRESGID = 119,
  KSYS_INIT_MODULE = 175,
  KSYS_OPENAT = 257,
  KSYS_FCHOWNAT = 260,
  KSYS_UNLINKAT = 263,
  KSYS_RENAMEAT = 264,
  KSYS_FCHMODAT = 268,
  KSYS_ACCEPT4 = 288,
  KSYS_SENDMMSG = 307,
  KSYS_FINIT_MODULE = 313,
  KSYS_RENAMEAT2 = 316,
  KSYS_MEMFD_CREATE = 319,
  KSYS_OPENAT2 = 437,
  KSYS_FCHMODAT2 = 452,
  KSYS_MAX = 512, /* size of the wanted-syscall array map */
};

/* File operations (struct kestrel_file.op). */
enum kestrel_file_op {
  KESTREL_FILE_CREATE = 1, /* open that created the file (FMODE_CREATED) */
  KESTREL_FILE_MODIFY = 2, /* open for writing of an existing file */
  KESTREL_FILE_READ = 3,   /* read-only open of a sensitive name */
  KESTREL_FILE_DELETE = 4,
  KESTREL_FILE_RENAME = 5,
  KESTREL_FILE_CHMOD = 6,
  KESTREL_FILE_CHOWN = 7,
};

/* Flags of struct kestrel_header.flags. */
#define KESTREL_F_PATH_TRUNCATED 1u /* a path hit KESTREL_PATH_DEPTH or KESTREL_PATH_MAX */
#define KESTREL_F_ARGS_TRUNCATED 2u /* argv longer than KESTREL_ARGS_MAX */
#define KESTREL_F_IGNORED 16u       /* in the kernel only: under an ignored directory, not sent */
#define KESTREL_F_READ_FAILED 4u    /* a user or kernel read failed: a string may be empty */
#define KESTREL_F_KILLED 8u         /* exec: killed by the kernel at exec (kill_inodes) */
#define KESTREL_F_EXE_PSEUDO 32u    /* exec: the image has no path (memfd, ...): exe is its name */
#define KESTREL_F_ENV_TRUNCATED 64u /* exec: environment longer than the env_max read */

struct kestrel_header {
  __u32 kind;    /* enum kestrel_kind */
  __u32 flags;   /* KESTREL_F_* */
  __u64 boot_ns; /* bpf_ktime_get_boot_ns() when the record was made */
  __u32 tgid;    /* process id */
  __u32 tid;     /* thread id */
  __u32 ppid;    /* real parent's tgid */
  __u32 uid, gid, euid, egid;
  __u32 sid;            /* session id (pid namespace of the init task) */
  __u32 pgid;           /* process group id */
  __u32 tty;            /* controlling terminal as major << 20 | minor; 0: none */
  __u64 start_boottime; /* task->start_boottime of the process (group leader), ns */
  char comm[KESTREL_COMM_LEN];
  __u64 cap_effective; /* cred->cap_effective, bit N = capability N */
  __u64 cap_permitted; /* cred->cap_permitted */
};

/* An exec record: the fixed part, then `data` holding, packed at their used lengths and in this
 * order, the filename (filename_len bytes, no NUL), the cwd (cwd_len), the image (exe_len),
 * argv (args_len) and the environment (env_len). The kernel copies, and the ring buffer
 * carries, only offsetof(data) + the five lengths (issue 21: the fixed arrays cost 2.5 KB per
 * exec). Each length is at most its part's maximum (KESTREL_FILENAME_MAX - 1, KESTREL_PATH_MAX,
 * KESTREL_PATH_MAX, KESTREL_ARGS_MAX, KESTREL_ENV_MAX); readers clamp them and cut every part at
 * the record's end. */
#define KESTREL_EXEC_DATA_MAX \
  (KESTREL_FILENAME_MAX + 2 * KESTREL_PATH_MAX + KESTREL_ARGS_MAX + KESTREL_ENV_MAX)
struct kestrel_exec {
  struct kestrel_header h;
  __u32 args_len;     /* bytes of argv */
  __u32 args_count;   /* NUL-terminated strings in argv (may be < argc when truncated) */
  __u32 argc;         /* bprm argc */
  __u32 cwd_len;      /* bytes of the cwd: leaf first, NUL-separated components */
  __u32 exe_len;      /* bytes of the image as the kernel sees it (mm->exe_file: the
                       * interpreter of a #! script, the target of a symlink, a memfd's
                       * "memfd:NAME" with KESTREL_F_EXE_PSEUDO), leaf first like cwd */
  __u32 env_len;      /* bytes of the environment (NUL-separated) */
  __u32 filename_len; /* bytes of the filename (bprm->filename), without its NUL */
  __u32 pad;
  char data[KESTREL_EXEC_DATA_MAX];
};

struct kestrel_fork {
  struct kestrel_header h; /* the parent (caller of fork/clone) */
  __u32 child_tgid;
  __u32 pad;
  __u64 child_start_boottime;
};

struct kestrel_exit {
  struct kestrel_header h;
  __s32 exit_code; /* task->exit_code: status << 8 | signal */
  __u32 pad;
};

struct kestrel_file {
  struct kestrel_header h;
  __u32 op;        /* enum kestrel_file_op */
  __u32 syscall;   /* enum kestrel_syscall */
  __s64 ret;       /* syscall return value */
  __u32 path_len;  /* bytes used in path */
  __u32 path2_len; /* bytes used in path2 (rename: the new name) */
  __u32 mode;      /* chmod: the mode; open: the flags */
  __u32 owner;     /* chown: uid */
  __u32 group;     /* chown: gid */
  __u32 pad;
  /* Leaf-first NUL-separated components (see docs/collection.md): the first one may be a
   * syscall's path argument (possibly with slashes), the rest directory names walked up from a
   * dentry. A component starting with '/' is the root end: nothing is prefixed to it. */
  char path[KESTREL_PATH_MAX];
  char path2[KESTREL_PATH_MAX];
};

struct kestrel_net {
  struct kestrel_header h;
  __u32 syscall;  /* connect, accept/accept4, bind */
  __u16 family;   /* AF_INET 2, AF_INET6 10 */
  __u16 protocol; /* IPPROTO_TCP 6, IPPROTO_UDP 17, other */
  __s64 ret;
  __u8 local_addr[16]; /* IPv4 in the first 4 bytes */
  __u8 remote_addr[16];
  __u16 local_port; /* host order */
  __u16 remote_port;
  __u32 pad;
};

struct kestrel_syscall_rec {
  struct kestrel_header h;
  __u32 syscall;
  __u32 pad;
  __s64 ret;
  /* Raw arguments (ptrace: request, pid, addr, data; setuid family: the ids; memfd_create:
   * name pointer, flags). */
  __u64 args[4];
  char name[KESTREL_NAME_MAX]; /* memfd_create: the name; finit_module: the file (leaf first) */
};

/* Bytes of a DNS datagram copied (the header, the question). */
#define KESTREL_DNS_PAYLOAD_MAX 256

/* A datagram sent on an AF_INET/AF_INET6 UDP socket to port 53 by sendto, sendmsg or sendmmsg
 * (one record per message, at most the first two of a sendmmsg); user space parses the query
 * (sources/ebpf/dns_parser.h). */
struct kestrel_dns {
  struct kestrel_header h;
  __u32 syscall; /* sendto, sendmsg, sendmmsg */
  __u16 family;  /* AF_INET 2, AF_INET6 10 */
  __u16 pad;
  __s64 ret;           /* the syscall's return value */
  __u8 local_addr[16]; /* IPv4 in the first 4 bytes; the socket's end after the send */
  __u8 remote_addr[16];
  __u16 local_port; /* host order */
  __u16 remote_port;
  __u32 payload_len; /* bytes copied into payload */
  __u32 sent_len;    /* bytes of the message (payload_len is at most KESTREL_DNS_PAYLOAD_MAX) */
  __u32 pad2;
  __u8 payload[KESTREL_DNS_PAYLOAD_MAX];
};

/* Configuration written by user space before attach (the .rodata / .bss of the program). */
#define KESTREL_IGNORE_COMM_MAX 64

#include "kestrel_auditd_records.h"

#endif /* KESTREL_BPF_RECORDS_H_ */
