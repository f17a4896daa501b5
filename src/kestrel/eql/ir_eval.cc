// IR evaluation; see ir_eval.h.
#include "kestrel/eql/ir_eval.h"

#include <re2/re2.h>

#include "absl/container/inlined_vector.h"
#include "kestrel/event/json_decoder.h"
#include "kestrel/event/json_text.h"

namespace kestrel::eql {
namespace {

using event::Value;
using event::ValueKind;

Value Not(const Value& v) {
  if (v.kind() != ValueKind::kBool) return Value::Null();
  return Value::Bool(!v.as_bool());
}

Value Field(const IrNode& node, const EvalContext& ctx) {
  const event::Event* source = ctx.event;
  if (ctx.locals != nullptr && !node.event_index) {
    if (const Value* bound = ctx.locals->Find(node.field)) {
      if (!node.index) return *bound;
      source = ctx.locals;
    }
  }
  if (node.event_index) {
    int64_t i = *node.event_index;
    if (i < 0) i += static_cast<int64_t>(ctx.match_size);
    if (ctx.match_events == nullptr || i < 0 || i >= static_cast<int64_t>(ctx.match_size)) {
      return Value::Null();
    }
    source = ctx.match_events[i];
  }
  if (source == nullptr) return Value::Null();
  const Value* v = source->Find(node.field);
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

// Whether the event has a field below `prefix` (an object that was flattened into leaves).
bool HasChildren(const event::Event& e, std::string_view prefix, const schema::Schema& schema) {
  bool found = false;
  e.ForEachField([&](const event::Event::Entry& entry) {
    std::string_view name = schema.Info(entry.id).name;
    found = found ||
            (name.size() > prefix.size() && name[prefix.size()] == '.' && name.starts_with(prefix));
  });
  return found;
}

Value Truthy(const IrNode& node, const EvalContext& ctx) {
  Value v = EvalIr(*node.children[0], ctx);
  switch (v.kind()) {
    case ValueKind::kNull: {
      const IrNode& c = *node.children[0];
      if (c.op == IrOp::kField && !c.index && ctx.schema != nullptr) {
        std::string_view name = ctx.schema->Info(c.field).name;
        for (const event::Event* e : {ctx.locals, ctx.event}) {
          if (e != nullptr && HasChildren(*e, name, *ctx.schema)) return Value::Bool(true);
        }
      }
      return Value::Null();
    }
    case ValueKind::kBool:
      return v;
    case ValueKind::kInt:
      return Value::Bool(v.as_int() != 0);
    case ValueKind::kUint:
      return Value::Bool(true);
    case ValueKind::kDouble:
      return Value::Bool(v.as_double() != 0);
    case ValueKind::kString:
      return Value::Bool(!v.as_string().empty());
    case ValueKind::kArray:
      return Value::Bool(!v.as_array().empty());
    case ValueKind::kRawJson:
      return Value::Bool(v.as_string() != "[]");
    case ValueKind::kIp:
      return Value::Bool(true);
  }
  return Value::Null();
}

// arraySearch(array, var, condition) / arrayCount(array, var, condition): the condition is
// evaluated once per element with `var` bound to it (outer bindings stay visible).
Value ArrayLambda(const IrNode& node, const EvalContext& ctx) {
  Value array = EvalIr(*node.children[0], ctx);
  if (array.is_null()) return Value::Null();
  schema::FieldId var = node.children[1]->field;
  int64_t count = 0;
  auto test = [&](event::Event& locals) {
    if (ctx.locals != nullptr) {
      for (const event::Event::Entry& e : ctx.locals->entries()) {
        if (locals.Find(e.id) == nullptr) locals.Set(e.id, e.value);
      }
      locals.Finish();
    }
    EvalContext inner = ctx;
    inner.locals = &locals;
    return IsTrue(EvalIr(*node.children[2], inner));
  };
  if (array.kind() == ValueKind::kRawJson) {
    // An array of objects: each element is decoded as the object `{var: element}`.
    if (ctx.schema == nullptr) return Value::Null();
    event::JsonDecoder decoder(ctx.schema,
                               event::DecoderOptions{.time_field = "", .category_fields = {}});
    std::string var_name(ctx.schema->Info(var).name);
    for (std::string_view element : event::SplitJsonArray(array.as_string())) {
      event::Event locals;
      std::string json = "{\"" + var_name + "\":" + std::string(element) + "}";
      if (!decoder.Decode(json, &locals).ok()) continue;
      if (test(locals)) {
        if (node.builtin == Builtin::kArraySearch) return Value::Bool(true);
        ++count;
      }
    }
  } else {
    std::span<const Value> elements =
        array.kind() == ValueKind::kArray ? array.as_array() : std::span<const Value>(&array, 1);
    for (const Value& element : elements) {
      event::Event locals;
      locals.Set(var, element);
      locals.Finish();
      if (test(locals)) {
        if (node.builtin == Builtin::kArraySearch) return Value::Bool(true);
        ++count;
      }
    }
  }
  if (node.builtin == Builtin::kArraySearch) return Value::Bool(false);
  return Value::Int(count);
}

}  // namespace

Value EvalIr(const IrNode& node, const EvalContext& ctx) {
  switch (node.op) {
    case IrOp::kConst:
      return node.value;
    case IrOp::kField:
      return Field(node, ctx);
    case IrOp::kNot: {
      Value v = EvalIr(*node.children[0], ctx);
      // Elasticsearch's query negation: whatever did not match (false or null) matches.
      if (node.query_not) return Value::Bool(!IsTrue(v));
      return Not(v);
    }
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
      if (v.is_null()) return node.query_not ? Value::Bool(true) : Value::Null();
      for (const Value& candidate : node.set) {
        if (IsTrue(Compare(CompareOp::kEq, v, candidate, node.case_insensitive))) {
          return Value::Bool(!node.negated);
        }
      }
      return Value::Bool(node.negated);
    }
    case IrOp::kWildcard: {
      Value v = EvalIr(*node.children[0], ctx);
      if (node.case_insensitive) {
        // The text is folded once for all the patterns (command lines are long, sets large).
        thread_local std::string folded;
        Value r = AnyString(v, [&](std::string_view s) {
          std::string_view text = FoldAscii(s, &folded);
          for (const Value& p : node.set) {
            if (WildcardMatchFolded(text, p.as_string(), node.question_mark)) return true;
          }
          return false;
        });
        if (node.query_not && r.is_null()) return Value::Bool(true);
        return Negate(r, node.negated);
      }
      Value r = AnyString(v, [&](std::string_view s) {
        for (const Value& p : node.set) {
          if (WildcardMatch(s, p.as_string(), node.case_insensitive, node.question_mark)) {
            return true;
          }
        }
        return false;
      });
      if (node.query_not && r.is_null()) return Value::Bool(true);
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
        return ArrayLambda(node, ctx);
      }
      if (!node.regexes.empty()) {  // match() with literal patterns, compiled by sema
        Value v = EvalIr(*node.children[0], ctx);
        if (v.kind() != ValueKind::kString) return Value::Null();
        for (const auto& re : node.regexes) {
          // Anchored at the start (not the end), like CallBuiltin's match().
          re2::StringPiece input(v.as_string().data(), v.as_string().size());
          if (RE2::Consume(&input, *re)) return Value::Bool(true);
        }
        return Value::Bool(false);
      }
      absl::InlinedVector<Value, 4> args;
      for (const IrNodePtr& c : node.children) args.push_back(EvalIr(*c, ctx));
      return CallBuiltin(node.builtin, args, node.case_insensitive, ctx.scratch);
    }
    case IrOp::kTruthy:
      return Truthy(node, ctx);
    case IrOp::kCustomCall: {
      if (ctx.custom == nullptr) return Value::Null();
      absl::InlinedVector<Value, 4> args;
      for (const IrNodePtr& c : node.children) args.push_back(EvalIr(*c, ctx));
      return ctx.custom(ctx.custom_state, node, args, ctx);
    }
    case IrOp::kRelation:
      if (ctx.relation == nullptr) return Value::Null();
      return ctx.relation(ctx.relation_state, node, ctx);
  }
  return Value::Null();
}

}  // namespace kestrel::eql
