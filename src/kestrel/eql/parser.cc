// Public entry points of the EQL parser: lex, run the recursive-descent Parser
// (parser_internal.h), and package the result or the first diagnostic.
#include "kestrel/eql/parser.h"

#include <utility>

#include "kestrel/eql/lexer.h"
#include "kestrel/eql/parser_internal.h"

namespace kestrel::eql {

ParseResult ParseQuery(std::string_view text, const ParseOptions& options) {
  ParseResult result;
  LexResult lexed = Lex(text, options.dialect);
  if (!lexed.ok()) {
    result.diagnostics = std::move(lexed.diagnostics);
    return result;
  }
  internal::Parser parser(std::move(lexed.tokens), options);
  result.query = parser.ParseWholeQuery();
  result.diagnostics = parser.TakeDiagnostics();
  if (!result.diagnostics.empty()) result.query.reset();
  return result;
}

absl::StatusOr<Query> Parse(std::string_view text, const ParseOptions& options) {
  ParseResult result = ParseQuery(text, options);
  if (result.ok()) return std::move(*result.query);
  std::string message = RenderDiagnostic(result.diagnostics.front(), "", text);
  if (!message.empty() && message.back() == '\n') message.pop_back();
  return absl::InvalidArgumentError(message);
}

MacroParseResult ParseMacros(std::string_view text, const ParseOptions& options) {
  MacroParseResult result;
  LexResult lexed = Lex(text, options.dialect);
  if (!lexed.ok()) {
    result.diagnostics = std::move(lexed.diagnostics);
    return result;
  }
  internal::Parser parser(std::move(lexed.tokens), options);
  if (!parser.ParseMacroFile(&result.macros)) result.macros.clear();
  result.diagnostics = parser.TakeDiagnostics();
  return result;
}

}  // namespace kestrel::eql
