// AlertBuilder; see alert_builder.h.
#include "kestrel/pipeline/alert_builder.h"

#include <spdlog/spdlog.h>

#include "kestrel/base/status.h"
#include "kestrel/pipeline/blocking.h"

namespace kestrel::pipeline {

engine::Alert MakeAlert(const rules::CompiledRule& rule, engine::QueryMatch& match,
                        const schema::Schema& schema, const ProcessTree* tree) {
  engine::Alert alert;
  alert.rule_id = rule.spec.id;
  alert.rule_name = rule.spec.name;
  alert.severity = rule.spec.severity;
  alert.entity_key = std::move(match.entity_key);
  alert.events = std::move(match.events);
  engine::FinalizeAlert(schema, &alert);
  alert.message = RenderMessage(rule.spec, alert, schema);
  if (tree != nullptr) tree->Describe(&alert);
  return alert;
}

AlertBuilder::AlertBuilder(const schema::Schema& schema, actions::SinkSet* sinks,
                           actions::FlightRecorder* recorder,
                           actions::blocking::EnforceMode enforce, bool live)
    : schema_(schema),
      sinks_(sinks),
      recorder_(recorder),
      enforce_(enforce),
      live_(live),
      last_warning_(std::chrono::steady_clock::now() - std::chrono::seconds(2)),
      tree_(schema),
      suppressor_(schema),
      deliver_([this](engine::Alert& a, const rules::RuleSpec* spec) { Deliver(a, spec); }) {}

void AlertBuilder::AddLiveContext(engine::Alert* alert) {
  // This machine's processes: the executable's SHA-256 (cached; bounded) and the container.
  for (engine::AlertProcessTree& t : alert->process_tree) {
    if (!t.process.executable.empty()) t.sha256 = hashes_.Sha256(t.process.executable);
    t.container_id = ContainerIdOf(t.process.pid);
  }
}

void AlertBuilder::ReleaseDue(int64_t now_ns) {
  std::lock_guard<std::mutex> lock(mu_);
  suppressor_.Release(now_ns, deliver_);
}

void AlertBuilder::ReleaseAll() {
  std::lock_guard<std::mutex> lock(mu_);
  suppressor_.ReleaseAll(deliver_);
}

void AlertBuilder::ReleaseAllLocked() { suppressor_.ReleaseAll(deliver_); }

absl::flat_hash_map<std::string, uint64_t> AlertBuilder::SuppressedPerRule() const {
  std::lock_guard<std::mutex> lock(mu_);
  return suppressor_.per_rule();
}

uint64_t AlertBuilder::suppressed() const {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t n = 0;
  for (const auto& [rule, count] : suppressor_.per_rule()) n += count;
  return n;
}

void AlertBuilder::UseRules(const std::vector<const rules::CompiledRule*>* active) {
  std::lock_guard<std::mutex> lock(mu_);
  active_ = active;
}

void AlertBuilder::OnMatch(size_t rule, engine::QueryMatch& match) {
  std::lock_guard<std::mutex> lock(mu_);
  const rules::CompiledRule& compiled = *(*active_)[rule];
  engine::Alert alert = MakeAlert(compiled, match, schema_, &tree_);
  if (live_) AddLiveContext(&alert);
  if (compiled.spec.action == rules::RuleAction::kKill) ApplyKill(enforce_, live_, &alert);
  ledger_.Mark(&alert);
  // Suppressed alerts in event time: first what the event time closed, then this match.
  int64_t now = alert.events.empty() ? alert.timestamp_ns : alert.events.back()->time_ns();
  suppressor_.Release(now, deliver_);
  const std::optional<rules::Suppression>& suppress =
      compiled.spec.suppress ? compiled.spec.suppress : default_suppress_;
  bool suppresses =
      suppress && suppress->for_ns > 0 && compiled.spec.action == rules::RuleAction::kAlert;
  if (suppresses && suppressor_.Counts(alert, *suppress)) {
    suppressor_.Offer(std::move(alert), &compiled.spec, *suppress, deliver_);
    return;
  }
  if (recorder_ != nullptr) {
    auto path = recorder_->Dump(alert);
    if (path.ok()) {
      alert.flight_recording = *path;
    } else {
      spdlog::warn("flight recording of alert {} failed: {}", alert.id,
                   base::Message(path.status()));
    }
  }
  if (suppresses) {
    suppressor_.Offer(std::move(alert), &compiled.spec, *suppress, deliver_);
    return;
  }
  Deliver(alert, &compiled.spec);
}

void AlertBuilder::OnVerdict(engine::Alert& alert) {
  std::lock_guard<std::mutex> lock(mu_);
  const rules::RuleSpec* spec = nullptr;
  if (active_ != nullptr) {
    for (const rules::CompiledRule* r : *active_) {
      if (r->spec.id == alert.rule_id) spec = &r->spec;
    }
  }
  Deliver(alert, spec);
}

void AlertBuilder::Deliver(engine::Alert& alert, const rules::RuleSpec* spec) {
  actions::SinkSet::SubmitResult result = sinks_->Submit(alert, spec);
  if (!result.direct.ok()) {
    if (!reported_failure_) spdlog::error("{}", base::Message(result.direct));
    reported_failure_ = true;
    return;
  }
  ++per_rule_[alert.rule_id];
}

void AlertBuilder::RecordLosses(const std::vector<sources::SourceLoss>& losses,
                                const sources::SourceStats& totals) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const sources::SourceLoss& l : losses) {
      ledger_.Record(l.begin_ns, l.end_ns, l.count);
      (l.kernel ? unwarned_kernel_ : unwarned_user_) += l.count;
    }
    if (unwarned_kernel_ + unwarned_user_ > 0) warning_pending_.store(true);
  }
  WarnLosses(false, totals);
}

void AlertBuilder::WarnLosses(bool force, const sources::SourceStats& totals) {
  std::lock_guard<std::mutex> lock(mu_);
  if (unwarned_kernel_ + unwarned_user_ == 0) return;
  auto now = std::chrono::steady_clock::now();
  if (!force && now - last_warning_ < std::chrono::seconds(1)) return;
  last_warning_ = now;
  spdlog::warn(
      "events dropped: {} in the kernel (ring buffer full), {} in user space (queue full) "
      "since the last warning; {} and {} in total. Alerts over that time carry "
      "context.degraded",
      unwarned_kernel_, unwarned_user_, totals.kernel_drops, totals.user_drops);
  unwarned_kernel_ = unwarned_user_ = 0;
  warning_pending_.store(false);
}

absl::flat_hash_map<std::string, uint64_t> AlertBuilder::PerRule() const {
  std::lock_guard<std::mutex> lock(mu_);
  return per_rule_;
}

}  // namespace kestrel::pipeline
