// Semantic analysis: AST -> typed IR (ir.h), against a Schema.
//
// What it checks and does, in one pass over the AST:
// - resolves field names to FieldIds. An unknown field is interned as a dynamic field; in the
//   Elasticsearch dialect it is also a warning naming the closest catalogue field ("did you mean
//   `process.executable`?"), an error under `strict`. `?field` (optional) never warns. The
//   Endgame dialect warns never: its data uses its own flat names.
// - checks operators and functions: arity, argument types (a literal or a field of a known type
//   of the wrong kind is an error), `~` only on functions that compare strings, regex syntax.
//   In the Elasticsearch dialect the functions are Elasticsearch's registry: an Endgame-only
//   built-in (BuiltinInfo::endgame_only) is an error naming it, unless a custom function has
//   that name.
// - applies the dialect: in Endgame, string comparisons and `in` ignore case unless
//   `case_sensitive`, and `==`/`!=` with a `*` in a string literal is a wildcard match.
// - folds constant subtrees with the same evaluator the engine uses (ir_eval.h), and simplifies
//   `and`/`or` with constant operands (the optimiser cases of the conformance suite).
// Diagnostics carry the AST spans; callers render them against the query text.
// Recursion follows the AST, whose height the parser bounds (ParseOptions::max_depth).
// Tested by sema_test.cc and conformance_sema_test.cc.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "kestrel/eql/ast.h"
#include "kestrel/eql/diagnostic.h"
#include "kestrel/eql/ir.h"
#include "kestrel/eql/parser.h"
#include "kestrel/schema/schema.h"

namespace kestrel::eql {

// A user function callable from EQL (`name(args...)`), implemented outside the engine (a Lua
// function or a Wasm export of a rule package's function module; runtime/functions.h). Calls are
// type-checked against the declared signature (kAny accepts anything) and never folded.
struct CustomFunction {
  std::string name;
  std::vector<IrType> params;
  IrType result = IrType::kAny;
};

// Budgets of one query (a rule), each reported as an error (or, for warnings, a note) at the
// place it is crossed:
// - kMaxQueryPatterns / kMaxQueryPatternBytes: wildcard patterns (`:`, `like`, wildcard(),
//   Endgame `==` with `*`) and regex patterns (`regex`, match()), counted over the whole query.
//   Each wildcard pattern becomes a pattern of the rule index's vectorscan database, whose
//   compile time grows with their number, and each is tried per event.
// - kMaxQueryDiagnostics: errors and warnings kept per query; the rest are counted in one note
//   (an error not kept still fails the query).
// The query's size is capped by the parser (kMaxQueryBytes, kMaxQueryTokens, parser.h) and a
// regex's size by kMaxRegexProgramSize (functions.h).
inline constexpr size_t kMaxQueryPatterns = 4096;
inline constexpr size_t kMaxQueryPatternBytes = size_t{256} << 10;
inline constexpr size_t kMaxQueryDiagnostics = 100;

struct CompileOptions {
  // Custom functions, by name; a built-in of the same name wins. REQUIRES: outlives Compile().
  const std::vector<CustomFunction>* functions = nullptr;
  Dialect dialect = Dialect::kElasticsearch;
  bool strict = false;          // unknown fields are errors
  bool case_sensitive = false;  // Endgame dialect: compare strings with case
  bool fold = true;             // constant folding and and/or simplification
  int max_depth = 200;          // parser nesting limit
  // The rule's id, named in the errors of the query's budgets (empty: "the query").
  std::string_view rule_name;
};

struct CompileResult {
  std::unique_ptr<IrProgram> program;   // set iff no diagnostic is an error
  std::vector<Diagnostic> diagnostics;  // errors and warnings, in source order

  bool ok() const { return program != nullptr; }
};

// Elasticsearch's missing-field semantics over a condition (applied by Analyze() and
// CompileExpression() to every stage and `until` predicate in the `elasticsearch` dialect; never
// in the Endgame dialect): Elasticsearch runs a condition as a query. A leaf it can express as a
// query over one field with constants — a comparison (`==`, `!=`, `<`...`>=`, `== null`), `in`,
// `:`, `like`, `regex`, startsWith/endsWith/stringContains/cidrMatch of a field with constant
// arguments — matches or not (a missing field: not); `and`/`or` are bool queries of their
// operands; `not` over a query is a must_not, so it matches whatever the query does not, a
// missing field included. Anything else is a script query (three-valued inside; null does not
// match), and `not` directly over a script stays three-valued. Marks those negations
// `query_not` (kNot, negated kIn/kWildcard); see docs/eql.md.
void MarkQueryNegations(IrNode& condition);

// Parses and analyses one query. `schema` gains the dynamic fields and categories it names.
CompileResult Compile(std::string_view text, schema::Schema& schema,
                      const CompileOptions& options = {});

// Analyses an already parsed query.
CompileResult Analyze(const Query& query, schema::Schema& schema, const CompileOptions& options);

// One expression (no `category where`), for folding tests and tools. The IR's constants live
// in `*arena`, which must outlive the result.
struct ExpressionResult {
  IrNodePtr node;
  std::vector<Diagnostic> diagnostics;
  bool ok() const { return node != nullptr; }
};
ExpressionResult CompileExpression(std::string_view text, schema::Schema& schema,
                                   const CompileOptions& options, base::StringArena* arena);

}  // namespace kestrel::eql
