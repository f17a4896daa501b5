// `--predicate-runtime native|lua|wasm` for run and query: builds the engine::PredicateRuntime
// the name selects. Tested by cli_test.sh.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/runtime/function_module.h"

namespace kestrel::pipeline {

inline constexpr char kPredicateRuntimeHelp[] =
    "Evaluate rule predicates natively (default), in LuaJIT (lua) or in Wasm on wabt's "
    "interpreter (wasm); all give identical results";

// nullptr for "native" (the engine's own evaluator); an error names the accepted values.
absl::StatusOr<std::unique_ptr<engine::PredicateRuntime>> MakePredicateRuntime(
    std::string_view name);

// `--functions FILE [--function DECL]...`: reads and loads a function module, Lua (.lua) or
// Wasm (.wasm, whose functions `declared` must declare; runtime/function_module.h).
absl::StatusOr<std::unique_ptr<runtime::FunctionModule>> LoadFunctionModule(
    const std::string& path, const std::vector<std::string>& declared = {});

}  // namespace kestrel::pipeline
