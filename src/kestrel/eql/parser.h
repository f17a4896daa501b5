// The EQL parser: query text -> Query (ast.h), with positioned diagnostics.
//
// Algorithm: the lexer (lexer.h) produces all tokens up front; a recursive-descent parser with
// one level of precedence per grammar rule then builds the AST in one pass, with at most two
// tokens of look-ahead, so time is linear in the input. Recursion happens only where the
// grammar nests (parentheses, `not`, unary minus, calls, lists, `descendant of [...]`); a depth
// guard turns nesting deeper than ParseOptions::max_depth into an error, and the height of
// left-associative operator chains is checked against the same limit, so no input can
// exhaust the stack, here or in later recursive passes over the tree. The first error stops the
// parse; no exception ever leaves the library.
//
// Grammar (EBNF; "x"~ means the keyword glued to '~', as in `like~`):
//
//   query        = body { "|" pipe } ;
//   body         = event_query | sequence | sample | join ;
//   event_query  = ( "any" | category ) "where" expr ;
//   category     = name | `quoted name` | string ;
//   sequence     = "sequence" [ by_keys ] [ maxspan ] stage stage { stage }
//                  [ maxspan ] [ "until" stage ] ;        (* trailing maxspan: see below *)
//   sample       = "sample" [ by_keys ] stage { stage } ;
//   join         = "join" [ by_keys ] stage stage { stage } [ "until" stage ] ;
//   maxspan      = "with" "maxspan" "=" ( time_span | number [ unit ] ) ;
//   stage        = [ "!" ] "[" event_query "]" { by_keys | "with" "runs" "=" integer
//                                                 | "fork" [ "=" ( "true" | "false" ) ] } ;
//   by_keys      = "by" expr { "," expr } ;
//   pipe         = ( "head" | "tail" ) integer
//                | "filter" expr
//                | ( "count" | "unique" | "unique_count" | "sort" ) [ expr { [ "," ] expr } ] ;
//   expr         = and_expr { "or" and_expr } ;
//   and_expr     = not_expr { "and" not_expr } ;
//   not_expr     = "not" not_expr | relation | predicate ;
//   relation     = ( "descendant" | "child" | "event" ) "of" "[" event_query "]" ;
//   predicate    = sum [ comp_op sum
//                      | [ "not" ] ( "in" | "in"~ ) "(" expr { "," expr } ")"
//                      | match_op ( "(" expr { "," expr } ")" | sum ) ] ;
//                  (* sema requires a constant after like/regex; a non-constant after ':'
//                     or '!:' (Elasticsearch only) is case-insensitive equality *)
//   comp_op      = "==" | "!=" | "<" | "<=" | ">" | ">=" | "=" (* Endgame only *) ;
//   match_op     = ":" | "!:" | "like" | "like"~ | "regex" | "regex"~ ;
//   sum          = product { ( "+" | "-" ) product } ;
//   product      = unary { ( "*" | "/" | "%" ) unary } ;
//   unary        = ( "-" | "+" ) unary | primary ;
//   primary      = literal | call | field | "(" expr ")" ;
//   call         = name [ "~" ] "(" [ expr { "," expr } ] ")" ;
//   field        = [ "?" ] segment { "." segment | "[" integer "]" } ;
//   segment      = name | `quoted name` ;      (* a lexed name may contain dots *)
//   literal      = string | integer | float | "true" | "false" | "null" ;
//
// Comparisons do not chain (`a < b < c` is an error: add parentheses). Soft keywords (maxspan
// runs of descendant child event any macro) are field names wherever a keyword cannot appear.
//
// Dialects. kElasticsearch follows Elasticsearch's EqlBase.g4 and its parser's checks: '=' is an
// error (use '=='), strings are "..." or """...""", `1.` is a decimal, an integer beyond 64
// bits a double, `/* */` comments nest. Extensions: `with maxspan=...` may also follow the last
// stage of a sequence (as some published rules write it); `!:` and a non-constant after `:`
// (Elasticsearch 7.x); array indexes `x[0]` (one per bracket). docs/eql.md lists the
// deliberate differences; es_grammar_test.cc (engine) has a case per rule of EqlBase.g4.
// kEndgame follows endgameinc/eql: '=' means '==', '...' and ?"..." strings, `descendant of` /
// `child of` / `event of`, stage `fork` parameters and macro definitions. Both dialects produce
// the same AST; Query::dialect records which was used because `==` means case-insensitive
// wildcard equality in Endgame.
//
// Tested by parser_test.cc, parser_error_test.cc and conformance_parse_test.cc.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/eql/ast.h"
#include "kestrel/eql/diagnostic.h"
#include "kestrel/eql/token.h"

namespace kestrel::eql {

// The size of one query (or macro file), checked before the parse builds anything: a longer
// text, or one of more tokens, is refused with an error at the first byte / token past the
// limit. Real rules are a few KB; the caps leave room for long `in (...)` lists of indicators.
inline constexpr size_t kMaxQueryBytes = size_t{2} << 20;
inline constexpr size_t kMaxQueryTokens = 262'144;

struct ParseOptions {
  Dialect dialect = Dialect::kElasticsearch;
  // The deepest nesting (parentheses, `not`, calls, lists, sub-queries, operator chains)
  // accepted before the parse fails with an error.
  int max_depth = 200;
};

struct ParseResult {
  std::optional<Query> query;           // set iff diagnostics holds no error
  std::vector<Diagnostic> diagnostics;  // at most one error (the parse stops at the first)

  bool ok() const { return query.has_value(); }
};

// Parses one query. Never throws; errors come back as diagnostics with positions. Time and
// memory are linear in the text, which is at most kMaxQueryBytes and kMaxQueryTokens.
ParseResult ParseQuery(std::string_view text, const ParseOptions& options = {});

// Parses one query; on failure the status is InvalidArgument with the first diagnostic
// rendered (RenderDiagnostic, no file name) as its message.
[[nodiscard]] absl::StatusOr<Query> Parse(std::string_view text, const ParseOptions& options = {});

struct MacroParseResult {
  std::vector<MacroDefinition> macros;
  std::vector<Diagnostic> diagnostics;

  bool ok() const { return diagnostics.empty(); }
};

// Parses a sequence of `macro NAME(p1, p2) expr` definitions (Endgame macro files), in any
// dialect.
MacroParseResult ParseMacros(std::string_view text, const ParseOptions& options = {});

}  // namespace kestrel::eql
