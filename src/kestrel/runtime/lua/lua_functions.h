// LuaFunctions: custom functions callable from EQL (`name(args...)`), implemented in a Lua
// function module (LuaRuntime::LoadFunctions) and called by the engine through
// engine::FunctionRuntime. The module declares each function's signature, which the EQL
// compiler checks calls against (signatures()); calls run in a sandboxed LuaJIT state with the
// step hook and the memory cap (the module is foreign code). A failed call is null for that
// event, counted, and logged at powers of two.
// Thread safety: one per worker thread. Tested by lua_runtime_test.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/eql/sema.h"
#include "kestrel/runtime/lua/lua_runtime.h"
#include "kestrel/runtime/predicate_errors.h"

namespace kestrel::runtime {

class LuaFunctions : public engine::FunctionRuntime {
 public:
  static absl::StatusOr<std::unique_ptr<LuaFunctions>> Load(std::string_view source,
                                                            std::string_view name,
                                                            const LuaLimits& limits = {},
                                                            ErrorLogger logger = nullptr);

  // For eql::CompileOptions::functions (index i is function i of the module, sorted by name).
  const std::vector<eql::CustomFunction>& signatures() const { return signatures_; }

  event::Value Call(const eql::IrNode& node, std::span<const event::Value> args,
                    const eql::EvalContext& ctx) override;
  uint64_t errors() const override { return errors_.count(); }

 private:
  LuaFunctions(std::unique_ptr<LuaRuntime> lua, std::string name, ErrorLogger logger)
      : lua_(std::move(lua)),
        logger_(std::move(logger)),
        errors_(std::move(name), &logger_, "of module") {}

  std::unique_ptr<LuaRuntime> lua_;
  ErrorLogger logger_;
  ErrorCounter errors_;
  std::vector<eql::CustomFunction> signatures_;
  std::vector<int> handles_;
  base::StringArena fallback_arena_;  // for string results when the context has no scratch
  std::string error_;
};

}  // namespace kestrel::runtime
