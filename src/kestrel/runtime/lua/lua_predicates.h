// LuaPredicateRuntime: engine::PredicateRuntime over LuaRuntime. Compile() generates a rule's
// Lua chunk (lua_codegen.h), loads it into this worker's state and returns the rule's
// RulePredicates. Two states per worker: chunks that are exactly what GenerateLua() makes of the
// rule (loop-free) run without the step hook; any other chunk (user-written, or a package's
// predicate that differs from the generated one) runs in a state with the hook; Holds() calls the
// stage's function with the Host API context pointed at the engine's EvalContext. A failed call
// (Lua error, step or memory limit, reported error) is false for that event and counted per rule
// (HostRulePredicates, host_predicates.h, does all but the call). Thread safety: one per worker
// thread. Tested by differential_test.cc.
#pragma once

#include <memory>
#include <string>

#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/runtime/host_api.h"
#include "kestrel/runtime/host_predicates.h"
#include "kestrel/runtime/lua/lua_runtime.h"
#include "kestrel/runtime/predicate_errors.h"

namespace kestrel::runtime {

class LuaPredicateRuntime : public engine::PredicateRuntime {
 public:
  static absl::StatusOr<std::unique_ptr<LuaPredicateRuntime>> Create(const LuaLimits& limits = {},
                                                                     ErrorLogger logger = nullptr);

  absl::StatusOr<std::unique_ptr<engine::RulePredicates>> Compile(
      const eql::IrProgram& program) override;

  // Loads an already generated chunk for `program` (from a rule package); its functions must
  // correspond to GenerateLua(program).stages.
  absl::StatusOr<std::unique_ptr<engine::RulePredicates>> Load(const eql::IrProgram& program,
                                                               std::string_view source,
                                                               std::string_view name,
                                                               FieldMap fields = {});

  // The state for foreign chunks (step hook on) and the one for generated chunks.
  LuaRuntime& lua() { return *lua_; }
  LuaRuntime& generated_lua() { return *generated_; }

 private:
  LuaPredicateRuntime(std::unique_ptr<LuaRuntime> lua, std::unique_ptr<LuaRuntime> generated,
                      ErrorLogger logger)
      : lua_(std::move(lua)), generated_(std::move(generated)), host_(std::move(logger)) {}

  std::unique_ptr<LuaRuntime> lua_;
  std::unique_ptr<LuaRuntime> generated_;
  PredicateHost host_;
  uint64_t rules_ = 0;
};

}  // namespace kestrel::runtime
