// The .yaml/.yml reader: yaml-cpp parses (every `---` document is read in turn), the tree is
// converted to DocNodes with each node's Mark() as its position (yaml-cpp marks are 0-based and
// count bytes). A string's content offset depends on its style, read from the byte at the mark:
// `|` / `>` block scalars start on the next line, quoted scalars after the quote; the aligner
// (source_text.h) then anchors each block line at its indentation, so query positions point into
// the block's lines. Plain scalars are typed like YAML 1.2's core schema (null, bool, int, else
// string); quoted ones are strings.
// Conversion recurses at most kMaxDocumentDepth deep and stops after kMaxDocumentNodes nodes
// (aliases are expanded, so the budget is what stops exponential growth).
// Tested by rule_file_test.cc.
#include <string>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kestrel/rules/formats.h"

namespace kestrel::rules {
namespace {

SourcePosition PositionOf(const YAML::Mark& mark) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return {static_cast<uint32_t>(mark.line + 1), static_cast<uint32_t>(mark.column + 1)};
}

void TypePlainScalar(DocNode* node) {
  const std::string& s = node->text;
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") {
    node->kind = DocNode::Kind::kNull;
  } else if (s == "true" || s == "True" || s == "TRUE" || s == "false" || s == "False" ||
             s == "FALSE") {
    node->kind = DocNode::Kind::kBool;
    node->bool_value = s[0] == 't' || s[0] == 'T';
  } else {
    node->kind = DocNode::Kind::kString;
    if (auto v = node->AsInt()) {
      node->kind = DocNode::Kind::kInt;
      node->int_value = *v;
    }
  }
}

class Converter {
 public:
  explicit Converter(FileContext* ctx) : ctx_(ctx) {}

  bool Convert(const YAML::Node& node, int depth, DocNode* out) {
    out->position = PositionOf(node.Mark());
    if (depth > kMaxDocumentDepth || ++nodes_ > kMaxDocumentNodes) {
      ctx_->Error(out->position,
                  depth > kMaxDocumentDepth
                      ? fmt::format("values nested deeper than {} levels", kMaxDocumentDepth)
                      : fmt::format("more than {} values (alias expansion?)", kMaxDocumentNodes));
      return false;
    }
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out->kind = DocNode::Kind::kNull;
        return true;
      case YAML::NodeType::Scalar:
        ConvertScalar(node, out);
        return true;
      case YAML::NodeType::Sequence:
        out->kind = DocNode::Kind::kList;
        for (const YAML::Node& item : node) {
          if (!Convert(item, depth + 1, &out->items.emplace_back())) return false;
        }
        return true;
      case YAML::NodeType::Map:
        out->kind = DocNode::Kind::kMap;
        for (auto it = node.begin(); it != node.end(); ++it) {
          DocNode::Entry& e = out->entries.emplace_back();
          e.key = it->first.IsScalar() ? it->first.Scalar() : std::string();
          e.key_position = PositionOf(it->first.Mark());
          if (!Convert(it->second, depth + 1, &e.value)) return false;
        }
        return true;
    }
    return true;
  }

 private:
  void ConvertScalar(const YAML::Node& node, DocNode* out) {
    const LineIndex& lines = ctx_->lines();
    out->text = node.Scalar();
    out->kind = DocNode::Kind::kString;
    if (node.Tag() == "?") TypePlainScalar(out);
    size_t offset = lines.OffsetOf(out->position);
    char c = offset < lines.text().size() ? lines.text()[offset] : '\0';
    out->content_offset = offset;
    if (c == '|' || c == '>') {
      out->content_offset = lines.NextLineStart(offset);
    } else if (c == '"') {
      out->content_offset = offset + 1;
      out->escapes = true;
    } else if (c == '\'') {
      out->content_offset = offset + 1;
    }
  }

  FileContext* ctx_;
  size_t nodes_ = 0;
};

}  // namespace

void ReadYamlFile(FileContext* ctx) {
  std::vector<YAML::Node> documents;
  std::vector<DocNode> roots;
  try {
    documents = YAML::LoadAll(std::string(ctx->lines().text()));
    Converter converter(ctx);
    for (const YAML::Node& document : documents) {
      if (!converter.Convert(document, 0, &roots.emplace_back())) {
        ++ctx->result()->failed;
        return;
      }
    }
  } catch (const YAML::Exception& e) {
    ctx->Error(PositionOf(e.mark), fmt::format("invalid YAML: {}", e.msg));
    ++ctx->result()->failed;
    return;
  } catch (const std::exception& e) {
    ctx->Error({}, fmt::format("invalid YAML: {}", e.what()));
    ++ctx->result()->failed;
    return;
  }
  if (roots.empty()) {
    ctx->Warning({}, "the file holds no rules");
    return;
  }
  for (const DocNode& root : roots) BuildRulesFromDocument(root, ctx);
}

}  // namespace kestrel::rules
