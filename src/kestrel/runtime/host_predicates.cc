// HostRulePredicates; see host_predicates.h.
#include "kestrel/runtime/host_predicates.h"

#include <utility>

namespace kestrel::runtime {

std::vector<const eql::IrStage*> PredicateStages(const eql::IrProgram& program) {
  std::vector<const eql::IrStage*> stages;
  for (const eql::IrStage& s : program.stages) stages.push_back(&s);
  if (program.until) stages.push_back(&*program.until);
  return stages;
}

HostRulePredicates::HostRulePredicates(const eql::IrProgram& program, PredicateHost* host,
                                       std::string_view runtime, std::string name, FieldMap fields)
    : host_(&host->ctx),
      runtime_(runtime),
      errors_(std::move(name), &host->logger),
      fields_(std::move(fields)) {
  for (const eql::IrStage* s : PredicateStages(program)) {
    stages_.push_back({s, NumberNodes(*s->predicate)});
  }
}

bool HostRulePredicates::Holds(const eql::IrStage& stage, const eql::EvalContext& ctx) {
  for (size_t i = 0; i < stages_.size(); ++i) {
    if (stages_[i].stage != &stage) continue;
    host_->eval = &ctx;
    host_->field_base = fields_.base;
    host_->field_map = fields_.map;
    host_->nodes = stages_[i].nodes;
    int32_t r = CallStage(static_cast<int32_t>(i), host_, &error_);
    host_->eval = nullptr;
    if (r == kCallError) {
      errors_.Record(runtime_, error_);
      return false;
    }
    return r == KESTREL_TRUE;
  }
  return eql::EvalCondition(*stage.predicate, ctx);  // not a stage of this program
}

}  // namespace kestrel::runtime
