// AST helpers: checked casts, child iteration, deep copy and the canonical S-expression dump.
// Every recursive function here recurses at most Expr::height deep, which the parser bounds.
#include "kestrel/eql/ast.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "fmt/format.h"

namespace kestrel::eql {

void CastFailure(const char* family, int actual_kind, int wanted_kind) {
  std::fprintf(stderr, "kestrel::eql: bad %s Cast: node kind %d, wanted kind %d\n", family,
               actual_kind, wanted_kind);
  std::abort();
}

RelationExpr::RelationExpr(Span s, RelationKind r) : Expr(kKind, s), relation(r) {}
RelationExpr::~RelationExpr() = default;

namespace {

bool IsPlainName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '@';
    if (!ok) return false;
  }
  return !(name[0] >= '0' && name[0] <= '9');
}

}  // namespace

std::string FieldExpr::DottedName() const {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    const FieldSegment& seg = path[i];
    if (seg.kind == FieldSegment::Kind::kIndex) {
      out += fmt::format("[{}]", seg.index);
      continue;
    }
    if (i > 0) out += '.';
    if (IsPlainName(seg.name)) {
      out += seg.name;
    } else {
      out += '`';
      for (char c : seg.name) {
        if (c == '`') out += '`';
        out += c;
      }
      out += '`';
    }
  }
  return out;
}

std::string_view BinaryOpName(BinaryOp op) {
  switch (op) {
    case BinaryOp::kEq:
      return "==";
    case BinaryOp::kNe:
      return "!=";
    case BinaryOp::kLt:
      return "<";
    case BinaryOp::kLe:
      return "<=";
    case BinaryOp::kGt:
      return ">";
    case BinaryOp::kGe:
      return ">=";
    case BinaryOp::kAdd:
      return "+";
    case BinaryOp::kSub:
      return "-";
    case BinaryOp::kMul:
      return "*";
    case BinaryOp::kDiv:
      return "/";
    case BinaryOp::kMod:
      return "%";
  }
  return "?";
}

bool IsComparison(BinaryOp op) { return op <= BinaryOp::kGe; }

std::string_view PipeKindName(PipeKind kind) {
  switch (kind) {
    case PipeKind::kHead:
      return "head";
    case PipeKind::kTail:
      return "tail";
    case PipeKind::kCount:
      return "count";
    case PipeKind::kUnique:
      return "unique";
    case PipeKind::kUniqueCount:
      return "unique_count";
    case PipeKind::kFilter:
      return "filter";
    case PipeKind::kSort:
      return "sort";
  }
  return "?";
}

int64_t TimeSpan::Milliseconds() const {
  int64_t factor = 1;
  if (unit == "s")
    factor = 1000;
  else if (unit == "m")
    factor = 60 * 1000;
  else if (unit == "h")
    factor = 3600 * 1000;
  else if (unit == "d")
    factor = 24 * 3600 * 1000;
  if (value > std::numeric_limits<int64_t>::max() / factor) {
    return std::numeric_limits<int64_t>::max();
  }
  return value * factor;
}

void ForEachChild(const Expr& expr, const std::function<void(const Expr&)>& fn) {
  switch (expr.kind()) {
    case ExprKind::kLiteral:
    case ExprKind::kField:
      return;
    case ExprKind::kUnary:
      fn(*expr.Cast<UnaryExpr>().operand);
      return;
    case ExprKind::kBinary: {
      const auto& b = expr.Cast<BinaryExpr>();
      fn(*b.lhs);
      fn(*b.rhs);
      return;
    }
    case ExprKind::kLogical:
      for (const ExprPtr& e : expr.Cast<LogicalExpr>().operands) fn(*e);
      return;
    case ExprKind::kIn: {
      const auto& in = expr.Cast<InExpr>();
      fn(*in.operand);
      for (const ExprPtr& e : in.values) fn(*e);
      return;
    }
    case ExprKind::kMatch: {
      const auto& m = expr.Cast<MatchExpr>();
      fn(*m.operand);
      for (const ExprPtr& e : m.patterns) fn(*e);
      return;
    }
    case ExprKind::kCall:
      for (const ExprPtr& e : expr.Cast<CallExpr>().args) fn(*e);
      return;
    case ExprKind::kRelation: {
      const auto& r = expr.Cast<RelationExpr>();
      if (r.query && r.query->condition) fn(*r.query->condition);
      return;
    }
  }
}

void UpdateHeight(Expr& expr) {
  uint32_t h = 0;
  ForEachChild(expr, [&h](const Expr& child) { h = std::max(h, child.height); });
  expr.height = h + 1;
}

namespace {

std::vector<ExprPtr> CloneAll(const std::vector<ExprPtr>& exprs) {
  std::vector<ExprPtr> out;
  out.reserve(exprs.size());
  for (const ExprPtr& e : exprs) out.push_back(CloneExpr(*e));
  return out;
}

}  // namespace

ExprPtr CloneExpr(const Expr& expr) {
  ExprPtr out;
  switch (expr.kind()) {
    case ExprKind::kLiteral: {
      const auto& src = expr.Cast<LiteralExpr>();
      auto e = std::make_unique<LiteralExpr>(src.span);
      e->literal_kind = src.literal_kind;
      e->bool_value = src.bool_value;
      e->int_value = src.int_value;
      e->double_value = src.double_value;
      e->string_value = src.string_value;
      e->raw = src.raw;
      out = std::move(e);
      break;
    }
    case ExprKind::kField: {
      const auto& src = expr.Cast<FieldExpr>();
      auto e = std::make_unique<FieldExpr>(src.span);
      e->path = src.path;
      e->optional = src.optional;
      out = std::move(e);
      break;
    }
    case ExprKind::kUnary: {
      const auto& src = expr.Cast<UnaryExpr>();
      out = std::make_unique<UnaryExpr>(src.span, src.op, CloneExpr(*src.operand));
      break;
    }
    case ExprKind::kBinary: {
      const auto& src = expr.Cast<BinaryExpr>();
      out =
          std::make_unique<BinaryExpr>(src.span, src.op, CloneExpr(*src.lhs), CloneExpr(*src.rhs));
      break;
    }
    case ExprKind::kLogical: {
      const auto& src = expr.Cast<LogicalExpr>();
      auto e = std::make_unique<LogicalExpr>(src.span, src.op);
      e->operands = CloneAll(src.operands);
      out = std::move(e);
      break;
    }
    case ExprKind::kIn: {
      const auto& src = expr.Cast<InExpr>();
      auto e = std::make_unique<InExpr>(src.span);
      e->operand = CloneExpr(*src.operand);
      e->values = CloneAll(src.values);
      e->negated = src.negated;
      e->case_insensitive = src.case_insensitive;
      out = std::move(e);
      break;
    }
    case ExprKind::kMatch: {
      const auto& src = expr.Cast<MatchExpr>();
      auto e = std::make_unique<MatchExpr>(src.span, src.op);
      e->case_insensitive = src.case_insensitive;
      e->negated = src.negated;
      e->operand = CloneExpr(*src.operand);
      e->patterns = CloneAll(src.patterns);
      out = std::move(e);
      break;
    }
    case ExprKind::kCall: {
      const auto& src = expr.Cast<CallExpr>();
      auto e = std::make_unique<CallExpr>(src.span);
      e->name = src.name;
      e->name_span = src.name_span;
      e->case_insensitive = src.case_insensitive;
      e->args = CloneAll(src.args);
      out = std::move(e);
      break;
    }
    case ExprKind::kRelation: {
      const auto& src = expr.Cast<RelationExpr>();
      auto e = std::make_unique<RelationExpr>(src.span, src.relation);
      e->query = std::make_unique<EventQuery>(src.query->span);
      e->query->category = src.query->category;
      e->query->category_span = src.query->category_span;
      e->query->condition = CloneExpr(*src.query->condition);
      out = std::move(e);
      break;
    }
  }
  UpdateHeight(*out);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Dump.

std::string QuoteStringLiteral(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{{{:x}}}", static_cast<unsigned>(c));
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

namespace {

std::string FormatDouble(double d) {
  std::string s = fmt::format("{}", d);
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

void DumpTo(const Expr& expr, std::string* out);

void DumpList(const std::vector<ExprPtr>& exprs, std::string* out) {
  for (const ExprPtr& e : exprs) {
    *out += ' ';
    DumpTo(*e, out);
  }
}

void DumpEventQuery(const EventQuery& q, std::string* out) {
  *out += "(event ";
  *out += q.category.empty() ? std::string("any") : q.category;
  *out += ' ';
  DumpTo(*q.condition, out);
  *out += ')';
}

void DumpTo(const Expr& expr, std::string* out) {
  switch (expr.kind()) {
    case ExprKind::kLiteral: {
      const auto& e = expr.Cast<LiteralExpr>();
      switch (e.literal_kind) {
        case LiteralKind::kNull:
          *out += "null";
          break;
        case LiteralKind::kBool:
          *out += e.bool_value ? "true" : "false";
          break;
        case LiteralKind::kInt:
          *out += fmt::format("{}", e.int_value);
          break;
        case LiteralKind::kDouble:
          *out += FormatDouble(e.double_value);
          break;
        case LiteralKind::kString:
          *out += QuoteStringLiteral(e.string_value);
          break;
      }
      return;
    }
    case ExprKind::kField: {
      const auto& e = expr.Cast<FieldExpr>();
      *out += e.optional ? "(field? " : "(field ";
      *out += e.DottedName();
      *out += ')';
      return;
    }
    case ExprKind::kUnary: {
      const auto& e = expr.Cast<UnaryExpr>();
      *out += e.op == UnaryOp::kNot ? "(not " : "(neg ";
      DumpTo(*e.operand, out);
      *out += ')';
      return;
    }
    case ExprKind::kBinary: {
      const auto& e = expr.Cast<BinaryExpr>();
      *out += '(';
      *out += BinaryOpName(e.op);
      *out += ' ';
      DumpTo(*e.lhs, out);
      *out += ' ';
      DumpTo(*e.rhs, out);
      *out += ')';
      return;
    }
    case ExprKind::kLogical: {
      const auto& e = expr.Cast<LogicalExpr>();
      *out += e.op == LogicalOp::kAnd ? "(and" : "(or";
      DumpList(e.operands, out);
      *out += ')';
      return;
    }
    case ExprKind::kIn: {
      const auto& e = expr.Cast<InExpr>();
      *out += e.negated ? "(not-in" : "(in";
      if (e.case_insensitive) *out += '~';
      *out += ' ';
      DumpTo(*e.operand, out);
      DumpList(e.values, out);
      *out += ')';
      return;
    }
    case ExprKind::kMatch: {
      const auto& e = expr.Cast<MatchExpr>();
      *out += e.op == MatchOp::kSeq    ? (e.negated ? "(!:" : "(:")
              : e.op == MatchOp::kLike ? "(like"
                                       : "(regex";
      if (e.case_insensitive) *out += '~';
      *out += ' ';
      DumpTo(*e.operand, out);
      DumpList(e.patterns, out);
      *out += ')';
      return;
    }
    case ExprKind::kCall: {
      const auto& e = expr.Cast<CallExpr>();
      *out += "(call ";
      *out += e.name;
      if (e.case_insensitive) *out += '~';
      DumpList(e.args, out);
      *out += ')';
      return;
    }
    case ExprKind::kRelation: {
      const auto& e = expr.Cast<RelationExpr>();
      *out += e.relation == RelationKind::kDescendantOf ? "(descendant-of "
              : e.relation == RelationKind::kChildOf    ? "(child-of "
                                                        : "(event-of ";
      DumpEventQuery(*e.query, out);
      *out += ')';
      return;
    }
  }
}

void DumpBy(const std::vector<ExprPtr>& by, std::string* out) {
  if (by.empty()) return;
  *out += " (by";
  DumpList(by, out);
  *out += ')';
}

void DumpStage(const Stage& stage, std::string_view tag, std::string* out) {
  *out += fmt::format(" ({} ", stage.missing ? "missing" : tag);
  DumpEventQuery(*stage.query, out);
  DumpBy(stage.by, out);
  if (stage.runs) *out += fmt::format(" (runs {})", *stage.runs);
  if (stage.fork) *out += fmt::format(" (fork {})", *stage.fork);
  *out += ')';
}

}  // namespace

std::string DumpExpr(const Expr& expr) {
  std::string out;
  DumpTo(expr, &out);
  return out;
}

std::string DumpAst(const Query& query) {
  std::string out;
  if (!query.pipes.empty()) out += "(piped ";
  const QueryNode& body = *query.body;
  switch (body.kind()) {
    case QueryKind::kEvent:
      DumpEventQuery(body.Cast<EventQuery>(), &out);
      break;
    case QueryKind::kSequence: {
      const auto& q = body.Cast<SequenceQuery>();
      out += "(sequence";
      DumpBy(q.by, &out);
      if (q.maxspan) out += fmt::format(" (maxspan {}{})", q.maxspan->value, q.maxspan->unit);
      for (const Stage& s : q.stages) DumpStage(s, "stage", &out);
      if (q.until) DumpStage(*q.until, "until", &out);
      out += ')';
      break;
    }
    case QueryKind::kSample: {
      const auto& q = body.Cast<SampleQuery>();
      out += "(sample";
      DumpBy(q.by, &out);
      for (const Stage& s : q.stages) DumpStage(s, "stage", &out);
      out += ')';
      break;
    }
    case QueryKind::kJoin: {
      const auto& q = body.Cast<JoinQuery>();
      out += "(join";
      DumpBy(q.by, &out);
      for (const Stage& s : q.stages) DumpStage(s, "stage", &out);
      if (q.until) DumpStage(*q.until, "until", &out);
      out += ')';
      break;
    }
  }
  for (const Pipe& p : query.pipes) {
    out += " (";
    out += PipeKindName(p.kind);
    DumpList(p.args, &out);
    out += ')';
  }
  if (!query.pipes.empty()) out += ')';
  return out;
}

std::string DumpMacro(const MacroDefinition& macro) {
  std::string out = "(macro " + macro.name + " (";
  for (size_t i = 0; i < macro.params.size(); ++i) {
    if (i > 0) out += ' ';
    out += macro.params[i];
  }
  out += ") ";
  DumpTo(*macro.body, &out);
  out += ')';
  return out;
}

}  // namespace kestrel::eql
