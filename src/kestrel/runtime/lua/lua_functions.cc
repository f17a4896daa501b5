// LuaFunctions; see lua_functions.h.
#include "kestrel/runtime/lua/lua_functions.h"

#include "fmt/format.h"
#include "kestrel/runtime/function_module.h"

namespace kestrel::runtime {

absl::StatusOr<std::unique_ptr<LuaFunctions>> LuaFunctions::Load(std::string_view source,
                                                                 std::string_view name,
                                                                 const LuaLimits& limits,
                                                                 ErrorLogger logger) {
  LuaLimits hooked = limits;
  hooked.step_hook = true;
  auto lua = LuaRuntime::Create(hooked);
  if (!lua.ok()) return lua.status();
  auto specs = (*lua)->LoadFunctions(source, name);
  if (!specs.ok()) return specs.status();
  auto out = std::unique_ptr<LuaFunctions>(
      new LuaFunctions(std::move(*lua), std::string(name), std::move(logger)));
  for (const LuaRuntime::FunctionSpec& spec : *specs) {
    eql::CustomFunction f;
    f.name = spec.name;
    for (const std::string& p : spec.params) {
      auto t = ParseFunctionType(p);
      if (!t.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("{}: function {}: {}", name, spec.name, std::string(t.status().message())));
      }
      f.params.push_back(*t);
    }
    auto r = ParseFunctionType(spec.returns);
    if (!r.ok()) {
      return absl::InvalidArgumentError(
          fmt::format("{}: function {}: {}", name, spec.name, std::string(r.status().message())));
    }
    f.result = *r;
    out->signatures_.push_back(std::move(f));
    out->handles_.push_back(spec.handle);
  }
  return out;
}

event::Value LuaFunctions::Call(const eql::IrNode& node, std::span<const event::Value> args,
                                const eql::EvalContext& ctx) {
  if (node.custom >= handles_.size()) return event::Value::Null();
  base::StringArena* arena = ctx.scratch != nullptr ? ctx.scratch : &fallback_arena_;
  event::Value result;
  if (!lua_->CallFunction(handles_[node.custom], args, arena, &result, &error_)) {
    errors_.Record("lua function " + node.custom_name, error_);
    return event::Value::Null();
  }
  return result;
}

}  // namespace kestrel::runtime
