// The EQL lexer (see lexer.h for the token grammar). Linear time, one pass.
#include "kestrel/eql/lexer.h"

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "fmt/format.h"

namespace kestrel::eql {

std::string_view TokenKindName(TokenKind kind) {
  switch (kind) {
    case TokenKind::kEnd:
      return "end of query";
    case TokenKind::kIdentifier:
      return "identifier";
    case TokenKind::kQuotedIdentifier:
      return "quoted identifier";
    case TokenKind::kString:
      return "string";
    case TokenKind::kInteger:
      return "integer";
    case TokenKind::kFloat:
      return "number";
    case TokenKind::kTimeSpan:
      return "time span";
    case TokenKind::kLParen:
      return "'('";
    case TokenKind::kRParen:
      return "')'";
    case TokenKind::kLBracket:
      return "'['";
    case TokenKind::kRBracket:
      return "']'";
    case TokenKind::kComma:
      return "','";
    case TokenKind::kPipe:
      return "'|'";
    case TokenKind::kDot:
      return "'.'";
    case TokenKind::kQuestion:
      return "'?'";
    case TokenKind::kBang:
      return "'!'";
    case TokenKind::kTilde:
      return "'~'";
    case TokenKind::kEq:
      return "'=='";
    case TokenKind::kNe:
      return "'!='";
    case TokenKind::kLt:
      return "'<'";
    case TokenKind::kLe:
      return "'<='";
    case TokenKind::kGt:
      return "'>'";
    case TokenKind::kGe:
      return "'>='";
    case TokenKind::kAssign:
      return "'='";
    case TokenKind::kColon:
      return "':'";
    case TokenKind::kNotColon:
      return "'!:'";
    case TokenKind::kPlus:
      return "'+'";
    case TokenKind::kMinus:
      return "'-'";
    case TokenKind::kStar:
      return "'*'";
    case TokenKind::kSlash:
      return "'/'";
    case TokenKind::kPercent:
      return "'%'";
    case TokenKind::kAnd:
      return "'and'";
    case TokenKind::kOr:
      return "'or'";
    case TokenKind::kNot:
      return "'not'";
    case TokenKind::kIn:
      return "'in'";
    case TokenKind::kInInsensitive:
      return "'in~'";
    case TokenKind::kLike:
      return "'like'";
    case TokenKind::kLikeInsensitive:
      return "'like~'";
    case TokenKind::kRegex:
      return "'regex'";
    case TokenKind::kRegexInsensitive:
      return "'regex~'";
    case TokenKind::kWhere:
      return "'where'";
    case TokenKind::kSequence:
      return "'sequence'";
    case TokenKind::kSample:
      return "'sample'";
    case TokenKind::kJoin:
      return "'join'";
    case TokenKind::kBy:
      return "'by'";
    case TokenKind::kWith:
      return "'with'";
    case TokenKind::kUntil:
      return "'until'";
    case TokenKind::kTrue:
      return "'true'";
    case TokenKind::kFalse:
      return "'false'";
    case TokenKind::kNull:
      return "'null'";
    case TokenKind::kMaxspan:
      return "'maxspan'";
    case TokenKind::kRuns:
      return "'runs'";
    case TokenKind::kOf:
      return "'of'";
    case TokenKind::kDescendant:
      return "'descendant'";
    case TokenKind::kChild:
      return "'child'";
    case TokenKind::kEvent:
      return "'event'";
    case TokenKind::kAny:
      return "'any'";
    case TokenKind::kMacro:
      return "'macro'";
  }
  return "token";
}

bool IsSoftKeyword(TokenKind kind) {
  switch (kind) {
    case TokenKind::kMaxspan:
    case TokenKind::kRuns:
    case TokenKind::kOf:
    case TokenKind::kDescendant:
    case TokenKind::kChild:
    case TokenKind::kEvent:
    case TokenKind::kAny:
    case TokenKind::kMacro:
      return true;
    default:
      return false;
  }
}

namespace {

struct Keyword {
  std::string_view word;
  TokenKind kind;
};

constexpr Keyword kKeywords[] = {
    {"and", TokenKind::kAnd},         {"or", TokenKind::kOr},
    {"not", TokenKind::kNot},         {"in", TokenKind::kIn},
    {"like", TokenKind::kLike},       {"regex", TokenKind::kRegex},
    {"where", TokenKind::kWhere},     {"sequence", TokenKind::kSequence},
    {"sample", TokenKind::kSample},   {"join", TokenKind::kJoin},
    {"by", TokenKind::kBy},           {"with", TokenKind::kWith},
    {"until", TokenKind::kUntil},     {"true", TokenKind::kTrue},
    {"false", TokenKind::kFalse},     {"null", TokenKind::kNull},
    {"maxspan", TokenKind::kMaxspan}, {"runs", TokenKind::kRuns},
    {"of", TokenKind::kOf},           {"descendant", TokenKind::kDescendant},
    {"child", TokenKind::kChild},     {"event", TokenKind::kEvent},
    {"any", TokenKind::kAny},         {"macro", TokenKind::kMacro},
};

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '@';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }
int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    *out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    *out += static_cast<char>(0xC0 | (cp >> 6));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    *out += static_cast<char>(0xE0 | (cp >> 12));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    *out += static_cast<char>(0xF0 | (cp >> 18));
    *out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    *out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    *out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Lexer {
 public:
  Lexer(std::string_view source, Dialect dialect) : src_(source), dialect_(dialect) {}

  LexResult Run() {
    LexResult result;
    if (src_.size() > UINT32_MAX / 2) {
      result.diagnostics.push_back({Severity::kError, Span{}, "query text is too large", ""});
      return result;
    }
    while (true) {
      if (!SkipSpaceAndComments()) break;
      if (pos_ >= src_.size()) {
        Token end;
        end.kind = TokenKind::kEnd;
        end.span = SpanFrom(pos_, line_, static_cast<uint32_t>(pos_ - line_start_ + 1));
        tokens_.push_back(std::move(end));
        break;
      }
      if (!Next()) break;
    }
    result.tokens = std::move(tokens_);
    if (error_) result.diagnostics.push_back(std::move(*error_));
    return result;
  }

 private:
  char Peek(size_t ahead = 0) const {
    return pos_ + ahead < src_.size() ? src_[pos_ + ahead] : '\0';
  }
  uint32_t Column(size_t at) const { return static_cast<uint32_t>(at - line_start_ + 1); }

  Span SpanFrom(size_t start, uint32_t line, uint32_t column) const {
    return Span{static_cast<uint32_t>(start), static_cast<uint32_t>(pos_ - start), line, column};
  }

  // Advances one byte, tracking line breaks.
  void Advance() {
    if (src_[pos_] == '\n') {
      ++line_;
      line_start_ = pos_ + 1;
    }
    ++pos_;
  }

  bool Fail(size_t at, uint32_t line, uint32_t column, size_t length, std::string message,
            std::string hint = "") {
    Span span{static_cast<uint32_t>(at), static_cast<uint32_t>(length), line, column};
    error_ = Diagnostic{Severity::kError, span, std::move(message), std::move(hint)};
    return false;
  }
  bool FailHere(std::string message, std::string hint = "") {
    return Fail(pos_, line_, Column(pos_), 1, std::move(message), std::move(hint));
  }

  bool SkipSpaceAndComments() {
    while (pos_ < src_.size()) {
      char c = src_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
        Advance();
      } else if (c == '/' && Peek(1) == '/') {
        while (pos_ < src_.size() && src_[pos_] != '\n') Advance();
      } else if (c == '/' && Peek(1) == '*') {
        size_t start = pos_;
        uint32_t line = line_, column = Column(pos_);
        Advance();
        Advance();
        // Elasticsearch's BRACKETED_COMMENT nests (`/* a /* b */ c */`); the Endgame one does
        // not. A counter, no recursion.
        size_t depth = 1;
        while (pos_ < src_.size()) {
          if (src_[pos_] == '*' && Peek(1) == '/') {
            if (--depth == 0) break;
            Advance();
          } else if (src_[pos_] == '/' && Peek(1) == '*' && dialect_ != Dialect::kEndgame) {
            ++depth;
            Advance();
          }
          Advance();
        }
        if (pos_ >= src_.size()) {
          return Fail(start, line, column, 2, "unterminated /* comment",
                      "close the comment with */");
        }
        Advance();
        Advance();
      } else {
        break;
      }
    }
    return true;
  }

  void Emit(TokenKind kind, size_t start, uint32_t line, uint32_t column, std::string text = "") {
    Token t;
    t.kind = kind;
    t.span = SpanFrom(start, line, column);
    t.text = std::move(text);
    tokens_.push_back(std::move(t));
  }

  bool Next() {
    size_t start = pos_;
    uint32_t line = line_, column = Column(pos_);
    char c = src_[pos_];
    auto op = [&](TokenKind kind, size_t len) {
      for (size_t i = 0; i < len; ++i) Advance();
      Emit(kind, start, line, column, std::string(src_.substr(start, len)));
      return true;
    };
    if (IsIdentStart(c)) return Identifier();
    if (IsDigit(c) || (c == '.' && IsDigit(Peek(1)))) return Number();
    switch (c) {
      case '"':
        if (Peek(1) == '"' && Peek(2) == '"') return TripleQuoted();
        return Quoted('"', /*raw=*/false, start, line, column);
      case '\'':
        if (dialect_ != Dialect::kEndgame) {
          return FailHere("single-quoted strings are not supported in Elasticsearch EQL",
                          "use double quotes: \"...\"");
        }
        return Quoted('\'', /*raw=*/false, start, line, column);
      case '`':
        return BackQuoted();
      case '?':
        if (Peek(1) == '"' || Peek(1) == '\'') {
          if (dialect_ != Dialect::kEndgame) {
            return FailHere("?\"...\" raw strings are not supported in Elasticsearch EQL",
                            "use a triple-quoted raw string: \"\"\"...\"\"\"");
          }
          Advance();
          return Quoted(src_[pos_], /*raw=*/true, start, line, column);
        }
        return op(TokenKind::kQuestion, 1);
      case '(':
        return op(TokenKind::kLParen, 1);
      case ')':
        return op(TokenKind::kRParen, 1);
      case '[':
        return op(TokenKind::kLBracket, 1);
      case ']':
        return op(TokenKind::kRBracket, 1);
      case ',':
        return op(TokenKind::kComma, 1);
      case '|':
        return op(TokenKind::kPipe, 1);
      case '.':
        return op(TokenKind::kDot, 1);
      case '~':
        return op(TokenKind::kTilde, 1);
      case ':':
        return op(TokenKind::kColon, 1);
      case '+':
        return op(TokenKind::kPlus, 1);
      case '-':
        return op(TokenKind::kMinus, 1);
      case '*':
        return op(TokenKind::kStar, 1);
      case '/':
        return op(TokenKind::kSlash, 1);
      case '%':
        return op(TokenKind::kPercent, 1);
      case '=':
        return Peek(1) == '=' ? op(TokenKind::kEq, 2) : op(TokenKind::kAssign, 1);
      case '!':
        if (Peek(1) == ':') return op(TokenKind::kNotColon, 2);
        return Peek(1) == '=' ? op(TokenKind::kNe, 2) : op(TokenKind::kBang, 1);
      case '<':
        return Peek(1) == '=' ? op(TokenKind::kLe, 2) : op(TokenKind::kLt, 1);
      case '>':
        return Peek(1) == '=' ? op(TokenKind::kGe, 2) : op(TokenKind::kGt, 1);
      default:
        break;
    }
    if (static_cast<unsigned char>(c) >= 0x80) {
      return FailHere("unexpected non-ASCII character outside a string",
                      "put names with unusual characters in back-quotes: `name`");
    }
    return FailHere(fmt::format("unexpected character '{}'", c));
  }

  bool Identifier() {
    size_t start = pos_;
    uint32_t line = line_, column = Column(pos_);
    bool dotted = false;
    while (true) {
      while (pos_ < src_.size() && IsIdentChar(src_[pos_])) Advance();
      if (Peek() == '.' && IsIdentStart(Peek(1))) {
        dotted = true;
        Advance();
        continue;
      }
      break;
    }
    std::string_view word = src_.substr(start, pos_ - start);
    TokenKind kind = TokenKind::kIdentifier;
    if (!dotted) {
      for (const Keyword& k : kKeywords) {
        if (k.word == word) {
          kind = k.kind;
          break;
        }
      }
    }
    if (Peek() == '~') {
      TokenKind insensitive = kind == TokenKind::kIn      ? TokenKind::kInInsensitive
                              : kind == TokenKind::kLike  ? TokenKind::kLikeInsensitive
                              : kind == TokenKind::kRegex ? TokenKind::kRegexInsensitive
                                                          : kind;
      if (insensitive != kind) {
        Advance();
        kind = insensitive;
        word = src_.substr(start, pos_ - start);
      }
    }
    Emit(kind, start, line, column, std::string(word));
    return true;
  }

  static bool FitsInt64(std::string_view digits) {
    uint64_t value = 0;
    for (char d : digits) {
      if (value > static_cast<uint64_t>(INT64_MAX) / 10) return false;
      value = value * 10 + static_cast<uint64_t>(d - '0');
      if (value > static_cast<uint64_t>(INT64_MAX)) return false;
    }
    return true;
  }

  // An exponent (e5, E-3, e+2) starts at `at`.
  bool IsExponent(size_t at) const {
    auto ch = [&](size_t i) { return i < src_.size() ? src_[i] : '\0'; };
    if (ch(at) != 'e' && ch(at) != 'E') return false;
    return IsDigit(ch(at + 1)) || ((ch(at + 1) == '+' || ch(at + 1) == '-') && IsDigit(ch(at + 2)));
  }

  bool Number() {
    size_t start = pos_;
    uint32_t line = line_, column = Column(pos_);
    bool is_float = false;
    while (IsDigit(Peek())) Advance();
    if (Peek() == '.' && IsDigit(Peek(1))) {
      is_float = true;
      Advance();
      while (IsDigit(Peek())) Advance();
    } else if (Peek() == '.' && dialect_ != Dialect::kEndgame && IsDigit(src_[start]) &&
               (!IsIdentStart(Peek(1)) || IsExponent(pos_ + 1))) {
      // Elasticsearch's DECIMAL_VALUE also takes a trailing dot: `1.`, `1.e3`.
      is_float = true;
      Advance();
    }
    if ((Peek() == 'e' || Peek() == 'E') &&
        (IsDigit(Peek(1)) || ((Peek(1) == '+' || Peek(1) == '-') && IsDigit(Peek(2))))) {
      is_float = true;
      Advance();
      if (Peek() == '+' || Peek() == '-') Advance();
      while (IsDigit(Peek())) Advance();
    }
    std::string digits(src_.substr(start, pos_ - start));
    if (is_float && IsIdentStart(Peek())) {
      size_t end = pos_;
      while (end < src_.size() && IsIdentChar(src_[end])) ++end;
      std::string_view suffix = src_.substr(pos_, end - pos_);
      if (suffix == "ms" || suffix == "s" || suffix == "m" || suffix == "h" || suffix == "d") {
        // Elasticsearch refuses it too ("Decimal time interval [...] not supported").
        return Fail(start, line, column, end - start,
                    fmt::format("a time span must be a whole number, not {}{}", digits, suffix),
                    "use a smaller unit, e.g. 1500ms for 1.5s");
      }
    }
    // A time unit glued to an integer: 5s 500ms 10m 1h 2d.
    std::string_view unit;
    if (!is_float && IsIdentStart(Peek())) {
      size_t unit_start = pos_;
      size_t end = pos_;
      while (end < src_.size() && IsIdentChar(src_[end])) ++end;
      unit = src_.substr(unit_start, end - unit_start);
      if (unit != "ms" && unit != "s" && unit != "m" && unit != "h" && unit != "d") {
        return Fail(unit_start, line_, Column(unit_start), unit.size(),
                    fmt::format("invalid suffix '{}' on number", unit),
                    "time units are ms, s, m, h and d (e.g. 5s); otherwise separate the "
                    "number from the name with a space");
      }
      while (pos_ < end) Advance();
    }
    Token t;
    t.span = SpanFrom(start, line, column);
    if (!is_float && unit.empty() && dialect_ != Dialect::kEndgame && digits.size() > 18 &&
        !FitsInt64(digits)) {
      is_float = true;  // Elasticsearch reads an integer too large for a long as a double
    }
    if (is_float) {
      t.kind = TokenKind::kFloat;
      char* end_ptr = nullptr;
      errno = 0;
      t.float_value = std::strtod(digits.c_str(), &end_ptr);
      if (errno == ERANGE) {
        return Fail(start, line, column, digits.size(), "number literal is out of range");
      }
    } else {
      t.kind = unit.empty() ? TokenKind::kInteger : TokenKind::kTimeSpan;
      uint64_t value = 0;
      for (char d : digits) {
        uint64_t next = value * 10 + static_cast<uint64_t>(d - '0');
        if (value > (UINT64_MAX - 9) / 10 || next > static_cast<uint64_t>(INT64_MAX)) {
          return Fail(start, line, column, digits.size(), "integer literal is out of range",
                      "integers must fit in a signed 64-bit value");
        }
        value = next;
      }
      t.int_value = static_cast<int64_t>(value);
      t.text = std::string(unit.empty() ? std::string_view(digits) : unit);
    }
    if (IsIdentStart(Peek()) && unit.empty()) {
      return FailHere("a number must not run into a name",
                      "separate the number from the following name with a space");
    }
    tokens_.push_back(std::move(t));
    return true;
  }

  // Reads \u{XXXX}; pos_ is on the 'u'.
  bool UnicodeEscape(size_t escape_start, uint32_t line, uint32_t column, std::string* out) {
    Advance();  // u
    if (Peek() != '{') {
      return Fail(escape_start, line, column, 2, "invalid unicode escape",
                  "write a code point as \\u{1F600} (1 to 8 hex digits in braces)");
    }
    Advance();
    uint32_t cp = 0;
    int digits = 0;
    while (HexValue(Peek()) >= 0 && digits < 8) {
      cp = (cp << 4) | static_cast<uint32_t>(HexValue(Peek()));
      Advance();
      ++digits;
    }
    if (digits == 0 || Peek() != '}') {
      return Fail(escape_start, line, column, pos_ - escape_start, "invalid unicode escape",
                  "write a code point as \\u{1F600} (1 to 8 hex digits in braces)");
    }
    Advance();
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return Fail(escape_start, line, column, pos_ - escape_start,
                  fmt::format("\\u{{{:X}}} is not a valid unicode code point", cp));
    }
    AppendUtf8(cp, out);
    return true;
  }

  // A quoted string; pos_ is on the opening quote (after `?` for raw strings).
  bool Quoted(char quote, bool raw, size_t start, uint32_t line, uint32_t column) {
    Advance();
    std::string value;
    while (true) {
      if (pos_ >= src_.size() || src_[pos_] == '\n') {
        return Fail(start, line, column, 1, "unterminated string",
                    fmt::format("close the string with {} on the same line; use \"\"\"...\"\"\" "
                                "for text that spans lines",
                                quote));
      }
      char c = src_[pos_];
      if (c == quote) {
        Advance();
        break;
      }
      if (c != '\\') {
        value += c;
        Advance();
        continue;
      }
      size_t escape_start = pos_;
      uint32_t escape_column = Column(pos_);
      char e = Peek(1);
      if (raw) {
        value += '\\';
        Advance();
        if (e == quote || e == '\\') {
          value += e;
          Advance();
        }
        continue;
      }
      Advance();  // backslash
      switch (e) {
        case 'n':
          value += '\n';
          break;
        case 'r':
          value += '\r';
          break;
        case 't':
          value += '\t';
          break;
        case 'b':
          value += '\b';
          break;
        case 'f':
          value += '\f';
          break;
        case '0':
          value += '\0';
          break;
        case '"':
          value += '"';
          break;
        case '\'':
          value += '\'';
          break;
        case '\\':
          value += '\\';
          break;
        case '/':
          value += '/';
          break;
        case 'u':
          if (!UnicodeEscape(escape_start, line_, escape_column, &value)) return false;
          continue;
        default:
          return Fail(escape_start, line_, escape_column, pos_ < src_.size() ? 2 : 1,
                      pos_ < src_.size() ? fmt::format("invalid escape sequence '\\{}'", e)
                                         : std::string("unterminated string"),
                      "escape a backslash as \\\\, or use a raw string \"\"\"...\"\"\"");
      }
      Advance();
    }
    Token t;
    t.kind = TokenKind::kString;
    t.span = SpanFrom(start, line, column);
    t.text = std::move(value);
    t.raw_string = raw;
    tokens_.push_back(std::move(t));
    return true;
  }

  bool TripleQuoted() {
    size_t start = pos_;
    uint32_t line = line_, column = Column(pos_);
    for (int i = 0; i < 3; ++i) Advance();
    size_t close = src_.find("\"\"\"", pos_);
    if (close == std::string_view::npos) {
      return Fail(start, line, column, 3, "unterminated raw string", "close it with \"\"\"");
    }
    // A raw string may end with quotes: """a"""" is `a"`.
    while (close + 3 < src_.size() && src_[close + 3] == '"') ++close;
    std::string value(src_.substr(pos_, close - pos_));
    while (pos_ < close + 3) Advance();
    Token t;
    t.kind = TokenKind::kString;
    t.span = SpanFrom(start, line, column);
    t.text = std::move(value);
    t.raw_string = true;
    tokens_.push_back(std::move(t));
    return true;
  }

  bool BackQuoted() {
    size_t start = pos_;
    uint32_t line = line_, column = Column(pos_);
    Advance();
    std::string name;
    while (true) {
      if (pos_ >= src_.size() || src_[pos_] == '\n') {
        return Fail(start, line, column, 1, "unterminated back-quoted name",
                    "close the name with `; write `` for a literal back-quote");
      }
      if (src_[pos_] == '`') {
        if (Peek(1) == '`') {
          name += '`';
          Advance();
          Advance();
          continue;
        }
        Advance();
        break;
      }
      name += src_[pos_];
      Advance();
    }
    if (name.empty()) {
      return Fail(start, line, column, pos_ - start, "empty back-quoted name");
    }
    Emit(TokenKind::kQuotedIdentifier, start, line, column, std::move(name));
    return true;
  }

  std::string_view src_;
  Dialect dialect_;
  size_t pos_ = 0;
  uint32_t line_ = 1;
  size_t line_start_ = 0;
  std::vector<Token> tokens_;
  std::optional<Diagnostic> error_;
};

}  // namespace

LexResult Lex(std::string_view source, Dialect dialect) { return Lexer(source, dialect).Run(); }

}  // namespace kestrel::eql
