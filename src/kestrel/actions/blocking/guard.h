// The blocking guard's policy, independent of the kernel mechanism that holds the access:
// enforcement modes, verdicts, the allow-list, and GuardEvaluator, which runs the rules whose
// action is `block` over one held access (an exec or an open) and says whether one matched.
//
// A held access becomes an ECS event like the eBPF source's (docs/collection.md), built from what
// the kernel tells at that moment (the path, the pid) and /proc:
//   exec: category process, event.type start, event.action exec, process.executable/name = the
//         program about to run, process.pid, process.parent.pid, user.id (the exec'ing process's
//         effective uid). The new arguments are not known yet: process.args is absent.
//   open: category file, event.type access, event.action open, file.path/name/directory/
//         extension, process.pid/executable/name (the opener), process.parent.pid, user.id.
// Loader bypass: an open by the dynamic loader (`ld-linux*.so*`, `ld.so`, `ld-musl*`) of a file
// is also evaluated as an exec of that file, so `/lib64/ld-linux-x86-64.so.2 /blocked/prog` is
// refused like `/blocked/prog` is.
//
// The parent and user fields (process.parent.pid, process.ppid, user.id, process.user.id) come
// from /proc/PID/status, the dearest read (~15 µs): it is made while the access is held only
// when a rule uses one of them (or an Endgame relation); otherwise Complete() adds them to the
// evidence of a match after the answer.
// Cost per access: /proc/PID/exe for opens, /proc/PID/status as above, and one
// Detector::Process over the block rules only (their rule index skips those that cannot
// match). No heap allocation unless a rule matches (the evidence is then copied once, shared
// with the alert).
// Thread safety: one thread per GuardEvaluator (each responder thread owns one).
// Tested by guard_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/engine/detector.h"
#include "kestrel/eql/ir.h"
#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"

namespace kestrel::actions::blocking {

// `--enforce`: off (no guard), dry-run (evaluate, record the verdict, allow), on (deny).
enum class EnforceMode : uint8_t { kOff, kDryRun, kOn };
std::string_view EnforceModeName(EnforceMode mode);  // "off", "dry-run", "on"
std::optional<EnforceMode> ParseEnforceMode(std::string_view name);

enum class AccessKind : uint8_t { kExec, kOpen };
std::string_view AccessKindName(AccessKind kind);  // "exec", "open"

// What the guard did with one access; the alert's event.action (docs/alerts.md).
enum class VerdictAction : uint8_t {
  kAllow,          // no block rule matched (not reported)
  kDeny,           // a block rule matched, enforce on: the access was refused
  kWouldDeny,      // a block rule matched, dry-run: allowed, recorded
  kAllowTimeout,   // the evaluation did not finish within the budget: allowed (fail open)
  kAllowOverload,  // no room to hold the access (every slot busy): allowed unevaluated
  kAllowError,     // an internal error (e.g. the answer could not be read): allowed
  kAllowShutdown,  // Kestrel stopped while the access was held: allowed
};
std::string_view VerdictActionName(VerdictAction action);  // "deny", "would-deny", ...
// "success" for kDeny and kWouldDeny (the verdict took effect / was recorded), "failure" for the
// fail-open verdicts, "unknown" for kAllow.
std::string_view VerdictOutcome(VerdictAction action);

// The `kill` action: SIGKILL to `pid`. True when the process is gone or going (signalled, or
// already exited); false with *why set otherwise (e.g. EPERM). PID 1 and this process are never
// signalled (false).
bool KillProcess(int32_t pid, std::string* why);

// One access held by the kernel, as the guard sees it.
struct AccessRequest {
  AccessKind kind = AccessKind::kExec;
  int32_t pid = 0;
  std::string_view path;  // exec: the program; open: the file. REQUIRES: absolute
  int64_t time_ns = 0;    // wall clock, nanoseconds since the epoch
};

// Processes and paths that are never blocked: PID 1, Kestrel itself and its ancestors, and
// files under the configured path prefixes.
class AllowList {
 public:
  // PID 1, this process and its ancestors (read from /proc now), and `path_prefixes`.
  static AllowList ForThisProcess(std::vector<std::string> path_prefixes);
  AllowList() = default;
  AllowList(std::vector<int32_t> pids, std::vector<std::string> path_prefixes);

  bool AllowsPid(int32_t pid) const;
  // True when `path` is one of the prefixes or lies under one (a prefix "/opt/app" allows
  // "/opt/app" and "/opt/app/x", not "/opt/application").
  bool AllowsPath(std::string_view path) const;
  const std::vector<int32_t>& pids() const { return pids_; }

 private:
  std::vector<int32_t> pids_;  // sorted
  std::vector<std::string> path_prefixes_;
};

// A rule the guard runs: its program, and the caller's number for it (reported in matches).
struct GuardRule {
  const eql::IrProgram* program = nullptr;  // REQUIRES: outlives the evaluator
  size_t id = 0;
};

struct GuardMatch {
  size_t rule_id = 0;                                       // GuardRule::id
  std::vector<std::shared_ptr<const event::Event>> events;  // the evidence, in match order
  std::string entity_key;
};

// A verdict worth an alert (everything but a plain allow), as a guard's reporter hands it over
// (FanotifyGuard, LsmGuard).
struct Verdict {
  VerdictAction action = VerdictAction::kAllow;
  AccessKind kind = AccessKind::kExec;
  int32_t pid = 0;
  std::string path;
  int64_t time_ns = 0;
  std::optional<GuardMatch> match;  // the rule and evidence (deny, would-deny)
  int64_t latency_ns = 0;           // from read to answer (0 when decided in the kernel)
};

class GuardEvaluator {
 public:
  // Errors: a program the streaming engine refuses.
  static absl::StatusOr<std::unique_ptr<GuardEvaluator>> Create(schema::Schema& schema,
                                                                const std::vector<GuardRule>& rules,
                                                                const engine::EngineLimits& limits);

  // Whether any rule has a process (exec) / file (open) stage (or an `any` stage), i.e. which
  // permission events the kernel must raise and the evaluator judges.
  bool wants_exec() const { return wants_exec_; }
  bool wants_open() const { return wants_open_; }

  // Runs the rules over `request` (and, for an open by the dynamic loader, over the exec it
  // stands for). The first match, or nullopt.
  std::optional<GuardMatch> Evaluate(const AccessRequest& request);

  // Sequence-aware blocking: an event of the stream (e.g. the eBPF source's file write) that
  // may match an earlier stage of a block sequence rule; it advances the partial matches, so
  // that a later held access completing the sequence is denied. Matches it completes itself are
  // dropped (the access they stand for already happened).
  void Observe(const event::Event& event);

  // The event the last Evaluate() built (its evidence when nothing matched).
  const event::Event& last_event() const { return event_; }

  // Builds the event of `request` into *out, with every field (the parent and user too).
  // `opener`: the requesting process's executable (/proc/PID/exe), used for opens.
  void BuildEvent(const AccessRequest& request, std::string_view opener, event::Event* out);

  // A match's evidence with the parent and user fields Evaluate() did not read (no rule needed
  // them): the last event is replaced by a copy that has them. Call after answering.
  void Complete(GuardMatch* match) const;

  // Whether Evaluate() reads /proc/PID/status (a rule uses the parent or user fields).
  bool needs_status() const { return needs_status_; }

  // True when `executable` is a dynamic loader (ld-linux*.so*, ld.so*, ld-musl*).
  static bool IsLoader(std::string_view executable);

 private:
  GuardEvaluator(schema::Schema& schema, const engine::EngineLimits& limits);
  bool Run(const event::Event& event, std::optional<GuardMatch>* out);
  void Build(const AccessRequest& request, std::string_view opener, bool with_status,
             event::Event* out);

  schema::Schema& schema_;
  std::unique_ptr<engine::Detector> detector_;
  std::vector<size_t> ids_;  // detector rule -> GuardRule::id
  bool wants_exec_ = false;
  bool wants_open_ = false;
  bool needs_status_ = false;
  uint64_t index_ = 0;
  event::Event event_;
  event::Event loader_event_;
  std::string opener_;  // /proc/PID/exe of the current request
  schema::CategoryId process_cat_ = 0, file_cat_ = 0;
};

}  // namespace kestrel::actions::blocking
