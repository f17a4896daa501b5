// Lexer tests: token kinds, decoded text, spans (offset/line/column) and lexical errors.
#include "kestrel/eql/lexer.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace kestrel::eql {
namespace {

std::vector<TokenKind> Kinds(std::string_view text, Dialect dialect = Dialect::kElasticsearch) {
  LexResult r = Lex(text, dialect);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.diagnostics.front().message);
  std::vector<TokenKind> kinds;
  for (const Token& t : r.tokens) kinds.push_back(t.kind);
  return kinds;
}

Token Single(std::string_view text, Dialect dialect = Dialect::kElasticsearch) {
  LexResult r = Lex(text, dialect);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.diagnostics.front().message);
  EXPECT_EQ(r.tokens.size(), 2u) << text;
  return r.tokens.empty() ? Token{} : r.tokens.front();
}

using K = TokenKind;

TEST(LexerTest, DottedIdentifierIsOneToken) {
  Token t = Single("process.parent.name");
  EXPECT_EQ(t.kind, K::kIdentifier);
  EXPECT_EQ(t.text, "process.parent.name");
  EXPECT_EQ(t.span, (Span{0, 19, 1, 1}));
}

TEST(LexerTest, KeywordsOnlyWhenUndotted) {
  EXPECT_EQ(Kinds("event event.category in in~ like~ regex~ not"),
            (std::vector<K>{K::kEvent, K::kIdentifier, K::kIn, K::kInInsensitive,
                            K::kLikeInsensitive, K::kRegexInsensitive, K::kNot, K::kEnd}));
  EXPECT_EQ(Kinds("and or where sequence sample join by with until maxspan runs of descendant "
                  "child any true false null macro"),
            (std::vector<K>{K::kAnd,  K::kOr,    K::kWhere,      K::kSequence, K::kSample,
                            K::kJoin, K::kBy,    K::kWith,       K::kUntil,    K::kMaxspan,
                            K::kRuns, K::kOf,    K::kDescendant, K::kChild,    K::kAny,
                            K::kTrue, K::kFalse, K::kNull,       K::kMacro,    K::kEnd}));
}

TEST(LexerTest, Operators) {
  EXPECT_EQ(
      Kinds("== != < <= > >= = : + - * / % ( ) [ ] , | ! ~ ? ."),
      (std::vector<K>{K::kEq,      K::kNe,     K::kLt,     K::kLe,       K::kGt,       K::kGe,
                      K::kAssign,  K::kColon,  K::kPlus,   K::kMinus,    K::kStar,     K::kSlash,
                      K::kPercent, K::kLParen, K::kRParen, K::kLBracket, K::kRBracket, K::kComma,
                      K::kPipe,    K::kBang,   K::kTilde,  K::kQuestion, K::kDot,      K::kEnd}));
}

TEST(LexerTest, NotColon) {
  EXPECT_EQ(Kinds("a !: b!:c ! : !="),
            (std::vector<K>{K::kIdentifier, K::kNotColon, K::kIdentifier, K::kNotColon,
                            K::kIdentifier, K::kBang, K::kColon, K::kNe, K::kEnd}));
}

TEST(LexerTest, FunctionWithTilde) {
  EXPECT_EQ(Kinds("startsWith~(a)"), (std::vector<K>{K::kIdentifier, K::kTilde, K::kLParen,
                                                     K::kIdentifier, K::kRParen, K::kEnd}));
}

TEST(LexerTest, OptionalFieldAndIndex) {
  EXPECT_EQ(Kinds("?process.args[0]"), (std::vector<K>{K::kQuestion, K::kIdentifier, K::kLBracket,
                                                       K::kInteger, K::kRBracket, K::kEnd}));
}

TEST(LexerTest, BackQuotedName) {
  Token t = Single("`my.field``x`");
  EXPECT_EQ(t.kind, K::kQuotedIdentifier);
  EXPECT_EQ(t.text, "my.field`x");
}

TEST(LexerTest, Numbers) {
  Token i = Single("42");
  EXPECT_EQ(i.kind, K::kInteger);
  EXPECT_EQ(i.int_value, 42);
  Token f = Single("4.5e2");
  EXPECT_EQ(f.kind, K::kFloat);
  EXPECT_DOUBLE_EQ(f.float_value, 450.0);
  EXPECT_DOUBLE_EQ(Single(".5").float_value, 0.5);
  EXPECT_EQ(Single("9223372036854775807").int_value, INT64_MAX);
}

TEST(LexerTest, TimeSpans) {
  for (std::string_view unit : {"ms", "s", "m", "h", "d"}) {
    Token t = Single("15" + std::string(unit));
    EXPECT_EQ(t.kind, K::kTimeSpan);
    EXPECT_EQ(t.int_value, 15);
    EXPECT_EQ(t.text, unit);
  }
}

TEST(LexerTest, StringEscapes) {
  Token t = Single(R"("a\n\t\r\"\\\'\/\u{e9}\u{1F600}")");
  EXPECT_EQ(t.kind, K::kString);
  EXPECT_EQ(t.text, "a\n\t\r\"\\'/\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_FALSE(t.raw_string);
}

TEST(LexerTest, TripleQuotedRawString) {
  Token t = Single("\"\"\"C:\\x\n\"y\"\"\"\"");
  EXPECT_EQ(t.text, "C:\\x\n\"y\"");
  EXPECT_TRUE(t.raw_string);
}

TEST(LexerTest, EndgameStrings) {
  EXPECT_EQ(Single(R"('it\'s')", Dialect::kEndgame).text, "it's");
  Token raw = Single(R"(?'\s+\w')", Dialect::kEndgame);
  EXPECT_EQ(raw.text, R"(\s+\w)");
  EXPECT_TRUE(raw.raw_string);
  EXPECT_EQ(Single(R"(?"a\"b")", Dialect::kEndgame).text, R"(a\"b)");
}

TEST(LexerTest, CommentsAreSkipped) {
  EXPECT_EQ(Kinds("a // x\n /* y \n z */ b"),
            (std::vector<K>{K::kIdentifier, K::kIdentifier, K::kEnd}));
}

TEST(LexerTest, SpansTrackLinesAndColumns) {
  LexResult r = Lex("a\n  bb == \"x\"\n\tc");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.tokens.size(), 6u);
  EXPECT_EQ(r.tokens[1].span, (Span{4, 2, 2, 3}));
  EXPECT_EQ(r.tokens[2].span, (Span{7, 2, 2, 6}));
  EXPECT_EQ(r.tokens[3].span, (Span{10, 3, 2, 9}));
  EXPECT_EQ(r.tokens[4].span, (Span{15, 1, 3, 2}));
  EXPECT_EQ(r.tokens[5].kind, K::kEnd);
  EXPECT_EQ(r.tokens[5].span.offset, 16u);
}

struct LexErrorCase {
  const char* text;
  uint32_t column;
  const char* message;
};

TEST(LexerTest, ErrorsPointAtTheOffendingCharacter) {
  const LexErrorCase cases[] = {
      {"a == \"abc", 6, "unterminated string"},
      {"a == \"a\\qb\"", 8, "invalid escape sequence '\\q'"},
      {"a == 'x'", 6, "single-quoted strings are not supported in Elasticsearch EQL"},
      {"a # b", 3, "unexpected character '#'"},
      {"12abc", 3, "invalid suffix 'abc' on number"},
      {"1.5s", 1, "a time span must be a whole number, not 1.5s"},
      {"1.5x", 4, "a number must not run into a name"},
      {"`a", 1, "unterminated back-quoted name"},
      {"``", 1, "empty back-quoted name"},
      {"a /* b", 3, "unterminated /* comment"},
      {"x \xC3\xA9", 3, "unexpected non-ASCII character outside a string"},
  };
  for (const LexErrorCase& c : cases) {
    LexResult r = Lex(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.diagnostics.front().message, c.message) << c.text;
    EXPECT_EQ(r.diagnostics.front().span.column, c.column) << c.text;
    EXPECT_EQ(r.diagnostics.front().span.line, 1u) << c.text;
  }
}

}  // namespace
}  // namespace kestrel::eql
