// The Elasticsearch dialect's missing-field semantics, applied to the IR after lowering; see
// MarkQueryNegations in sema.h and docs/eql.md ("Missing fields: Elasticsearch vs Endgame").
//
// Elasticsearch runs a condition as a query (x-pack/plugin/eql planner/QueryTranslator and the
// shared ql ExpressionTranslators): `and`/`or` become bool queries, a leaf it can express over
// one field with constants becomes a term/terms/range/wildcard/regexp/prefix/exists query, which
// a document without the field does not match, and `not` of a query is a must_not. What it
// cannot express is a script query whose null result does not match; `not` directly over a
// script is itself a script (three-valued). Tested by sema_test.cc and the engine's tests.
#include <algorithm>

#include "kestrel/eql/sema.h"
#include "kestrel/eql/sema_internal.h"

namespace kestrel::eql {
namespace {

bool PlainField(const IrNode& n) { return n.op == IrOp::kField && !n.index && !n.event_index; }

// A leaf Elasticsearch translates to a query on one field (not a script).
bool QueryLeaf(const IrNode& n) {
  switch (n.op) {
    case IrOp::kCompare: {
      // field op constant (either order: its optimiser moves literals to the right); a
      // comparison with null is an exists query.
      const IrNode& a = *n.children[0];
      const IrNode& b = *n.children[1];
      return (PlainField(a) && b.is_const()) || (PlainField(b) && a.is_const());
    }
    case IrOp::kIn:
    case IrOp::kWildcard:
    case IrOp::kRegex:
      return PlainField(*n.children[0]);
    case IrOp::kCall:
      // prefix, wildcard and terms queries over a field with constant arguments.
      switch (n.builtin) {
        case Builtin::kStartsWith:
        case Builtin::kEndsWith:
        case Builtin::kStringContains:
        case Builtin::kCidrMatch:
          return !n.children.empty() && PlainField(*n.children[0]) &&
                 std::all_of(n.children.begin() + 1, n.children.end(),
                             [](const IrNodePtr& c) { return c->is_const(); });
        default:
          return false;
      }
    default:
      return false;
  }
}

// Whether `n` translates to a query (true) or to a script (false).
bool IsQuery(const IrNode& n) {
  switch (n.op) {
    case IrOp::kAnd:
    case IrOp::kOr:
      return true;  // a bool query, whatever its operands
    case IrOp::kNot:
      return IsQuery(*n.children[0]);  // must_not of a query; a script's negation is a script
    default:
      return QueryLeaf(n);
  }
}

}  // namespace

void MarkQueryNegations(IrNode& condition) {
  switch (condition.op) {
    case IrOp::kAnd:
    case IrOp::kOr:
      for (const IrNodePtr& c : condition.children) MarkQueryNegations(*c);
      return;
    case IrOp::kNot:
      condition.query_not = IsQuery(*condition.children[0]);
      MarkQueryNegations(*condition.children[0]);
      return;
    case IrOp::kIn:
    case IrOp::kWildcard:
      condition.query_not = condition.negated && PlainField(*condition.children[0]);
      return;
    default:
      return;  // a leaf: a script's inside is evaluated as a value, three-valued
  }
}

namespace internal {

void Analyzer::RequireJoinKeys(IrStage* stage) {
  std::vector<IrNodePtr> terms;
  for (const IrNodePtr& k : stage->by) {
    if (!PlainField(*k) || k->optional_field) continue;
    auto exists = Make(IrOp::kCompare, IrType::kBool, k->span);
    exists->compare = CompareOp::kNe;
    auto field = Make(IrOp::kField, k->type, k->span);
    field->field = k->field;
    exists->children.push_back(std::move(field));
    exists->children.push_back(Const(Value::Null(), k->span));
    terms.push_back(std::move(exists));
  }
  if (terms.empty()) return;
  auto all = Make(IrOp::kAnd, IrType::kBool, stage->predicate->span);
  all->children.push_back(std::move(stage->predicate));
  for (IrNodePtr& t : terms) all->children.push_back(std::move(t));
  stage->predicate = Simplify(std::move(all));
}

}  // namespace internal
}  // namespace kestrel::eql
