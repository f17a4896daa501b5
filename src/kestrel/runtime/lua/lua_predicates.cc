// LuaPredicateRuntime; see lua_predicates.h.
#include "kestrel/runtime/lua/lua_predicates.h"

#include "fmt/format.h"
#include "kestrel/runtime/lua/lua_codegen.h"

namespace kestrel::runtime {
namespace {

static_assert(LuaRuntime::kError == HostRulePredicates::kCallError);

// Calls the stage's function in `lua` (handles in PredicateStages() order).
class LuaRulePredicates : public HostRulePredicates {
 public:
  LuaRulePredicates(const eql::IrProgram& program, LuaRuntime* lua, std::vector<int> handles,
                    PredicateHost* host, std::string name, FieldMap fields)
      : HostRulePredicates(program, host, "lua", std::move(name), std::move(fields)),
        lua_(lua),
        handles_(std::move(handles)) {}

 protected:
  int32_t CallStage(int32_t stage, kestrel_host_ctx* host, std::string* error) override {
    return lua_->Call(handles_[static_cast<size_t>(stage)], host, error);
  }

 private:
  LuaRuntime* lua_;
  std::vector<int> handles_;
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
  return std::unique_ptr<LuaPredicateRuntime>(
      new LuaPredicateRuntime(std::move(*lua), std::move(*generated), std::move(logger)));
}

absl::StatusOr<std::unique_ptr<engine::RulePredicates>> LuaPredicateRuntime::Compile(
    const eql::IrProgram& program) {
  LuaChunk chunk = GenerateLua(program);
  return Load(program, chunk.source, fmt::format("rule{}", rules_));
}

absl::StatusOr<std::unique_ptr<engine::RulePredicates>> LuaPredicateRuntime::Load(
    const eql::IrProgram& program, std::string_view source, std::string_view name,
    FieldMap fields) {
  std::vector<const eql::IrStage*> stages = PredicateStages(program);
  // Only the generator's own output may run without the step hook.
  LuaRuntime* lua = source == GenerateLua(program).source ? generated_.get() : lua_.get();
  auto handles = lua->Load(source, name);
  if (!handles.ok()) return handles.status();
  if (handles->size() != stages.size()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: the chunk has {} predicates, the rule {} stages", name, handles->size(),
                    stages.size()));
  }
  ++rules_;
  return std::unique_ptr<engine::RulePredicates>(new LuaRulePredicates(
      program, lua, std::move(*handles), &host_, std::string(name), std::move(fields)));
}

}  // namespace kestrel::runtime
