// A tree-walking evaluator for IR expressions, with EQL's three-valued logic (true, false and
// null; a condition holds only when it evaluates to true). A negation marked `query_not` (the
// Elasticsearch dialect's negation of a query, see IrNode) is two-valued: it is true whenever
// its operand is not true, null included.
//
// Used by semantic analysis to fold constant subtrees (event == nullptr) and by the engine as the
// general evaluation path. Recursion depth is the IR's height, which the parser bounds.
// Allocation: none, except strings created by functions (concat, substring, ...), which go to
// `scratch`; the caller resets it between events.
// Tested by sema_test.cc (folding) and the engine's tests.
#pragma once

#include "kestrel/base/arena.h"
#include "kestrel/eql/ir.h"
#include "kestrel/event/event.h"

namespace kestrel::eql {

struct EvalContext {
  const event::Event* event = nullptr;  // nullptr while folding: every field reads as null
  // Variables bound by arraySearch/arrayCount (as fields of a small event), read before `event`.
  const event::Event* locals = nullptr;
  // Needed only by Endgame constructs over nested objects (arraySearch over arrays of objects,
  // an object used as a condition); without it those evaluate as if the objects were absent.
  schema::Schema* schema = nullptr;
  // The events of a sequence or join result, for `events[i].field` in pipes.
  const event::Event* const* match_events = nullptr;
  size_t match_size = 0;
  base::StringArena* scratch = nullptr;
  // Process relations (Endgame `descendant of [...]`) need the engine's process table; without
  // a resolver they evaluate to null.
  event::Value (*relation)(void* state, const IrNode& node, const EvalContext& ctx) = nullptr;
  void* relation_state = nullptr;
  // Custom functions (kCustomCall) need the rule package's function runtime; without one they
  // evaluate to null.
  event::Value (*custom)(void* state, const IrNode& node, std::span<const event::Value> args,
                         const EvalContext& ctx) = nullptr;
  void* custom_state = nullptr;
};

event::Value EvalIr(const IrNode& node, const EvalContext& ctx);

// True when the node evaluates to true (EQL's where-clause semantics).
inline bool EvalCondition(const IrNode& node, const EvalContext& ctx) {
  return IsTrue(EvalIr(node, ctx));
}

}  // namespace kestrel::eql
