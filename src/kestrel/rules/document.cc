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

}  // namespace kestrel::rules
