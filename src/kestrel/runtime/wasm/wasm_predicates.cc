// WasmPredicateRuntime; see wasm_predicates.h.
#include "kestrel/runtime/wasm/wasm_predicates.h"

#include "fmt/format.h"
#include "kestrel/runtime/wasm/wasm_codegen.h"

namespace kestrel::runtime {
namespace {

class WasmRulePredicates : public engine::RulePredicates {
 public:
  struct Stage {
    const eql::IrStage* stage;
    std::vector<const eql::IrNode*> nodes;
  };

  WasmRulePredicates(std::unique_ptr<WasmInstance> instance, kestrel_host_ctx* host,
                     std::vector<Stage> stages, std::string name, const ErrorLogger* logger,
                     FieldMap fields)
      : instance_(std::move(instance)),
        host_(host),
        stages_(std::move(stages)),
        errors_(std::move(name), logger),
        fields_(std::move(fields)) {}

  bool Holds(const eql::IrStage& stage, const eql::EvalContext& ctx) override {
    for (size_t i = 0; i < stages_.size(); ++i) {
      if (stages_[i].stage != &stage) continue;
      host_->eval = &ctx;
      host_->field_base = fields_.base;
      host_->field_map = fields_.map;
      host_->nodes = stages_[i].nodes;
      int32_t r = instance_->Call(static_cast<int32_t>(i), host_, &error_);
      host_->eval = nullptr;
      if (r == WasmInstance::kError) {
        errors_.Record("wasm", error_);
        return false;
      }
      return r == KESTREL_TRUE;
    }
    return eql::EvalCondition(*stage.predicate, ctx);  // not a stage of this program
  }
  uint64_t errors() const override { return errors_.count(); }

 private:
  std::unique_ptr<WasmInstance> instance_;
  kestrel_host_ctx* host_;
  std::vector<Stage> stages_;
  ErrorCounter errors_;
  FieldMap fields_;
  std::string error_;
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
  std::vector<WasmRulePredicates::Stage> stages;
  for (const eql::IrStage& s : program.stages) stages.push_back({&s, NumberNodes(*s.predicate)});
  if (program.until) stages.push_back({&*program.until, NumberNodes(*program.until->predicate)});
  ++rules_;
  return std::unique_ptr<engine::RulePredicates>(
      new WasmRulePredicates(std::move(instance), &host_, std::move(stages), std::string(name),
                             &logger_, std::move(fields)));
}

}  // namespace kestrel::runtime
