// WasmPredicateRuntime; see wasm_predicates.h.
#include "kestrel/runtime/wasm/wasm_predicates.h"

#include "fmt/format.h"
#include "kestrel/runtime/wasm/wasm_codegen.h"

namespace kestrel::runtime {
namespace {

static_assert(WasmInstance::kError == HostRulePredicates::kCallError);

// Calls kestrel_predicate_v1(stage) on the rule's instance.
class WasmRulePredicates : public HostRulePredicates {
 public:
  WasmRulePredicates(const eql::IrProgram& program, std::unique_ptr<WasmInstance> instance,
                     PredicateHost* host, std::string name, FieldMap fields)
      : HostRulePredicates(program, host, "wasm", std::move(name), std::move(fields)),
        instance_(std::move(instance)) {}

 protected:
  int32_t CallStage(int32_t stage, kestrel_host_ctx* host, std::string* error) override {
    return instance_->Call(stage, host, error);
  }

 private:
  std::unique_ptr<WasmInstance> instance_;
};

}  // namespace

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
  return std::unique_ptr<engine::RulePredicates>(new WasmRulePredicates(
      program, std::move(instance), &host_, std::string(name), std::move(fields)));
}

}  // namespace kestrel::runtime
