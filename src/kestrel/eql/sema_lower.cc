// Lowering of the AST to IR; see sema_internal.h. One Lower*() per AST node kind, plus event
// queries and stages: resolves field names (interning unknown ones, with a warning naming the
// closest catalogue field), checks operators and calls against the type rules (sema_types.cc),
// applies the dialect (case folding, `==` with `*` as a wildcard in Endgame), and folds each node
// right after building it (sema_fold.cc). Each returns the node, or nullptr after recording an
// error. Tested by sema_test.cc and conformance_sema_test.cc.
#include <fmt/format.h>
#include <re2/re2.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "kestrel/base/suggest.h"
#include "kestrel/eql/sema_internal.h"

namespace kestrel::eql::internal {

using schema::FieldType;

IrNodePtr Analyzer::LowerExpr(const Expr& expr) {
  switch (expr.kind()) {
    case ExprKind::kLiteral:
      return LowerLiteral(expr.Cast<LiteralExpr>());
    case ExprKind::kField:
      return LowerField(expr.Cast<FieldExpr>());
    case ExprKind::kUnary: {
      const auto& u = expr.Cast<UnaryExpr>();
      IrNodePtr x = LowerExpr(*u.operand);
      if (!x) return nullptr;
      if (u.op == UnaryOp::kNot) {
        x = AsCondition(std::move(x));
        // `not x in (...)` and `not wildcard(...)` are the negated nodes themselves, so every
        // spelling of a negated match lowers to the same IR.
        if (x->op == IrOp::kIn || x->op == IrOp::kWildcard) {
          x->negated = !x->negated;
          x->span = expr.span;
          return x;
        }
        auto n = Make(IrOp::kNot, IrType::kBool, expr.span);
        n->children.push_back(std::move(x));
        return Fold(std::move(n));
      }
      if (!Satisfies(x->type, Expect::kNumber)) {
        Error(expr.span, fmt::format("cannot negate {}", IrTypeName(x->type)));
        return nullptr;
      }
      auto n = Make(IrOp::kNeg, IrType::kNumber, expr.span);
      n->children.push_back(std::move(x));
      return Fold(std::move(n));
    }
    case ExprKind::kBinary:
      return LowerBinary(expr.Cast<BinaryExpr>());
    case ExprKind::kLogical:
      return LowerLogical(expr.Cast<LogicalExpr>());
    case ExprKind::kIn:
      return LowerIn(expr.Cast<InExpr>());
    case ExprKind::kMatch:
      return LowerMatch(expr.Cast<MatchExpr>());
    case ExprKind::kCall:
      return LowerCall(expr.Cast<CallExpr>());
    case ExprKind::kRelation:
      return LowerRelation(expr.Cast<RelationExpr>());
  }
  return nullptr;
}

IrNodePtr Analyzer::LowerLiteral(const LiteralExpr& e) {
  switch (e.literal_kind) {
    case LiteralKind::kNull:
      return Const(Value::Null(), e.span);
    case LiteralKind::kBool:
      return Const(Value::Bool(e.bool_value), e.span);
    case LiteralKind::kInt:
      return Const(Value::Int(e.int_value), e.span);
    case LiteralKind::kDouble:
      return Const(Value::Double(e.double_value), e.span);
    case LiteralKind::kString:
      return Const(Value::String(e.string_value), e.span);
  }
  return nullptr;
}

IrNodePtr Analyzer::LowerField(const FieldExpr& e) {
  std::string name;
  std::optional<int64_t> index;
  std::optional<int64_t> event_index;
  size_t first = 0;
  // `events[i].field` in a pipe after a sequence or join: field of the match's i-th event.
  if (e.path.size() > 2 && e.path[0].kind == FieldSegment::Kind::kName &&
      e.path[0].name == "events" && e.path[1].kind == FieldSegment::Kind::kIndex) {
    event_index = e.path[1].index;
    first = 2;
  }
  for (size_t i = first; i < e.path.size(); ++i) {
    const FieldSegment& seg = e.path[i];
    if (seg.kind == FieldSegment::Kind::kIndex) {
      if (i + 1 != e.path.size()) {
        Error(e.span, "an array index is only supported at the end of a field path");
        return nullptr;
      }
      index = seg.index;
      continue;
    }
    if (!name.empty()) name.push_back('.');
    name += seg.name;
  }
  std::optional<schema::FieldId> id = schema_.Find(name);
  if (!id || schema_.Info(*id).dynamic) {
    // Not in the ECS catalogue (it may have been interned from data or another rule).
    if (!endgame() && !e.optional) {
      // One warning per field and query, at its first use: a field repeated in every stage
      // of a sequence or sample is one finding, not one per stage.
      bool first_use = warned_fields_.insert(name).second;
      std::string hint;
      if (Room() && (options_.strict || first_use)) {  // the search costs: only when kept
        std::vector<std::string_view> close = schema_.Suggest(name);
        hint = close.empty() ? "write `?" + name + "` if the field is optional in your data"
                             : fmt::format("did you mean `{}`?", close[0]);
      }
      if (options_.strict) {
        Error(e.span, fmt::format("unknown field `{}`", name), hint);
        return nullptr;
      }
      if (first_use) Warning(e.span, fmt::format("unknown field `{}`", name), hint);
    }
    if (!id) {
      auto interned = schema_.Intern(name, FieldType::kKeyword, false);
      if (!interned.ok()) {
        Error(e.span, fmt::format("too many distinct fields: cannot add `{}`", name));
        return nullptr;
      }
      id = *interned;
    }
  }
  const schema::FieldInfo& info = schema_.Info(*id);
  auto n = Make(IrOp::kField, TypeOfField(info), e.span);
  // An element of an array field has the element type; the whole array compares per element.
  n->field = *id;
  n->index = index;
  n->event_index = event_index;
  n->optional_field = e.optional;
  return n;
}

IrNodePtr Analyzer::LowerBinary(const BinaryExpr& e) {
  IrNodePtr lhs = LowerExpr(*e.lhs);
  IrNodePtr rhs = LowerExpr(*e.rhs);
  if (!lhs || !rhs) return nullptr;
  if (!IsComparison(e.op)) {
    for (const IrNodePtr* side : {&lhs, &rhs}) {
      if (!Satisfies((*side)->type, Expect::kNumber)) {
        Error((*side)->span, fmt::format("`{}` needs numbers, not {}", BinaryOpName(e.op),
                                         IrTypeName((*side)->type)));
        return nullptr;
      }
    }
    auto n = Make(IrOp::kArith, IrType::kNumber, e.span);
    static constexpr ArithOp kArith[] = {ArithOp::kAdd, ArithOp::kSub, ArithOp::kMul, ArithOp::kDiv,
                                         ArithOp::kMod};
    n->arith = kArith[static_cast<int>(e.op) - static_cast<int>(BinaryOp::kAdd)];
    n->children.push_back(std::move(lhs));
    n->children.push_back(std::move(rhs));
    return Fold(std::move(n));
  }
  if (IsComparison(e.op) && (e.op == BinaryOp::kEq || e.op == BinaryOp::kNe)) {
    CoerceLiteral(lhs->type, rhs.get());
    CoerceLiteral(rhs->type, lhs.get());
  }
  if (!Comparable(lhs->type, rhs->type)) {
    Error(e.span,
          fmt::format("cannot compare {} with {}", IrTypeName(lhs->type), IrTypeName(rhs->type)));
    return nullptr;
  }
  static constexpr CompareOp kCompare[] = {CompareOp::kEq, CompareOp::kNe, CompareOp::kLt,
                                           CompareOp::kLe, CompareOp::kGt, CompareOp::kGe};
  CompareOp op = kCompare[static_cast<int>(e.op)];
  bool equality = op == CompareOp::kEq || op == CompareOp::kNe;
  // A `*` in a string literal compared with `==`/`!=`.
  IrNode* literal = rhs->is_const() && rhs->value.kind() == ValueKind::kString   ? rhs.get()
                    : lhs->is_const() && lhs->value.kind() == ValueKind::kString ? lhs.get()
                                                                                 : nullptr;
  if (equality && literal != nullptr && HasWildcard(literal->value.as_string()) &&
      !(lhs->is_const() && rhs->is_const())) {
    if (endgame()) {
      IrNodePtr operand = literal == rhs.get() ? std::move(lhs) : std::move(rhs);
      std::vector<Value> patterns = {literal->value};
      return Wildcard(std::move(operand), std::move(patterns), DialectCaseInsensitive(), false,
                      op == CompareOp::kNe, e.span);
    }
    Warning(literal->span, "`==` compares exactly in this dialect: `*` is not a wildcard here",
            "use `:` or `like` for wildcard matching");
  }
  auto n = Make(IrOp::kCompare, IrType::kBool, e.span);
  n->compare = op;
  n->case_insensitive = DialectCaseInsensitive();
  n->children.push_back(std::move(lhs));
  n->children.push_back(std::move(rhs));
  return Fold(std::move(n));
}

IrNodePtr Analyzer::LowerLogical(const LogicalExpr& e) {
  auto n = Make(e.op == LogicalOp::kAnd ? IrOp::kAnd : IrOp::kOr, IrType::kBool, e.span);
  bool failed = false;
  for (const ExprPtr& operand : e.operands) {
    IrNodePtr x = AsCondition(LowerExpr(*operand));
    if (!x) {
      failed = true;
      continue;
    }
    n->children.push_back(std::move(x));
  }
  if (failed) return nullptr;
  return Simplify(std::move(n));
}

IrNodePtr Analyzer::LowerIn(const InExpr& e) {
  IrNodePtr operand = LowerExpr(*e.operand);
  if (!operand) return nullptr;
  bool ci = e.case_insensitive || DialectCaseInsensitive();
  std::vector<IrNodePtr> values;
  bool all_const = true;
  for (const ExprPtr& v : e.values) {
    IrNodePtr x = LowerExpr(*v);
    if (!x) return nullptr;
    CoerceLiteral(operand->type, x.get());
    if (!Comparable(operand->type, x->type)) {
      Error(x->span, fmt::format("cannot compare {} with {}", IrTypeName(operand->type),
                                 IrTypeName(x->type)));
      return nullptr;
    }
    all_const &= x->is_const();
    values.push_back(std::move(x));
  }
  if (all_const) {
    auto n = Make(IrOp::kIn, IrType::kBool, e.span);
    n->case_insensitive = ci;
    n->negated = e.negated;
    for (const IrNodePtr& v : values) n->set.push_back(v->value);
    n->children.push_back(std::move(operand));
    return Fold(std::move(n));
  }
  // Non-constant members: a disjunction of comparisons.
  auto any = Make(IrOp::kOr, IrType::kBool, e.span);
  for (IrNodePtr& v : values) {
    auto cmp = Make(IrOp::kCompare, IrType::kBool, v->span);
    cmp->compare = CompareOp::kEq;
    cmp->case_insensitive = ci;
    // Each comparison needs its own copy of the operand: lower it again (pure, bounded depth).
    cmp->children.push_back(LowerExpr(*e.operand));
    cmp->children.push_back(std::move(v));
    any->children.push_back(std::move(cmp));
  }
  IrNodePtr result = any->children.size() == 1 ? std::move(any->children[0]) : std::move(any);
  if (e.negated) {
    auto n = Make(IrOp::kNot, IrType::kBool, e.span);
    n->children.push_back(std::move(result));
    return Fold(std::move(n));
  }
  return Fold(std::move(result));
}

bool Analyzer::ConstantStrings(const std::vector<ExprPtr>& exprs, std::vector<Value>* out,
                               std::string_view what) {
  for (const ExprPtr& p : exprs) {
    IrNodePtr x = LowerExpr(*p);
    if (!x) return false;
    if (!x->is_const() || x->value.kind() != ValueKind::kString) {
      Error(p->span, fmt::format("a pattern must be a string literal{}", what),
            x->is_const() && !x->value.is_null() && what == " after `:`"
                ? "compare other values with ==, e.g. x == 1"
                : "");
      return false;
    }
    out->push_back(x->value);
  }
  return true;
}

IrNodePtr Analyzer::Wildcard(IrNodePtr operand, std::vector<Value> patterns, bool ci,
                             bool question_mark, bool negated, Span span) {
  if (!Satisfies(operand->type, Expect::kString)) {
    Error(operand->span,
          fmt::format("wildcard matching needs a string, not {}", IrTypeName(operand->type)));
    return nullptr;
  }
  size_t bytes = 0;
  for (const Value& p : patterns) bytes += p.as_string().size();
  if (!ChargePatterns(span, patterns.size(), bytes)) return nullptr;
  auto n = Make(IrOp::kWildcard, IrType::kBool, span);
  n->case_insensitive = ci;
  n->question_mark = question_mark;
  n->negated = negated;
  n->set = std::move(patterns);
  n->children.push_back(std::move(operand));
  return Fold(std::move(n));
}

IrNodePtr Analyzer::LowerMatch(const MatchExpr& e) {
  // Endgame method syntax: `"hello":length()` is `length("hello")`. In the Elasticsearch
  // dialect a call after `:` is a value, as any other operand (`x : number("5")`).
  if (endgame() && e.op == MatchOp::kSeq && e.patterns.size() == 1 &&
      e.patterns[0]->kind() == ExprKind::kCall) {
    IrNodePtr receiver = LowerExpr(*e.operand);
    if (!receiver) return nullptr;
    return LowerCall(e.patterns[0]->Cast<CallExpr>(), std::move(receiver));
  }
  if (e.op == MatchOp::kSeq && !endgame()) return LowerSeq(e);
  IrNodePtr operand = LowerExpr(*e.operand);
  if (!operand) return nullptr;
  std::vector<Value> patterns;
  if (!ConstantStrings(e.patterns, &patterns,
                       e.op == MatchOp::kSeq    ? " after `:`"
                       : e.op == MatchOp::kLike ? " after `like`"
                                                : " after `regex`")) {
    return nullptr;
  }
  switch (e.op) {
    case MatchOp::kSeq:
      return Wildcard(std::move(operand), std::move(patterns), true, true, false, e.span);
    case MatchOp::kLike:
      return Wildcard(std::move(operand), std::move(patterns), e.case_insensitive, true, false,
                      e.span);
    case MatchOp::kRegex: {
      if (!Satisfies(operand->type, Expect::kString)) {
        Error(operand->span,
              fmt::format("regex matching needs a string, not {}", IrTypeName(operand->type)));
        return nullptr;
      }
      size_t bytes = 0;
      for (const Value& p : patterns) bytes += p.as_string().size();
      if (!ChargePatterns(e.span, patterns.size(), bytes)) return nullptr;
      auto n = Make(IrOp::kRegex, IrType::kBool, e.span);
      n->case_insensitive = e.case_insensitive;
      for (size_t i = 0; i < patterns.size(); ++i) {
        auto re = Regex(patterns[i].as_string(), e.case_insensitive, e.patterns[i]->span);
        if (re == nullptr) return nullptr;
        n->regexes.push_back(std::move(re));
      }
      n->set = std::move(patterns);
      n->children.push_back(std::move(operand));
      return Fold(std::move(n));
    }
  }
  return nullptr;
}

// Elasticsearch's `:` and `!:`: its grammar takes any constant after `:` (a string, a number, a
// boolean, null; one or a parenthesised list, or-ed). A string is a case-insensitive match with
// `*`/`?` wildcards; a number or boolean is equality (`x : 1` is `x == 1`: Elasticsearch's
// verifier would refuse it and suggest `==`, Kestrel runs what it suggests); so is null:
// `x : null` is `x == null` and `x !: null` is `x != null`, as Elasticsearch's spec file
// expects (`bad_field : null`, `indexOf(...) !: null`).
// `x !: c` is `not (x : c)`: a query negation when the operand is a field.
// A right-hand side that is not a constant (`a : b`, `null : (x > 1)`, `x : f(y)`) is the `:`
// of Elasticsearch 7.x's grammar, where `:` and `!:` were comparison operators over any two
// values: case-insensitive equality without wildcards (Elasticsearch 8's grammar refuses it;
// Kestrel accepts both, docs/eql.md "Deliberate differences").
IrNodePtr Analyzer::LowerSeq(const MatchExpr& e) {
  std::vector<Value> strings;
  std::vector<IrNodePtr> terms;
  for (const ExprPtr& p : e.patterns) {
    IrNodePtr x = LowerExpr(*p);
    if (!x) return nullptr;
    // A constant string is a wildcard pattern (below); any other value is equality: with a
    // non-constant value (`a : b`), case-insensitive and the operand coerced to the value's type.
    bool constant = x->is_const();
    if (constant && x->value.kind() == ValueKind::kString) {
      strings.push_back(x->value);
      continue;
    }
    IrNodePtr operand = LowerExpr(*e.operand);
    if (!operand) return nullptr;
    if (constant) {
      CoerceLiteral(operand->type, x.get());
    } else {
      CoerceLiteral(x->type, operand.get());
    }
    if (!Comparable(operand->type, x->type)) {
      Error(p->span, fmt::format("`:` cannot compare {} with {}", IrTypeName(operand->type),
                                 IrTypeName(x->type)));
      return nullptr;
    }
    auto cmp = Make(IrOp::kCompare, IrType::kBool, p->span);
    cmp->compare = CompareOp::kEq;
    cmp->case_insensitive = !constant;
    cmp->children.push_back(std::move(operand));
    cmp->children.push_back(std::move(x));
    terms.push_back(Fold(std::move(cmp)));
  }
  if (!strings.empty()) {
    IrNodePtr operand = LowerExpr(*e.operand);
    if (!operand) return nullptr;
    IrNodePtr w = Wildcard(std::move(operand), std::move(strings), true, true, false, e.span);
    if (!w) return nullptr;
    terms.insert(terms.begin(), std::move(w));
  }
  IrNodePtr result;
  if (terms.size() == 1) {
    result = std::move(terms[0]);
  } else {
    auto any = Make(IrOp::kOr, IrType::kBool, e.span);
    for (IrNodePtr& t : terms) any->children.push_back(std::move(t));
    result = Simplify(std::move(any));
  }
  if (!e.negated) return result;
  if (result->op == IrOp::kWildcard) {  // the `!=`-style negated wildcard, as `not in` is
    result->negated = true;
    return Fold(std::move(result));
  }
  auto n = Make(IrOp::kNot, IrType::kBool, e.span);
  n->children.push_back(std::move(result));
  return Fold(std::move(n));
}

namespace {

// What an Elasticsearch-dialect rule writes instead of an Endgame-only function.
std::string EndgameOnlyHint(Builtin id) {
  switch (id) {
    case Builtin::kWildcard:
      return "write x : \"a*\" (or x like \"a*\"), or use the endgame dialect";
    case Builtin::kMatch:
    case Builtin::kMatchLite:
      return "write x regex \"...\", or use the endgame dialect";
    case Builtin::kArrayContains:
      return "an array field matches when any element does: x : (\"a\", \"b\"), or use the "
             "endgame dialect";
    default:
      return "use the endgame dialect";
  }
}

}  // namespace

IrNodePtr Analyzer::LowerCall(const CallExpr& e, IrNodePtr receiver) {
  // Elasticsearch's registry (EqlFunctionRegistry) has only the functions not marked
  // endgame_only; the others are unknown there, and are here in that dialect.
  const BuiltinInfo* info = FindBuiltin(e.name);
  if (info != nullptr && info->endgame_only && !endgame()) info = nullptr;
  if (info == nullptr && options_.functions != nullptr) {
    for (size_t i = 0; i < options_.functions->size(); ++i) {
      if ((*options_.functions)[i].name == e.name) {
        return LowerCustomCall(e, std::move(receiver), static_cast<uint32_t>(i));
      }
    }
  }
  if (info == nullptr) {
    if (const BuiltinInfo* endgame_info = FindBuiltin(e.name); endgame_info != nullptr) {
      Error(e.name_span,
            fmt::format("`{}` is an Endgame EQL function; Elasticsearch EQL has no `{}`",
                        endgame_info->name, endgame_info->name),
            EndgameOnlyHint(endgame_info->id));
      return nullptr;
    }
    Error(e.name_span, fmt::format("unknown function `{}`", e.name));
    return nullptr;
  }
  if (e.case_insensitive && !info->string_matching) {
    Error(e.name_span, fmt::format("`{}` has no case-insensitive `~` form", info->name));
    return nullptr;
  }
  std::vector<IrNodePtr> args;
  if (receiver) args.push_back(std::move(receiver));
  for (const ExprPtr& a : e.args) {
    IrNodePtr x = LowerExpr(*a);
    if (!x) return nullptr;
    args.push_back(std::move(x));
  }
  if (args.size() < info->min_args ||
      (info->max_args != kVariadic && args.size() > info->max_args)) {
    std::string want = info->max_args == kVariadic ? fmt::format("at least {}", info->min_args)
                       : info->min_args == info->max_args
                           ? fmt::format("{}", info->min_args)
                           : fmt::format("{} to {}", info->min_args, info->max_args);
    Error(e.span, fmt::format("`{}` takes {} argument{}, not {}", info->name, want,
                              info->max_args == 1 && info->min_args == 1 ? "" : "s", args.size()));
    return nullptr;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    Expect expect = ExpectedArg(info->id, i);
    if (!Satisfies(args[i]->type, expect)) {
      Error(args[i]->span, fmt::format("argument {} of `{}` must be {}, not {}", i + 1, info->name,
                                       ExpectName(expect), IrTypeName(args[i]->type)));
      return nullptr;
    }
  }
  if ((info->id == Builtin::kArraySearch || info->id == Builtin::kArrayCount) &&
      (args[1]->op != IrOp::kField || args[1]->index || args[1]->event_index)) {
    Error(args[1]->span,
          fmt::format("the second argument of `{}` must be a variable name", info->name));
    return nullptr;
  }
  bool ci = e.case_insensitive || (info->string_matching && DialectCaseInsensitive());
  // wildcard(x, "a*", ...) with literal patterns is the same node as `x == "a*"`.
  if (info->id == Builtin::kWildcard) {
    bool literal_patterns = true;
    for (size_t i = 1; i < args.size(); ++i) {
      literal_patterns &= args[i]->is_const() && args[i]->value.kind() == ValueKind::kString;
    }
    if (literal_patterns && !args[0]->is_const()) {
      std::vector<Value> patterns;
      for (size_t i = 1; i < args.size(); ++i) patterns.push_back(args[i]->value);
      return Wildcard(std::move(args[0]), std::move(patterns), ci, false, false, e.span);
    }
  }
  auto n = Make(IrOp::kCall, ResultType(info->id), e.span);
  n->builtin = info->id;
  n->case_insensitive = ci;
  if (info->id == Builtin::kMatch || info->id == Builtin::kMatchLite) {
    // Literal patterns are checked (syntax, size, the query's budget) and compiled here once;
    // the evaluator uses them instead of compiling per call. A pattern from data is compiled
    // per call and never matches when it is invalid or too large (functions.h).
    size_t literals = 0, bytes = 0;
    for (size_t i = 1; i < args.size(); ++i) {
      if (!args[i]->is_const() || args[i]->value.kind() != ValueKind::kString) continue;
      ++literals;
      bytes += args[i]->value.as_string().size();
    }
    if (!ChargePatterns(e.span, literals, bytes)) return nullptr;
    for (size_t i = 1; i < args.size(); ++i) {
      if (!args[i]->is_const() || args[i]->value.kind() != ValueKind::kString) continue;
      auto re = Regex(args[i]->value.as_string(), ci, args[i]->span);
      if (re == nullptr) return nullptr;
      n->regexes.push_back(std::move(re));
    }
    if (literals + 1 != args.size()) n->regexes.clear();  // some pattern comes from data
  }
  n->children = std::move(args);
  return Fold(std::move(n));
}

bool Analyzer::ChargePatterns(Span span, size_t count, size_t bytes) {
  if (over_pattern_budget_) return false;
  patterns_ += count;
  pattern_bytes_ += bytes;
  if (patterns_ <= kMaxQueryPatterns && pattern_bytes_ <= kMaxQueryPatternBytes) return true;
  over_pattern_budget_ = true;
  std::string who = options_.rule_name.empty() ? std::string("the query")
                                               : fmt::format("rule '{}'", options_.rule_name);
  Error(span,
        patterns_ > kMaxQueryPatterns
            ? fmt::format("{} has more than {} wildcard and regex patterns", who, kMaxQueryPatterns)
            : fmt::format("{} has more than {} bytes of wildcard and regex patterns", who,
                          kMaxQueryPatternBytes),
        "split the rule, or match exact values with `in (...)`, which has no such limit");
  return false;
}

std::shared_ptr<const re2::RE2> Analyzer::Regex(std::string_view pattern, bool ci, Span span) {
  std::string error;
  std::shared_ptr<const re2::RE2> re = CompileRegex(pattern, ci, &error);
  if (re == nullptr) Error(span, std::move(error));
  return re;
}

void Analyzer::FinishDiagnostics(Span span) {
  if (dropped_ == 0) return;
  diagnostics_->push_back(
      Diagnostic{Severity::kNote, span,
                 fmt::format("{} more diagnostic{} of this query not shown (at most {} are)",
                             dropped_, dropped_ == 1 ? "" : "s", kMaxQueryDiagnostics),
                 ""});
  dropped_ = 0;
}

IrNodePtr Analyzer::LowerCustomCall(const CallExpr& e, IrNodePtr receiver, uint32_t index) {
  const CustomFunction& f = (*options_.functions)[index];
  if (e.case_insensitive) {
    Error(e.name_span, fmt::format("`{}` has no case-insensitive `~` form", f.name));
    return nullptr;
  }
  std::vector<IrNodePtr> args;
  if (receiver) args.push_back(std::move(receiver));
  for (const ExprPtr& a : e.args) {
    IrNodePtr x = LowerExpr(*a);
    if (!x) return nullptr;
    args.push_back(std::move(x));
  }
  if (args.size() != f.params.size()) {
    Error(e.span, fmt::format("`{}` takes {} argument{}, not {}", f.name, f.params.size(),
                              f.params.size() == 1 ? "" : "s", args.size()));
    return nullptr;
  }
  for (size_t i = 0; i < args.size(); ++i) {
    IrType want = f.params[i];
    IrType got = args[i]->type;
    if (want != IrType::kAny && got != IrType::kAny && got != IrType::kNull && got != want) {
      Error(args[i]->span, fmt::format("argument {} of `{}` must be {}, not {}", i + 1, f.name,
                                       IrTypeName(want), IrTypeName(got)));
      return nullptr;
    }
  }
  auto n = Make(IrOp::kCustomCall, f.result, e.span);
  n->custom = index;
  n->custom_name = f.name;
  n->children = std::move(args);
  return n;  // never folded: the function runs only in the engine
}

IrNodePtr Analyzer::LowerRelation(const RelationExpr& e) {
  auto n = Make(IrOp::kRelation, IrType::kBool, e.span);
  n->relation = e.relation;
  IrStage stage;
  if (!LowerEventQuery(*e.query, &stage)) return nullptr;
  n->category = stage.category;
  n->children.push_back(std::move(stage.predicate));
  return n;
}

// Event types of the Endgame schema beyond the ECS categories (the reference's data and
// documentation: image_load is a loaded module, security a Windows security event).
constexpr std::string_view kEndgameEventTypes[] = {"image_load", "security"};

void Analyzer::CheckCategory(const EventQuery& q) {
  if (q.category.empty()) return;  // `any`
  std::vector<std::string_view> known(schema::Schema::StandardCategories().begin(),
                                      schema::Schema::StandardCategories().end());
  if (endgame())
    known.insert(known.end(), std::begin(kEndgameEventTypes), std::end(kEndgameEventTypes));
  if (std::find(known.begin(), known.end(), q.category) != known.end()) return;
  if (!warned_categories_.insert(q.category).second || !Room()) return;
  std::optional<std::string_view> close = base::ClosestMatch(q.category, known);
  if (endgame()) {
    // Endgame event types are open (any `event_type` in the data is one): only a near miss of a
    // known one is worth a word.
    if (!close) return;
    Warning(q.category_span,
            fmt::format("unknown event category `{}`, did you mean {}?", q.category, *close),
            fmt::format("ignore this if your events carry event_type `{}`", q.category));
    return;
  }
  if (close) {
    Warning(q.category_span,
            fmt::format("unknown event category `{}`, did you mean {}?", q.category, *close),
            "event.category takes the ECS values; `any` matches every event");
    return;
  }
  std::vector<std::string_view> sorted = known;
  std::sort(sorted.begin(), sorted.end());
  Warning(
      q.category_span, fmt::format("unknown event category `{}`", q.category),
      fmt::format("the ECS categories are {}; `any` matches every event", fmt::join(sorted, ", ")));
}

bool Analyzer::LowerEventQuery(const EventQuery& q, IrStage* out) {
  out->span = q.span;
  CheckCategory(q);
  if (!q.category.empty()) out->category = schema_.InternCategory(q.category);
  out->predicate = AsCondition(LowerExpr(*q.condition));
  if (out->predicate && out->predicate->type != IrType::kBool &&
      out->predicate->type != IrType::kAny && out->predicate->type != IrType::kNull) {
    Error(q.condition->span,
          fmt::format("a condition must be a boolean, not {}", IrTypeName(out->predicate->type)));
    return false;
  }
  return out->predicate != nullptr;
}

bool Analyzer::LowerStage(const Stage& stage, const std::vector<ExprPtr>& shared_by, IrStage* out) {
  bool ok = LowerEventQuery(*stage.query, out);
  out->span = stage.span;
  out->missing = stage.missing;
  out->fork = stage.fork.value_or(false);
  out->runs = stage.runs;
  if (stage.runs && (*stage.runs < 1 || *stage.runs > 100)) {
    Error(stage.span, "`runs` must be between 1 and 100");
    ok = false;
  }
  for (const std::vector<ExprPtr>* keys : {&shared_by, &stage.by}) {
    for (const ExprPtr& k : *keys) {
      IrNodePtr x = LowerExpr(*k);
      if (!x) {
        ok = false;
        continue;
      }
      out->by.push_back(std::move(x));
    }
  }
  return ok;
}

}  // namespace kestrel::eql::internal
