// DocNode accessors and DocumentBudget. Tested through rule_file_test.cc.
#include "kestrel/rules/document.h"

#include <charconv>

#include <fmt/format.h>

namespace kestrel::rules {

const DocNode* DocNode::Find(std::string_view key) const {
  for (const Entry& e : entries) {
    if (e.key == key) return &e.value;
  }
  return nullptr;
}

std::optional<std::string> DocNode::AsString() const {
  if (!is_scalar() || kind == Kind::kNull) return std::nullopt;
  return text;
}

std::optional<int64_t> DocNode::AsInt() const {
  if (kind == Kind::kInt) return int_value;
  if (kind != Kind::kString || text.empty()) return std::nullopt;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return v;
}

std::string_view DocNode::KindName() const {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kBool:
      return "boolean";
    case Kind::kInt:
      return "integer";
    case Kind::kFloat:
      return "number";
    case Kind::kString:
      return "string";
    case Kind::kList:
      return "list";
    case Kind::kMap:
      return "map";
  }
  return "value";
}

bool DocumentBudget::Admit(int depth, SourcePosition position, FileContext* ctx) {
  if (depth > kMaxDocumentDepth || ++nodes_ > kMaxDocumentNodes) {
    ctx->Error(position,
               depth > kMaxDocumentDepth
                   ? fmt::format("values nested deeper than {} levels", kMaxDocumentDepth)
                   : fmt::format("more than {} values{}", kMaxDocumentNodes, excess_note_));
    return false;
  }
  return true;
}

std::optional<BudgetOverrun> PrescanYaml(std::string_view text) {
  size_t values = 0;
  bool line_counted = false;  // the current line already counted
  bool in_comment = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\n') {
      line_counted = false;
      in_comment = false;
      continue;
    }
    if (in_comment || c == ' ' || c == '\t' || c == '\r') continue;
    if (c == '#' && !line_counted) {
      in_comment = true;
      continue;
    }
    bool counts = !line_counted || c == ',';
    line_counted = true;
    if (counts && ++values > kMaxDocumentNodes) {
      return BudgetOverrun{i, fmt::format("more than {} values", kMaxDocumentNodes)};
    }
  }
  return std::nullopt;
}

std::optional<BudgetOverrun> PrescanToml(std::string_view text) {
  size_t open = 0;  // brackets and braces
  size_t dots = 0;  // segments of the current dotted key, less one
  const size_t n = text.size();
  for (size_t i = 0; i < n; ++i) {
    char c = text[i];
    if (c == '#') {  // a comment, to the end of the line
      while (i + 1 < n && text[i + 1] != '\n') ++i;
    } else if (c == '"' || c == '\'') {
      bool multi = text.substr(i, 3) == std::string_view(c == '"' ? "\"\"\"" : "\'\'\'");
      if (multi) {
        std::string_view close = c == '"' ? "\"\"\"" : "\'\'\'";
        size_t end = i + 3;
        while (end < n && text.substr(end, 3) != close)
          end += c == '"' && text[end] == '\\' ? 2 : 1;
        i = std::min(n, end + 3) - 1;
      } else {
        size_t end = i + 1;
        while (end < n && text[end] != c && text[end] != '\n') {
          end += c == '"' && text[end] == '\\' ? 2 : 1;
        }
        i = std::min(end, n - 1);
      }
    } else if (c == '[' || c == '{') {
      ++open;
      dots = 0;
    } else if (c == ']' || c == '}') {
      if (open > 0) --open;
      dots = 0;
    } else if (c == '.') {
      ++dots;
    } else if (c == '=' || c == ',' || c == '\n') {
      dots = 0;
    }
    if (open + dots > static_cast<size_t>(kMaxDocumentDepth)) {
      return BudgetOverrun{i,
                           fmt::format("values nested deeper than {} levels", kMaxDocumentDepth)};
    }
  }
  return std::nullopt;
}

}  // namespace kestrel::rules
