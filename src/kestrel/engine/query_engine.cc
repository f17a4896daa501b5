// QueryEngine: construction, the per-event dispatch and event queries, the pre-filter gate and
// the public methods; see query_engine.h for the semantics and query_engine_internal.h for where
// sequences, joins and pipes live. Tested by query_engine_test.cc and conformance_query_test.cc.
#include "kestrel/engine/query_engine.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "kestrel/engine/query_engine_internal.h"

#include "kestrel/engine/entity_routing.h"

namespace kestrel::engine {
namespace {

// Collects relation nodes, innermost first, so nested sub-queries mark before outer ones read.
void CollectRelations(const eql::IrNode& node, std::vector<const eql::IrNode*>* out) {
  for (const eql::IrNodePtr& c : node.children) CollectRelations(*c, out);
  if (node.op == eql::IrOp::kRelation) out->push_back(&node);
}

}  // namespace

QueryEngine::Impl::Impl(const eql::IrProgram* program, schema::Schema& schema,
                        const EngineLimits& limits)
    : program_(program), schema_(schema), limits_(limits), lineage_(schema, program->dialect) {
  // `maxspan=0s` is a zero span (events of the same time only); no maxspan and no default TTL
  // is no bound.
  span_ns_ = program->maxspan_ns.value_or(limits.default_ttl_ns > 0 ? limits.default_ttl_ns
                                                                    : StateLimits::kNoTtl);
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
  if (limits.state_shards > 1) {
    stores_.resize(limits.state_shards);
    store_limits_ = StateShardLimits(state_limits);
  } else {
    stores_.resize(1);
    store_limits_ = state_limits;
  }
  SelectStore(0);
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

void QueryEngine::Impl::Process(const event::Event& e, uint64_t index, uint32_t shard) {
  scratch_.Reset();
  if (current_ == &own_current_) own_current_.Reset();
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
      SelectStore(shard);
      Sequence(e, index);
      break;
    case eql::QueryKind::kJoin:
    case eql::QueryKind::kSample:
      Join(e, index);
      break;
  }
}

void QueryEngine::Impl::UseIndex(const RuleIndex& index, const RuleMatcher* matcher) {
  gate_ = matcher;
  gate_slots_.clear();
  auto add = [&](const eql::IrStage& s) {
    std::optional<uint32_t> slot = index.SlotOf(&s);
    if (slot) gate_slots_.emplace_back(&s, *slot);
  };
  for (const eql::IrStage& s : program_->stages) add(s);
  if (program_->until) add(*program_->until);
}

std::string QueryEngine::Impl::EntityKey(const std::vector<eql::IrNodePtr>& by) {
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

std::optional<EngineRefusal> QueryEngine::Refusal(const eql::IrProgram& program,
                                                  const EngineLimits& limits) {
  if (!program.stages.empty() && std::all_of(program.stages.begin(), program.stages.end(),
                                             [](const eql::IrStage& s) { return s.missing; })) {
    return EngineRefusal{"a sequence needs at least one stage that is not `![...]`",
                         program.stages.front().span};
  }
  for (const eql::IrPipe& p : program.pipes) {
    if (limits.streaming && p.kind != eql::PipeKind::kHead && p.kind != eql::PipeKind::kUnique) {
      return EngineRefusal{
          fmt::format(
              "the `{}` pipe needs every result before it can answer, so it cannot run on a "
              "live stream; streaming rules may use `head` and `unique` (run the query with "
              "`kestrel query` instead)",
              eql::PipeKindName(p.kind)),
          p.span};
    }
  }
  return std::nullopt;
}

absl::StatusOr<std::unique_ptr<QueryEngine>> QueryEngine::Create(const eql::IrProgram* program,
                                                                 schema::Schema& schema,
                                                                 const EngineLimits& limits) {
  if (program->stages.empty()) {
    return absl::InvalidArgumentError("a sequence needs at least one stage that is not `![...]`");
  }
  if (std::optional<EngineRefusal> refused = Refusal(*program, limits)) {
    return absl::InvalidArgumentError(refused->message);
  }
  return std::unique_ptr<QueryEngine>(
      new QueryEngine(std::make_unique<Impl>(program, schema, limits)));
}

QueryEngine::QueryEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
QueryEngine::~QueryEngine() = default;

void QueryEngine::Process(const event::Event& event, uint64_t index, uint32_t shard) {
  impl_->Process(event, index, shard);
}

std::vector<QueryMatch> QueryEngine::Finish() { return impl_->Finish(); }

std::vector<QueryMatch> QueryEngine::TakeResults() { return impl_->TakeResults(); }

bool QueryEngine::HasPipes() const { return impl_->HasPipes(); }

size_t QueryEngine::ResultsSoFar() const { return impl_->ResultsSoFar(); }

const EngineStats& QueryEngine::stats() const { return impl_->stats(); }

void QueryEngine::UseIndex(const RuleIndex& index, const RuleMatcher* matcher) {
  impl_->UseIndex(index, matcher);
}

void QueryEngine::ShareEvidence(CurrentEvidence* slot) { impl_->ShareEvidence(slot); }

void QueryEngine::UsePredicates(std::unique_ptr<RulePredicates> predicates) {
  impl_->UsePredicates(std::move(predicates));
}

void QueryEngine::UseFunctions(FunctionRuntime* functions) { impl_->UseFunctions(functions); }

uint64_t QueryEngine::predicate_errors() const { return impl_->predicate_errors(); }

void QueryEngine::Expire(int64_t now_ns) { impl_->Expire(now_ns); }
void QueryEngine::ExpireAll(int64_t now_ns) { impl_->Expire(now_ns, true); }

void QueryEngine::EndOfInput() { impl_->EndOfInput(); }

void QueryEngine::UseBudget(StateBudgets* budgets) { impl_->UseBudget(budgets); }
size_t QueryEngine::state_bytes() const { return impl_->state_bytes(); }
size_t QueryEngine::state_bytes(uint32_t d) { return impl_->state_bytes(d); }
uint64_t QueryEngine::OldestStateTick(uint32_t d) { return impl_->OldestStateTick(d); }
bool QueryEngine::EvictOldestState(uint32_t d) { return impl_->EvictOldestState(d); }
bool QueryEngine::sharded_state() const { return impl_->sharded_state(); }

}  // namespace kestrel::engine
