// `kestrel run --enforce off|dry-run|on`: starts the blocking guard (actions/blocking) over the
// rules whose action is `block`, and turns its verdicts into alerts for the run's sink.
//
// The guard keeps its own copy of the block rules (the compiled programs are shared, so a hot
// reload that replaces the rule set does not pull them from under it); a reload does not change
// what the guard blocks until a restart (a warning says so). Builds without fanotify
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
#include "kestrel/cli/run_command.h"
#include "kestrel/engine/alert.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/schema/schema.h"

namespace kestrel::cli {

// The enforcement mode of this run: --enforce, else dry-run for the live source and off for
// files. Errors: INVALID_ARGUMENT for a bad name.
absl::StatusOr<actions::blocking::EnforceMode> RunEnforceMode(const RunOptions& options, bool live);

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

class BlockingGuard {
 public:
  // Called on the guard's reporter thread with each verdict's alert (event.action and
  // event.outcome set).
  using EmitFn = std::function<void(engine::Alert& alert)>;

  // `live`: the source is this machine (the default mode is then dry-run, else off).
  // nullptr when there is nothing to start (--enforce off, or no block rule, or a dry run on a
  // machine or build that cannot hold accesses: warned). Errors: a bad option (INVALID_ARGUMENT:
  // usage) or, with --enforce on, a guard that cannot start (FAILED_PRECONDITION).
  static absl::StatusOr<std::unique_ptr<BlockingGuard>> Start(
      const RunOptions& options, bool live, const std::vector<const rules::CompiledRule*>& active,
      schema::Schema& schema, EmitFn emit);
  ~BlockingGuard();

  // Answers what is held, reports every verdict, removes the mark. Idempotent.
  void Stop();
  // ", guard: ..." for the run's summary line.
  std::string Summary() const;

 private:
  struct Impl;
  explicit BlockingGuard(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kestrel::cli
