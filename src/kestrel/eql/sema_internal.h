// Private to semantic analysis (sema.cc, sema_types.cc, sema_lower.cc, sema_fold.cc): the
// Analyzer class that lowers an AST to IR, and the type rules it checks against. Not part of the
// library's API; the contract is sema.h's.
//
// Where each part lives:
//   sema.cc        the public entry points (Analyze, Compile, CompileExpression): a query's
//                  stages, `by` key counts and pipes, diagnostics sorted by position
//   sema_types.cc  the type rules: static types of fields and values, what a built-in expects
//                  of each argument and returns, literal coercion in equalities
//   sema_lower.cc  lowering of expressions, stages and event queries (one Lower*() per AST node
//                  kind); each returns an IR node or nullptr after recording an error
//   sema_fold.cc   constant folding, and/or simplification, Endgame truthiness
// Analysis continues after errors so one run reports them all. Recursion follows the AST, whose
// height the parser bounds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "kestrel/eql/ast.h"
#include "kestrel/eql/diagnostic.h"
#include "kestrel/eql/functions.h"
#include "kestrel/eql/ir.h"
#include "kestrel/eql/sema.h"
#include "kestrel/schema/schema.h"

namespace kestrel::eql::internal {

using event::Value;
using event::ValueKind;

// Type rules (sema_types.cc).

IrType TypeOfField(const schema::FieldInfo& info);
IrType TypeOfValue(const Value& v);
// Whether values of static types a and b can be compared (kAny and kNull match anything).
bool Comparable(IrType a, IrType b);

// What a built-in expects of argument i.
enum class Expect : uint8_t { kAny, kString, kNumber, kBool, kIpOrString };

Expect ExpectedArg(Builtin f, size_t i);
bool Satisfies(IrType t, Expect e);
std::string_view ExpectName(Expect e);
IrType ResultType(Builtin f);
bool HasWildcard(std::string_view s);

class Analyzer {
 public:
  Analyzer(schema::Schema& schema, const CompileOptions& options, base::StringArena* arena,
           std::vector<Diagnostic>* diagnostics)
      : schema_(schema), options_(options), arena_(arena), diagnostics_(diagnostics) {}

  IrNodePtr LowerExpr(const Expr& expr);
  bool LowerStage(const Stage& stage, const std::vector<ExprPtr>& shared_by, IrStage* out);
  bool LowerEventQuery(const EventQuery& q, IrStage* out);
  // Warns once per query about a category no event is known to carry (sema_lower.cc).
  void CheckCategory(const EventQuery& q);
  bool has_error() const { return errors_ > 0; }
  // Elasticsearch dialect: a stage of a sequence or sample matches only events that have each of
  // its join keys that is a plain field not written `?field` (Elasticsearch's optimiser adds an
  // exists filter per mandatory key, AddMandatoryJoinKeyFilter); ANDs `key != null` into the
  // stage's predicate. sema_es.cc.
  void RequireJoinKeys(IrStage* stage);

 private:
  bool endgame() const { return options_.dialect == Dialect::kEndgame; }
  // Endgame compares strings without case unless asked; Elasticsearch with case unless `~`.
  bool DialectCaseInsensitive() const { return endgame() && !options_.case_sensitive; }

  // Diagnostics past kMaxQueryDiagnostics are counted, not kept (FinishDiagnostics adds one
  // note); an error still fails the query.
  void Error(Span span, std::string message, std::string hint = {}) {
    ++errors_;
    Add(Severity::kError, span, std::move(message), std::move(hint));
  }
  void Warning(Span span, std::string message, std::string hint = {}) {
    Add(Severity::kWarning, span, std::move(message), std::move(hint));
  }
  void Add(Severity severity, Span span, std::string message, std::string hint) {
    if (!Room()) {
      ++dropped_;
      return;
    }
    ++kept_;
    diagnostics_->push_back(Diagnostic{severity, span, std::move(message), std::move(hint)});
  }
  // Whether one more diagnostic would be kept (a costly hint is only worth computing then).
  bool Room() const { return kept_ < kMaxQueryDiagnostics; }

 public:
  // Adds the note about the diagnostics not kept, if any, at `span`.
  void FinishDiagnostics(Span span);

 private:
  // Counts `count` patterns of `bytes` bytes at `span` against the query's pattern budget
  // (kMaxQueryPatterns, kMaxQueryPatternBytes); false after reporting the overrun (once).
  bool ChargePatterns(Span span, size_t count, size_t bytes);
  // A regex pattern compiled with CompileRegex (functions.h); nullptr after reporting why.
  std::shared_ptr<const re2::RE2> Regex(std::string_view pattern, bool ci, Span span);

  IrNodePtr Make(IrOp op, IrType type, Span span) {
    auto n = std::make_unique<IrNode>();
    n->op = op;
    n->type = type;
    n->span = span;
    return n;
  }
  IrNodePtr Const(const Value& v, Span span) {
    auto n = Make(IrOp::kConst, TypeOfValue(v), span);
    n->value = CopyToArena(v);
    return n;
  }
  Value CopyToArena(const Value& v) {
    if (v.kind() == ValueKind::kString) return Value::String(arena_->Copy(v.as_string()));
    return v;
  }

  IrNodePtr LowerLiteral(const LiteralExpr& e);
  IrNodePtr LowerField(const FieldExpr& e);
  IrNodePtr LowerBinary(const BinaryExpr& e);
  IrNodePtr LowerLogical(const LogicalExpr& e);
  IrNodePtr LowerIn(const InExpr& e);
  IrNodePtr LowerMatch(const MatchExpr& e);
  IrNodePtr LowerSeq(const MatchExpr& e);  // `:` / `!:`, Elasticsearch dialect
  IrNodePtr LowerCall(const CallExpr& e, IrNodePtr receiver = nullptr);
  IrNodePtr LowerCustomCall(const CallExpr& e, IrNodePtr receiver, uint32_t index);
  IrNodePtr LowerRelation(const RelationExpr& e);
  IrNodePtr Wildcard(IrNodePtr operand, std::vector<Value> patterns, bool ci, bool question_mark,
                     bool negated, Span span);
  // Constant patterns of a match; false after reporting a non-constant one.
  bool ConstantStrings(const std::vector<ExprPtr>& exprs, std::vector<Value>* out,
                       std::string_view what);
  IrNodePtr Fold(IrNodePtr node);
  IrNodePtr Simplify(IrNodePtr node);

  // Equality between a field and a literal of the other scalar kind compares as Elasticsearch's
  // term query does: `user.id == 0` on a keyword field matches "0"; `process.pid == "1"` on a
  // numeric field matches 1. The literal is converted (with a warning); a string that is not a
  // number stays, and the type check reports it.
  void CoerceLiteral(IrType field_type, IrNode* literal);
  // Endgame uses any value as a condition (Python truthiness); makes that explicit in the IR.
  IrNodePtr AsCondition(IrNodePtr x);

  schema::Schema& schema_;
  const CompileOptions& options_;
  base::StringArena* arena_;
  std::vector<Diagnostic>* diagnostics_;
  int errors_ = 0;
  size_t kept_ = 0;           // diagnostics kept
  size_t dropped_ = 0;        // diagnostics past kMaxQueryDiagnostics
  size_t patterns_ = 0;       // wildcard and regex patterns so far
  size_t pattern_bytes_ = 0;  // their bytes
  bool over_pattern_budget_ = false;
  // Unknown fields already warned about in this query.
  absl::flat_hash_set<std::string> warned_fields_;
  absl::flat_hash_set<std::string> warned_categories_;
};

}  // namespace kestrel::eql::internal
