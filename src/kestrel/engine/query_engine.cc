// QueryEngine; see query_engine.h for the semantics.
//
// State: for sequences, one map key -> partial match per stage (vector of maps); for joins and
// samples, one map key -> slots per stage. Keys are the `by` values serialised as JSON text.
// Cost per event: the stage predicates, plus (sequences with maxspan) a sweep of the partial
// matches to expire them — fine for query (hunting) mode; the streaming engine replaces the sweep
// with a time-ordered index.
#include "kestrel/engine/query_engine.h"

#include <algorithm>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "kestrel/base/string_map.h"
#include "kestrel/engine/lineage.h"
#include "kestrel/engine/state_store.h"
#include "kestrel/eql/ir_eval.h"
#include "kestrel/event/json_writer.h"

#include <fmt/format.h>

namespace kestrel::engine {
namespace {

using EventPtr = std::shared_ptr<const event::Event>;

using Partial = PartialMatch;

// Collects relation nodes, innermost first, so nested sub-queries mark before outer ones read.
void CollectRelations(const eql::IrNode& node, std::vector<const eql::IrNode*>* out) {
  for (const eql::IrNodePtr& c : node.children) CollectRelations(*c, out);
  if (node.op == eql::IrOp::kRelation) out->push_back(&node);
}

}  // namespace

class QueryEngine::Impl {
 public:
  Impl(const eql::IrProgram* program, schema::Schema& schema, const EngineLimits& limits)
      : program_(program), schema_(schema), limits_(limits), lineage_(schema, program->dialect) {
    span_ns_ = program->maxspan_ns.value_or(limits.default_ttl_ns);
    // Positive stages (`runs` expanded) and the missing-event stages `![...]` between them:
    // missing_[j] holds those right before positive stage j (j == stages_.size(): trailing).
    missing_.emplace_back();
    for (const eql::IrStage& s : program->stages) {
      if (s.missing) {
        missing_.back().push_back(&s);
        continue;
      }
      for (int64_t r = 0; r < s.runs.value_or(1); ++r) {
        stages_.push_back(&s);
        missing_.emplace_back();
      }
    }
    for (const eql::IrStage* s : stages_) CollectRelations(*s->predicate, &relations_);
    for (const auto& group : missing_) {
      for (const eql::IrStage* s : group) CollectRelations(*s->predicate, &relations_);
    }
    if (program->until) CollectRelations(*program->until->predicate, &relations_);
    for (const eql::IrPipe& p : program->pipes) {
      for (const eql::IrNodePtr& a : p.args) CollectRelations(*a, &relations_);
    }
    StateLimits state_limits;
    state_limits.max_partials = limits.max_partials;
    state_limits.max_keys = limits.max_keys;
    state_limits.ttl_ns = span_ns_;
    state_ = std::make_unique<StateStore>(stages_.size(), state_limits);
    for (const auto& group : missing_) has_missing_ |= !group.empty();
    count_field_ = *schema.Intern("count", schema::FieldType::kLong, false);
    percent_field_ = *schema.Intern("percent", schema::FieldType::kDouble, false);
    key_field_ = *schema.Intern("key", schema::FieldType::kKeyword, false);
    ctx_.scratch = &scratch_;
    ctx_.schema = &schema;
    ctx_.relation = [](void* state, const eql::IrNode& node, const eql::EvalContext& ctx) {
      auto* self = static_cast<Impl*>(state);
      return event::Value::Bool(ctx.event != nullptr && self->lineage_.Related(node, *ctx.event));
    };
    ctx_.relation_state = this;
  }

  void Process(const event::Event& e, uint64_t index) {
    scratch_.Reset();
    if (current_ == &own_current_) own_current_ = nullptr;
    ctx_.event = &e;
    if (!relations_.empty()) lineage_.Observe(e);
    for (const eql::IrNode* r : relations_) {
      if (r->category && !e.InCategory(*r->category)) continue;
      if (eql::EvalCondition(*r->children[0], ctx_)) lineage_.Mark(r, e);
    }
    switch (program_->kind) {
      case eql::QueryKind::kEvent:
        if (Matches(*stages_[0], e)) Emit({index}, {Copy(e)});
        break;
      case eql::QueryKind::kSequence:
        Sequence(e, index);
        break;
      case eql::QueryKind::kJoin:
      case eql::QueryKind::kSample:
        Join(e, index);
        break;
    }
  }

  std::vector<QueryMatch> TakeResults() {
    std::vector<QueryMatch> out;
    out.swap(results_);
    if (program_->pipes.empty() || out.empty()) return out;
    // Streaming pipes, applied in order to each result as it completes: `head N` passes the
    // first N, `unique k` the first result per key (the seen keys are kept for the whole run).
    std::vector<QueryMatch> kept;
    std::vector<const event::Event*> focus;
    for (QueryMatch& m : out) {
      bool pass = true;
      for (size_t p = 0; p < program_->pipes.size() && pass; ++p) {
        const eql::IrPipe& pipe = program_->pipes[p];
        if (pipe.kind == eql::PipeKind::kHead) {
          pass = stream_passed_[p]++ < static_cast<uint64_t>(std::max<int64_t>(pipe.limit, 0));
        } else {
          Focus(m, &focus);
          pass = stream_seen_[p].insert(Key(pipe.args)).second;
        }
      }
      if (pass) kept.push_back(std::move(m));
    }
    ctx_.match_events = nullptr;
    ctx_.match_size = 0;
    return kept;
  }
  bool HasPipes() const { return !program_->pipes.empty(); }
  const EngineStats& stats() const { return stats_; }

  void ShareEvidence(std::shared_ptr<const event::Event>* slot) {
    current_ = slot != nullptr ? slot : &own_current_;
  }

  void UseIndex(const RuleIndex& index, const RuleMatcher* matcher) {
    gate_ = matcher;
    gate_slots_.clear();
    auto add = [&](const eql::IrStage& s) {
      std::optional<uint32_t> slot = index.SlotOf(&s);
      if (slot) gate_slots_.emplace_back(&s, *slot);
    };
    for (const eql::IrStage& s : program_->stages) add(s);
    if (program_->until) add(*program_->until);
  }

  void Expire(int64_t now) {
    if (program_->kind != eql::QueryKind::kSequence) return;
    state_->Sweep(now);
    SyncStats();
  }

  void SyncStats() {
    const StateStats& s = state_->stats();
    stats_.partials = s.partials + slots_.size();
    stats_.keys = s.keys + slots_.size();
    stats_.expired = s.expired;
    stats_.evicted = s.evicted + join_evicted_;
  }

  void EndOfInput() {
    if (!pending_.empty()) EmitPending(0, true);
  }

  std::vector<QueryMatch> Finish() {
    if (!pending_.empty()) EmitPending(0, true);
    for (const eql::IrPipe& pipe : program_->pipes) ApplyPipe(pipe);
    return std::move(results_);
  }

 private:
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

  std::string Key(const std::vector<eql::IrNodePtr>& by) {
    std::string key;
    for (const eql::IrNodePtr& k : by) {
      event::AppendJsonValue(&key, eql::EvalIr(*k, ctx_));
      key.push_back('\x1f');
    }
    return key;
  }

  EventPtr Copy(const event::Event& e) {
    if (!*current_) *current_ = std::make_shared<const event::Event>(e);
    return *current_;
  }

  void Emit(std::vector<uint64_t> indexes, std::vector<EventPtr> events,
            std::string entity_key = {}) {
    results_.push_back(QueryMatch{std::move(indexes), std::move(events), std::move(entity_key)});
  }

  // `name=value` pairs of the join keys, for alerts (values as JSON text).
  std::string EntityKey(const std::vector<eql::IrNodePtr>& by) {
    std::string out;
    for (const eql::IrNodePtr& k : by) {
      if (!out.empty()) out += ", ";
      if (k->op == eql::IrOp::kField) {
        out += schema_.Info(k->field).name;
      } else {
        out += "key";
      }
      out.push_back('=');
      eql::EvalContext ctx = ctx_;
      event::AppendJsonValue(&out, eql::EvalIr(*k, ctx));
    }
    return out;
  }

  // Missing-event stages: a matching event cancels what waits across it.
  void Missing(const event::Event& e, int64_t now) {
    for (size_t j = 0; j < missing_.size(); ++j) {
      for (const eql::IrStage* m : missing_[j]) {
        if (!Matches(*m, e)) continue;
        std::string key = Key(m->by);
        if (j == 0) {
          leading_seen_.insert_or_assign(key, now);  // no sequence may start just after it
          if (leading_seen_.size() > limits_.max_partials) leading_seen_.clear();
        } else if (j == stages_.size()) {
          pending_.erase(key);  // a trailing match is disproved
        } else {
          state_->Erase(j - 1, key);  // the partial waiting for stage j is disproved
        }
      }
    }
  }

  // Trailing missing stages: a complete match is emitted once its window closes without one.
  void EmitPending(int64_t now, bool all) {
    std::vector<std::pair<std::string, PendingMatch>> due;
    for (auto& [key, p] : pending_) {
      if (all || (span_ns_ > 0 && now - p.partial.start_ns > span_ns_)) due.emplace_back(key, p);
    }
    std::sort(due.begin(), due.end(),
              [](const auto& a, const auto& b) { return a.second.sequence < b.second.sequence; });
    for (auto& [key, p] : due) {
      pending_.erase(key);
      Emit(std::move(p.partial.indexes), std::move(p.partial.events), std::move(p.entity_key));
    }
  }

  void Sequence(const event::Event& e, uint64_t index) {
    int64_t now = e.time_ns();
    if (program_->until && Matches(*program_->until, e)) {
      std::string key = Key(program_->until->by);
      state_->EraseKey(key);
      pending_.erase(key);
    }
    if (has_missing_) {
      Missing(e, now);
      if (!pending_.empty()) EmitPending(now, false);
    }
    for (size_t i = stages_.size(); i-- > 0;) {
      const eql::IrStage& stage = *stages_[i];
      if (!Matches(stage, e)) continue;
      std::string key = Key(stage.by);
      Partial next;
      if (i == 0) {
        if (!missing_[0].empty()) {
          auto seen = leading_seen_.find(key);
          if (seen != leading_seen_.end() && (span_ns_ == 0 || now - seen->second <= span_ns_)) {
            continue;
          }
        }
        next.start_ns = now;
      } else {
        const Partial* waiting = state_->Find(i - 1, key);
        if (waiting == nullptr) continue;
        if (state_->Expired(*waiting, now)) {
          state_->Erase(i - 1, key);
          state_->CountExpired();
          continue;
        }
        if (stage.fork) {
          next = *waiting;
        } else {
          state_->Take(i - 1, key, &next);
        }
      }
      next.indexes.push_back(index);
      next.events.push_back(Copy(e));
      if (i + 1 == stages_.size()) {
        if (!missing_.back().empty()) {
          pending_.insert_or_assign(
              key, PendingMatch{std::move(next), EntityKey(stage.by), ++pending_sequence_});
        } else {
          Emit(std::move(next.indexes), std::move(next.events), EntityKey(stage.by));
        }
      } else {
        state_->Put(i, key, std::move(next));
      }
    }
    state_->Sweep(now);
    SyncStats();
  }

  // Joins and samples keep, per key, the first event of each stage; past max_keys keys the
  // oldest created (other than `keep`) are evicted and counted. join_order_ may hold keys
  // already completed or cleared; they are skipped (a key completed and created again keeps
  // its first position: eviction is by first creation).
  void EvictJoinKeys(const std::string& keep) {
    while (slots_.size() > limits_.max_keys && !join_order_.empty()) {
      std::string oldest = std::move(join_order_.front());
      join_order_.pop_front();
      if (oldest != keep && slots_.erase(oldest) > 0) ++join_evicted_;
    }
    if (join_order_.size() > 4 * (slots_.size() + 1024)) {
      std::deque<std::string> live;
      for (std::string& k : join_order_) {
        if (slots_.contains(k)) live.push_back(std::move(k));
      }
      join_order_.swap(live);
    }
  }

  void Join(const event::Event& e, uint64_t index) {
    if (program_->until && Matches(*program_->until, e)) {
      slots_.erase(Key(program_->until->by));
    }
    for (size_t i = 0; i < stages_.size(); ++i) {
      const eql::IrStage& stage = *stages_[i];
      if (!Matches(stage, e)) continue;
      std::string key = Key(stage.by);
      auto [found, inserted] = slots_.try_emplace(key);
      auto& slots = found->second;
      if (inserted) {
        slots.resize(stages_.size());
        join_order_.push_back(key);
        EvictJoinKeys(key);
      }
      if (slots[i]) continue;  // the first event of a stage is kept
      slots[i] = std::make_pair(index, Copy(e));
      bool complete = std::all_of(slots.begin(), slots.end(), [](const auto& s) { return s; });
      if (complete) {
        QueryMatch m;
        m.entity_key = EntityKey(stage.by);
        for (auto& s : slots) {
          m.event_indexes.push_back(s->first);
          m.events.push_back(s->second);
        }
        results_.push_back(std::move(m));
        slots_.erase(key);
      }
    }
    SyncStats();
  }

  // Points the evaluation context at a result: its first event for plain fields, all of them
  // for `events[i].field`.
  void Focus(const QueryMatch& m, std::vector<const event::Event*>* storage) {
    storage->clear();
    for (const EventPtr& p : m.events) storage->push_back(p.get());
    ctx_.event = storage->empty() ? nullptr : (*storage)[0];
    ctx_.match_events = storage->data();
    ctx_.match_size = storage->size();
  }

  void ApplyPipe(const eql::IrPipe& pipe) {
    std::vector<const event::Event*> focus;
    switch (pipe.kind) {
      case eql::PipeKind::kHead:
        if (results_.size() > static_cast<size_t>(std::max<int64_t>(pipe.limit, 0))) {
          results_.resize(static_cast<size_t>(std::max<int64_t>(pipe.limit, 0)));
        }
        break;
      case eql::PipeKind::kTail: {
        size_t keep = static_cast<size_t>(std::max<int64_t>(pipe.limit, 0));
        if (results_.size() > keep) {
          results_.erase(results_.begin(), results_.end() - static_cast<ptrdiff_t>(keep));
        }
        break;
      }
      case eql::PipeKind::kFilter: {
        std::vector<QueryMatch> kept;
        for (QueryMatch& m : results_) {
          Focus(m, &focus);
          scratch_.Reset();
          if (eql::EvalCondition(*pipe.args[0], ctx_)) kept.push_back(std::move(m));
        }
        results_ = std::move(kept);
        break;
      }
      case eql::PipeKind::kUnique: {
        absl::flat_hash_set<std::string> seen;
        std::vector<QueryMatch> kept;
        for (QueryMatch& m : results_) {
          Focus(m, &focus);
          scratch_.Reset();
          if (seen.insert(Key(pipe.args)).second) kept.push_back(std::move(m));
        }
        results_ = std::move(kept);
        break;
      }
      case eql::PipeKind::kUniqueCount: {
        // The first result per key, with `count` (results with that key) and `percent` (their
        // share of all results) added to its first event, as the reference does.
        absl::flat_hash_map<std::string, size_t> position;
        std::vector<QueryMatch> kept;
        std::vector<int64_t> counts;
        for (QueryMatch& m : results_) {
          Focus(m, &focus);
          scratch_.Reset();
          auto [it, inserted] = position.try_emplace(Key(pipe.args), kept.size());
          if (inserted) {
            kept.push_back(std::move(m));
            counts.push_back(0);
          }
          ++counts[it->second];
        }
        double total = static_cast<double>(results_.size());
        for (size_t i = 0; i < kept.size(); ++i) {
          if (kept[i].events.empty()) continue;
          auto annotated = std::make_shared<event::Event>(*kept[i].events[0]);
          annotated->SetInt(count_field_, counts[i]);
          annotated->SetDouble(percent_field_, static_cast<double>(counts[i]) / total);
          annotated->Finish();
          kept[i].events[0] = std::move(annotated);
        }
        results_ = std::move(kept);
        break;
      }
      case eql::PipeKind::kSort: {
        // Evaluate the keys once per result, then a stable sort (nulls first).
        std::vector<std::pair<std::vector<event::Value>, size_t>> keyed;
        base::StringArena keys_arena;
        for (size_t r = 0; r < results_.size(); ++r) {
          Focus(results_[r], &focus);
          ctx_.scratch = &keys_arena;
          std::vector<event::Value> values;
          for (const eql::IrNodePtr& a : pipe.args) values.push_back(eql::EvalIr(*a, ctx_));
          keyed.emplace_back(std::move(values), r);
        }
        ctx_.scratch = &scratch_;
        bool ci = program_->case_insensitive;
        std::stable_sort(keyed.begin(), keyed.end(), [ci](const auto& a, const auto& b) {
          for (size_t i = 0; i < a.first.size(); ++i) {
            const event::Value& x = a.first[i];
            const event::Value& y = b.first[i];
            if (x.is_null() != y.is_null()) return x.is_null();
            if (eql::IsTrue(eql::Compare(eql::CompareOp::kLt, x, y, ci))) return true;
            if (eql::IsTrue(eql::Compare(eql::CompareOp::kLt, y, x, ci))) return false;
          }
          return false;
        });
        std::vector<QueryMatch> sorted;
        for (auto& [values, r] : keyed) sorted.push_back(std::move(results_[r]));
        results_ = std::move(sorted);
        break;
      }
      case eql::PipeKind::kCount:
        Count(pipe);
        break;
    }
    ctx_.match_events = nullptr;
    ctx_.match_size = 0;
  }

  // `count`: statistics replace the results. Without keys, one result {count: N, key: "totals"};
  // with keys, one per distinct key {count, key (the value, or an array of them), percent},
  // ordered by count, then by the key's JSON text (the reference sorts by count too).
  void Count(const eql::IrPipe& pipe) {
    double total = static_cast<double>(results_.size());
    std::vector<QueryMatch> out;
    auto make = [&](int64_t count, const std::vector<event::Value>& keys, bool totals) {
      auto e = std::make_shared<event::Event>();
      e->SetInt(count_field_, count);
      if (totals) {
        e->SetString(key_field_, "totals");
      } else {
        if (keys.size() == 1) {
          e->Set(key_field_, keys[0]);
        } else {
          e->SetArray(key_field_, keys);
        }
        e->SetDouble(percent_field_, total > 0 ? static_cast<double>(count) / total : 0);
      }
      e->Finish();
      QueryMatch m;
      m.events.push_back(std::move(e));
      return m;
    };
    if (pipe.args.empty()) {
      out.push_back(make(static_cast<int64_t>(results_.size()), {}, true));
      results_ = std::move(out);
      return;
    }
    struct Group {
      std::vector<event::Value> keys;
      int64_t count = 0;
    };
    base::StringMap<Group> groups;
    base::StringArena keys_arena;
    std::vector<const event::Event*> focus;
    for (QueryMatch& m : results_) {
      Focus(m, &focus);
      scratch_.Reset();
      std::string text = Key(pipe.args);
      auto [it, inserted] = groups.try_emplace(text);
      if (inserted) {
        for (const eql::IrNodePtr& a : pipe.args) {
          event::Value v = eql::EvalIr(*a, ctx_);
          if (v.kind() == event::ValueKind::kString) {
            v = event::Value::String(keys_arena.Copy(v.as_string()));
          }
          it->second.keys.push_back(v.kind() == event::ValueKind::kArray ? event::Value::Null()
                                                                         : v);
        }
      }
      ++it->second.count;
    }
    std::vector<std::pair<std::string, Group*>> sorted;
    for (auto& [text, g] : groups) sorted.emplace_back(text, &g);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.second->count != b.second->count ? a.second->count < b.second->count
                                                : a.first < b.first;
    });
    for (const auto& [text, g] : sorted) out.push_back(make(g->count, g->keys, false));
    results_ = std::move(out);
  }

  const eql::IrProgram* program_;
  const schema::Schema& schema_;
  EngineLimits limits_;
  ProcessLineage lineage_;
  int64_t span_ns_ = 0;                 // maxspan, else the default TTL; 0: partials never expire
  std::unique_ptr<StateStore> state_;   // sequences: the partial matches
  std::deque<std::string> join_order_;  // joins and samples: keys in creation order
  uint64_t join_evicted_ = 0;
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
  absl::flat_hash_map<std::string, PendingMatch> pending_;
  absl::flat_hash_map<size_t, uint64_t> stream_passed_;  // head, per pipe
  absl::flat_hash_map<size_t, absl::flat_hash_set<std::string>>
      stream_seen_;  // unique, per pipe  // complete, awaiting trailing `![..]`
  uint64_t pending_sequence_ = 0;
  std::vector<const eql::IrNode*> relations_;
  absl::flat_hash_map<std::string, std::vector<std::optional<std::pair<uint64_t, EventPtr>>>>
      slots_;
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
  // The copy of the event being processed, made on first use: own_current_, or a slot shared
  // by the engines of a Detector (one copy however many rules keep the event).
  EventPtr own_current_;
  EventPtr* current_ = &own_current_;
  const RuleMatcher* gate_ = nullptr;  // pre-filter, see UseIndex()
  std::vector<std::pair<const eql::IrStage*, uint32_t>> gate_slots_;
  schema::FieldId count_field_, percent_field_;  // added by unique_count and count
  schema::FieldId key_field_;                    // added by count
};

absl::StatusOr<std::unique_ptr<QueryEngine>> QueryEngine::Create(const eql::IrProgram* program,
                                                                 schema::Schema& schema,
                                                                 const EngineLimits& limits) {
  if (std::all_of(program->stages.begin(), program->stages.end(),
                  [](const eql::IrStage& s) { return s.missing; })) {
    return absl::InvalidArgumentError("a sequence needs at least one stage that is not `![...]`");
  }
  for (const eql::IrPipe& p : program->pipes) {
    if (limits.streaming && p.kind != eql::PipeKind::kHead && p.kind != eql::PipeKind::kUnique) {
      return absl::InvalidArgumentError(fmt::format(
          "the `{}` pipe needs every result before it can answer, so it cannot run on a live "
          "stream; streaming rules may use `head` and `unique` (run the query with `kestrel "
          "query` instead)",
          eql::PipeKindName(p.kind)));
    }
  }
  return std::unique_ptr<QueryEngine>(
      new QueryEngine(std::make_unique<Impl>(program, schema, limits)));
}

QueryEngine::QueryEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueryEngine::~QueryEngine() = default;

void QueryEngine::Process(const event::Event& event, uint64_t index) {
  impl_->Process(event, index);
}

std::vector<QueryMatch> QueryEngine::Finish() { return impl_->Finish(); }

std::vector<QueryMatch> QueryEngine::TakeResults() { return impl_->TakeResults(); }

bool QueryEngine::HasPipes() const { return impl_->HasPipes(); }

const EngineStats& QueryEngine::stats() const { return impl_->stats(); }

void QueryEngine::UseIndex(const RuleIndex& index, const RuleMatcher* matcher) {
  impl_->UseIndex(index, matcher);
}

void QueryEngine::ShareEvidence(std::shared_ptr<const event::Event>* slot) {
  impl_->ShareEvidence(slot);
}

void QueryEngine::UsePredicates(std::unique_ptr<RulePredicates> predicates) {
  impl_->UsePredicates(std::move(predicates));
}

void QueryEngine::UseFunctions(FunctionRuntime* functions) { impl_->UseFunctions(functions); }

uint64_t QueryEngine::predicate_errors() const { return impl_->predicate_errors(); }

void QueryEngine::Expire(int64_t now_ns) { impl_->Expire(now_ns); }

void QueryEngine::EndOfInput() { impl_->EndOfInput(); }

}  // namespace kestrel::engine
