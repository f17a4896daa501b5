// Detector; see detector.h.
#include "kestrel/engine/detector.h"

#include <chrono>

#include "kestrel/engine/entity_routing.h"

namespace kestrel::engine {

std::pair<size_t, size_t> StatefulRules(std::span<const eql::IrProgram* const> programs,
                                        const schema::Schema& schema) {
  std::vector<schema::FieldId> route_fields = RouteFields(schema);
  size_t sharded = 0, global = 0;
  for (const eql::IrProgram* p : programs) {
    if (p->kind == eql::QueryKind::kEvent) continue;
    ++(p->kind == eql::QueryKind::kSequence && EntityLocal(*p, route_fields) ? sharded : global);
  }
  return {sharded, global};
}

Detector::Detector(schema::Schema& schema, const EngineLimits& limits)
    : schema_(schema), limits_(limits), route_fields_(RouteFields(schema)) {
  if (limits.state_budget_bytes > 0) {
    budget_ = std::make_shared<StateBudgets>(limits.state_budget_bytes);
    owns_budget_ = true;
  }
}

void Detector::Uncharge(QueryEngine& engine) {
  if (budget_ == nullptr || engine.state_bytes() == 0) return;
  for (uint32_t d = 0; d < StateBudgets::kDomains; ++d) {
    budget_->domain(d).Charge(-static_cast<int64_t>(engine.state_bytes(d)));
  }
}

Detector::~Detector() {
  // A shared budget outlives this Detector: what its remaining engines held is freed with them.
  for (auto& engine : engines_) {
    if (engine != nullptr) Uncharge(*engine);
  }
}

bool Detector::ShardsState(const eql::IrProgram& program) const {
  return program.kind == eql::QueryKind::kSequence && EntityLocal(program, route_fields_);
}

absl::Status Detector::AddRule(const eql::IrProgram* program) {
  EngineLimits limits = limits_;
  if (ShardsState(*program)) limits.state_shards = kStateShards;
  auto engine = QueryEngine::Create(program, schema_, limits);
  if (!engine.ok()) return engine.status();
  if (functions_ != nullptr) (*engine)->UseFunctions(functions_);
  if (runtime_ != nullptr) {
    auto predicates = runtime_->Compile(*program);
    if (!predicates.ok()) return predicates.status();
    (*engine)->UsePredicates(std::move(*predicates));
  }
  sharded_ |= limits.state_shards > 1;
  programs_.push_back(program);
  engines_.push_back(std::move(*engine));
  return absl::OkStatus();
}

void Detector::AdoptRule(const eql::IrProgram* program, std::unique_ptr<QueryEngine> engine) {
  sharded_ |= ShardsState(*program);
  programs_.push_back(program);
  engines_.push_back(std::move(engine));
}

absl::Status Detector::Seal() {
  auto index = RuleIndex::Build(programs_);
  if (!index.ok()) return index.status();
  Seal(std::shared_ptr<const RuleIndex>(std::move(*index)));
  return absl::OkStatus();
}

void Detector::Seal(std::shared_ptr<const RuleIndex> index) {
  if (budget_ != nullptr && owns_budget_) {
    auto [sharded, global] = StatefulRules(programs_, schema_);
    budget_->Split(sharded, global);
  }
  check_all_domains_ = true;
  ListBudgetRules();
  index_ = std::move(index);
  matcher_ = std::make_unique<RuleMatcher>(*index_);
  eval_time_ = std::make_unique<EvalTimeHistogram[]>(engines_.size());
  for (auto& engine : engines_) {
    engine->UseIndex(*index_, matcher_.get());
    engine->ShareEvidence(&current_);
    engine->UseBudget(budget_.get());
  }
  // A sequence that holds no partial match can only start one: while its first stage is closed
  // for an event, running it would change nothing (no relation to observe, no leading `![..]`
  // to remember, no trailing one to complete: those rules are run on every event anyway).
  start_slot_.assign(programs_.size(), kNoSlot);
  for (size_t r = 0; r < programs_.size(); ++r) {
    const eql::IrProgram& p = *programs_[r];
    if (p.kind != eql::QueryKind::kSequence || p.stages.empty() || p.stages.front().missing ||
        p.stages.back().missing) {
      continue;
    }
    if (std::optional<uint32_t> slot = index_->SlotOf(&p.stages.front())) start_slot_[r] = *slot;
  }
}

void Detector::ReplaceEngine(size_t rule, std::unique_ptr<QueryEngine> engine) {
  if (engines_[rule] != nullptr) Uncharge(*engines_[rule]);
  check_all_domains_ = true;
  engines_[rule] = std::move(engine);
  engines_[rule]->UseIndex(*index_, matcher_.get());
  engines_[rule]->ShareEvidence(&current_);
  engines_[rule]->UseBudget(budget_.get());
  ListBudgetRules();
}

void Detector::ListBudgetRules() {
  for (auto& list : budget_rules_) list.clear();
  for (uint32_t rule = 0; rule < engines_.size(); ++rule) {
    if (engines_[rule]->sharded_state()) {
      budget_rules_[0].push_back(rule);
    } else if (programs_[rule]->kind != eql::QueryKind::kEvent) {
      budget_rules_[1].push_back(rule);
    }
  }
}

void Detector::EnforceBudget(uint32_t d) {
  StateBudget& domain = budget_->domain(d);
  size_t floor = budget_->floor(d);
  while (domain.over()) {
    // The least recently written match of a rule over the floor; of any rule when none is (the
    // floors of a domain add up to half its limit, so only a reload that shrank it gets here).
    size_t pick = engines_.size(), any = engines_.size();
    uint64_t pick_tick = UINT64_MAX, any_tick = UINT64_MAX;
    for (uint32_t rule : budget_rules_[d == StateBudgets::kGlobalDomain ? 1 : 0]) {
      uint64_t tick = engines_[rule]->OldestStateTick(d);
      if (tick == UINT64_MAX) continue;
      if (tick < any_tick) {
        any_tick = tick;
        any = rule;
      }
      if (tick < pick_tick && engines_[rule]->state_bytes(d) > floor) {
        pick_tick = tick;
        pick = rule;
      }
    }
    if (pick == engines_.size()) pick = any;
    // Nothing of this Detector's left: what is over belongs to another Detector sharing the
    // budget, which evicts after its next event.
    if (pick == engines_.size()) return;
    engines_[pick]->EvictOldestState(d);
    domain.CountEviction();
  }
}

void Detector::Deliver(size_t rule, MatchCallback on_match) {
  for (QueryMatch& m : engines_[rule]->TakeResults()) on_match(rule, m);
}

void Detector::Process(const event::Event& event, uint64_t index, MatchCallback on_match,
                       uint32_t shard) {
  clock_ns_ = std::max(clock_ns_, event.time_ns());
  matcher_->Prepare(event);
  current_.Reset();  // the engines' shared copies of `event`, made by the first that keeps it
  if (shard == kUnknownShard) {
    shard = sharded_ && !matcher_->rules().empty() ? StateShard(event, route_fields_) : 0;
  }
  size_t idle_skipped = 0;
  if ((events_ & (EvalTimeHistogram::kSampleInterval - 1)) == 0) {
    // A timed event (metrics only; see eval_timing.h).
    using Clock = std::chrono::steady_clock;
    for (uint32_t rule : matcher_->rules()) {
      Clock::time_point start = Clock::now();
      engines_[rule]->Process(event, index, shard);
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
      eval_time_[rule].Record(static_cast<uint64_t>(ns.count()));
      Deliver(rule, on_match);
    }
  } else {
    for (uint32_t rule : matcher_->rules()) {
      if (Idle(rule)) {
        ++idle_skipped;
        continue;
      }
      engines_[rule]->Process(event, index, shard);
      Deliver(rule, on_match);
    }
  }
  current_.Reset();
  evaluated_ += matcher_->rules().size() - idle_skipped;
  skipped_ += engines_.size() - matcher_->rules().size() + idle_skipped;
  if (++events_ % kSweepInterval == 0) {
    for (auto& engine : engines_) engine->Expire(event.time_ns());
  }
  if (budget_ != nullptr) {
    if (check_all_domains_) {
      check_all_domains_ = false;
      for (uint32_t d = 0; d < StateBudgets::kDomains; ++d) EnforceBudget(d);
    } else {
      // Only the event's domains grew: its shard's (entity-local sequences) and the global one.
      if (sharded_) EnforceBudget(shard % StateBudgets::kShards);
      EnforceBudget(StateBudgets::kGlobalDomain);
    }
  }
}

void Detector::ProcessBatch(std::span<const event::Event> events, uint64_t first_index,
                            MatchCallback on_match) {
  constexpr size_t kAhead = 4;
  for (size_t i = 0; i < events.size(); ++i) {
    if (i + kAhead < events.size()) events[i + kAhead].Prefetch();
    Process(events[i], first_index + i, on_match);
  }
}

void Detector::Finish(MatchCallback on_match) {
  if (clock_ns_ != INT64_MIN) {
    for (auto& engine : engines_) engine->ExpireAll(clock_ns_);
  }
  for (size_t rule = 0; rule < engines_.size(); ++rule) {
    engines_[rule]->EndOfInput();
    Deliver(rule, on_match);
  }
}

}  // namespace kestrel::engine
static_assert(kestrel::engine::kStateShards == kestrel::engine::StateBudgets::kShards);
