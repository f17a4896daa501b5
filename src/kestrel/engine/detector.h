// Detector: runs a whole rule set over a stream of events — one QueryEngine per rule behind one
// RuleIndex — and hands each completed match to the caller. This is the streaming core shared by
// `kestrel run` (and, later, replay and the bus workers).
//
// Order: for each event, the rules that may match it run in load order, and each rule's results
// are delivered as soon as they complete; so the output order is a function of the input order
// and the rule order only (no clocks, no threads).
// Memory: partial matches are bounded per rule (EngineLimits::max_partials, max_keys; an
// entity-local sequence keeps them in kStateShards stores by process, each with its share of
// the quota, entity_routing.h: the same evictions whether one Detector or N bus workers run the
// rule) and, all
// rules together, in bytes (EngineLimits::state_budget_bytes: StateBudgets, state_budget.h;
// after each event, while the event's budget domains are over their limits, the least recently
// written match of any rule over its floor is evicted);
// rules that an event skips are swept for expired partial matches every kSweepInterval events.
// A sequence that holds no partial match is not run for an event whose first stage the index
// closed (nothing to start or advance; rules with relations or a leading/trailing `![..]` are
// always run): counted in skipped().
// Thread safety: one thread per Detector. Tested by detector_test.cc.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "kestrel/engine/eval_timing.h"
#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/engine/rule_index.h"

namespace kestrel::engine {

// The rule counts StateBudgets::Split takes for `programs`: entity-local sequences (their state
// in the shard domains) and the other stateful rules (sequences, joins, samples).
std::pair<size_t, size_t> StatefulRules(std::span<const eql::IrProgram* const> programs,
                                        const schema::Schema& schema);

class Detector {
 public:
  static constexpr uint64_t kSweepInterval = 1 << 16;

  Detector(schema::Schema& schema, const EngineLimits& limits);
  ~Detector();

  // Stage predicates of the rules added from now on are compiled by `runtime` (nullptr: the
  // native IR evaluator, the default). REQUIRES: `runtime` outlives this.
  void UsePredicateRuntime(PredicateRuntime* runtime) { runtime_ = runtime; }
  // Custom functions of the rules added from now on. REQUIRES: `functions` outlives this.
  void UseFunctions(FunctionRuntime* functions) { functions_ = functions; }
  PredicateRuntime* predicate_runtime() const { return runtime_; }
  // The state budget of this Detector's rules: its own (EngineLimits::state_budget_bytes, split
  // by Seal() between its rules), or one shared with other Detectors of the same thread (a bus
  // worker's, every generation of a reloaded rule set; its owner splits it, StatefulRules).
  // REQUIRES: before Seal(); nullptr: no budget.
  void ShareStateBudget(std::shared_ptr<StateBudgets> budget) {
    budget_ = std::move(budget);
    owns_budget_ = false;
  }
  const StateBudgets* state_budget() const { return budget_.get(); }
  FunctionRuntime* functions() const { return functions_; }

  // Adds rule number rule_count(). Fails (and adds nothing) when the engine refuses the program,
  // e.g. a pipe that cannot stream. REQUIRES: Seal() was not called; `program` outlives this.
  absl::Status AddRule(const eql::IrProgram* program);

  // Hot reload: adds rule number rule_count() with an engine (and its partial matches) taken
  // from an earlier Detector by ReleaseEngine(); `engine` must run `program`.
  void AdoptRule(const eql::IrProgram* program, std::unique_ptr<QueryEngine> engine);
  // Hot reload: moves rule `rule`'s engine out (for AdoptRule of the next Detector). Afterwards
  // this Detector may only be destroyed.
  std::unique_ptr<QueryEngine> ReleaseEngine(size_t rule) { return std::move(engines_[rule]); }

  // Builds the index. REQUIRES: called once, after the last AddRule(), before Process().
  absl::Status Seal();
  // Seal() with an index built elsewhere (RuleIndex::Build over exactly this Detector's programs,
  // in rule order): a hot reload builds it off the detection thread.
  void Seal(std::shared_ptr<const RuleIndex> index);

  // Hot reload: replaces rule `rule`'s engine with one taken from an earlier Detector by
  // ReleaseEngine() (its partial matches and all). The engine must run this Detector's program
  // of that rule. REQUIRES: Seal() was called.
  void ReplaceEngine(size_t rule, std::unique_ptr<QueryEngine> engine);

  using MatchCallback = absl::FunctionRef<void(size_t rule, QueryMatch& match)>;

  // Runs the candidate rules over `event` (the caller's `index` identifies it in matches).
  // `shard`: the event's StateShard (entity_routing.h) when the caller has it (the bus), else
  // kUnknownShard: computed here when a rule needs it.
  static constexpr uint32_t kUnknownShard = UINT32_MAX;
  void Process(const event::Event& event, uint64_t index, MatchCallback on_match,
               uint32_t shard = kUnknownShard);

  // Process() over consecutive events (indexes first_index, first_index + 1, ...), prefetching
  // each event's data a few events ahead: for sources that hold a batch in memory (replay).
  void ProcessBatch(std::span<const event::Event> events, uint64_t first_index,
                    MatchCallback on_match);

  // End of input: sweeps every engine at the latest event time seen (so what has expired by
  // the end is counted as expired, not held), then delivers matches held for a trailing `![..]`.
  void Finish(MatchCallback on_match);
  // The latest event time of the whole stream, for a Detector that sees only part of it (a bus
  // worker): Finish() sweeps at the later of this and its own latest event time, as one Detector
  // over the whole stream would.
  void AdvanceClock(int64_t now_ns) { clock_ns_ = std::max(clock_ns_, now_ns); }

  size_t rule_count() const { return engines_.size(); }
  const EngineStats& stats(size_t rule) const { return engines_[rule]->stats(); }
  // Events for which the rule's predicate runtime failed (trap, limit, reported error).
  uint64_t predicate_errors(size_t rule) const { return engines_[rule]->predicate_errors(); }
  const RuleIndexStats& index_stats() const { return index_->stats(); }
  // Sampled evaluation times of rule `rule` (eval_timing.h); readable from any thread.
  // REQUIRES: Seal() was called.
  const EvalTimeHistogram& eval_time(size_t rule) const { return eval_time_[rule]; }
  // Rule evaluations skipped thanks to the index, and those run.
  uint64_t skipped() const { return skipped_; }
  uint64_t evaluated() const { return evaluated_; }

 private:
  void Deliver(size_t rule, MatchCallback on_match);
  // Whether `program`'s partial matches are kept in shards (an entity-local sequence).
  bool ShardsState(const eql::IrProgram& program) const;
  // While budget domain `d` is over its limit, evicts the least recently written match of any
  // rule holding more than the domain's floor there (of any rule when none does).
  void EnforceBudget(uint32_t d);
  // Gives back to the budget what `engine` holds (it leaves this Detector).
  void Uncharge(QueryEngine& engine);
  // Fills budget_rules_ (after Seal() and ReplaceEngine()).
  void ListBudgetRules();
  // A sequence holding no partial match whose first stage the index closed for this event.
  bool Idle(uint32_t rule) const {
    return start_slot_[rule] != kNoSlot && !matcher_->StageOpen(start_slot_[rule]) &&
           engines_[rule]->stats().partials == 0;
  }

  schema::Schema& schema_;
  EngineLimits limits_;
  PredicateRuntime* runtime_ = nullptr;
  FunctionRuntime* functions_ = nullptr;
  std::vector<const eql::IrProgram*> programs_;
  std::vector<std::unique_ptr<QueryEngine>> engines_;
  std::shared_ptr<const RuleIndex> index_;
  std::unique_ptr<RuleMatcher> matcher_;
  std::unique_ptr<EvalTimeHistogram[]> eval_time_;  // per rule, from Seal()
  CurrentEvidence current_;                         // evidence copies shared by the engines
  std::shared_ptr<StateBudgets> budget_;
  bool owns_budget_ = false;
  bool check_all_domains_ = false;  // after Seal()/ReplaceEngine(): engines charged at once
  // The rules EnforceBudget looks at, in rule order: [0] those whose state is in the shard
  // domains (entity-local sequences), [1] those whose state is in the global domain (other
  // sequences, joins, samples). Single-event rules hold none: a flood evicts once or twice per
  // event, and each eviction asked every rule of the pack for its oldest write.
  std::vector<uint32_t> budget_rules_[2];
  std::vector<schema::FieldId> route_fields_;  // RouteFields(schema_)
  bool sharded_ = false;                       // a rule keeps its state in shards
  uint64_t events_ = 0;
  int64_t clock_ns_ = INT64_MIN;  // the latest event time seen (AdvanceClock: of the stream)
  uint64_t skipped_ = 0;
  uint64_t evaluated_ = 0;
  static constexpr uint32_t kNoSlot = UINT32_MAX;
  std::vector<uint32_t> start_slot_;  // per rule: its first stage's slot, for Idle()
};

}  // namespace kestrel::engine
