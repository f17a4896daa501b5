// The EQL lexer: query text -> tokens with source spans.
//
// Algorithm: one left-to-right pass with one or two bytes of look-ahead; no backtracking, so
// time and memory are linear in the input. Whitespace and comments (`//` to end of line and
// `/* ... */`, not nested) are skipped. Identifiers absorb dotted segments
// (`process.parent.name` is one token), keywords are only recognised in undotted words, and
// `like~`, `regex~`, `in~` are single tokens. Numbers directly followed by a time unit
// (`5s`, `500ms`, `10m`, `1h`, `2d`) are kTimeSpan tokens. Strings are decoded here:
//   "..."      escapes \n \r \t \b \f \0 \" \' \\ \/ \u{1-8 hex digits}; no raw line breaks
//   """..."""  raw, may span lines
//   '...'      Endgame only, same escapes as "..."
//   ?"..." ?'...'  Endgame only, raw (a backslash never escapes, except that \" keeps the
//              quote inside the string)
// The first lexical error stops the lexer; its diagnostic points at the offending character.
//
// Tested by lexer_test.cc.
#pragma once

#include <string_view>
#include <vector>

#include "kestrel/eql/diagnostic.h"
#include "kestrel/eql/token.h"

namespace kestrel::eql {

struct LexResult {
  // On success, every token of the input followed by one kEnd token. On error, the tokens
  // before the error (no kEnd).
  std::vector<Token> tokens;
  std::vector<Diagnostic> diagnostics;  // empty on success; otherwise one error

  bool ok() const { return diagnostics.empty(); }
};

// Splits `source` into tokens. Never fails by crashing or throwing; lexical errors come back
// in LexResult::diagnostics. `source` need not outlive the result.
LexResult Lex(std::string_view source, Dialect dialect = Dialect::kElasticsearch);

}  // namespace kestrel::eql
