// BlockingGuard; see blocking.h.
#include "kestrel/cli/blocking.h"

#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "kestrel/actions/blocking/exact_paths.h"
#include "kestrel/actions/blocking/guard.h"
#include "kestrel/base/status.h"
#include "kestrel/cli/detection.h"
#ifdef KESTREL_HAVE_FANOTIFY
#include <sys/fanotify.h>

#include "kestrel/actions/blocking/fanotify_guard.h"
#endif

namespace kestrel::cli {

namespace blocking = actions::blocking;

// The block rules the guard runs (programs shared with the rule set; metadata copied).
struct BlockRule {
  std::shared_ptr<const eql::IrProgram> program;
  std::string id, name;
  engine::Severity severity = engine::Severity::kMedium;
};

struct BlockingGuard::Impl {
  std::vector<BlockRule> rules;
  blocking::EnforceMode mode = blocking::EnforceMode::kDryRun;
  std::unique_ptr<blocking::GuardEvaluator> describer;  // builds events for fail-open alerts
  EmitFn emit;
  schema::Schema* schema = nullptr;
#ifdef KESTREL_HAVE_FANOTIFY
  std::unique_ptr<blocking::FanotifyGuard> guard;
  void Report(blocking::Verdict& v);
#endif
};

#ifdef KESTREL_HAVE_FANOTIFY
void BlockingGuard::Impl::Report(blocking::Verdict& v) {
  engine::Alert alert;
  if (v.match) {
    const BlockRule& rule = rules[v.match->rule_id];
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

absl::StatusOr<blocking::EnforceMode> RunEnforceMode(const RunOptions& options, bool live) {
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
  if (mode == blocking::EnforceMode::kDryRun || !live || alert->events.empty()) {
    alert->action = "would-kill";
    alert->outcome = "success";
    return;
  }
  alert->action = "kill";
  const event::Value* pid = alert->events.back()->Find(schema::ecs::Field("process.pid"));
  if (pid == nullptr || pid->as_int() <= 1 || pid->as_int() == ::getpid()) {
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

void BlockingGuard::Stop() {
#ifdef KESTREL_HAVE_FANOTIFY
  if (impl_->guard) impl_->guard->Stop();
#endif
}

std::vector<std::pair<std::string, uint64_t>> BlockingGuard::Counts() const {
  std::vector<std::pair<std::string, uint64_t>> out;
#ifdef KESTREL_HAVE_FANOTIFY
  if (impl_->guard) {
    const blocking::GuardCounters& c = impl_->guard->counters();
    out = {{"held", c.requests.load()},           {"denied", c.denied.load()},
           {"would_deny", c.would_deny.load()},   {"allowed", c.allowed.load()},
           {"allowlisted", c.allowlisted.load()}, {"timeout", c.timeouts.load()},
           {"overload", c.overloads.load()},      {"error", c.errors.load()},
           {"shutdown", c.shutdown.load()}};
  }
#endif
  return out;
}

std::string BlockingGuard::Summary() const {
#ifdef KESTREL_HAVE_FANOTIFY
  if (impl_->guard) {
    const blocking::GuardCounters& c = impl_->guard->counters();
    return fmt::format(
        ", guard ({}): held {}, denied {}, would deny {}, allowed {}, allow-listed {}, failed "
        "open {} (timeout {}, overload {}, error {}, shutdown {})",
        blocking::EnforceModeName(impl_->mode), c.requests.load(), c.denied.load(),
        c.would_deny.load(), c.allowed.load(), c.allowlisted.load(),
        c.timeouts.load() + c.overloads.load() + c.errors.load() + c.shutdown.load(),
        c.timeouts.load(), c.overloads.load(), c.errors.load(), c.shutdown.load());
  }
#endif
  return "";
}

absl::StatusOr<std::unique_ptr<BlockingGuard>> BlockingGuard::Start(
    const RunOptions& options, bool live, const std::vector<const rules::CompiledRule*>& active,
    schema::Schema& schema, EmitFn emit) {
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
  auto impl = std::make_unique<Impl>();
  impl->mode = *mode;
  impl->emit = std::move(emit);
  impl->schema = &schema;
  [[maybe_unused]] bool sequences = false;
  for (const rules::CompiledRule* rule : active) {
    if (rule->spec.action != rules::RuleAction::kBlock) continue;
    impl->rules.push_back(
        BlockRule{rule->program, rule->spec.id, rule->spec.name, rule->spec.severity});
    sequences |= rule->program->stages.size() > 1;
  }
  if (*mode == blocking::EnforceMode::kOff || impl->rules.empty()) return nullptr;
  std::string what =
      fmt::format("{} block rule{}", impl->rules.size(), impl->rules.size() == 1 ? "" : "s");
#ifdef KESTREL_HAVE_FANOTIFY
  auto fail = [&](absl::Status s) -> absl::StatusOr<std::unique_ptr<BlockingGuard>> {
    if (*mode == blocking::EnforceMode::kOn) {
      return absl::FailedPreconditionError(
          fmt::format("--enforce on: cannot block: {}", base::Message(s)));
    }
    spdlog::warn("blocking dry run off: {} ({} not evaluated inline)", base::Message(s), what);
    return nullptr;
  };
  if (absl::Status probe = blocking::ProbeFanotifyPermissionEvents(); !probe.ok()) {
    return fail(probe);
  }
  engine::EngineLimits limits =
      StreamingLimits(options.max_partials_per_rule, options.default_ttl_ns);
  std::vector<blocking::GuardRule> guard_rules;
  for (size_t i = 0; i < impl->rules.size(); ++i) {
    guard_rules.push_back(blocking::GuardRule{impl->rules[i].program.get(), i});
  }
  // Sequence state must see every access in order: one responder then.
  size_t responders = sequences ? 1 : options.guard_responders;
  std::vector<std::unique_ptr<blocking::GuardEvaluator>> evaluators;
  for (size_t i = 0; i < responders; ++i) {
    auto made = blocking::GuardEvaluator::Create(schema, guard_rules, limits);
    if (!made.ok()) return fail(made.status());
    evaluators.push_back(std::move(*made));
  }
  auto describer = blocking::GuardEvaluator::Create(schema, {}, limits);
  if (!describer.ok()) return fail(describer.status());
  impl->describer = std::move(*describer);
  blocking::FanotifyGuardOptions guard_options;
  guard_options.mode = *mode;
  guard_options.mark_path = options.guard_mark;
  guard_options.mark_type = options.guard_mark_type == "mount" ? blocking::MarkType::kMount
                                                               : blocking::MarkType::kFilesystem;
  guard_options.budget_ns = *budget;
  guard_options.max_pending = options.guard_max_pending;
  guard_options.allow = blocking::AllowList::ForThisProcess(options.guard_allow_paths);
  Impl* p = impl.get();
  auto started = blocking::FanotifyGuard::Start(std::move(guard_options), std::move(evaluators),
                                                [p](blocking::Verdict& v) { p->Report(v); });
  if (!started.ok()) return fail(started.status());
  impl->guard = std::move(*started);
  spdlog::info("blocking guard ({}): {} on the {} of {} ({}{}), budget {}, {} responder{}",
               blocking::EnforceModeName(*mode), what, options.guard_mark_type, options.guard_mark,
               (impl->guard->mask() & FAN_OPEN_EXEC_PERM) ? "exec" : "",
               (impl->guard->mask() & FAN_OPEN_PERM) ? " open" : "", options.guard_budget,
               responders, responders == 1 ? "" : "s");
  std::unique_ptr<BlockingGuard> made(new BlockingGuard(std::move(impl)));
  for (const BlockRule& rule : made->impl_->rules) {
    const auto& stages = rule.program->stages;
    for (size_t i = 0; i + 1 < stages.size(); ++i) {
      if (stages[i].missing) continue;
      made->feed_categories_ |=
          stages[i].category ? uint64_t{1} << *stages[i].category : ~uint64_t{0};
    }
  }
  return made;
#else
  if (*mode == blocking::EnforceMode::kOn) {
    return absl::FailedPreconditionError(
        "--enforce on: this build cannot block (no fanotify: built with -DKESTREL_EBPF=OFF or "
        "not on Linux)");
  }
  spdlog::warn("{}: this build cannot hold execs or opens (no fanotify); not evaluated inline",
               what);
  return nullptr;
#endif
}

}  // namespace kestrel::cli
