// Expression rules of the EQL parser (grammar in parser.h): precedence climbing by one
// function per level, or > and > not > predicate (comparison, in, :, like, regex) > sum >
// product > unary > primary. `and`/`or` chains become one n-ary LogicalExpr; arithmetic chains
// are left-associative and their height is checked against ParseOptions::max_depth.
#include <string>
#include <utility>

#include "fmt/format.h"
#include "kestrel/eql/parser_internal.h"

namespace kestrel::eql::internal {

namespace {

std::optional<BinaryOp> ComparisonOp(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEq:
      return BinaryOp::kEq;
    case TokenKind::kNe:
      return BinaryOp::kNe;
    case TokenKind::kLt:
      return BinaryOp::kLt;
    case TokenKind::kLe:
      return BinaryOp::kLe;
    case TokenKind::kGt:
      return BinaryOp::kGt;
    case TokenKind::kGe:
      return BinaryOp::kGe;
    case TokenKind::kAssign:
      return BinaryOp::kEq;
    default:
      return std::nullopt;
  }
}

bool IsKeywordKind(TokenKind kind) { return kind >= TokenKind::kAnd; }

bool IsMatchOperator(TokenKind kind) {
  return kind == TokenKind::kColon || kind == TokenKind::kNotColon || kind == TokenKind::kLike ||
         kind == TokenKind::kLikeInsensitive || kind == TokenKind::kRegex ||
         kind == TokenKind::kRegexInsensitive;
}

// Describes a token for "found X" in messages.
std::string Describe(const Token& t) {
  switch (t.kind) {
    case TokenKind::kEnd:
      return "the end of the query";
    case TokenKind::kIdentifier:
      return fmt::format("'{}'", t.text);
    case TokenKind::kString:
      return "a string";
    case TokenKind::kInteger:
    case TokenKind::kFloat:
      return "a number";
    default:
      return std::string(TokenKindName(t.kind));
  }
}

}  // namespace

// --- errors ------------------------------------------------------------------------------------

bool Parser::Fail(Span span, std::string message, std::string hint) {
  if (diagnostics_.empty()) {
    diagnostics_.push_back({Severity::kError, span, std::move(message), std::move(hint)});
  }
  return false;
}

bool Parser::FailExpected(std::string message, std::string hint) {
  const Token& t = Peek();
  Span at = t.span;
  bool prev_multiline = pos_ > 0 && tokens_[pos_ - 1].kind == TokenKind::kString &&
                        tokens_[pos_ - 1].text.find('\n') != std::string::npos;
  if (pos_ > 0 && !prev_multiline && (t.kind == TokenKind::kEnd || t.span.line > prev_end_.line)) {
    at = Span{prev_end_.end(), 1, prev_end_.line, prev_end_.column + prev_end_.length};
  } else if (t.kind != TokenKind::kEnd) {
    message += fmt::format(", found {}", Describe(t));
  }
  return Fail(at, std::move(message), std::move(hint));
}

bool Parser::Expect(TokenKind kind, std::string message, std::string hint) {
  if (Match(kind)) return true;
  return FailExpected(std::move(message), std::move(hint));
}

bool Parser::TooDeep(Span span) {
  return Fail(
      span,
      fmt::format("the query is nested too deeply (the limit is {} levels)", options_.max_depth),
      "split the condition, or use 'in (...)' instead of long chains of operators");
}

bool Parser::Finish(Expr& expr) {
  UpdateHeight(expr);
  if (expr.height > static_cast<uint32_t>(options_.max_depth)) return TooDeep(expr.span);
  return true;
}

bool Parser::CanStartExpr(const Token& t) const {
  switch (t.kind) {
    case TokenKind::kString:
    case TokenKind::kInteger:
    case TokenKind::kFloat:
    case TokenKind::kTrue:
    case TokenKind::kFalse:
    case TokenKind::kNull:
    case TokenKind::kLParen:
    case TokenKind::kQuestion:
    case TokenKind::kMinus:
    case TokenKind::kPlus:
    case TokenKind::kNot:
      return true;
    default:
      return IsNameToken(t);
  }
}

// --- boolean levels ----------------------------------------------------------------------------

ExprPtr Parser::ParseExpr() {
  DepthGuard guard(this);
  if (!CheckDepth(Peek().span)) return nullptr;
  return ParseOr();
}

ExprPtr Parser::ParseOr() {
  ExprPtr first = ParseAnd();
  if (!first || !At(TokenKind::kOr)) return first;
  auto node = std::make_unique<LogicalExpr>(first->span, LogicalOp::kOr);
  node->operands.push_back(std::move(first));
  while (Match(TokenKind::kOr)) {
    ExprPtr next = ParseAnd();
    if (!next) return nullptr;
    node->operands.push_back(std::move(next));
  }
  node->span = SpanFrom(node->span);
  if (!Finish(*node)) return nullptr;
  return node;
}

ExprPtr Parser::ParseAnd() {
  ExprPtr first = ParseNot();
  if (!first || !At(TokenKind::kAnd)) return first;
  auto node = std::make_unique<LogicalExpr>(first->span, LogicalOp::kAnd);
  node->operands.push_back(std::move(first));
  while (Match(TokenKind::kAnd)) {
    ExprPtr next = ParseNot();
    if (!next) return nullptr;
    node->operands.push_back(std::move(next));
  }
  node->span = SpanFrom(node->span);
  if (!Finish(*node)) return nullptr;
  return node;
}

ExprPtr Parser::ParseNot() {
  if (At(TokenKind::kNot)) {
    Span start = Advance().span;
    DepthGuard guard(this);
    if (!CheckDepth(start)) return nullptr;
    ExprPtr operand = ParseNot();
    if (!operand) return nullptr;
    auto node = std::make_unique<UnaryExpr>(SpanFrom(start), UnaryOp::kNot, std::move(operand));
    if (!Finish(*node)) return nullptr;
    return node;
  }
  TokenKind k = Peek().kind;
  if ((k == TokenKind::kDescendant || k == TokenKind::kChild || k == TokenKind::kEvent) &&
      Peek(1).kind == TokenKind::kOf) {
    return ParseRelation();
  }
  return ParsePredicate();
}

ExprPtr Parser::ParseRelation() {
  const Token& kw = Advance();
  Span start = kw.span;
  std::string phrase = fmt::format("{} of", kw.text);
  RelationKind relation = kw.kind == TokenKind::kDescendant ? RelationKind::kDescendantOf
                          : kw.kind == TokenKind::kChild    ? RelationKind::kChildOf
                                                            : RelationKind::kEventOf;
  if (options_.dialect != Dialect::kEndgame) {
    Fail(Cover(start, Peek().span),
         fmt::format("'{}' process relationships are not supported in Elasticsearch EQL", phrase),
         "parse the query with the Endgame dialect, or rewrite it as a sequence");
    return nullptr;
  }
  Advance();  // of
  if (!Expect(TokenKind::kLBracket, fmt::format("expected '[' after '{}'", phrase),
              fmt::format("write {} [process where ...]", phrase))) {
    return nullptr;
  }
  DepthGuard guard(this);
  if (!CheckDepth(start)) return nullptr;
  std::unique_ptr<EventQuery> query = ParseEventQuery();
  if (!query) return nullptr;
  if (!Expect(TokenKind::kRBracket, fmt::format("expected ']' to close the '{}' query", phrase))) {
    return nullptr;
  }
  auto node = std::make_unique<RelationExpr>(SpanFrom(start), relation);
  node->query = std::move(query);
  if (!Finish(*node)) return nullptr;
  return node;
}

// --- predicates --------------------------------------------------------------------------------

ExprPtr Parser::ParsePredicate() {
  ExprPtr lhs = ParseSum();
  if (!lhs) return nullptr;
  const Token& t = Peek();
  if (std::optional<BinaryOp> op = ComparisonOp(t.kind)) {
    if (t.kind == TokenKind::kAssign && options_.dialect != Dialect::kEndgame) {
      Fail(t.span, "'=' is not a comparison operator in Elasticsearch EQL",
           "use '==' to compare values");
      return nullptr;
    }
    Advance();
    ExprPtr rhs = ParseSum();
    if (!rhs) return nullptr;
    auto node = std::make_unique<BinaryExpr>(Cover(lhs->span, rhs->span), *op, std::move(lhs),
                                             std::move(rhs));
    if (ComparisonOp(Peek().kind)) {
      Fail(Peek().span, "comparisons cannot be chained", "add parentheses, e.g. (a < b) == true");
      return nullptr;
    }
    if (!Finish(*node)) return nullptr;
    return node;
  }
  switch (t.kind) {
    case TokenKind::kNot:
      if (Peek(1).kind == TokenKind::kIn || Peek(1).kind == TokenKind::kInInsensitive) {
        Span not_span = Advance().span;
        return ParseIn(std::move(lhs), /*negated=*/true, not_span);
      }
      if (IsMatchOperator(Peek(1).kind)) {
        // Elasticsearch's grammar negates only `in`/`in~` in place (`x not in (...)`).
        std::string op = Peek(1).text;
        Fail(Cover(t.span, Peek(1).span), fmt::format("'not {}' is not EQL syntax", op),
             op == ":" && options_.dialect != Dialect::kEndgame
                 ? std::string("write x !: \"a\" or not (x : \"a\")")
                 : fmt::format("negate the whole condition: not (x {} ...)", op));
        return nullptr;
      }
      return lhs;
    case TokenKind::kNotColon:
      if (options_.dialect == Dialect::kEndgame) {
        Fail(t.span, "'!:' is Elasticsearch EQL syntax; the endgame dialect has no '!:' operator",
             "write not (x : \"a\"), or use the elasticsearch dialect");
        return nullptr;
      }
      return ParseMatch(std::move(lhs));
    case TokenKind::kIn:
    case TokenKind::kInInsensitive:
      return ParseIn(std::move(lhs), /*negated=*/false, t.span);
    case TokenKind::kColon:
    case TokenKind::kLike:
    case TokenKind::kLikeInsensitive:
    case TokenKind::kRegex:
    case TokenKind::kRegexInsensitive:
      return ParseMatch(std::move(lhs));
    default:
      return lhs;
  }
}

ExprPtr Parser::ParseIn(ExprPtr operand, bool negated, Span) {
  const Token& in = Advance();
  auto node = std::make_unique<InExpr>(operand->span);
  node->negated = negated;
  node->case_insensitive = in.kind == TokenKind::kInInsensitive;
  std::string op = fmt::format("{}{}", negated ? "not " : "", in.text);
  if (!At(TokenKind::kLParen)) {
    FailExpected(fmt::format("expected '(' after '{}'", op),
                 fmt::format("list the values in parentheses: x {} (\"a\", \"b\")", op));
    return nullptr;
  }
  if (!ParseParenList(fmt::format("the '{}' list", op), &node->values)) return nullptr;
  node->operand = std::move(operand);
  node->span = SpanFrom(node->span);
  if (!Finish(*node)) return nullptr;
  return node;
}

ExprPtr Parser::ParseMatch(ExprPtr operand) {
  const Token& op_token = Advance();
  MatchOp op = op_token.kind == TokenKind::kColon || op_token.kind == TokenKind::kNotColon
                   ? MatchOp::kSeq
               : (op_token.kind == TokenKind::kLike || op_token.kind == TokenKind::kLikeInsensitive)
                   ? MatchOp::kLike
                   : MatchOp::kRegex;
  auto node = std::make_unique<MatchExpr>(operand->span, op);
  node->negated = op_token.kind == TokenKind::kNotColon;
  node->case_insensitive =
      op_token.kind == TokenKind::kLikeInsensitive || op_token.kind == TokenKind::kRegexInsensitive;
  std::string op_text = op_token.text;
  if (At(TokenKind::kLParen)) {
    if (!ParseParenList(fmt::format("the '{}' pattern list", op_text), &node->patterns)) {
      return nullptr;
    }
  } else {
    if (!CanStartExpr(Peek())) {
      FailExpected(
          fmt::format("expected a pattern after '{}'", op_text),
          fmt::format("write x {} \"pattern\" or x {} (\"a*\", \"b*\")", op_text, op_text));
      return nullptr;
    }
    ExprPtr pattern = ParseSum();
    if (!pattern) return nullptr;
    node->patterns.push_back(std::move(pattern));
  }
  node->operand = std::move(operand);
  node->span = SpanFrom(node->span);
  if (!Finish(*node)) return nullptr;
  return node;
}

bool Parser::ParseParenList(std::string_view what, std::vector<ExprPtr>* out) {
  Span open = Advance().span;  // (
  DepthGuard guard(this);
  if (!CheckDepth(open)) return false;
  if (At(TokenKind::kRParen)) {
    return Fail(Cover(open, Peek().span), fmt::format("{} is empty", what),
                "put at least one value between the parentheses");
  }
  while (true) {
    if (!CanStartExpr(Peek())) {
      return FailExpected(fmt::format("expected a value in {}", what));
    }
    ExprPtr item = ParseExpr();
    if (!item) return false;
    out->push_back(std::move(item));
    if (Match(TokenKind::kComma)) continue;
    if (Match(TokenKind::kRParen)) return true;
    return FailExpected(
        fmt::format("expected ',' or ')' in {}", what),
        fmt::format("the list opened at {}:{} is not closed", open.line, open.column));
  }
}

// --- arithmetic --------------------------------------------------------------------------------

ExprPtr Parser::ParseSum() {
  ExprPtr lhs = ParseProduct();
  while (lhs && (At(TokenKind::kPlus) || At(TokenKind::kMinus))) {
    BinaryOp op = Advance().kind == TokenKind::kPlus ? BinaryOp::kAdd : BinaryOp::kSub;
    ExprPtr rhs = ParseProduct();
    if (!rhs) return nullptr;
    Span span = Cover(lhs->span, rhs->span);
    lhs = std::make_unique<BinaryExpr>(span, op, std::move(lhs), std::move(rhs));
    if (!Finish(*lhs)) return nullptr;
  }
  return lhs;
}

ExprPtr Parser::ParseProduct() {
  ExprPtr lhs = ParseUnary();
  while (lhs && (At(TokenKind::kStar) || At(TokenKind::kSlash) || At(TokenKind::kPercent))) {
    TokenKind k = Advance().kind;
    BinaryOp op = k == TokenKind::kStar    ? BinaryOp::kMul
                  : k == TokenKind::kSlash ? BinaryOp::kDiv
                                           : BinaryOp::kMod;
    ExprPtr rhs = ParseUnary();
    if (!rhs) return nullptr;
    Span span = Cover(lhs->span, rhs->span);
    lhs = std::make_unique<BinaryExpr>(span, op, std::move(lhs), std::move(rhs));
    if (!Finish(*lhs)) return nullptr;
  }
  return lhs;
}

ExprPtr Parser::ParseUnary() {
  if (!At(TokenKind::kMinus) && !At(TokenKind::kPlus)) return ParsePrimary();
  const Token& sign = Advance();
  bool negate = sign.kind == TokenKind::kMinus;
  Span start = sign.span;
  // Fold a sign glued to a number literal into the literal: -1 is the integer -1.
  if ((At(TokenKind::kInteger) || At(TokenKind::kFloat)) && Peek().span.offset == start.end()) {
    const Token& num = Advance();
    auto lit = std::make_unique<LiteralExpr>(SpanFrom(start));
    if (num.kind == TokenKind::kInteger) {
      lit->literal_kind = LiteralKind::kInt;
      lit->int_value = negate ? -num.int_value : num.int_value;
    } else {
      lit->literal_kind = LiteralKind::kDouble;
      lit->double_value = negate ? -num.float_value : num.float_value;
    }
    return lit;
  }
  DepthGuard guard(this);
  if (!CheckDepth(start)) return nullptr;
  ExprPtr operand = ParseUnary();
  if (!operand) return nullptr;
  if (!negate) return operand;
  auto node = std::make_unique<UnaryExpr>(SpanFrom(start), UnaryOp::kNegate, std::move(operand));
  if (!Finish(*node)) return nullptr;
  return node;
}

// --- primaries ---------------------------------------------------------------------------------

ExprPtr Parser::ParsePrimary() {
  const Token& t = Peek();
  auto literal = [&](LiteralKind kind) {
    auto lit = std::make_unique<LiteralExpr>(t.span);
    lit->literal_kind = kind;
    lit->int_value = t.int_value;
    lit->double_value = t.float_value;
    lit->bool_value = t.kind == TokenKind::kTrue;
    if (kind == LiteralKind::kString) {
      lit->string_value = t.text;
      lit->raw = t.raw_string;
    }
    Advance();
    return lit;
  };
  switch (t.kind) {
    case TokenKind::kString:
      return literal(LiteralKind::kString);
    case TokenKind::kInteger:
      return literal(LiteralKind::kInt);
    case TokenKind::kFloat:
      return literal(LiteralKind::kDouble);
    case TokenKind::kTrue:
    case TokenKind::kFalse:
      return literal(LiteralKind::kBool);
    case TokenKind::kNull:
      return literal(LiteralKind::kNull);
    case TokenKind::kLParen: {
      Span open = Advance().span;
      ExprPtr inner = ParseExpr();
      if (!inner) return nullptr;
      if (!Expect(TokenKind::kRParen, "expected ')' to close the parenthesis",
                  fmt::format("the parenthesis opened at {}:{} is not closed", open.line,
                              open.column))) {
        return nullptr;
      }
      return inner;
    }
    case TokenKind::kTimeSpan:
      Fail(t.span, fmt::format("unexpected time span '{}{}'", t.int_value, t.text),
           "time spans are only allowed in 'with maxspan=...'");
      return nullptr;
    case TokenKind::kQuestion:
      return ParseField();
    case TokenKind::kIdentifier:
      if (Peek(1).kind == TokenKind::kLParen ||
          (Peek(1).kind == TokenKind::kTilde && Peek(2).kind == TokenKind::kLParen)) {
        return ParseCall();
      }
      return ParseField();
    default:
      if (IsNameToken(t)) return ParseField();
      FailExpected("expected an expression");
      return nullptr;
  }
}

ExprPtr Parser::ParseCall() {
  const Token& name = Advance();
  if (name.text.find('.') != std::string::npos) {
    Fail(name.span, fmt::format("'{}' is not a function name", name.text),
         "function names have no dots, e.g. startsWith(process.name, \"a\")");
    return nullptr;
  }
  auto node = std::make_unique<CallExpr>(name.span);
  node->name = name.text;
  node->name_span = name.span;
  if (At(TokenKind::kTilde)) {
    Advance();
    node->case_insensitive = true;
  }
  Span open = Advance().span;  // (
  DepthGuard guard(this);
  if (!CheckDepth(open)) return nullptr;
  if (!Match(TokenKind::kRParen)) {
    while (true) {
      ExprPtr arg = ParseExpr();
      if (!arg) return nullptr;
      node->args.push_back(std::move(arg));
      if (Match(TokenKind::kComma)) continue;
      if (Match(TokenKind::kRParen)) break;
      FailExpected(fmt::format("expected ',' or ')' in the arguments of '{}'", node->name));
      return nullptr;
    }
  }
  node->span = SpanFrom(node->span);
  if (!Finish(*node)) return nullptr;
  return node;
}

ExprPtr Parser::ParseField() {
  Span start = Peek().span;
  auto node = std::make_unique<FieldExpr>(start);
  if (Match(TokenKind::kQuestion)) {
    node->optional = true;
    if (!IsNameToken(Peek()) || Peek().span.offset != prev_end_.end()) {
      FailExpected("expected a field name right after '?'",
                   "write an optional field as ?process.parent.name");
      return nullptr;
    }
  }
  auto add_name = [&](const Token& t) {
    if (t.kind == TokenKind::kQuotedIdentifier) {
      node->path.push_back({FieldSegment::Kind::kName, t.text, 0});
      return;
    }
    std::string_view rest = t.text;
    while (true) {
      size_t dot = rest.find('.');
      node->path.push_back({FieldSegment::Kind::kName, std::string(rest.substr(0, dot)), 0});
      if (dot == std::string_view::npos) break;
      rest.remove_prefix(dot + 1);
    }
  };
  add_name(Advance());
  while (true) {
    if (At(TokenKind::kDot) && Peek().span.offset == prev_end_.end()) {
      Advance();
      const Token& next = Peek();
      bool name_like = next.kind == TokenKind::kIdentifier ||
                       next.kind == TokenKind::kQuotedIdentifier || IsKeywordKind(next.kind);
      if (!name_like || next.span.offset != prev_end_.end()) {
        FailExpected("expected a field name after '.'");
        return nullptr;
      }
      add_name(Advance());
      continue;
    }
    // `[0]` directly after a name is an array index; `[` anywhere else opens a stage.
    if (At(TokenKind::kLBracket) && Peek().span.offset == prev_end_.end() &&
        Peek(1).kind == TokenKind::kInteger && Peek(2).kind == TokenKind::kRBracket) {
      Advance();
      node->path.push_back({FieldSegment::Kind::kIndex, "", Advance().int_value});
      Advance();
      continue;
    }
    if (At(TokenKind::kLBracket) && Peek().span.offset == prev_end_.end() &&
        Peek(1).kind == TokenKind::kInteger && Peek(2).kind == TokenKind::kInteger) {
      // Elasticsearch's grammar takes `LB INTEGER_VALUE+ RB`, then refuses any index ("Array
      // indexes are not supported"); Kestrel reads one index per bracket.
      Fail(Cover(Peek().span, Peek(2).span),
           "several indexes in one bracket are not supported (a deliberate difference: "
           "Elasticsearch refuses every array index, Kestrel takes one per bracket)",
           "write one index per bracket: x[0][1]");
      return nullptr;
    }
    break;
  }
  node->span = SpanFrom(start);
  return node;
}

}  // namespace kestrel::eql::internal
