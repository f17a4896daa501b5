// AlertBuilder: the one place an Alert is made — from a rule's match, or from a blocking
// verdict — enriched and handed to the run's outputs.
//
// For each match, in this order: the alert is built from the rule (id, name, severity) and the
// match's evidence, and finalized (engine::FinalizeAlert: its id and time); a `kill` rule's
// action is applied (blocking.h: ApplyKill); it is marked degraded when its events' time span
// overlaps events the source lost (the loss ledger); the flight recorder writes the events that
// led to it (the recording's path goes into the alert); and the SinkSet (actions/sink_set.h)
// writes it to `--output` and queues it for every `--sink`. Per-rule alert counts and the loss
// warnings (at most one a second) are kept here too.
//
// Order and threads: matches arrive from the detection thread (one worker) or the bus's merger
// thread (several), already in the deterministic order; blocking verdicts from the guard's
// reporter thread. Everything here runs under one lock, which the pipeline also takes to swap
// the rule set (UseRules) and to feed the flight recorder (Observe), so an alert always sees the
// rule set that made it. Tested by alert_builder_test.cc and cli_test.sh.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kestrel/actions/blocking/guard.h"
#include "kestrel/actions/flight_recorder.h"
#include "kestrel/actions/sink_set.h"
#include "kestrel/engine/alert.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/pipeline/alert_context.h"
#include "kestrel/pipeline/suppression.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/source.h"

namespace kestrel::pipeline {

// The alert for `match` of `rule` (its events are moved out of the match), finalized, with its
// message (RenderMessage) and, given a `tree`, each evidence process's ancestry.
engine::Alert MakeAlert(const rules::CompiledRule& rule, engine::QueryMatch& match,
                        const schema::Schema& schema, const ProcessTree* tree = nullptr);

class AlertBuilder {
 public:
  // `sinks` (--output and --sink) and `recorder` (may be null) must outlive this. `live`: the
  // source is this machine (kill rules act on its processes).
  AlertBuilder(const schema::Schema& schema, actions::SinkSet* sinks,
               actions::FlightRecorder* recorder, actions::blocking::EnforceMode enforce,
               bool live);

  // The running rule set: rule i of the matches is (*active)[i]. Replaced at a reload, between
  // two events, after every match of the old set was delivered.
  void UseRules(const std::vector<const rules::CompiledRule*>* active);
  // Runs `change` (which replaces the contents of the rule vector given to UseRules: a reload's
  // commit) under the lock, so that no alert sees half a rule set.
  template <typename F>
  void WithRulesLocked(F&& change) {
    std::lock_guard<std::mutex> lock(mu_);
    change();
  }
  // A match of rule `rule` of the running set.
  void OnMatch(size_t rule, engine::QueryMatch& match);
  // A blocking verdict (event.action and event.outcome set by the guard).
  void OnVerdict(engine::Alert& alert);
  // The suppression of rules that set none (`run.suppress`); unset: none.
  void SetDefaultSuppression(std::optional<rules::Suppression> s) { default_suppress_ = s; }
  // Writes the suppressed alerts whose window ended before `now_ns` (event time; the live
  // pipeline's timer), or all of them (end of input, stop).
  void ReleaseDue(int64_t now_ns);
  void ReleaseAll();
  // ReleaseAll inside WithRulesLocked (a reload: the held alerts name the old rules).
  void ReleaseAllLocked();
  // Reading thread: each event, for the process tree and the flight recorder.
  void Observe(const event::Event& event) {
    tree_.Observe(event);
    if (recorder_ == nullptr) return;
    std::lock_guard<std::mutex> lock(mu_);
    recorder_->Observe(event);
  }
  // Events the source lost; `totals`: its running totals, for the warning.
  void RecordLosses(const std::vector<sources::SourceLoss>& losses,
                    const sources::SourceStats& totals);
  // Warns about losses not yet warned of: at most once a second, or now with `force`.
  void WarnLosses(bool force, const sources::SourceStats& totals);
  // Whether losses wait for their warning (one relaxed load: call WarnLosses when true).
  bool warning_pending() const { return warning_pending_.load(std::memory_order_relaxed); }

  // Alerts written to --output, and lost to its failed writes; readable from any thread.
  uint64_t written() const { return sinks_->direct_written(); }
  uint64_t lost() const { return sinks_->direct_lost(); }
  // Alerts per rule id so far (a copy; any thread).
  absl::flat_hash_map<std::string, uint64_t> PerRule() const;
  // Alerts suppressed per rule id so far (a copy; any thread).
  absl::flat_hash_map<std::string, uint64_t> SuppressedPerRule() const;
  uint64_t suppressed() const;

 private:
  void Deliver(engine::Alert& alert, const rules::RuleSpec* spec);
  void AddLiveContext(engine::Alert* alert);

  const schema::Schema& schema_;
  actions::SinkSet* sinks_;
  actions::FlightRecorder* recorder_;
  actions::blocking::EnforceMode enforce_;
  bool live_;
  mutable std::mutex mu_;
  const std::vector<const rules::CompiledRule*>* active_ = nullptr;  // guarded by mu_
  absl::flat_hash_map<std::string, uint64_t> per_rule_;              // guarded by mu_
  engine::LossLedger ledger_;                                        // guarded by mu_
  uint64_t unwarned_kernel_ = 0, unwarned_user_ = 0;                 // guarded by mu_
  std::chrono::steady_clock::time_point last_warning_;               // guarded by mu_
  bool reported_failure_ = false;                                    // guarded by mu_
  std::atomic<bool> warning_pending_{false};
  ProcessTree tree_;
  ExecutableHashes hashes_;                             // guarded by mu_
  Suppressor suppressor_;                               // guarded by mu_
  std::optional<rules::Suppression> default_suppress_;  // set before the run
  Suppressor::Deliver deliver_;
};

}  // namespace kestrel::pipeline
