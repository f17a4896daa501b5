// Private to the query engine (query_engine.cc, query_sequence.cc, query_join.cc,
// query_pipes.cc): QueryEngine::Impl, the state and evaluation of one program. Not part of the
// library's API; the semantics are query_engine.h's.
//
// Where each part lives:
//   query_engine.cc    construction, per-event dispatch and event queries, the index gate, join
//                      keys and entity keys, the public QueryEngine methods
//   query_sequence.cc  sequences: stages advancing per key, maxspan, `until`, `fork`, `runs`,
//                      missing-event stages `![...]`
//   query_join.cc      joins and samples: the first event per stage and key, bounded keys
//   query_pipes.cc     pipes: streaming (head, unique, per result) and at the end (every pipe)
//
// State: for sequences, one map key -> partial match per stage (StateStore); for joins and
// samples, one map key -> slots per stage. Keys are JoinKeys (join_key.h): the `by` values'
// JSON text and its hash, built once per event for all the engines of a Detector.
// Cost per event: the stage predicates, plus (sequences with maxspan) a sweep of the partial
// matches to expire them.
// Thread safety: one thread per engine.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "kestrel/base/arena.h"
#include "kestrel/engine/lineage.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/engine/state_store.h"
#include "kestrel/eql/ir_eval.h"
#include "kestrel/event/json_writer.h"

namespace kestrel::engine {

class QueryEngine::Impl {
 public:
  using JoinSlots =
      std::vector<std::optional<std::pair<uint64_t, std::shared_ptr<const event::Event>>>>;
  Impl(const eql::IrProgram* program, schema::Schema& schema, const EngineLimits& limits);

  void Process(const event::Event& e, uint64_t index, uint32_t shard);

  std::vector<QueryMatch> TakeResults();
  bool HasPipes() const { return !program_->pipes.empty(); }
  size_t ResultsSoFar() const { return results_.size(); }
  const EngineStats& stats() const { return stats_; }

  void ShareEvidence(CurrentEvidence* slot) { current_ = slot != nullptr ? slot : &own_current_; }

  void UseIndex(const RuleIndex& index, const RuleMatcher* matcher);

  void Expire(int64_t now, bool all = false) {
    if (program_->kind != eql::QueryKind::kSequence) return;
    StateStore* current = state_;
    for (auto& store : stores_) {
      if (store == nullptr) continue;
      state_ = store.get();
      BeginStateChange();
      all ? state_->SweepAll(now) : state_->Sweep(now);
      SyncStats();
    }
    state_ = current;
    BeginStateChange();
  }

  // The store of `shard` (created at first use) becomes the current one: state_.
  void SelectStore(uint32_t shard) {
    uint32_t at = shard % stores_.size();
    std::unique_ptr<StateStore>& store = stores_[at];
    if (store == nullptr) {
      store = std::make_unique<StateStore>(stages_.size(), store_limits_);
      if (budgets_ != nullptr) store->UseBudget(&budgets_->domain(StoreDomain(at)));
    }
    state_ = store.get();
    BeginStateChange();
  }
  // The budget domain of stores_[i] (state_budget.h): its shard's, or the global one.
  uint32_t StoreDomain(size_t i) const {
    return stores_.size() > 1 ? static_cast<uint32_t>(i) : StateBudgets::kGlobalDomain;
  }
  // The store of budget domain `d` (nullptr: none).
  StateStore* DomainStore(uint32_t d) {
    if (stores_.size() > 1) return d < stores_.size() ? stores_[d].get() : nullptr;
    return d == StateBudgets::kGlobalDomain ? stores_[0].get() : nullptr;
  }

  // The statistics of all stores are kept as sums: BeginStateChange() notes the current store's
  // before a change to it, SyncStats() adds the change (no walk over every shard per event).
  void BeginStateChange() { state_before_ = state_->stats(); }
  void SyncStats() {
    const StateStats& s = state_->stats();
    state_sums_.partials += s.partials - state_before_.partials;
    state_sums_.keys += s.keys - state_before_.keys;
    state_sums_.expired += s.expired - state_before_.expired;
    state_sums_.evicted += s.evicted - state_before_.evicted;
    state_sums_.evicted_budget += s.evicted_budget - state_before_.evicted_budget;
    state_before_ = s;
    stats_.partials = state_sums_.partials + slots_.size();
    stats_.keys = state_sums_.keys + slots_.size();
    stats_.expired = state_sums_.expired;
    stats_.evicted = state_sums_.evicted + join_evicted_;
    stats_.evicted_budget = state_sums_.evicted_budget + join_evicted_budget_;
  }

  // State budget (state_budget.h): joins and samples charge per key (JoinKeyBytes) to the global
  // domain, sequences through their StateStores to their stores' domains.
  void UseBudget(StateBudgets* budgets) {
    for (size_t i = 0; i < stores_.size(); ++i) {
      if (stores_[i] != nullptr) {
        stores_[i]->UseBudget(budgets != nullptr ? &budgets->domain(StoreDomain(i)) : nullptr);
      }
    }
    if (budgets == budgets_) return;
    budgets_ = budgets;
    budget_ = budgets != nullptr ? &budgets->domain(StateBudgets::kGlobalDomain) : nullptr;
    if (budget_ != nullptr) {
      budget_->Charge(static_cast<int64_t>(join_bytes_));
      budget_->AdvanceTo(join_tick_);
    }
  }
  bool sharded_state() const { return stores_.size() > 1; }
  size_t state_bytes() const {
    size_t bytes = join_bytes_;
    for (const auto& store : stores_) bytes += store != nullptr ? store->bytes() : 0;
    return bytes;
  }
  size_t state_bytes(uint32_t d) {
    StateStore* store = DomainStore(d);
    return (store != nullptr ? store->bytes() : 0) +
           (d == StateBudgets::kGlobalDomain ? join_bytes_ : 0);
  }
  uint64_t OldestStateTick(uint32_t d) {
    StateStore* store = DomainStore(d);
    uint64_t t = store != nullptr ? store->OldestTick() : UINT64_MAX;
    if (d != StateBudgets::kGlobalDomain) return t;
    while (!join_order_.empty() && !slots_.contains(join_order_.front().second)) {
      join_order_.pop_front();
    }
    if (!join_order_.empty()) t = std::min(t, join_order_.front().first);
    return t;
  }
  bool EvictOldestState(uint32_t d) {
    uint64_t t = OldestStateTick(d);
    if (t == UINT64_MAX) return false;
    if (d == StateBudgets::kGlobalDomain && !join_order_.empty() &&
        join_order_.front().first == t) {
      auto it = slots_.find(join_order_.front().second);
      join_order_.pop_front();
      EraseJoinKey(it);
      ++join_evicted_budget_;
      SyncStats();
    } else {
      StateStore* current = state_;
      state_ = DomainStore(d);
      BeginStateChange();
      state_->EvictOldest();
      SyncStats();
      state_ = current;
      BeginStateChange();
    }
    return true;
  }
  size_t JoinKeyBytes(const std::string& key, const JoinSlots& slots) const {
    size_t bytes = 2 * key.size() + 64 + slots.capacity() * sizeof(JoinSlots::value_type);
    for (const auto& s : slots) {
      if (s) bytes += EvidenceBytes(*s->second);
    }
    return bytes;
  }
  void ChargeJoin(int64_t delta) {
    join_bytes_ += delta;
    if (budget_ != nullptr) budget_->Charge(delta);
  }
  template <typename It>
  void EraseJoinKey(It it) {
    if (it == slots_.end()) return;
    ChargeJoin(-static_cast<int64_t>(JoinKeyBytes(it->first, it->second)));
    slots_.erase(it);
  }

  void EndOfInput() {
    if (!pending_.empty()) EmitPending(0, true);
  }

  std::vector<QueryMatch> Finish();

 private:
  using EventPtr = std::shared_ptr<const event::Event>;
  using Partial = PartialMatch;

  bool Matches(const eql::IrStage& stage, const event::Event& e) {
    if (stage.category && !e.InCategory(*stage.category)) return false;
    if (gate_ != nullptr && !GateOpen(stage)) return false;
    if (predicates_ != nullptr) return predicates_->Holds(stage, ctx_);
    return eql::EvalCondition(*stage.predicate, ctx_);
  }

  bool GateOpen(const eql::IrStage& stage) const {
    for (const auto& [s, slot] : gate_slots_) {
      if (s == &stage) return gate_->StageOpen(slot);
    }
    return true;
  }

  // The join key of `by` for the current event (join_key.h): built once per event for every
  // engine sharing current_; valid until the next Key().
  JoinKey Key(const std::vector<eql::IrNodePtr>& by) { return current_->keys.Get(by, ctx_); }
  // The same text for whatever ctx_ is focused on (pipes: a result, not the current event).
  std::string KeyText(const std::vector<eql::IrNodePtr>& by) {
    std::string key;
    AppendJoinKeyText(&key, by, ctx_);
    return key;
  }

  EventPtr Copy(const event::Event& e) {
    if (!current_->copy) current_->copy = std::make_shared<const event::Event>(e);
    return current_->copy;
  }
  // The compact form of the current event (index `index`), shared like Copy()'s.
  EvidenceRef Encoded(const event::Event& e, uint64_t index) {
    if (!current_->encoded) current_->encoded = EvidenceRef::Adopt(Evidence::Create(e, index));
    return current_->encoded;
  }
  // A complete sequence match: its evidence decoded, then (when `last` is set) the current event.
  void EmitSequence(const Partial& p, const event::Event* last, uint64_t last_index,
                    std::string entity_key) {
    std::vector<uint64_t> indexes;
    std::vector<EventPtr> events;
    indexes.reserve(p.events.size() + 1);
    events.reserve(p.events.size() + 1);
    for (const EvidenceRef& r : p.events) {
      indexes.push_back(r->index());
      events.push_back(r->Decode());
    }
    if (last != nullptr) {
      indexes.push_back(last_index);
      events.push_back(Copy(*last));
    }
    Emit(std::move(indexes), std::move(events), std::move(entity_key));
  }

  void Emit(std::vector<uint64_t> indexes, std::vector<EventPtr> events,
            std::string entity_key = {}) {
    results_.push_back(QueryMatch{std::move(indexes), std::move(events), std::move(entity_key)});
  }

  // `name=value` pairs of the join keys, for alerts (values as JSON text).
  std::string EntityKey(const std::vector<eql::IrNodePtr>& by);

  // Missing-event stages: a matching event cancels what waits across it.
  void Missing(const event::Event& e, int64_t now);

  // Trailing missing stages: a complete match is emitted once its window closes without one.
  void EmitPending(int64_t now, bool all);

  void Sequence(const event::Event& e, uint64_t index);

  // Joins and samples keep, per key, the first event of each stage; past max_keys keys the
  // oldest created (other than `keep`) are evicted and counted. join_order_ may hold keys
  // already completed or cleared; they are skipped (a key completed and created again keeps
  // its first position: eviction is by first creation).
  void EvictJoinKeys(const std::string& keep);

  void Join(const event::Event& e, uint64_t index);

  // Points the evaluation context at a result: its first event for plain fields, all of them
  // for `events[i].field`.
  void Focus(const QueryMatch& m, std::vector<const event::Event*>* storage);

  void ApplyPipe(const eql::IrPipe& pipe);

  // `count`: statistics replace the results. Without keys, one result {count: N, key: "totals"};
  // with keys, one per distinct key {count, key (the value, or an array of them), percent},
  // ordered by count, then by the key's JSON text (the reference sorts by count too).
  void Count(const eql::IrPipe& pipe);

  const eql::IrProgram* program_;
  const schema::Schema& schema_;
  EngineLimits limits_;
  ProcessLineage lineage_;
  int64_t span_ns_ = StateLimits::kNoTtl;  // maxspan, else the default TTL; kNoTtl: no bound
  // Sequences: the partial matches, in one store or one per shard (EngineLimits::state_shards;
  // created at first use), each with store_limits_; state_ is the current event's.
  std::vector<std::unique_ptr<StateStore>> stores_;
  StateLimits store_limits_;
  StateStore* state_ = nullptr;
  StateStats state_sums_;    // over all stores (see SyncStats)
  StateStats state_before_;  // the current store's, before the change being made
  // Joins and samples: keys in creation order, with the tick of their creation.
  std::deque<std::pair<uint64_t, std::string>> join_order_;
  StateBudgets* budgets_ = nullptr;
  StateBudget* budget_ = nullptr;  // budgets_'s global domain (joins and samples)
  size_t join_bytes_ = 0;
  uint64_t join_tick_ = 0;
  uint64_t join_evicted_ = 0;
  uint64_t join_evicted_budget_ = 0;
  EngineStats stats_;
  std::vector<const eql::IrStage*> stages_;                // positive stages, `runs` expanded
  std::vector<std::vector<const eql::IrStage*>> missing_;  // see the constructor
  bool has_missing_ = false;
  absl::flat_hash_map<std::string, int64_t> leading_seen_;  // key -> time of a leading `![..]`
  struct PendingMatch {
    Partial partial;
    std::string entity_key;
    uint64_t sequence;
  };
  absl::flat_hash_map<std::string, PendingMatch> pending_;  // complete, awaiting trailing `![..]`
  absl::flat_hash_map<size_t, uint64_t> stream_passed_;     // head, per pipe
  absl::flat_hash_map<size_t, absl::flat_hash_set<std::string>> stream_seen_;  // unique, per pipe
  uint64_t pending_sequence_ = 0;
  std::vector<const eql::IrNode*> relations_;
  absl::flat_hash_map<std::string, JoinSlots> slots_;
  std::vector<QueryMatch> results_;
  base::StringArena scratch_;
  eql::EvalContext ctx_;
  std::unique_ptr<RulePredicates> predicates_;  // nullptr: native evaluation

 public:
  void UsePredicates(std::unique_ptr<RulePredicates> p) { predicates_ = std::move(p); }
  void UseFunctions(FunctionRuntime* functions) {
    ctx_.custom_state = functions;
    ctx_.custom = functions == nullptr
                      ? nullptr
                      : +[](void* state, const eql::IrNode& node,
                            std::span<const event::Value> args, const eql::EvalContext& ctx) {
                          return static_cast<FunctionRuntime*>(state)->Call(node, args, ctx);
                        };
  }
  uint64_t predicate_errors() const { return predicates_ != nullptr ? predicates_->errors() : 0; }

 private:
  // The copies of the event being processed, made on first use: own_current_, or a slot shared
  // by the engines of a Detector (one copy however many rules keep the event).
  CurrentEvidence own_current_;
  CurrentEvidence* current_ = &own_current_;
  const RuleMatcher* gate_ = nullptr;  // pre-filter, see UseIndex()
  std::vector<std::pair<const eql::IrStage*, uint32_t>> gate_slots_;
  schema::FieldId count_field_, percent_field_;  // added by unique_count and count
  schema::FieldId key_field_;                    // added by count
};

}  // namespace kestrel::engine
