// The EQL abstract syntax tree: what the parser produces and semantic analysis consumes.
//
// Two node families, each a small class hierarchy with a kind tag and a checked Cast<T>()
// (DuckDB style): Expr (conditions, `by` keys, pipe arguments) and QueryNode (event query,
// sequence, sample, join). Every node carries the Span of the text it came from. The AST is
// purely syntactic: field names are strings, nothing is resolved against the schema, and
// dialect-dependent meaning (Endgame's case-insensitive wildcard `==`) is left to semantic
// analysis, which reads Query::dialect.
//
// Ownership: a Query owns its whole tree through std::unique_ptr; nodes are movable, not
// copyable (use CloneExpr). Trees built by the parser have height at most
// ParseOptions::max_depth, so the recursive destructor, DumpAst and CloneExpr recurse at most
// that deep.
//
// DumpAst renders a tree as a stable S-expression, e.g.
//   (sequence (by (field process.entity_id)) (maxspan 5s)
//     (stage (event process (== (field process.name) "bash"))) ...)
// on one line; table-driven tests compare against it.
//
// Tested by ast_test.cc and parser_test.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kestrel/eql/token.h"

namespace kestrel::eql {

// Aborts the process: a Cast<T>() to the wrong node type is a programming error.
[[noreturn]] void CastFailure(const char* family, int actual_kind, int wanted_kind);

// ---------------------------------------------------------------------------------------------
// Expressions.

enum class ExprKind : uint8_t {
  kLiteral,
  kField,
  kUnary,
  kBinary,    // comparison or arithmetic
  kLogical,   // and / or, n-ary
  kIn,        // x in (...), in~, not in, not in~
  kMatch,     // x : p, like, like~, regex, regex~
  kCall,      // f(args), f~(args)
  kRelation,  // Endgame: descendant of [q], child of [q], event of [q]
};

class Expr {
 public:
  virtual ~Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;

  ExprKind kind() const { return kind_; }

  // The node as its concrete type T; aborts if kind() != T::kKind.
  template <typename T>
  T& Cast() {
    if (kind_ != T::kKind) CastFailure("Expr", static_cast<int>(kind_), static_cast<int>(T::kKind));
    return static_cast<T&>(*this);
  }
  template <typename T>
  const T& Cast() const {
    if (kind_ != T::kKind) CastFailure("Expr", static_cast<int>(kind_), static_cast<int>(T::kKind));
    return static_cast<const T&>(*this);
  }
  // The node as T, or nullptr if it is of another kind.
  template <typename T>
  const T* As() const {
    return kind_ == T::kKind ? static_cast<const T*>(this) : nullptr;
  }

  Span span;
  // Height of the subtree (1 for a leaf) as computed by the parser or CloneExpr. Rewrites that
  // change children must recompute it (UpdateHeight).
  uint32_t height = 1;

 protected:
  Expr(ExprKind kind, Span s) : span(s), kind_(kind) {}

 private:
  ExprKind kind_;
};

using ExprPtr = std::unique_ptr<Expr>;

enum class LiteralKind : uint8_t { kNull, kBool, kInt, kDouble, kString };

struct LiteralExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kLiteral;
  explicit LiteralExpr(Span s) : Expr(kKind, s) {}

  LiteralKind literal_kind = LiteralKind::kNull;
  bool bool_value = false;
  int64_t int_value = 0;
  double double_value = 0;
  std::string string_value;  // decoded
  bool raw = false;          // string written raw ("""...""" or ?"...")
};

// One step of a field path: a name (`process`, `my.field` from back-quotes) or an array index.
struct FieldSegment {
  enum class Kind : uint8_t { kName, kIndex };
  Kind kind = Kind::kName;
  std::string name;
  int64_t index = 0;

  friend bool operator==(const FieldSegment&, const FieldSegment&) = default;
};

struct FieldExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kField;
  explicit FieldExpr(Span s) : Expr(kKind, s) {}

  std::vector<FieldSegment> path;  // never empty; the first segment is a name
  bool optional = false;           // written `?field`: a missing field is null, not an error

  // The dotted name of the path (`process.args[0]`); back-quoted segments containing
  // characters other than letters, digits and '_' are back-quoted again.
  std::string DottedName() const;
};

enum class UnaryOp : uint8_t { kNot, kNegate };

struct UnaryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kUnary;
  UnaryExpr(Span s, UnaryOp o, ExprPtr x) : Expr(kKind, s), op(o), operand(std::move(x)) {}

  UnaryOp op;
  ExprPtr operand;
};

enum class BinaryOp : uint8_t {
  kEq,  // ==, and '=' in the Endgame dialect
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
};

std::string_view BinaryOpName(BinaryOp op);  // "==", "+", ...
bool IsComparison(BinaryOp op);

struct BinaryExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kBinary;
  BinaryExpr(Span s, BinaryOp o, ExprPtr l, ExprPtr r)
      : Expr(kKind, s), op(o), lhs(std::move(l)), rhs(std::move(r)) {}

  BinaryOp op;
  ExprPtr lhs;
  ExprPtr rhs;
};

enum class LogicalOp : uint8_t { kAnd, kOr };

// `a and b and c` is one node with three operands (chains are flattened, never nested).
struct LogicalExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kLogical;
  LogicalExpr(Span s, LogicalOp o) : Expr(kKind, s), op(o) {}

  LogicalOp op;
  std::vector<ExprPtr> operands;  // at least two
};

struct InExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kIn;
  explicit InExpr(Span s) : Expr(kKind, s) {}

  ExprPtr operand;
  std::vector<ExprPtr> values;    // at least one
  bool negated = false;           // `not in`
  bool case_insensitive = false;  // `in~`
};

enum class MatchOp : uint8_t {
  kSeq,    // `:` case-insensitive equality with * and ? wildcards
  kLike,   // like / like~ : wildcards
  kRegex,  // regex / regex~
};

struct MatchExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kMatch;
  MatchExpr(Span s, MatchOp o) : Expr(kKind, s), op(o) {}

  MatchOp op;
  bool case_insensitive = false;  // like~ / regex~ (`:` is always case-insensitive)
  bool negated = false;           // `!:` (kSeq only, Elasticsearch dialect): not (x : ...)
  ExprPtr operand;
  std::vector<ExprPtr> patterns;  // one, or the elements of `: ("a", "b")`
};

struct CallExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kCall;
  explicit CallExpr(Span s) : Expr(kKind, s) {}

  std::string name;  // as written, e.g. "startsWith"
  Span name_span;
  bool case_insensitive = false;  // startsWith~(...)
  std::vector<ExprPtr> args;
};

struct EventQuery;

enum class RelationKind : uint8_t { kDescendantOf, kChildOf, kEventOf };

// Endgame `descendant of [q]`: true if the current process has an ancestor matching q.
struct RelationExpr final : Expr {
  static constexpr ExprKind kKind = ExprKind::kRelation;
  RelationExpr(Span s, RelationKind r);
  ~RelationExpr() override;

  RelationKind relation;
  std::unique_ptr<EventQuery> query;
};

// Calls `fn` on each direct child expression of `expr` in source order (not recursive;
// RelationExpr's child is its query's condition).
void ForEachChild(const Expr& expr, const std::function<void(const Expr&)>& fn);

// Recomputes expr.height from its direct children's heights.
void UpdateHeight(Expr& expr);

// A deep copy of `expr` (recursion depth = expr.height).
ExprPtr CloneExpr(const Expr& expr);

// ---------------------------------------------------------------------------------------------
// Queries.

enum class QueryKind : uint8_t { kEvent, kSequence, kSample, kJoin };

class QueryNode {
 public:
  virtual ~QueryNode() = default;
  QueryNode(const QueryNode&) = delete;
  QueryNode& operator=(const QueryNode&) = delete;

  QueryKind kind() const { return kind_; }

  template <typename T>
  T& Cast() {
    if (kind_ != T::kKind) {
      CastFailure("QueryNode", static_cast<int>(kind_), static_cast<int>(T::kKind));
    }
    return static_cast<T&>(*this);
  }
  template <typename T>
  const T& Cast() const {
    if (kind_ != T::kKind) {
      CastFailure("QueryNode", static_cast<int>(kind_), static_cast<int>(T::kKind));
    }
    return static_cast<const T&>(*this);
  }
  template <typename T>
  const T* As() const {
    return kind_ == T::kKind ? static_cast<const T*>(this) : nullptr;
  }

  Span span;

 protected:
  QueryNode(QueryKind kind, Span s) : span(s), kind_(kind) {}

 private:
  QueryKind kind_;
};

// `<category> where <condition>` or `any where <condition>`.
struct EventQuery final : QueryNode {
  static constexpr QueryKind kKind = QueryKind::kEvent;
  explicit EventQuery(Span s) : QueryNode(kKind, s) {}

  std::string category;  // empty for `any`
  Span category_span;
  ExprPtr condition;
};

// A `maxspan` duration: `5s` is {5, "s"}. The parser refuses a bare number ("Missing time
// unit. Did you mean 10s?"), so `unit` is set in every parsed query.
struct TimeSpan {
  int64_t value = 0;
  std::string unit;  // "ms", "s", "m", "h", "d" or ""
  Span span;

  // The duration in milliseconds, saturating at INT64_MAX (an empty unit, only in hand-built
  // ASTs, counts as milliseconds).
  int64_t Milliseconds() const;
};

// One bracketed stage of a sequence, sample or join: `[q] by k1, k2 with runs=3`.
struct Stage {
  Span span;
  std::unique_ptr<EventQuery> query;
  std::vector<ExprPtr> by;
  bool missing = false;         // `![q]`: no matching event may occur here (Elasticsearch)
  std::optional<int64_t> runs;  // `with runs=N`: N consecutive matches (Elasticsearch)
  std::optional<bool> fork;     // `fork` / `fork=true|false` (Endgame)
};

struct SequenceQuery final : QueryNode {
  static constexpr QueryKind kKind = QueryKind::kSequence;
  explicit SequenceQuery(Span s) : QueryNode(kKind, s) {}

  std::vector<ExprPtr> by;  // keys shared by all stages
  std::optional<TimeSpan> maxspan;
  std::vector<Stage> stages;  // at least two
  std::optional<Stage> until;
};

struct SampleQuery final : QueryNode {
  static constexpr QueryKind kKind = QueryKind::kSample;
  explicit SampleQuery(Span s) : QueryNode(kKind, s) {}

  std::vector<ExprPtr> by;
  std::vector<Stage> stages;  // at least one
};

struct JoinQuery final : QueryNode {
  static constexpr QueryKind kKind = QueryKind::kJoin;
  explicit JoinQuery(Span s) : QueryNode(kKind, s) {}

  std::vector<ExprPtr> by;
  std::vector<Stage> stages;  // at least two
  std::optional<Stage> until;
};

enum class PipeKind : uint8_t { kHead, kTail, kCount, kUnique, kUniqueCount, kFilter, kSort };

std::string_view PipeKindName(PipeKind kind);  // "head", "unique_count", ...

struct Pipe {
  PipeKind kind = PipeKind::kHead;
  Span span;
  std::vector<ExprPtr> args;  // head/tail: one integer literal; filter: one condition
  int64_t limit = 0;          // head/tail: the number of results kept
};

struct Query {
  Dialect dialect = Dialect::kElasticsearch;
  Span span;
  std::unique_ptr<QueryNode> body;
  std::vector<Pipe> pipes;
};

// `macro NAME(p1, p2) expr` (Endgame).
struct MacroDefinition {
  Span span;
  std::string name;
  std::vector<std::string> params;
  ExprPtr body;
};

// ---------------------------------------------------------------------------------------------
// Canonical text.

std::string DumpExpr(const Expr& expr);
// `s` as an EQL string literal both dialects read back as `s`: double quotes, `\"`, `\\`, `\n`,
// `\r`, `\t`, other control characters (and DEL) as `\u{hex}`; other bytes as they are.
std::string QuoteStringLiteral(std::string_view s);
std::string DumpAst(const Query& query);
std::string DumpMacro(const MacroDefinition& macro);

}  // namespace kestrel::eql
