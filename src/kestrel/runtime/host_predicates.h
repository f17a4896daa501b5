// HostRulePredicates: the engine::RulePredicates that every Host API runtime (Lua, Wasm, AOT
// Wasm) makes of one rule, with everything they have in common in one place; a runtime's
// subclass supplies only CallStage(), which runs one stage's predicate in that runtime.
//
// The predicates of a rule are numbered as PredicateStages() lists the program's stages (its
// stages in order, then `until`). Holds(stage, ctx) finds the stage, points the runtime's
// kestrel_host_ctx at the engine's EvalContext, the rule's FieldMap and the stage's numbered
// nodes (NumberNodes), calls CallStage() and clears the context's event again. KESTREL_TRUE is
// true; KESTREL_FALSE and KESTREL_NULL are false; kCallError (a runtime error, trap, limit or
// reported error) is false for that event, counted per rule and logged at powers of two under the
// runtime's name (ErrorCounter). A stage that is not one of the program's is evaluated natively.
// ModuleRulePredicates is the subclass for runtimes whose module numbers stages itself (Wasm,
// AOT Wasm); the Lua runtime maps stage numbers to its function handles.
// PredicateHost is the state a runtime shares among the rules it loads on one worker: the Host
// API context, its regex cache and the error logger.
// Thread safety: one worker thread. Tested by differential_test.cc, lua_runtime_test.cc,
// wasm/wasm_runtime_test.cc and wasm/aot_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/eql/ir.h"
#include "kestrel/runtime/host_api.h"
#include "kestrel/runtime/predicate_errors.h"

namespace kestrel::runtime {

// The stages a rule's predicates are numbered by: `program`'s stages in order, then `until`.
std::vector<const eql::IrStage*> PredicateStages(const eql::IrProgram& program);

// Shared by the rules one runtime loads on one worker. Not copyable (ctx points at regexes).
struct PredicateHost {
  explicit PredicateHost(ErrorLogger error_logger) : logger(std::move(error_logger)) {
    ctx.regexes = &regexes;
  }
  PredicateHost(const PredicateHost&) = delete;
  PredicateHost& operator=(const PredicateHost&) = delete;

  ErrorLogger logger;  // nullptr: stderr
  RegexCache regexes;
  kestrel_host_ctx ctx;
};

class HostRulePredicates : public engine::RulePredicates {
 public:
  // What CallStage() returns for a failed call (the kError of every runtime).
  static constexpr int32_t kCallError = -2;

  // `runtime` names the runtime in error lines ("lua", "wasm", "wasm-aot"; a literal).
  // REQUIRES: `program` and `host` outlive this object.
  HostRulePredicates(const eql::IrProgram& program, PredicateHost* host, std::string_view runtime,
                     std::string name, FieldMap fields);

  bool Holds(const eql::IrStage& stage, const eql::EvalContext& ctx) final;
  uint64_t errors() const final { return errors_.count(); }

 protected:
  // Runs predicate number `stage` (PredicateStages() order) with `host` set up for the event:
  // KESTREL_TRUE, KESTREL_FALSE, KESTREL_NULL, or kCallError with *error set.
  virtual int32_t CallStage(int32_t stage, kestrel_host_ctx* host, std::string* error) = 0;

 private:
  struct Stage {
    const eql::IrStage* stage;
    std::vector<const eql::IrNode*> nodes;
  };

  kestrel_host_ctx* host_;
  std::string_view runtime_;
  std::vector<Stage> stages_;
  ErrorCounter errors_;
  FieldMap fields_;
  std::string error_;
};

// HostRulePredicates over a module that numbers its predicates as PredicateStages() does and runs
// them itself (WasmInstance, AotModule: `int32_t Call(int32_t stage, kestrel_host_ctx*,
// std::string* error)`, returning kCallError on failure); owns the module.
template <typename Module>
class ModuleRulePredicates : public HostRulePredicates {
 public:
  ModuleRulePredicates(const eql::IrProgram& program, std::unique_ptr<Module> module,
                       PredicateHost* host, std::string_view runtime, std::string name,
                       FieldMap fields)
      : HostRulePredicates(program, host, runtime, std::move(name), std::move(fields)),
        module_(std::move(module)) {}

 protected:
  int32_t CallStage(int32_t stage, kestrel_host_ctx* host, std::string* error) override {
    static_assert(Module::kError == kCallError);
    return module_->Call(stage, host, error);
  }

 private:
  std::unique_ptr<Module> module_;
};

}  // namespace kestrel::runtime
