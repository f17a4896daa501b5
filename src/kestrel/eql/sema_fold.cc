// Constant folding and simplification during lowering; see sema_internal.h. Fold() evaluates a
// node whose operands are all constants with the engine's own evaluator (ir_eval.h), so a folded
// constant is exactly what the engine would compute; Simplify() drops neutral constants from
// `and`/`or`, collapses absorbing ones and flattens nested chains (the optimiser cases of the
// conformance suite). Both are off with CompileOptions::fold = false. AsCondition() makes the
// Endgame dialect's truthiness explicit. Relations and custom calls are never folded.
// Tested by sema_test.cc and conformance_sema_test.cc.
#include <utility>
#include <vector>

#include "kestrel/eql/ir_eval.h"
#include "kestrel/eql/sema_internal.h"

namespace kestrel::eql::internal {

IrNodePtr Analyzer::Fold(IrNodePtr node) {
  if (!options_.fold) return node;
  if (node->op == IrOp::kRelation || node->op == IrOp::kConst || node->op == IrOp::kField ||
      node->op == IrOp::kCustomCall) {
    return node;
  }
  for (const IrNodePtr& c : node->children) {
    if (!c->is_const()) return node;
  }
  EvalContext ctx;
  ctx.scratch = arena_;
  Value v = EvalIr(*node, ctx);
  if (v.kind() == ValueKind::kArray || v.kind() == ValueKind::kRawJson) return node;
  return Const(v, node->span);
}

IrNodePtr Analyzer::Simplify(IrNodePtr node) {
  if (!options_.fold) return node;
  // and: false absorbs, true is neutral; or: true absorbs, false is neutral (null is kept).
  bool is_and = node->op == IrOp::kAnd;
  std::vector<IrNodePtr> kept;
  for (IrNodePtr& c : node->children) {
    if (c->is_const() && c->value.kind() == ValueKind::kBool) {
      if (c->value.as_bool() != is_and) return Const(Value::Bool(!is_and), node->span);
      continue;  // neutral
    }
    // Flatten nested chains of the same operator.
    if (c->op == node->op) {
      for (IrNodePtr& g : c->children) kept.push_back(std::move(g));
      continue;
    }
    kept.push_back(std::move(c));
  }
  if (kept.empty()) return Const(Value::Bool(is_and), node->span);
  if (kept.size() == 1) return std::move(kept[0]);
  node->children = std::move(kept);
  return Fold(std::move(node));
}

IrNodePtr Analyzer::AsCondition(IrNodePtr x) {
  if (!endgame() || !x || x->type == IrType::kBool || x->type == IrType::kNull) return x;
  auto n = Make(IrOp::kTruthy, IrType::kBool, x->span);
  n->children.push_back(std::move(x));
  return Fold(std::move(n));
}

}  // namespace kestrel::eql::internal
