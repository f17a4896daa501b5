// BlockingGuard; see blocking.h.
#include "kestrel/pipeline/blocking.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/actions/blocking/exact_paths.h"
#include "kestrel/actions/blocking/guard.h"
#include "kestrel/base/status.h"
#include "kestrel/pipeline/rule_loader.h"
#ifdef KESTREL_HAVE_FANOTIFY
#include <sys/fanotify.h>

#include "kestrel/actions/blocking/fanotify_guard.h"
#include "kestrel/actions/blocking/lsm_guard.h"
#endif

namespace kestrel::pipeline {

namespace blocking = actions::blocking;

// The block rules a guard runs (programs shared with the rule set; metadata copied).
struct BlockRule {
  std::shared_ptr<const eql::IrProgram> program;
  std::string id, name;
  engine::Severity severity = engine::Severity::kMedium;
};

namespace {

// The guard's counters, summed over its fanotify guards (current and retired) and the BPF-LSM
// path, by position; their names are the metrics' `outcome` labels.
enum Count : size_t {
  kHeld,
  kDenied,
  kWouldDeny,
  kAllowed,
  kAllowlisted,
  kTimeout,
  kOverload,
  kError,
  kShutdown,
  kLsmDenied,
  kLsmWouldDeny,
  kLsmLost,
  kCounts
};
constexpr const char* kCountNames[kCounts] = {
    "held",     "denied", "would_deny", "allowed",    "allowlisted",    "timeout",
    "overload", "error",  "shutdown",   "lsm_denied", "lsm_would_deny", "lsm_lost"};
using Totals = std::array<uint64_t, kCounts>;

}  // namespace

struct BlockingGuard::Impl {
  RunConfig options;  // the guard_* settings
  int64_t budget_ns = 0;
  blocking::EnforceMode mode = blocking::EnforceMode::kDryRun;
  EmitFn emit;
  schema::Schema* schema = nullptr;
  std::function<void(uint64_t)> request_flush;
  std::unique_ptr<blocking::GuardEvaluator> describer;  // builds events for fail-open alerts
  std::vector<BlockRule> rules;                         // the armed set
  // Catching up with the stream (sequence rules): tickets asked for and flushed.
  std::mutex sync_mu;
  std::condition_variable sync_cv;
  uint64_t requested = 0, flushed = 0;
  std::atomic<uint64_t> late{0};  // catch-ups that ran out of time
#ifdef KESTREL_HAVE_FANOTIFY
  // One fanotify guard per armed rule set; a reload starts a new one before it stops the old
  // (both hold accesses meanwhile: nothing passes unjudged). Stopped ones stay for the counts.
  std::unique_ptr<blocking::FanotifyGuard> guard;
  std::vector<std::unique_ptr<blocking::FanotifyGuard>> retired;
  // The BPF-LSM path, where the kernel loads it: exact-path block rules denied in the kernel.
  // Probed at the first set with such a rule; its verdicts name rules of `lsm_rules`.
  LsmSeams lsm_seams;
  size_t lsm_armed = 0;  // rules taken by the LSM path
  std::optional<absl::Status> lsm_probe;
  std::unique_ptr<blocking::LsmGuard> lsm;
  std::mutex lsm_mu;
  std::shared_ptr<const std::vector<BlockRule>> lsm_rules;  // guarded by lsm_mu
  void Report(const std::vector<BlockRule>& rules, blocking::Verdict& v);
  // Arms the exact-path rules of `rules` in the kernel where it can; which rules it took (the
  // others stay for fanotify). Errors: the kernel refused a map update.
  absl::StatusOr<std::vector<bool>> ArmLsm(const std::vector<BlockRule>& rules,
                                           const blocking::AllowList& allow);
  absl::StatusOr<std::unique_ptr<blocking::FanotifyGuard>> StartGuard(
      const std::shared_ptr<std::vector<BlockRule>>& rules, bool sequences,
      const blocking::AllowList& allow);
#endif
  void CatchUp(int64_t deadline_ns);
  // Nothing when no guard was ever armed.
  std::optional<Totals> SumCounts() const;
  bool has_lsm() const {
#ifdef KESTREL_HAVE_FANOTIFY
    return lsm != nullptr;
#else
    return false;
#endif
  }
};

void BlockingGuard::Impl::CatchUp(int64_t deadline_ns) {
  uint64_t ticket;
  {
    std::lock_guard<std::mutex> lock(sync_mu);
    ticket = ++requested;
  }
  request_flush(ticket);
  std::unique_lock<std::mutex> lock(sync_mu);
  auto deadline = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(deadline_ns));
  if (!sync_cv.wait_until(lock, deadline, [&] { return flushed >= ticket; })) {
    late.fetch_add(1, std::memory_order_relaxed);
  }
}

#ifdef KESTREL_HAVE_FANOTIFY
void BlockingGuard::Impl::Report(const std::vector<BlockRule>& armed, blocking::Verdict& v) {
  engine::Alert alert;
  if (v.match) {
    const BlockRule& rule = armed[v.match->rule_id];
    alert.rule_id = rule.id;
    alert.rule_name = rule.name;
    alert.severity = rule.severity;
    alert.events = std::move(v.match->events);
    alert.entity_key = std::move(v.match->entity_key);
  } else {
    // Failed open (or stopped): the access as the guard saw it, under the guard's own id.
    alert.rule_id = "kestrel.guard";
    alert.rule_name =
        fmt::format("blocking guard allowed an {} unjudged ({})", blocking::AccessKindName(v.kind),
                    blocking::VerdictActionName(v.action));
    blocking::AccessRequest request;
    request.kind = v.kind;
    request.pid = v.pid;
    request.path = v.path;
    request.time_ns = v.time_ns;
    auto event = std::make_shared<event::Event>();
    describer->BuildEvent(request, {}, event.get());
    alert.events.push_back(std::move(event));
  }
  alert.action = std::string(blocking::VerdictActionName(v.action));
  alert.outcome = std::string(blocking::VerdictOutcome(v.action));
  engine::FinalizeAlert(*schema, &alert);
  emit(alert);
}
#endif

absl::StatusOr<blocking::EnforceMode> RunEnforceMode(const RunConfig& options, bool live) {
  std::string enforce = options.enforce.value_or(live ? "dry-run" : "off");
  auto mode = blocking::ParseEnforceMode(enforce);
  if (!mode) {
    return absl::InvalidArgumentError(
        fmt::format("bad --enforce '{}': expected off, dry-run or on", enforce));
  }
  return *mode;
}

std::vector<std::string> KillAtExecPaths(const std::vector<const rules::CompiledRule*>& active) {
  std::vector<std::string> paths;
  for (const rules::CompiledRule* rule : active) {
    if (rule->spec.action != rules::RuleAction::kKill) continue;
    if (auto these = blocking::ExactPaths(*rule->program, blocking::ExactField::kExecutable)) {
      paths.insert(paths.end(), these->begin(), these->end());
    }
  }
  return paths;
}

void ApplyKill(blocking::EnforceMode mode, bool live, engine::Alert* alert) {
  if (mode == blocking::EnforceMode::kOff) return;
  // Never PID 1 (or 0, or a negative pid: a process group, or every process), nor Kestrel.
  const event::Value* pid = alert->events.empty()
                                ? nullptr
                                : alert->events.back()->Find(schema::ecs::Field("process.pid"));
  bool killable = pid != nullptr && pid->as_int() > 1 && pid->as_int() != ::getpid();
  if (mode == blocking::EnforceMode::kDryRun || !live) {
    // What a live run would do: refused targets are reported as failures in dry-run too.
    alert->action = "would-kill";
    alert->outcome = killable ? "success" : "failure";
    return;
  }
  alert->action = "kill";
  if (!killable) {
    alert->outcome = "failure";
    spdlog::warn("rule {}: kill: the match's last event names no process that may be killed",
                 alert->rule_id);
    return;
  }
  std::string why;
  alert->outcome =
      blocking::KillProcess(static_cast<int32_t>(pid->as_int()), &why) ? "success" : "failure";
  if (!why.empty()) spdlog::warn("rule {}: kill: {}", alert->rule_id, why);
}

BlockingGuard::BlockingGuard(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BlockingGuard::~BlockingGuard() { Stop(); }

void BlockingGuard::Feed(const event::Event& event) {
#ifdef KESTREL_HAVE_FANOTIFY
  if (impl_->guard) impl_->guard->Feed(event);
#else
  (void)event;
#endif
}

void BlockingGuard::Flushed(uint64_t ticket) {
  {
    std::lock_guard<std::mutex> lock(impl_->sync_mu);
    impl_->flushed = std::max(impl_->flushed, ticket);
  }
  impl_->sync_cv.notify_all();
}

void BlockingGuard::Stop() {
#ifdef KESTREL_HAVE_FANOTIFY
  if (impl_->guard) impl_->guard->Stop();
  if (impl_->lsm) impl_->lsm->Stop();
#endif
}

size_t BlockingGuard::block_rules() const { return impl_->rules.size(); }

size_t BlockingGuard::lsm_rules() const {
#ifdef KESTREL_HAVE_FANOTIFY
  return impl_->lsm_armed;
#else
  return 0;
#endif
}

std::vector<std::pair<std::string, uint64_t>> BlockingGuard::Counts() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::optional<Totals> t = impl_->SumCounts();
  if (!t) return out;
  size_t n = impl_->has_lsm() ? kCounts : kLsmDenied;
  for (size_t i = 0; i < n; ++i) out.emplace_back(kCountNames[i], (*t)[i]);
  return out;
}

std::string BlockingGuard::Summary() const {
  std::optional<Totals> t = impl_->SumCounts();
  if (!t) return "";
  const Totals& c = *t;
  std::string out = fmt::format(
      ", guard ({}): held {}, denied {}, would deny {}, allowed {}, allow-listed {}, failed "
      "open {} (timeout {}, overload {}, error {}, shutdown {})",
      blocking::EnforceModeName(impl_->mode), c[kHeld], c[kDenied], c[kWouldDeny], c[kAllowed],
      c[kAllowlisted], c[kTimeout] + c[kOverload] + c[kError] + c[kShutdown], c[kTimeout],
      c[kOverload], c[kError], c[kShutdown]);
  if (impl_->has_lsm()) {
    out += fmt::format("; in the kernel (BPF-LSM): denied {}, would deny {}, unreported {}",
                       c[kLsmDenied], c[kLsmWouldDeny], c[kLsmLost]);
  }
  if (uint64_t late = impl_->late.load(); late > 0) {
    out += fmt::format(", judged before the stream caught up {}", late);
  }
  return out;
}

std::optional<Totals> BlockingGuard::Impl::SumCounts() const {
#ifdef KESTREL_HAVE_FANOTIFY
  if (!guard && retired.empty() && !lsm) return std::nullopt;
  Totals t{};
  auto add = [&](const blocking::FanotifyGuard& g) {
    const blocking::GuardCounters& c = g.counters();
    t[kHeld] += c.requests.load();
    t[kDenied] += c.denied.load();
    t[kWouldDeny] += c.would_deny.load();
    t[kAllowed] += c.allowed.load();
    t[kAllowlisted] += c.allowlisted.load();
    t[kTimeout] += c.timeouts.load();
    t[kOverload] += c.overloads.load();
    t[kError] += c.errors.load();
    t[kShutdown] += c.shutdown.load();
  };
  if (guard) add(*guard);
  for (const auto& g : retired) add(*g);
  if (lsm) {
    const blocking::LsmCounters& c = lsm->counters();
    t[kLsmDenied] = c.denied.load();
    t[kLsmWouldDeny] = c.would_deny.load();
    t[kLsmLost] = c.lost.load();
  }
  return t;
#else
  return std::nullopt;
#endif
}

namespace {

std::vector<BlockRule> BlockRules(const std::vector<const rules::CompiledRule*>& active) {
  std::vector<BlockRule> out;
  for (const rules::CompiledRule* rule : active) {
    if (rule->spec.action != rules::RuleAction::kBlock) continue;
    out.push_back(BlockRule{rule->program, rule->spec.id, rule->spec.name, rule->spec.severity});
  }
  return out;
}

bool SamePrograms(const std::vector<BlockRule>& a, const std::vector<BlockRule>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].program != b[i].program || a[i].id != b[i].id) return false;
  }
  return true;
}

#ifdef KESTREL_HAVE_FANOTIFY
// Categories of the block sequences' earlier stages: the stream events the guard must see.
uint64_t FeedCategories(const std::vector<BlockRule>& rules) {
  uint64_t mask = 0;
  for (const BlockRule& rule : rules) {
    const auto& stages = rule.program->stages;
    for (size_t i = 0; i + 1 < stages.size(); ++i) {
      if (stages[i].missing) continue;
      mask |= stages[i].category ? uint64_t{1} << *stages[i].category : ~uint64_t{0};
    }
  }
  return mask;
}
#endif

std::string RuleCount(size_t n) { return fmt::format("{} block rule{}", n, n == 1 ? "" : "s"); }

}  // namespace

#ifdef KESTREL_HAVE_FANOTIFY
absl::StatusOr<std::vector<bool>> BlockingGuard::Impl::ArmLsm(const std::vector<BlockRule>& rules,
                                                              const blocking::AllowList& allow) {
  std::vector<bool> taken(rules.size(), false);
  std::vector<blocking::RulePath> exec, open;
  for (size_t i = 0; i < rules.size(); ++i) {
    for (auto [field, out] : {std::pair{blocking::ExactField::kExecutable, &exec},
                              std::pair{blocking::ExactField::kFilePath, &open}}) {
      auto paths = blocking::ExactPaths(*rules[i].program, field);
      if (!paths) continue;
      // Allow-listed files are never blocked: such a rule stays with fanotify, which skips them.
      bool allowed = false;
      for (const std::string& path : *paths) allowed |= allow.AllowsPath(path);
      if (allowed) continue;
      for (std::string& path : *paths) out->push_back({std::move(path), i});
      taken[i] = true;
    }
  }
  bool any = std::find(taken.begin(), taken.end(), true) != taken.end();
  if (!any && !lsm) return taken;
  if (!lsm_probe) {
    lsm_probe = lsm_seams.probe ? lsm_seams.probe() : blocking::ProbeBpfLsm();
    if (!lsm_probe->ok()) {
      spdlog::info("BPF-LSM path unavailable ({}): every block rule is judged through fanotify",
                   base::Message(*lsm_probe));
    }
  }
  if (!lsm_probe->ok()) return std::vector<bool>(rules.size(), false);
  auto current = std::make_shared<const std::vector<BlockRule>>(rules);
  {
    std::lock_guard<std::mutex> lock(lsm_mu);
    lsm_rules = current;
  }
  if (lsm) {
    if (absl::Status s = lsm->Rearm(std::move(exec), std::move(open)); !s.ok()) return s;
  } else {
    auto report = [this](blocking::Verdict& v) {
      std::shared_ptr<const std::vector<BlockRule>> armed;
      {
        std::lock_guard<std::mutex> lock(lsm_mu);
        armed = lsm_rules;
      }
      // A decision recorded just before a reload may name a rule of the old set.
      if (v.match && (!armed || v.match->rule_id >= armed->size())) v.match.reset();
      if (armed) Report(*armed, v);
    };
    auto started =
        lsm_seams.kernel
            ? blocking::LsmGuard::StartWith(lsm_seams.kernel(), *schema, mode, std::move(exec),
                                            std::move(open), allow.pids(), report)
            : blocking::LsmGuard::Start(*schema, mode, std::move(exec), std::move(open),
                                        allow.pids(), report);
    if (!started.ok()) return started.status();
    lsm = std::move(*started);
  }
  for (size_t i : lsm->UnarmedRules()) {
    if (i < taken.size()) taken[i] = false;
  }
  for (const blocking::UnarmedPath& u : lsm->unarmed()) {
    spdlog::warn("rule {}: {} not armed in the kernel ({}); judged through fanotify",
                 rules[u.file.rule].id, u.file.path, u.reason);
  }
  size_t n = static_cast<size_t>(std::count(taken.begin(), taken.end(), true));
  lsm_armed = n;
  spdlog::info("BPF-LSM ({}): {} exact-path block rule{} denied in the kernel",
               blocking::EnforceModeName(mode), n, n == 1 ? "" : "s");
  return taken;
}

absl::StatusOr<std::unique_ptr<blocking::FanotifyGuard>> BlockingGuard::Impl::StartGuard(
    const std::shared_ptr<std::vector<BlockRule>>& armed, bool sequences,
    const blocking::AllowList& allow) {
  if (absl::Status probe = blocking::ProbeFanotifyPermissionEvents(); !probe.ok()) return probe;
  engine::EngineLimits limits =
      StreamingLimits(options.max_partials_per_rule, options.default_ttl_ns,
                      /*state_budget_bytes=*/0);  // block rules: their per-rule quota bounds them
  std::vector<blocking::GuardRule> guard_rules;
  for (size_t i = 0; i < armed->size(); ++i) {
    guard_rules.push_back(blocking::GuardRule{(*armed)[i].program.get(), i});
  }
  // Sequence state must see every access in order: one judge then.
  size_t judges = sequences ? 1 : options.guard_responders;
  std::vector<std::unique_ptr<blocking::GuardEvaluator>> evaluators;
  for (size_t i = 0; i < judges; ++i) {
    auto made = blocking::GuardEvaluator::Create(*schema, guard_rules, limits);
    if (!made.ok()) return made.status();
    evaluators.push_back(std::move(*made));
  }
  blocking::FanotifyGuardOptions guard_options;
  guard_options.mode = mode;
  guard_options.mark_path = options.guard_mark;
  guard_options.mark_type = options.guard_mark_type == "mount" ? blocking::MarkType::kMount
                                                               : blocking::MarkType::kFilesystem;
  guard_options.budget_ns = budget_ns;
  guard_options.max_pending = options.guard_max_pending;
  guard_options.rt_priority = options.guard_rt_priority;
  guard_options.allow = allow;
  if (sequences && request_flush) {
    // The earlier stages reach Kestrel through the live source's ring buffer: drain it up to
    // this access before judging (within a fifth of the budget; past it, judged as it is and
    // counted).
    guard_options.catch_up = [this](int64_t deadline_ns) { CatchUp(deadline_ns); };
  }
  auto started =
      blocking::FanotifyGuard::Start(std::move(guard_options), std::move(evaluators),
                                     [this, armed](blocking::Verdict& v) { Report(*armed, v); });
  if (!started.ok()) return started.status();
  if (!(*started)->realtime_error().empty()) {
    spdlog::warn(
        "blocking guard: answering threads at normal priority ({}); on busy CPUs an "
        "answer may wait for its turn",
        (*started)->realtime_error());
  }
  spdlog::info("blocking guard ({}): {} on the {} of {} ({}{}), budget {}, {} judge{}{}",
               blocking::EnforceModeName(mode), RuleCount(armed->size()), options.guard_mark_type,
               options.guard_mark, ((*started)->mask() & FAN_OPEN_EXEC_PERM) ? "exec" : "",
               ((*started)->mask() & FAN_OPEN_PERM) ? " open" : "", options.guard_budget, judges,
               judges == 1 ? "" : "s",
               sequences && request_flush ? ", catching up with the live stream per access" : "");
  return started;
}
#endif

absl::Status BlockingGuard::Arm(std::vector<BlockRule>* rules) {
  [[maybe_unused]] bool sequences = false;
  for (const BlockRule& rule : *rules) sequences |= rule.program->stages.size() > 1;
#ifdef KESTREL_HAVE_FANOTIFY
  // Exact-path rules go to the kernel where BPF-LSM loads; the rest to fanotify.
  // PID 1, Kestrel and its ancestors (read from /proc now), and the configured paths.
  blocking::AllowList allow = blocking::AllowList::ForThisProcess(impl_->options.guard_allow_paths);
  auto in_kernel = impl_->ArmLsm(*rules, allow);
  if (!in_kernel.ok()) return in_kernel.status();
  std::vector<BlockRule> general;
  for (size_t i = 0; i < rules->size(); ++i) {
    if (!(*in_kernel)[i]) general.push_back((*rules)[i]);
  }
  std::unique_ptr<blocking::FanotifyGuard> started;
  if (!general.empty()) {
    auto armed = std::make_shared<std::vector<BlockRule>>(std::move(general));
    auto made = impl_->StartGuard(armed, sequences, allow);
    if (!made.ok()) {
      // The kernel's share was re-armed with the new set already: put the old one back.
      if (impl_->lsm) {
        if (absl::Status s = impl_->ArmLsm(impl_->rules, allow).status(); !s.ok()) {
          spdlog::error("BPF-LSM: the previous block rules could not be re-armed: {}",
                        base::Message(s));
        }
      }
      return made.status();
    }
    started = std::move(*made);
  }
  // Make before break: the new guard holds accesses before the old one lets go.
  if (impl_->guard) {
    impl_->guard->Stop();
    impl_->retired.push_back(std::move(impl_->guard));
  }
  impl_->guard = std::move(started);
  impl_->rules = std::move(*rules);
  feed_categories_ = impl_->guard ? FeedCategories(impl_->rules) : 0;
  return absl::OkStatus();
#else
  if (rules->empty()) {
    impl_->rules.clear();
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      "this build cannot hold execs or opens (no fanotify: built with -DKESTREL_EBPF=OFF or not "
      "on Linux)");
#endif
}

absl::Status BlockingGuard::Reload(const std::vector<const rules::CompiledRule*>& active) {
  std::vector<BlockRule> next = BlockRules(active);
  if (SamePrograms(next, impl_->rules)) return absl::OkStatus();  // state kept
  size_t before = impl_->rules.size();
  if (absl::Status s = Arm(&next); !s.ok()) return s;
  spdlog::info("blocking guard reloaded: {} (was {}){}", RuleCount(impl_->rules.size()), before,
               impl_->rules.empty() ? ": nothing is held any more" : "");
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<BlockingGuard>> BlockingGuard::Start(
    const RunConfig& options, bool live, const std::vector<const rules::CompiledRule*>& active,
    schema::Schema& schema, EmitFn emit, std::function<void(uint64_t)> request_flush,
    LsmSeams lsm_seams) {
  auto mode = RunEnforceMode(options, live);
  if (!mode.ok()) return mode.status();
  auto budget = ParseDuration(options.guard_budget);
  if (!budget.ok() || *budget <= 0) {
    return absl::InvalidArgumentError(fmt::format(
        "bad --guard-budget '{}': expected a duration such as 5ms", options.guard_budget));
  }
  if (options.guard_mark_type != "filesystem" && options.guard_mark_type != "mount") {
    return absl::InvalidArgumentError(fmt::format(
        "bad --guard-mark-type '{}': expected filesystem or mount", options.guard_mark_type));
  }
  if (options.guard_responders < 1 || options.guard_responders > 64) {
    return absl::InvalidArgumentError("bad --guard-responders: expected 1 to 64");
  }
  if (*mode == blocking::EnforceMode::kOff) return nullptr;
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->budget_ns = *budget;
  impl->mode = *mode;
  impl->emit = std::move(emit);
  impl->schema = &schema;
  impl->request_flush = std::move(request_flush);
#ifdef KESTREL_HAVE_FANOTIFY
  impl->lsm_seams = std::move(lsm_seams);
#else
  (void)lsm_seams;
#endif
  engine::EngineLimits limits =
      StreamingLimits(options.max_partials_per_rule, options.default_ttl_ns,
                      /*state_budget_bytes=*/0);  // block rules: their per-rule quota bounds them
  auto describer = blocking::GuardEvaluator::Create(schema, {}, limits);
  if (!describer.ok()) return describer.status();
  impl->describer = std::move(*describer);
  std::unique_ptr<BlockingGuard> made(new BlockingGuard(std::move(impl)));
  // With no block rule yet the guard holds nothing; a reload may arm it.
  std::vector<BlockRule> rules = BlockRules(active);
  size_t n = rules.size();
  if (absl::Status s = made->Arm(&rules); !s.ok()) {
    if (*mode == blocking::EnforceMode::kOn) {
      return absl::FailedPreconditionError(
          fmt::format("--enforce on: cannot block: {}", base::Message(s)));
    }
    spdlog::warn("blocking dry run off: {} ({} not evaluated inline)", base::Message(s),
                 RuleCount(n));
  }
  return made;
}

}  // namespace kestrel::pipeline
