// WasmPredicateRuntime; see wasm_predicates.h.
#include "kestrel/runtime/wasm/wasm_predicates.h"

#include "fmt/format.h"
#include "kestrel/runtime/wasm/wasm_codegen.h"

namespace kestrel::runtime {

absl::StatusOr<std::unique_ptr<engine::RulePredicates>> WasmPredicateRuntime::Compile(
    const eql::IrProgram& program) {
  WasmModuleCode code = GenerateWasm(program);
  return Load(program,
              std::string_view(reinterpret_cast<const char*>(code.bytes.data()), code.bytes.size()),
              fmt::format("rule{}", rules_));
}

absl::StatusOr<std::unique_ptr<engine::RulePredicates>> WasmPredicateRuntime::Load(
    const eql::IrProgram& program, std::string_view bytes, std::string_view name, FieldMap fields) {
  std::string error;
  auto instance = WasmInstance::Create(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(),
                                       limits_, &error);
  if (instance == nullptr) return absl::InvalidArgumentError(fmt::format("{}: {}", name, error));
  ++rules_;
  return std::unique_ptr<engine::RulePredicates>(new ModuleRulePredicates<WasmInstance>(
      program, std::move(instance), &host_, "wasm", std::string(name), std::move(fields)));
}

}  // namespace kestrel::runtime
