// Tokens of the EQL language and the source spans that every token and AST node carries.
//
// A Span is a half-open byte range [offset, offset + length) of the query text plus the 1-based
// line and column of its first byte (columns count bytes, not code points). Tokens own their
// decoded text (string contents with escapes resolved, identifier names without back-quotes),
// so they stay valid after the source buffer is gone.
//
// Tested by lexer_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kestrel::eql {

// The two EQL dialects. kElasticsearch follows the Elasticsearch 8.x EQL reference; kEndgame
// follows the original endgameinc/eql language ('=' means '==', single-quoted and ?"raw"
// strings, `descendant of [...]`).
enum class Dialect : uint8_t { kElasticsearch, kEndgame };

// A region of the query text. `line` and `column` are 1-based; `offset` is 0-based.
struct Span {
  uint32_t offset = 0;
  uint32_t length = 0;
  uint32_t line = 1;
  uint32_t column = 1;

  uint32_t end() const { return offset + length; }
  friend bool operator==(const Span&, const Span&) = default;
};

// The smallest span covering both `a` and `b`; `a` must start no later than `b`.
inline Span Cover(const Span& a, const Span& b) {
  Span s = a;
  uint32_t end = b.end() > a.end() ? b.end() : a.end();
  s.length = end - a.offset;
  return s;
}

enum class TokenKind : uint8_t {
  kEnd,  // end of input
  // Literals and names.
  kIdentifier,        // `process.parent.name` (dots included) or a single name
  kQuotedIdentifier,  // `my.field` in back-quotes: one segment, dots are literal
  kString,            // "..." '...' """...""" ?"..." (text holds the decoded value)
  kInteger,
  kFloat,
  kTimeSpan,  // 5s 500ms 10m 1h 2d (int_value holds the count, unit_text the unit)
  // Punctuation and operators.
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kComma,
  kPipe,
  kDot,
  kQuestion,  // `?` before an optional field
  kBang,      // `!` opening a missing-event stage `![...]`
  kTilde,     // `~` after a function name: `startsWith~(`
  kEq,        // ==
  kNe,        // !=
  kLt,
  kLe,
  kGt,
  kGe,
  kAssign,    // =
  kColon,     // :
  kNotColon,  // !: (Elasticsearch dialect: the negation of `:`)
  kPlus,
  kMinus,
  kStar,
  kSlash,
  kPercent,
  // Keywords.
  kAnd,
  kOr,
  kNot,
  kIn,
  kInInsensitive,  // in~
  kLike,
  kLikeInsensitive,  // like~
  kRegex,
  kRegexInsensitive,  // regex~
  kWhere,
  kSequence,
  kSample,
  kJoin,
  kBy,
  kWith,
  kUntil,
  kTrue,
  kFalse,
  kNull,
  // Soft keywords: keywords in their own positions, field names elsewhere.
  kMaxspan,
  kRuns,
  kOf,
  kDescendant,
  kChild,
  kEvent,
  kAny,
  kMacro,
};

// A short human name of the kind for diagnostics ("']'", "identifier", "'where'").
std::string_view TokenKindName(TokenKind kind);

// True for keywords that may also be used as plain field names (`event.category`, `any`).
bool IsSoftKeyword(TokenKind kind);

struct Token {
  TokenKind kind = TokenKind::kEnd;
  Span span;
  // Identifiers: the name as written (back-quotes removed, `` `` `` unescaped).
  // Strings: the decoded value. Time spans: the unit ("ms", "s", ...). Keywords: the lexeme.
  std::string text;
  int64_t int_value = 0;    // kInteger, kTimeSpan
  double float_value = 0;   // kFloat
  bool raw_string = false;  // kString written as """...""" or ?"..."
};

}  // namespace kestrel::eql
