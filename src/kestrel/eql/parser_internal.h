// Private to the parser (parser.cc, parse_expr.cc, parse_query.cc): the recursive-descent
// Parser class. Expression rules live in parse_expr.cc, query/pipe/macro rules in
// parse_query.cc, the public entry points in parser.cc. Not part of the library's API.
//
// Error protocol: a rule that fails records a diagnostic with Fail*() and returns null /
// false; only the first diagnostic is kept, and every caller propagates failure at once.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kestrel/eql/ast.h"
#include "kestrel/eql/diagnostic.h"
#include "kestrel/eql/parser.h"
#include "kestrel/eql/token.h"

namespace kestrel::eql::internal {

class Parser {
 public:
  // REQUIRES: `tokens` ends with a kEnd token.
  Parser(std::vector<Token> tokens, const ParseOptions& options)
      : tokens_(std::move(tokens)), options_(options) {}

  // query = body { "|" pipe } ; then end of input.
  std::optional<Query> ParseWholeQuery();
  // { macro_definition } ; then end of input.
  bool ParseMacroFile(std::vector<MacroDefinition>* out);

  std::vector<Diagnostic> TakeDiagnostics() { return std::move(diagnostics_); }

 private:
  // Counts one level of nesting for the lifetime of the guard.
  class DepthGuard {
   public:
    explicit DepthGuard(Parser* p) : p_(p) { ++p_->depth_; }
    ~DepthGuard() { --p_->depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Parser* p_;
  };

  // --- tokens ---
  const Token& Peek(size_t ahead = 0) const {
    size_t i = pos_ + ahead;
    return i < tokens_.size() ? tokens_[i] : tokens_.back();
  }
  bool At(TokenKind kind) const { return Peek().kind == kind; }
  const Token& Advance() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    prev_end_ = t.span;
    return t;
  }
  bool Match(TokenKind kind) {
    if (!At(kind)) return false;
    Advance();
    return true;
  }
  bool AtIdentifierText(std::string_view text) const {
    return At(TokenKind::kIdentifier) && Peek().text == text;
  }

  // --- errors ---
  bool Fail(Span span, std::string message, std::string hint = "");
  // "expected X" at the current token; when the current token is the end of input or sits on
  // a later line than the previous token, the error points just past the previous token.
  bool FailExpected(std::string message, std::string hint = "");
  bool Expect(TokenKind kind, std::string message, std::string hint = "");
  bool TooDeep(Span span);
  bool CheckDepth(Span span) { return depth_ <= options_.max_depth || TooDeep(span); }
  // Sets the node's height from its children; false (with an error) if above max_depth.
  bool Finish(Expr& expr);
  // The span from `start` to the end of the last consumed token.
  Span SpanFrom(const Span& start) const { return Cover(start, prev_end_); }

  // --- expressions (parse_expr.cc) ---
  ExprPtr ParseExpr();
  ExprPtr ParseOr();
  ExprPtr ParseAnd();
  ExprPtr ParseNot();
  ExprPtr ParseRelation();
  ExprPtr ParsePredicate();
  ExprPtr ParseIn(ExprPtr operand, bool negated, Span not_span);
  ExprPtr ParseMatch(ExprPtr operand);
  ExprPtr ParseSum();
  ExprPtr ParseProduct();
  ExprPtr ParseUnary();
  ExprPtr ParsePrimary();
  ExprPtr ParseField();
  ExprPtr ParseCall();
  // "(" expr { "," expr } ")"; `what` names the list in messages ("the 'in' list").
  bool ParseParenList(std::string_view what, std::vector<ExprPtr>* out);
  bool IsNameToken(const Token& t) const {
    return t.kind == TokenKind::kIdentifier || t.kind == TokenKind::kQuotedIdentifier ||
           IsSoftKeyword(t.kind);
  }
  bool CanStartExpr(const Token& t) const;

  // --- queries (parse_query.cc) ---
  std::unique_ptr<QueryNode> ParseBody();
  std::unique_ptr<EventQuery> ParseEventQuery();
  std::unique_ptr<QueryNode> ParseSequence();
  std::unique_ptr<QueryNode> ParseSample();
  std::unique_ptr<QueryNode> ParseJoin();
  bool ParseStage(std::string_view construct, bool allow_missing, bool allow_runs, Stage* out);
  bool ParseByKeys(std::vector<ExprPtr>* out);
  // Stages `[q] by ...` while the next token opens one (no `![...]`, no `runs`).
  bool ParseStageList(std::string_view construct, std::vector<Stage>* out);
  bool ParseMaxspan(std::optional<TimeSpan>* out);
  bool ParsePipe(Pipe* out);
  bool ParseMacro(MacroDefinition* out);

  std::vector<Token> tokens_;
  ParseOptions options_;
  size_t pos_ = 0;
  Span prev_end_;  // span of the last consumed token
  int depth_ = 0;
  std::vector<Diagnostic> diagnostics_;
};

}  // namespace kestrel::eql::internal
