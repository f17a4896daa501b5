// PredicateRuntime: the engine's interface to alternative evaluators of stage predicates (the
// Lua and Wasm runtimes of src/kestrel/runtime implement it; `native`, the IR evaluator, is the
// absence of one).
//
// A runtime compiles each rule's program once (Compile) into a RulePredicates object that the
// rule's QueryEngine then asks, for each event that reaches a stage, whether the stage's
// predicate holds. The answer must equal eql::EvalCondition(*stage.predicate, ctx); a runtime
// that fails for an event (a trap, a step or memory limit, an error the predicate reported)
// answers false, counts the error for the rule and logs it with rate limiting.
// Thread safety: a runtime and the RulePredicates it made belong to one worker thread.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "kestrel/eql/ir.h"
#include "kestrel/eql/ir_eval.h"

namespace kestrel::engine {

class RulePredicates {
 public:
  virtual ~RulePredicates() = default;
  // Whether `stage` (a stage or the `until` of the program this was compiled from) holds for
  // ctx.event. Never throws; errors make it false (and are counted).
  virtual bool Holds(const eql::IrStage& stage, const eql::EvalContext& ctx) = 0;
  // Events for which evaluation failed.
  virtual uint64_t errors() const = 0;
};

// The custom functions of a rule set (IrOp::kCustomCall), implemented outside the engine
// (runtime/lua/lua_functions.h). A failed call (error, step or memory limit) is null, counted by
// the runtime. Strings a function returns live in ctx.scratch.
class FunctionRuntime {
 public:
  virtual ~FunctionRuntime() = default;
  virtual event::Value Call(const eql::IrNode& node, std::span<const event::Value> args,
                            const eql::EvalContext& ctx) = 0;
  // Failed calls so far (null results because of an error or a limit).
  virtual uint64_t errors() const { return 0; }
};

class PredicateRuntime {
 public:
  virtual ~PredicateRuntime() = default;
  // REQUIRES: `program` outlives the result.
  virtual absl::StatusOr<std::unique_ptr<RulePredicates>> Compile(
      const eql::IrProgram& program) = 0;
};

}  // namespace kestrel::engine
