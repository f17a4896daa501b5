// Public entry points of the EQL parser: lex, run the recursive-descent Parser
// (parser_internal.h), and package the result or the first diagnostic.
#include "kestrel/eql/parser.h"

#include <utility>

#include "fmt/format.h"

#include "kestrel/eql/lexer.h"
#include "kestrel/eql/parser_internal.h"

namespace kestrel::eql {
namespace {

// The span of text[offset] (1 byte), with its line and column.
Span SpanAt(std::string_view text, size_t offset) {
  Span span{static_cast<uint32_t>(offset), 1, 1, 1};
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++span.line;
      span.column = 1;
    } else {
      ++span.column;
    }
  }
  return span;
}

// Lexes `text` within kMaxQueryBytes and kMaxQueryTokens; false with the error in *diagnostics.
bool LexBounded(std::string_view text, Dialect dialect, std::vector<Token>* tokens,
                std::vector<Diagnostic>* diagnostics) {
  if (text.size() > kMaxQueryBytes) {
    diagnostics->push_back({Severity::kError, SpanAt(text, kMaxQueryBytes),
                            fmt::format("the query is longer than {} bytes", kMaxQueryBytes),
                            "split the rule, or move long lists of values out of the query"});
    return false;
  }
  LexResult lexed = Lex(text, dialect);
  if (!lexed.ok()) {
    *diagnostics = std::move(lexed.diagnostics);
    return false;
  }
  if (lexed.tokens.size() > kMaxQueryTokens + 1) {  // + kEnd
    diagnostics->push_back({Severity::kError, lexed.tokens[kMaxQueryTokens].span,
                            fmt::format("the query has more than {} tokens", kMaxQueryTokens),
                            "split the rule, or move long lists of values out of the query"});
    return false;
  }
  *tokens = std::move(lexed.tokens);
  return true;
}

}  // namespace

ParseResult ParseQuery(std::string_view text, const ParseOptions& options) {
  ParseResult result;
  std::vector<Token> tokens;
  if (!LexBounded(text, options.dialect, &tokens, &result.diagnostics)) return result;
  internal::Parser parser(std::move(tokens), options);
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
  std::vector<Token> tokens;
  if (!LexBounded(text, options.dialect, &tokens, &result.diagnostics)) return result;
  internal::Parser parser(std::move(tokens), options);
  if (!parser.ParseMacroFile(&result.macros)) result.macros.clear();
  result.diagnostics = parser.TakeDiagnostics();
  return result;
}

}  // namespace kestrel::eql
