// FanotifyGuard: holds execs and opens on one filesystem (or mount) with fanotify permission
// events (FAN_CLASS_CONTENT; FAN_OPEN_EXEC_PERM, and FAN_OPEN_PERM when a block rule judges
// opens or the loader bypass must be closed) and answers each with the verdict of the `block`
// rules (guard.h). Linux only.
//
// Threads and the answer path:
//   judges     (one per evaluator, each owning it) read permission events from the one fanotify
//              fd and judge them themselves: an allow-listed pid is allowed at once; any other
//              access takes a slot (deadline = now + budget), is evaluated and answered. No
//              hand-off between threads on the answer path: each wake-up costs tens of µs on a
//              busy machine, and the process waits for all of them. With no free slot the access
//              is allowed at once (overload, counted);
//   watchdog   while accesses come, checks a few times per budget: answers allow for every slot
//              past its deadline (timeout, counted) and, when every judge has been on one access
//              for more than a quarter of the budget (a hung judge), reads the fanotify fd itself
//              and allows what it finds unjudged (overload, counted), so no access waits for it.
//              It sleeps a second after the last access and is woken by the next one;
//   reporter   hands verdicts to the caller's callback (alerts), off the answer path.
// Exactly one answer is written per event: whoever moves the slot from pending to answering
// writes it; the judge closes the event's fd (and frees the slot) only once it is answered, so
// an fd number is never reused while an answer for it may still be written.
// Failure: every path answers (allow on timeout, overload, error, shutdown); Stop() answers all
// held events and then closes the fanotify fd, at which point the kernel allows any event not
// yet read. If the process dies (even by SIGKILL), the kernel closes the fd and allows too.
// Never open a file on the marked filesystem from a guard thread: it may be the one that would
// have to answer it. A forked child inherits the fanotify fd until it execs (the fd is
// close-on-exec): a child that keeps it keeps the group, and its held accesses, alive after
// Stop(); children must close it (close_range) first.
//
// Thread safety: Start/Stop from one thread; counters() and Feed() from any. Tested by
// fanotify_guard_test.cc (root; skipped with the reason when the kernel lacks fanotify
// permission events).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/actions/blocking/guard.h"

namespace kestrel::actions::blocking {

enum class MarkType : uint8_t { kFilesystem, kMount };

struct FanotifyGuardOptions {
  EnforceMode mode = EnforceMode::kDryRun;  // kOff: do not start a guard at all
  std::string mark_path = "/";              // a path on the filesystem (or mount) to guard
  MarkType mark_type = MarkType::kFilesystem;
  int64_t budget_ns = 5'000'000;  // per held access, from when it is read
  size_t max_pending = 256;       // accesses held at once (slots); more are allowed unevaluated
  bool loader_check = true;       // FAN_OPEN_PERM for opens by the dynamic loader (guard.h)
  // SCHED_FIFO priority of the judges and the watchdog (0: leave them at normal scheduling).
  // Each access waits for a judge's wake-up: on busy CPUs a normal thread waits for its turn
  // (p99 ~1 ms measured), a real-time one does not. Failing to set it (no CAP_SYS_NICE) is
  // reported by realtime_error() and otherwise harmless.
  int rt_priority = 0;
  AllowList allow;
  // Sequence-aware blocking: called before each held access is judged (after it was read), to
  // bring the stream's earlier events into the evaluator (through Feed()) first; it must return
  // by `deadline_ns` (steady clock), having fed what it could. E.g. the live source drains its
  // ring buffer up to now (cli/blocking.h). Optional.
  std::function<void(int64_t deadline_ns)> catch_up;
  // Test hook (fault injection): called by a judge before it evaluates a request.
  std::function<void(const AccessRequest&)> before_evaluate;
};

struct GuardCounters {
  std::atomic<uint64_t> requests{0};     // permission events read
  std::atomic<uint64_t> allowlisted{0};  // allowed without evaluation (pid or path allow-list)
  std::atomic<uint64_t> allowed{0};      // evaluated, no block rule matched
  std::atomic<uint64_t> denied{0};
  std::atomic<uint64_t> would_deny{0};  // dry-run
  std::atomic<uint64_t> timeouts{0};    // failed open: past the budget
  std::atomic<uint64_t> overloads{0};   // failed open: no free slot
  std::atomic<uint64_t> errors{0};      // failed open: internal error (e.g. no path)
  std::atomic<uint64_t> shutdown{0};    // allowed because the guard stopped while held
  std::atomic<uint64_t> write_errors{0};
  std::atomic<uint64_t> unreported{0};  // verdicts dropped because the report queue was full
  std::atomic<uint64_t> fed{0};         // stream events observed (sequence-aware blocking)
  std::atomic<uint64_t> feed_drops{0};  // stream events dropped: the feed queue was full
};

// OK when this kernel lets this process hold execs with fanotify permission events; otherwise
// the reason (no CAP_SYS_ADMIN, fanotify or FAN_OPEN_EXEC_PERM not configured, ...).
absl::Status ProbeFanotifyPermissionEvents();

class FanotifyGuard {
 public:
  using ReportFn = std::function<void(Verdict&)>;

  // Marks options.mark_path and starts the threads. `evaluators`: one per judge thread (at
  // least one). `report` is called on the reporter thread. Errors: fanotify_init/fanotify_mark
  // failures, with the reason.
  static absl::StatusOr<std::unique_ptr<FanotifyGuard>> Start(
      FanotifyGuardOptions options, std::vector<std::unique_ptr<GuardEvaluator>> evaluators,
      ReportFn report);
  ~FanotifyGuard();  // Stop()

  // Answers every held access (allow), stops the threads, reports what is queued, closes the
  // fanotify fd (the kernel allows what was never read). Idempotent.
  void Stop();

  // Sequence-aware blocking: hands a stream event to the judge's evaluator
  // (GuardEvaluator::Observe), before the next held access is judged. Copies the event; at most
  // 65,536 wait, more are dropped and counted (feed_drops). Any thread. REQUIRES: one judge
  // (one evaluator): each event reaches one of them.
  void Feed(const event::Event& event);

  const GuardCounters& counters() const { return counters_; }
  // Why the threads could not be given options.rt_priority ("" when they were, or not asked).
  const std::string& realtime_error() const { return realtime_error_; }
  uint64_t mask() const { return mask_; }  // the fanotify events marked

 private:
  struct Impl;
  FanotifyGuard() = default;
  std::unique_ptr<Impl> impl_;
  GuardCounters counters_;
  uint64_t mask_ = 0;
  std::string realtime_error_;
};

}  // namespace kestrel::actions::blocking
