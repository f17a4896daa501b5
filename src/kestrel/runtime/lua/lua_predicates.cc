// LuaPredicateRuntime; see lua_predicates.h.
#include "kestrel/runtime/lua/lua_predicates.h"

#include "fmt/format.h"
#include "kestrel/runtime/lua/lua_codegen.h"

namespace kestrel::runtime {
namespace {

class LuaRulePredicates : public engine::RulePredicates {
 public:
  struct Stage {
    const eql::IrStage* stage;
    int handle;
    std::vector<const eql::IrNode*> nodes;
  };

  LuaRulePredicates(LuaRuntime* lua, kestrel_host_ctx* host, std::vector<Stage> stages,
                    std::string name, const ErrorLogger* logger, FieldMap fields)
      : lua_(lua),
        host_(host),
        stages_(std::move(stages)),
        errors_(std::move(name), logger),
        fields_(std::move(fields)) {}

  bool Holds(const eql::IrStage& stage, const eql::EvalContext& ctx) override {
    for (const Stage& s : stages_) {
      if (s.stage != &stage) continue;
      host_->eval = &ctx;
      host_->field_base = fields_.base;
      host_->field_map = fields_.map;
      host_->nodes = s.nodes;
      int32_t r = lua_->Call(s.handle, host_, &error_);
      host_->eval = nullptr;
      if (r == LuaRuntime::kError) {
        errors_.Record("lua", error_);
        return false;
      }
      return r == KESTREL_TRUE;
    }
    return eql::EvalCondition(*stage.predicate, ctx);  // not a stage of this program
  }
  uint64_t errors() const override { return errors_.count(); }

 private:
  LuaRuntime* lua_;
  kestrel_host_ctx* host_;
  std::vector<Stage> stages_;
  ErrorCounter errors_;
  FieldMap fields_;
  std::string error_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<LuaPredicateRuntime>> LuaPredicateRuntime::Create(
    const LuaLimits& limits, ErrorLogger logger) {
  auto lua = LuaRuntime::Create(limits);
  if (!lua.ok()) return lua.status();
  LuaLimits unhooked = limits;
  unhooked.step_hook = false;
  auto generated = LuaRuntime::Create(unhooked);
  if (!generated.ok()) return generated.status();
  auto runtime = std::unique_ptr<LuaPredicateRuntime>(
      new LuaPredicateRuntime(std::move(*lua), std::move(*generated), std::move(logger)));
  runtime->host_.regexes = &runtime->regexes_;
  return runtime;
}

absl::StatusOr<std::unique_ptr<engine::RulePredicates>> LuaPredicateRuntime::Compile(
    const eql::IrProgram& program) {
  LuaChunk chunk = GenerateLua(program);
  return Load(program, chunk.source, fmt::format("rule{}", rules_));
}

absl::StatusOr<std::unique_ptr<engine::RulePredicates>> LuaPredicateRuntime::Load(
    const eql::IrProgram& program, std::string_view source, std::string_view name,
    FieldMap fields) {
  std::vector<const eql::IrStage*> stages;
  for (const eql::IrStage& s : program.stages) stages.push_back(&s);
  if (program.until) stages.push_back(&*program.until);
  // Only the generator's own output may run without the step hook.
  LuaRuntime* lua = source == GenerateLua(program).source ? generated_.get() : lua_.get();
  auto handles = lua->Load(source, name);
  if (!handles.ok()) return handles.status();
  if (handles->size() != stages.size()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: the chunk has {} predicates, the rule {} stages", name, handles->size(),
                    stages.size()));
  }
  std::vector<LuaRulePredicates::Stage> out;
  for (size_t i = 0; i < stages.size(); ++i) {
    out.push_back({stages[i], (*handles)[i], NumberNodes(*stages[i]->predicate)});
  }
  ++rules_;
  return std::unique_ptr<engine::RulePredicates>(new LuaRulePredicates(
      lua, &host_, std::move(out), std::string(name), &logger_, std::move(fields)));
}

}  // namespace kestrel::runtime
