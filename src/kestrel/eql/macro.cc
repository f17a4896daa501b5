// Macro expansion (see macro.h). Recursion follows the tree, whose height is kept at most
// max_depth, and the chain of nested expansions, also bounded by max_depth.
#include "kestrel/eql/macro.h"

#include <functional>
#include <utility>

#include "fmt/format.h"
#include "kestrel/base/status.h"

namespace kestrel::eql {

namespace {

// Calls `fn` on each owning pointer to a direct child of `expr`.
void ForEachChildSlot(Expr& expr, const std::function<void(ExprPtr&)>& fn) {
  switch (expr.kind()) {
    case ExprKind::kLiteral:
    case ExprKind::kField:
      return;
    case ExprKind::kUnary:
      fn(expr.Cast<UnaryExpr>().operand);
      return;
    case ExprKind::kBinary:
      fn(expr.Cast<BinaryExpr>().lhs);
      fn(expr.Cast<BinaryExpr>().rhs);
      return;
    case ExprKind::kLogical:
      for (ExprPtr& e : expr.Cast<LogicalExpr>().operands) fn(e);
      return;
    case ExprKind::kIn:
      fn(expr.Cast<InExpr>().operand);
      for (ExprPtr& e : expr.Cast<InExpr>().values) fn(e);
      return;
    case ExprKind::kMatch:
      fn(expr.Cast<MatchExpr>().operand);
      for (ExprPtr& e : expr.Cast<MatchExpr>().patterns) fn(e);
      return;
    case ExprKind::kCall:
      for (ExprPtr& e : expr.Cast<CallExpr>().args) fn(e);
      return;
    case ExprKind::kRelation:
      fn(expr.Cast<RelationExpr>().query->condition);
      return;
  }
}

class Expander {
 public:
  Expander(const MacroTable& table, int max_depth) : table_(table), max_depth_(max_depth) {}

  absl::Status Expand(ExprPtr* slot, int nesting) {
    Expr& expr = **slot;
    absl::Status status;
    ForEachChildSlot(expr, [&](ExprPtr& child) {
      if (status.ok()) status = Expand(&child, nesting);
    });
    KESTREL_RETURN_IF_ERROR(status);
    UpdateHeight(expr);
    const CallExpr* call = expr.As<CallExpr>();
    const MacroDefinition* macro = call ? table_.Find(call->name) : nullptr;
    if (macro == nullptr) return CheckHeight(expr);
    if (call->args.size() != macro->params.size()) {
      return absl::InvalidArgumentError(
          fmt::format("{}:{}: macro '{}' takes {} argument(s), but {} were given", call->span.line,
                      call->span.column, call->name, macro->params.size(), call->args.size()));
    }
    if (nesting >= max_depth_) {
      return absl::InvalidArgumentError(
          fmt::format("{}:{}: macro '{}' expands more than {} levels deep (is it recursive?)",
                      call->span.line, call->span.column, call->name, max_depth_));
    }
    KESTREL_RETURN_IF_ERROR(Charge(*macro->body, *call));
    ExprPtr body = CloneExpr(*macro->body);
    KESTREL_RETURN_IF_ERROR(Substitute(&body, *macro, *call));
    KESTREL_RETURN_IF_ERROR(CheckHeight(*body));
    *slot = std::move(body);
    return Expand(slot, nesting + 1);
  }

 private:
  // Replaces parameter references in `*slot` by copies of the call's arguments. The body's
  // height is at most max_depth (checked when the macro was parsed).
  absl::Status Substitute(ExprPtr* slot, const MacroDefinition& macro, const CallExpr& call) {
    if (const FieldExpr* field = (*slot)->As<FieldExpr>();
        field != nullptr && !field->optional && field->path.size() == 1) {
      for (size_t i = 0; i < macro.params.size(); ++i) {
        if (macro.params[i] == field->path[0].name) {
          KESTREL_RETURN_IF_ERROR(Charge(*call.args[i], call));
          *slot = CloneExpr(*call.args[i]);
          break;
        }
      }
      return absl::OkStatus();
    }
    absl::Status status;
    ForEachChildSlot(**slot, [&](ExprPtr& child) {
      if (status.ok()) status = Substitute(&child, macro, call);
    });
    UpdateHeight(**slot);
    return status;
  }

  // Counts the nodes about to be copied from `expr` against the expansion budget.
  absl::Status Charge(const Expr& expr, const CallExpr& call) {
    nodes_ += CountNodes(expr);
    if (nodes_ <= kMaxExpandedNodes) return absl::OkStatus();
    return absl::InvalidArgumentError(
        fmt::format("{}:{}: expanding macro '{}' creates more than {} expression nodes",
                    call.span.line, call.span.column, call.name, kMaxExpandedNodes));
  }

  static size_t CountNodes(const Expr& expr) {
    size_t n = 1;
    ForEachChild(expr, [&n](const Expr& child) { n += CountNodes(child); });
    return n;
  }

  absl::Status CheckHeight(const Expr& expr) const {
    if (expr.height <= static_cast<uint32_t>(max_depth_)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        fmt::format("{}:{}: the expression is nested too deeply after macro expansion "
                    "(the limit is {} levels)",
                    expr.span.line, expr.span.column, max_depth_));
  }

  // The budget for nodes copied by one Expand() call: expansion can grow exponentially
  // (macro F(a) F(a + a)), so it is capped rather than only depth-bounded.
  static constexpr size_t kMaxExpandedNodes = 1 << 20;

  const MacroTable& table_;
  int max_depth_;
  size_t nodes_ = 0;
};

absl::Status ExpandAll(Expander& expander, std::vector<ExprPtr>& exprs) {
  for (ExprPtr& e : exprs) KESTREL_RETURN_IF_ERROR(expander.Expand(&e, 0));
  return absl::OkStatus();
}

absl::Status ExpandStage(Expander& expander, Stage& stage) {
  KESTREL_RETURN_IF_ERROR(expander.Expand(&stage.query->condition, 0));
  return ExpandAll(expander, stage.by);
}

}  // namespace

absl::Status MacroTable::Define(MacroDefinition macro) {
  if (macros_.contains(macro.name)) {
    return absl::AlreadyExistsError(fmt::format("macro '{}' is already defined", macro.name));
  }
  std::string name = macro.name;
  macros_.emplace(std::move(name), std::move(macro));
  return absl::OkStatus();
}

absl::Status MacroTable::DefineAll(std::vector<MacroDefinition> macros) {
  for (MacroDefinition& m : macros) KESTREL_RETURN_IF_ERROR(Define(std::move(m)));
  return absl::OkStatus();
}

const MacroDefinition* MacroTable::Find(std::string_view name) const {
  auto it = macros_.find(name);
  return it == macros_.end() ? nullptr : &it->second;
}

absl::Status MacroTable::ExpandExpr(ExprPtr* expr, int max_depth) const {
  Expander expander(*this, max_depth);
  return expander.Expand(expr, 0);
}

absl::Status MacroTable::Expand(Query* query, int max_depth) const {
  Expander expander(*this, max_depth);
  QueryNode& body = *query->body;
  switch (body.kind()) {
    case QueryKind::kEvent:
      KESTREL_RETURN_IF_ERROR(expander.Expand(&body.Cast<EventQuery>().condition, 0));
      break;
    case QueryKind::kSequence: {
      auto& q = body.Cast<SequenceQuery>();
      KESTREL_RETURN_IF_ERROR(ExpandAll(expander, q.by));
      for (Stage& s : q.stages) KESTREL_RETURN_IF_ERROR(ExpandStage(expander, s));
      if (q.until) KESTREL_RETURN_IF_ERROR(ExpandStage(expander, *q.until));
      break;
    }
    case QueryKind::kSample: {
      auto& q = body.Cast<SampleQuery>();
      KESTREL_RETURN_IF_ERROR(ExpandAll(expander, q.by));
      for (Stage& s : q.stages) KESTREL_RETURN_IF_ERROR(ExpandStage(expander, s));
      break;
    }
    case QueryKind::kJoin: {
      auto& q = body.Cast<JoinQuery>();
      KESTREL_RETURN_IF_ERROR(ExpandAll(expander, q.by));
      for (Stage& s : q.stages) KESTREL_RETURN_IF_ERROR(ExpandStage(expander, s));
      if (q.until) KESTREL_RETURN_IF_ERROR(ExpandStage(expander, *q.until));
      break;
    }
  }
  for (Pipe& p : query->pipes) KESTREL_RETURN_IF_ERROR(ExpandAll(expander, p.args));
  return absl::OkStatus();
}

}  // namespace kestrel::eql
