// IR evaluation; see ir_eval.h.
#include "kestrel/eql/ir_eval.h"

#include <re2/re2.h>

#include "absl/container/inlined_vector.h"

namespace kestrel::eql {
namespace {

using event::Value;
using event::ValueKind;

Value Not(const Value& v) {
  if (v.kind() != ValueKind::kBool) return Value::Null();
  return Value::Bool(!v.as_bool());
}

Value Field(const IrNode& node, const EvalContext& ctx) {
  if (ctx.event == nullptr) return Value::Null();
  const Value* v = ctx.event->Find(node.field);
  if (v == nullptr) return Value::Null();
  if (!node.index) return *v;
  if (v->kind() != ValueKind::kArray) return *node.index == 0 ? *v : Value::Null();
  auto elements = v->as_array();
  int64_t i = *node.index;
  if (i < 0) i += static_cast<int64_t>(elements.size());
  if (i < 0 || i >= static_cast<int64_t>(elements.size())) return Value::Null();
  return elements[static_cast<size_t>(i)];
}

// Applies `match` to a scalar or to each element of an array (any element matching).
template <typename Match>
Value AnyString(const Value& v, Match match) {
  if (v.kind() == ValueKind::kString) return Value::Bool(match(v.as_string()));
  if (v.kind() == ValueKind::kArray) {
    for (const Value& e : v.as_array()) {
      if (e.kind() == ValueKind::kString && match(e.as_string())) return Value::Bool(true);
    }
    return Value::Bool(false);
  }
  return Value::Null();
}

Value Negate(const Value& v, bool negated) {
  if (!negated || v.kind() != ValueKind::kBool) return v;
  return Value::Bool(!v.as_bool());
}

}  // namespace

Value EvalIr(const IrNode& node, const EvalContext& ctx) {
  switch (node.op) {
    case IrOp::kConst: return node.value;
    case IrOp::kField: return Field(node, ctx);
    case IrOp::kNot: return Not(EvalIr(*node.children[0], ctx));
    case IrOp::kAnd: {
      bool saw_null = false;
      for (const IrNodePtr& c : node.children) {
        Value v = EvalIr(*c, ctx);
        if (v.kind() == ValueKind::kBool) {
          if (!v.as_bool()) return Value::Bool(false);
        } else {
          saw_null = true;
        }
      }
      return saw_null ? Value::Null() : Value::Bool(true);
    }
    case IrOp::kOr: {
      bool saw_null = false;
      for (const IrNodePtr& c : node.children) {
        Value v = EvalIr(*c, ctx);
        if (v.kind() == ValueKind::kBool) {
          if (v.as_bool()) return Value::Bool(true);
        } else {
          saw_null = true;
        }
      }
      return saw_null ? Value::Null() : Value::Bool(false);
    }
    case IrOp::kCompare:
      return Compare(node.compare, EvalIr(*node.children[0], ctx), EvalIr(*node.children[1], ctx),
                     node.case_insensitive);
    case IrOp::kArith:
      return Arith(node.arith, EvalIr(*node.children[0], ctx), EvalIr(*node.children[1], ctx));
    case IrOp::kNeg: {
      Value v = EvalIr(*node.children[0], ctx);
      if (v.kind() == ValueKind::kInt && v.as_int() != INT64_MIN) return Value::Int(-v.as_int());
      if (v.kind() == ValueKind::kDouble) return Value::Double(-v.as_double());
      return Value::Null();
    }
    case IrOp::kIn: {
      Value v = EvalIr(*node.children[0], ctx);
      if (v.is_null()) return Value::Null();
      for (const Value& candidate : node.set) {
        if (IsTrue(Compare(CompareOp::kEq, v, candidate, node.case_insensitive))) {
          return Value::Bool(!node.negated);
        }
      }
      return Value::Bool(node.negated);
    }
    case IrOp::kWildcard: {
      Value v = EvalIr(*node.children[0], ctx);
      Value r = AnyString(v, [&](std::string_view s) {
        for (const Value& p : node.set) {
          if (WildcardMatch(s, p.as_string(), node.case_insensitive, node.question_mark)) {
            return true;
          }
        }
        return false;
      });
      return Negate(r, node.negated);
    }
    case IrOp::kRegex: {
      Value v = EvalIr(*node.children[0], ctx);
      return AnyString(v, [&](std::string_view s) {
        re2::StringPiece text(s.data(), s.size());
        for (const auto& re : node.regexes) {
          if (RE2::FullMatch(text, *re)) return true;
        }
        return false;
      });
    }
    case IrOp::kCall: {
      if (node.builtin == Builtin::kSafe) return EvalIr(*node.children[0], ctx);
      if (node.builtin == Builtin::kArrayCount || node.builtin == Builtin::kArraySearch) {
        return Value::Null();  // lambda forms: evaluated by the engine (issue 4)
      }
      absl::InlinedVector<Value, 4> args;
      for (const IrNodePtr& c : node.children) args.push_back(EvalIr(*c, ctx));
      return CallBuiltin(node.builtin, args, node.case_insensitive, ctx.scratch);
    }
    case IrOp::kRelation:
      if (ctx.relation == nullptr) return Value::Null();
      return ctx.relation(ctx.relation_state, node, ctx);
  }
  return Value::Null();
}

}  // namespace kestrel::eql
