// A Sigma `condition` -> EQL (docs/sigma.md, "Conditions"): `and`, `or`, `not`, parentheses,
// `1 of PATTERN`, `all of PATTERN` (PATTERN: a name with `*` wildcards, or `them`: every item
// whose name does not start with `_`). Precedence as in Sigma: not > and > or. Aggregations
// (`| count() ...`, deprecated in Sigma 2) and `near` are refused with a reason. Recursion is
// bounded by the parenthesis depth, limited to kMaxDepth.
// Tested by sigma_test.cc.
#include <fmt/format.h>

#include "kestrel/eql/functions.h"
#include "kestrel/rules/sigma_internal.h"

namespace kestrel::rules::sigma {
namespace {

constexpr int kMaxDepth = 64;

struct Token {
  std::string text;  // "(", ")", or a word
  uint32_t column;   // offset in the condition text
};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return out;
}

class ConditionParser {
 public:
  ConditionParser(const DocNode& node, const std::vector<std::pair<std::string, Fragment>>& items,
                  Problem* problem)
      : node_(node), items_(items), problem_(problem) {}

  std::optional<Fragment> Parse() {
    const std::string& text = node_.text;
    for (size_t i = 0; i < text.size();) {
      char c = text[i];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        ++i;
      } else if (c == '(' || c == ')') {
        tokens_.push_back({std::string(1, c), static_cast<uint32_t>(i)});
        ++i;
      } else {
        size_t start = i;
        while (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n' &&
               text[i] != '\r' && text[i] != '(' && text[i] != ')') {
          ++i;
        }
        tokens_.push_back({text.substr(start, i - start), static_cast<uint32_t>(start)});
      }
    }
    if (tokens_.empty()) return Fail(Problem::Kind::kError, 0, "the condition is empty");
    auto f = Or(0);
    if (!f) return std::nullopt;
    if (pos_ < tokens_.size()) {
      if (tokens_[pos_].text == "|") {
        return Fail(Problem::Kind::kUnsupported, tokens_[pos_].column,
                    "aggregations in conditions (`| count() ...`) are not supported; write a "
                    "correlation rule");
      }
      return Fail(Problem::Kind::kError, tokens_[pos_].column,
                  fmt::format("unexpected '{}' in the condition", tokens_[pos_].text));
    }
    return f;
  }

 private:
  std::nullopt_t Fail(Problem::Kind kind, uint32_t column, std::string message) {
    problem_->kind = kind;
    problem_->pos = node_.position;
    // A plain or quoted one-line condition: point at the token.
    if (node_.text.find('\n') == std::string::npos && node_.position.line != 0) {
      problem_->pos.column += column;
    }
    problem_->message = std::move(message);
    return std::nullopt;
  }

  bool Peek(std::string_view word) const {
    return pos_ < tokens_.size() && Lower(tokens_[pos_].text) == word;
  }

  std::optional<Fragment> Or(int depth) {
    std::vector<Fragment> parts;
    do {
      auto f = And(depth);
      if (!f) return std::nullopt;
      parts.push_back(std::move(*f));
    } while (Peek("or") && ++pos_);
    return Join(parts, false);
  }

  std::optional<Fragment> And(int depth) {
    std::vector<Fragment> parts;
    do {
      auto f = Not(depth);
      if (!f) return std::nullopt;
      parts.push_back(std::move(*f));
    } while (Peek("and") && ++pos_);
    return Join(parts, true);
  }

  std::optional<Fragment> Not(int depth) {
    if (!Peek("not")) return Primary(depth);
    ++pos_;
    auto inner = Not(depth + 1);
    if (!inner) return std::nullopt;
    Fragment f;
    f.prec = 1;
    f.text = "not ";
    f.Append(*inner, 1);
    return f;
  }

  std::optional<Fragment> Primary(int depth) {
    if (depth > kMaxDepth) {
      return Fail(Problem::Kind::kError, pos_ < tokens_.size() ? tokens_[pos_].column : 0,
                  fmt::format("the condition nests deeper than {}", kMaxDepth));
    }
    if (pos_ >= tokens_.size()) {
      return Fail(Problem::Kind::kError, static_cast<uint32_t>(node_.text.size()),
                  "the condition ends early");
    }
    const Token& t = tokens_[pos_];
    std::string word = Lower(t.text);
    if (t.text == "(") {
      ++pos_;
      auto f = Or(depth + 1);
      if (!f) return std::nullopt;
      if (!Peek(")")) {
        return Fail(Problem::Kind::kError, t.column, "this '(' is not closed");
      }
      ++pos_;
      return f;
    }
    if (word == ")" || word == "and" || word == "or" || word == "|" || word == "of") {
      return Fail(Problem::Kind::kError, t.column, fmt::format("unexpected '{}'", t.text));
    }
    if (pos_ + 1 < tokens_.size() && Lower(tokens_[pos_ + 1].text) == "of") {
      return Quantified(t);
    }
    if (word == "near") {
      return Fail(Problem::Kind::kUnsupported, t.column, "'near' is not supported");
    }
    ++pos_;
    for (const auto& [name, fragment] : items_) {
      if (name == t.text) return fragment;
    }
    return Fail(
        Problem::Kind::kError, t.column,
        fmt::format("the condition names '{}', which the detection does not define", t.text));
  }

  std::optional<Fragment> Quantified(const Token& quantifier) {
    std::string q = Lower(quantifier.text);
    bool all = q == "all";
    if (!all && q != "1" && q != "any") {
      return Fail(
          Problem::Kind::kUnsupported, quantifier.column,
          fmt::format("'{} of' is not supported (Sigma has '1 of' and 'all of')", quantifier.text));
    }
    pos_ += 2;
    if (pos_ >= tokens_.size() || tokens_[pos_].text == "(" || tokens_[pos_].text == ")") {
      return Fail(Problem::Kind::kError, quantifier.column, "'of' needs a name pattern or 'them'");
    }
    const Token& target = tokens_[pos_++];
    bool them = Lower(target.text) == "them";
    std::vector<Fragment> parts;
    for (const auto& [name, fragment] : items_) {
      bool match = them ? !name.starts_with("_")
                        : eql::WildcardMatch(name, target.text, /*case_insensitive=*/false,
                                             /*question_mark=*/false);
      if (match) parts.push_back(fragment);
    }
    if (parts.empty()) {
      return Fail(Problem::Kind::kError, target.column,
                  fmt::format("'{}' matches no detection item", target.text));
    }
    return Join(parts, all);
  }

  const DocNode& node_;
  const std::vector<std::pair<std::string, Fragment>>& items_;
  Problem* problem_;
  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

}  // namespace

std::optional<Fragment> CompileCondition(const DocNode& condition,
                                         const std::vector<std::pair<std::string, Fragment>>& items,
                                         Problem* problem) {
  if (condition.kind == DocNode::Kind::kList) {
    if (condition.items.empty()) {
      *problem = {Problem::Kind::kError, condition.position, "the condition list is empty"};
      return std::nullopt;
    }
    std::vector<Fragment> parts;
    for (const DocNode& c : condition.items) {
      auto f = CompileCondition(c, items, problem);
      if (!f) return std::nullopt;
      parts.push_back(std::move(*f));
    }
    return Join(parts, false);
  }
  if (condition.kind != DocNode::Kind::kString) {
    *problem = {Problem::Kind::kError, condition.position,
                fmt::format("the condition must be a string, found a {}", condition.KindName())};
    return std::nullopt;
  }
  return ConditionParser(condition, items, problem).Parse();
}

}  // namespace kestrel::rules::sigma
