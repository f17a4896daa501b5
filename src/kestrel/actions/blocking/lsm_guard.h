// LsmGuard: the BPF-LSM blocking path (docs/blocking.md, "BPF-LSM path"). Block rules that name
// exact files (exact_paths.h: `process.executable == "/P"` / `in (...)`, `file.path == "/P"`)
// are enforced in the kernel by bpf/kestrel_lsm.bpf.c: each file is resolved into the (superblock
// device, inode) the kernel knows it by (sources/ebpf/file_key.h) and put in a deny map; an exec
// (bprm_check_security, and an executable mmap: the loader bypass) or an open (file_open) of it
// fails with EPERM before it happens, with no round trip to user space. The other block rules stay
// on the fanotify guard.
//
// Where the kernel refuses BPF-LSM programs (this machine: EPERM at load although `bpf` is in
// the LSM list), ProbeBpfLsm() says why and the caller uses fanotify for every block rule.
//
// Semantics by inode, fixed when the maps are filled (Start, Rearm): a path that does not exist
// then is not armed (unarmed(): keep its rule on fanotify); another link to the same inode is
// denied too; a file later replaced by a new inode at the same path (rename over it) is not
// denied until Rearm. Processes in the allow-list (Kestrel, PID 1, its ancestors) are never
// denied. Dry run: the kernel records a would-deny and allows.
//
// Threads: a drain thread reads the kernel's decisions every `poll_interval_ms` and hands each
// to `report` as a Verdict (deny / would-deny, the rule, an evidence event built like the
// fanotify guard's from the record and /proc), off any access path: reporting never delays an
// exec. Decisions the ring buffer could not hold are counted (counters().lost).
// Wiring (kestrel run): split the active rules, start the LSM guard where the probe succeeds,
// and give the fanotify guard the rest, including the rules with a path that was not armed:
//   BlockRuleSplit split = SplitBlockRules(active);
//   if (ProbeBpfLsm().ok() && (!split.exec.empty() || !split.open.empty())) {
//     auto lsm = LsmGuard::Start(schema, mode, split.exec, split.open,
//                                AllowList::ForThisProcess(paths).pids(), report);
//     for (size_t i : (*lsm)->UnarmedRules()) split.general.push_back(active[i]);
//   } else { every block rule goes to fanotify }
// Verdicts name the rule by its position in `active` (match->rule_id). Files under the
// allow-listed path prefixes (AllowList::AllowsPath) should be left out of split.exec/open.
// Thread safety: Start/Rearm/Stop/unarmed from one thread; counters() from any.
// Tested by lsm_guard_test.cc (map filling, reports and Rearm through a fake kernel side
// everywhere; the kernel's programs only where the probe succeeds, else skipped with its
// reason).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kestrel/actions/blocking/exact_paths.h"  // SplitBlockRules: which rules go here
#include "kestrel/actions/blocking/guard.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/ebpf/lsm_program.h"

namespace kestrel::actions::blocking {

// OK when this kernel loads and attaches the BPF-LSM programs for this process (they are
// detached again before it returns). Otherwise FAILED_PRECONDITION with the reason, e.g.
//   "bpf not in the active LSM list 'lockdown,capability,landlock': ..."
//   "BPF LSM program refused at load: Operation not permitted (bpf is in the active LSM list
//    'lockdown,capability,landlock,bpf', but this kernel refuses BPF LSM programs ...)".
absl::Status ProbeBpfLsm();

// The active LSMs, comma-separated, as the kernel lists them (/sys/kernel/security/lsm, or the
// lsm_list_modules system call when securityfs is not mounted); empty when neither answers.
std::string ActiveLsmList();

struct LsmCounters {
  std::atomic<uint64_t> denied{0};      // decisions reported: denied (enforce on)
  std::atomic<uint64_t> would_deny{0};  // decisions reported: dry run
  std::atomic<uint64_t> lost{0};        // decisions the kernel could not report (ring full)
  std::atomic<uint64_t> armed_exec{0};  // files in the exec deny map (last Start/Rearm)
  std::atomic<uint64_t> armed_open{0};  // files in the open deny map
};

// A path of an exact-path rule that is not enforced in the kernel, and why.
struct UnarmedPath {
  RulePath file;
  std::string reason;  // e.g. "No such file or directory", "the BPF LSM deny map is full"
};

class LsmGuard {
 public:
  using ReportFn = std::function<void(Verdict&)>;

  // Loads the programs (LsmProgram::Load), fills the maps with `exec` and `open` (RulePath::rule
  // comes back in the verdicts' match.rule_id), allow-lists `allow_pids`, sets `mode`, attaches,
  // and starts the drain thread. `report` runs on that thread. REQUIRES: mode is kDryRun or
  // kOn. Errors: the kernel refuses the programs (the probe's reason), or the allow-list does
  // not fit. A path that cannot be armed is not an error: see unarmed().
  static absl::StatusOr<std::unique_ptr<LsmGuard>> Start(schema::Schema& schema, EnforceMode mode,
                                                         std::vector<RulePath> exec,
                                                         std::vector<RulePath> open,
                                                         std::vector<int32_t> allow_pids,
                                                         ReportFn report);
  // The same over a given kernel side (tests use a fake LsmMaps).
  static absl::StatusOr<std::unique_ptr<LsmGuard>> StartWith(
      std::unique_ptr<sources::LsmMaps> kernel, schema::Schema& schema, EnforceMode mode,
      std::vector<RulePath> exec, std::vector<RulePath> open, std::vector<int32_t> allow_pids,
      ReportFn report, int poll_interval_ms = 10);
  ~LsmGuard();  // Stop()

  // Hot reload: replaces the denied files by `exec` and `open` (re-stat'ed now). New entries are
  // added before stale ones are removed, so a file denied before and after is never allowed in
  // between. Decisions already recorded keep their old rule index. Errors: a map operation the
  // kernel refused (the maps then hold a mix; Stop or Rearm again).
  absl::Status Rearm(std::vector<RulePath> exec, std::vector<RulePath> open);

  // Detaches the programs (nothing is denied any more), reports the decisions still queued,
  // stops the drain thread. Idempotent.
  void Stop();

  // The paths of the last Start/Rearm that are not enforced in the kernel.
  const std::vector<UnarmedPath>& unarmed() const { return unarmed_; }
  // Their rules (sorted, unique): keep these on the fanotify guard.
  std::vector<size_t> UnarmedRules() const;

  const LsmCounters& counters() const { return counters_; }
  EnforceMode mode() const { return mode_; }

 private:
  struct Impl;
  explicit LsmGuard(EnforceMode mode);
  EnforceMode mode_;
  std::unique_ptr<Impl> impl_;
  std::vector<UnarmedPath> unarmed_;
  LsmCounters counters_;
};

}  // namespace kestrel::actions::blocking
