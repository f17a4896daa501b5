// WasmPredicateRuntime: engine::PredicateRuntime over WasmInstance (wabt's interpreter).
// Compile() generates a rule's module (wasm_codegen.h) and instantiates it once for this
// worker (the instance is reused for every call: no allocation per call); Holds() calls
// kestrel_predicate_v1 with the stage's number. A trap, fuel exhaustion or a reported error is
// false for that event and counted per rule (HostRulePredicates, host_predicates.h, does all but
// the call).
// Thread safety: one per worker thread. Tested by differential_test.cc.
#pragma once

#include <memory>
#include <string>

#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/runtime/host_api.h"
#include "kestrel/runtime/host_predicates.h"
#include "kestrel/runtime/predicate_errors.h"
#include "kestrel/runtime/wasm/wasm_instance.h"

namespace kestrel::runtime {

class WasmPredicateRuntime : public engine::PredicateRuntime {
 public:
  explicit WasmPredicateRuntime(const WasmLimits& limits = {}, ErrorLogger logger = nullptr)
      : limits_(limits), host_(std::move(logger)) {}

  absl::StatusOr<std::unique_ptr<engine::RulePredicates>> Compile(
      const eql::IrProgram& program) override;

  // Instantiates an already generated module for `program` (from a rule package); its stage
  // numbers must be those of GenerateWasm(program).stages.
  absl::StatusOr<std::unique_ptr<engine::RulePredicates>> Load(const eql::IrProgram& program,
                                                               std::string_view bytes,
                                                               std::string_view name,
                                                               FieldMap fields = {});

 private:
  WasmLimits limits_;
  PredicateHost host_;
  uint64_t rules_ = 0;
};

}  // namespace kestrel::runtime
