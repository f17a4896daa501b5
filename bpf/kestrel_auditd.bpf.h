/* auditd-compatible syscall records (kestrel_auditd_records.h), included by kestrel.bpf.c after
 * its helpers (fill_header, record_buf, at_path, submit). sys_enter keeps a call's arguments only
 * when auditd_args_wanted() holds for it (or the call is also wanted for a Defend-shaped event);
 * sys_exit then writes one struct kestrel_auditd with the return value. The filters are on the
 * syscall number first (the `wanted` array lookup every syscall already pays) and then on the
 * arguments, so an mprotect without PROT_WRITE|PROT_EXEC or a kill with an ordinary signal costs
 * one argument test and no map update. Mirrored in user space by AuditdArgsWanted
 * (sources/ebpf/auditd_compat.h); docs/collection.md lists what each record becomes. */
#ifndef KESTREL_AUDITD_BPF_H_
#define KESTREL_AUDITD_BPF_H_

/* Whether the call with arguments a0..a3 is one the auditd-compatible records report. */
static __always_inline int auditd_args_wanted(long id, const __u64* a) {
  switch (id) {
    case KSYS_PRCTL:
      return a[0] == KESTREL_PR_SET_NAME;
    case KSYS_KILL:
    case KSYS_TKILL:
      return (int)a[1] >= KESTREL_SIGRTMIN && (int)a[1] <= KESTREL_SIGRTMAX;
    case KSYS_TGKILL:
      return (int)a[2] >= KESTREL_SIGRTMIN && (int)a[2] <= KESTREL_SIGRTMAX;
    case KSYS_MPROTECT:
      return (a[2] & KESTREL_PROT_WX) == KESTREL_PROT_WX;
    case KSYS_OPEN:
      return a[2] == KESTREL_OPEN_MODE_0666;
    case KSYS_INIT_MODULE:
    case KSYS_FINIT_MODULE:
      return 1;
    default:
      return 0;
  }
}

/* At sys_enter of a syscall wanted only for these records: the one register its filter tests,
 * read alone (reading all four costs ~100 ns more per call that is then dropped). */
static __always_inline int auditd_enter_wanted(long id, struct pt_regs* regs) {
  __u64 a[4] = {};
  switch (id) {
    case KSYS_PRCTL:
      a[0] = BPF_CORE_READ(regs, di);
      break;
    case KSYS_KILL:
    case KSYS_TKILL:
      a[1] = BPF_CORE_READ(regs, si);
      break;
    default: /* tgkill, mprotect, open: the third argument */
      a[2] = BPF_CORE_READ(regs, dx);
      break;
  }
  return auditd_args_wanted(id, a);
}

static __noinline int emit_auditd(struct task_struct* task, struct enter_args* a, long ret) {
  struct kestrel_auditd* e = record_buf();
  if (!e) return 0;
  fill_header(&e->h, KESTREL_AUDITD, task);
  e->syscall = a->id;
  e->ret = ret;
  e->args[0] = a->a[0];
  e->args[1] = a->a[1];
  e->args[2] = a->a[2];
  e->args[3] = a->a[3];
  e->path_len = 0;
  if (a->id == KSYS_OPEN) {
    /* The path as passed (auditd's PATH record name), made absolute: read at sys_exit, when
     * the call has faulted the page in. */
    __u32 flags = at_path(task, AT_FDCWD, (const char*)a->a[0], e->path, &e->path_len);
    if (flags & KESTREL_F_IGNORED) return 0;
    e->h.flags |= flags;
  }
  submit(e, offsetof(struct kestrel_auditd, path) + e->path_len, sizeof(*e));
  return 0;
}

#endif /* KESTREL_AUDITD_BPF_H_ */
