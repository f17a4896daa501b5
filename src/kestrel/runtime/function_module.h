// FunctionModule: a user's module of custom functions callable from EQL (`name(args...)`), in Lua
// (lua/lua_functions.h) or Wasm (wasm/wasm_functions.h), with the signatures the EQL compiler
// checks calls against.
//
// Declarations: a signature is written `name(type, ...) -> type` with the types string, number,
// bool (or boolean) and any (Lua only). A Lua module declares its functions itself (the chunk's
// table); a Wasm module's are declared by the rule package manifest (`kestrel compile
// --functions mod.wasm --function 'name(string) -> bool'`), since a Wasm export's types do not
// say which i32 pairs are strings. Declarations() gives them back in that form.
//
// A loaded module is immutable and shared; NewInstance() creates the per-worker-thread runtime
// that calls it (its own LuaJIT state or Wasm instance).
// Thread safety: const methods from any thread; each instance on one thread. Tested by
// function_module_test.cc.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/eql/sema.h"
#include "kestrel/runtime/predicate_errors.h"

namespace kestrel::runtime {

enum class FunctionModuleKind : uint8_t { kLua, kWasm };

// By file extension: .lua or .wasm.
std::optional<FunctionModuleKind> FunctionModuleKindOf(std::string_view path);
std::string_view FunctionModuleKindName(FunctionModuleKind kind);  // "lua", "wasm"

// "name(type, ...) -> type"; errors name the problem.
absl::StatusOr<eql::CustomFunction> ParseFunctionDeclaration(std::string_view text);
std::string FormatFunctionDeclaration(const eql::CustomFunction& f);
// "string", "number", "bool", "any".
absl::StatusOr<eql::IrType> ParseFunctionType(std::string_view name);

class FunctionModule {
 public:
  // Loads and checks `bytes` (an instance is created once to validate it). `declared`: required
  // for Wasm; for Lua, when given, must equal the chunk's own declarations.
  static absl::StatusOr<std::unique_ptr<FunctionModule>> Load(
      FunctionModuleKind kind, std::string bytes, std::string name,
      const std::vector<std::string>& declared = {});

  FunctionModuleKind kind() const { return kind_; }
  const std::string& name() const { return name_; }
  const std::string& bytes() const { return bytes_; }
  // Sorted by name; index i is IrNode::custom == i.
  const std::vector<eql::CustomFunction>& signatures() const { return signatures_; }
  std::vector<std::string> Declarations() const;

  // A runtime for one worker thread.
  absl::StatusOr<std::unique_ptr<engine::FunctionRuntime>> NewInstance(
      ErrorLogger logger = nullptr) const;

 private:
  FunctionModule() = default;
  FunctionModuleKind kind_ = FunctionModuleKind::kLua;
  std::string name_, bytes_;
  std::vector<eql::CustomFunction> signatures_;
};

}  // namespace kestrel::runtime
