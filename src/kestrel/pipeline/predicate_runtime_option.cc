// MakePredicateRuntime; see predicate_runtime_option.h.
#include "kestrel/pipeline/predicate_runtime_option.h"

#include <fstream>
#include <sstream>

#include "fmt/format.h"
#include "kestrel/runtime/lua/lua_predicates.h"
#ifdef KESTREL_HAVE_WASM
#include "kestrel/runtime/wasm/wasm_predicates.h"
#endif

namespace kestrel::pipeline {

absl::StatusOr<std::unique_ptr<engine::PredicateRuntime>> MakePredicateRuntime(
    std::string_view name) {
  if (name == "native") return nullptr;
  if (name == "lua") {
    auto lua = runtime::LuaPredicateRuntime::Create();
    if (!lua.ok()) return lua.status();
    return std::unique_ptr<engine::PredicateRuntime>(std::move(*lua));
  }
  if (name == "wasm") {
#ifdef KESTREL_HAVE_WASM
    return std::unique_ptr<engine::PredicateRuntime>(new runtime::WasmPredicateRuntime());
#else
    return absl::UnimplementedError("this kestrel was built without wabt: no wasm runtime");
#endif
  }
  return absl::InvalidArgumentError(
      fmt::format("--predicate-runtime {}: expected native, lua or wasm", name));
}

absl::StatusOr<std::unique_ptr<runtime::FunctionModule>> LoadFunctionModule(
    const std::string& path, const std::vector<std::string>& declared) {
  std::optional<runtime::FunctionModuleKind> kind = runtime::FunctionModuleKindOf(path);
  if (!kind) {
    return absl::InvalidArgumentError(
        fmt::format("{}: a function module is a .lua or .wasm file", path));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(fmt::format("cannot read {}", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return runtime::FunctionModule::Load(*kind, ss.str(), path, declared);
}

}  // namespace kestrel::pipeline
