// `kestrel run --enforce off|dry-run|on`: starts the blocking guard (actions/blocking) over the
// rules whose action is `block`, and turns its verdicts into alerts for the run's sink.
//
// The guard keeps its own copy of the block rules (the compiled programs are shared, so a hot
// reload that replaces the rule set does not pull them from under it); Reload() re-arms it with
// the new set. Builds without fanotify
// (KESTREL_EBPF=OFF, not Linux) cannot block: with --enforce on and block rules that is an error,
// in dry-run a warning.
// Tested by blocking_test.sh (the binary end to end, root).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/actions/blocking/guard.h"
#include "kestrel/engine/alert.h"
#include "kestrel/pipeline/run_config.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/schema/schema.h"

namespace kestrel::sources {
class LsmMaps;  // sources/ebpf/lsm_program.h
}

namespace kestrel::pipeline {

// The enforcement mode of this run: --enforce, else dry-run for the live source and off for
// files. Errors: INVALID_ARGUMENT for a bad name.
absl::StatusOr<actions::blocking::EnforceMode> RunEnforceMode(const RunConfig& options, bool live);

// `kill` rules that can be enforced in the kernel at exec: one process stage whose condition is
// exactly `process.executable == "PATH"` or `process.executable in ("PATH", ...)` (compared with
// case). Their paths, for EbpfSource::ArmKill. Other kill rules are enforced after their alert
// (ApplyKill).
std::vector<std::string> KillAtExecPaths(const std::vector<const rules::CompiledRule*>& active);

// A `kill` rule's alert: in mode on with the live source, sends SIGKILL to the process of the
// match's last event (process.pid) and sets event.action "kill" (outcome success when the
// process is gone, failure with the reason logged otherwise); in dry-run (or on a file source,
// whose pids are not this machine's) "would-kill". No-op in mode off.
void ApplyKill(actions::blocking::EnforceMode mode, bool live, engine::Alert* alert);

struct BlockRule;

// For tests: the BPF-LSM path over a kernel side of the test's own (a fake LsmMaps), with the
// probe's answer given. Unset members: the real probe and programs.
struct LsmSeams {
  std::function<absl::Status()> probe;
  std::function<std::unique_ptr<sources::LsmMaps>()> kernel;
};

class BlockingGuard {
 public:
  // Called on the guard's reporter thread with each verdict's alert (event.action and
  // event.outcome set).
  using EmitFn = std::function<void(engine::Alert& alert)>;

  // `live`: the source is this machine (the default mode is then dry-run, else off).
  // `request_flush`: the live source's EbpfSource::RequestFlush, when there is one: a block
  // sequence's held access is then judged only once the stream has caught up with it (the
  // caller forwards the source's OnFlushed tickets to Flushed()); without it, an earlier stage
  // that the source has not delivered yet is missed.
  // nullptr with --enforce off. With no block rule the guard holds nothing until a reload arms
  // it. Errors: a bad option (INVALID_ARGUMENT: usage) or, with --enforce on, a guard that
  // cannot start (FAILED_PRECONDITION); in dry-run that is a warning.
  static absl::StatusOr<std::unique_ptr<BlockingGuard>> Start(
      const RunConfig& options, bool live, const std::vector<const rules::CompiledRule*>& active,
      schema::Schema& schema, EmitFn emit, std::function<void(uint64_t)> request_flush = {},
      LsmSeams lsm_seams = {});
  ~BlockingGuard();

  // Where the kernel loads BPF-LSM programs (actions/blocking/lsm_guard.h), the block rules that
  // name exact files are denied there, by inode, with no round trip; the others (and those
  // whose file does not exist yet) are judged by the fanotify guard. Elsewhere fanotify judges
  // them all.
  //
  // Hot reload: the block rules of `active` replace the armed ones. Unchanged (the same
  // programs): nothing happens, sequence state kept. Changed: a new fanotify guard is started
  // (and marked) before the old one stops, so no access passes unjudged meanwhile; the partial
  // matches of block sequences start over. On error (the new guard cannot start) the old rules
  // stay armed; the caller decides whether to refuse the reload.
  absl::Status Reload(const std::vector<const rules::CompiledRule*>& active);

  // Sequence-aware blocking: the run's events that may match an earlier stage of a block
  // sequence rule (by category) go to the guard, so a held access that completes the sequence
  // is denied. Cheap for other events (one mask test).
  void Observe(const event::Event& event) {
    if ((event.categories() & feed_categories_) != 0) Feed(event);
  }
  // The live source has delivered (and the run has observed) everything up to `ticket`.
  void Flushed(uint64_t ticket);

  // Answers what is held, reports every verdict, removes the mark. Idempotent.
  void Stop();
  size_t block_rules() const;  // armed now
  size_t lsm_rules() const;    // of those, denied in the kernel (BPF-LSM)
  // The guard's counters by name, summed over reloads (metrics: kestrel_guard_accesses_total);
  // empty while nothing was ever armed.
  std::vector<std::pair<std::string, uint64_t>> Counts() const;
  // ", guard: ..." for the run's summary line ("" while nothing was ever armed).
  std::string Summary() const;

 private:
  struct Impl;
  explicit BlockingGuard(std::unique_ptr<Impl> impl);
  void Feed(const event::Event& event);
  absl::Status Arm(std::vector<BlockRule>* rules);
  std::unique_ptr<Impl> impl_;
  uint64_t feed_categories_ = 0;  // categories of the block sequences' earlier stages
};

}  // namespace kestrel::pipeline
