// The .yaml/.yml reader: yaml-cpp parses (every `---` document is read in turn), the tree is
// converted to DocNodes with each node's Mark() as its position (yaml-cpp marks are 0-based and
// count bytes). A string's content offset depends on its style, read from the byte at the mark:
// `|` / `>` block scalars start on the next line, quoted scalars after the quote; the aligner
// (source_text.h) then anchors each block line at its indentation, so query positions point into
// the block's lines. Plain scalars are typed like YAML 1.2's core schema (null, bool, int, else
// string); quoted ones are strings.
// Conversion is bounded by a DocumentBudget (document.h): depth and node count (aliases are
// expanded, so the node budget is what stops exponential growth).
// Tested by rule_file_test.cc.
#include <string>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "kestrel/rules/formats.h"

namespace kestrel::rules {
namespace {

// `first_line`: the 0-based file line of the document's first line (marks count from it).
SourcePosition PositionOf(const YAML::Mark& mark, size_t first_line = 0) {
  if (mark.is_null() || mark.line < 0 || mark.column < 0) return {};
  return {static_cast<uint32_t>(first_line + static_cast<size_t>(mark.line) + 1),
          static_cast<uint32_t>(mark.column + 1)};
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

  // The document converted next starts on this 0-based line of the file.
  void set_first_line(size_t line) { first_line_ = line; }

  bool Convert(const YAML::Node& node, int depth, DocNode* out) {
    out->position = PositionOf(node.Mark(), first_line_);
    if (!budget_.Admit(depth, out->position, ctx_)) return false;
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
          e.key_position = PositionOf(it->first.Mark(), first_line_);
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
  size_t first_line_ = 0;
  DocumentBudget budget_{" (alias expansion?)"};
};

}  // namespace

namespace {

struct YamlDocument {
  std::string text;
  size_t first_line;  // 0-based line of the file where `text` starts
};

// The documents of a YAML stream, split at `---` / `...` marker lines (column 0, as YAML
// requires). yaml-cpp 0.7's LoadAll() can loop forever on malformed input (found by
// fuzz/rule_file_fuzz.cc), so each document is loaded on its own with YAML::Load(). Each piece
// keeps the file's columns (markers become spaces) and records its first line, which is added
// to its marks, so node marks stay file positions. Linear in the text (pieces are not padded
// with the lines before them, which made a file of many documents quadratic).
std::vector<YamlDocument> SplitDocuments(std::string_view text) {
  std::vector<YamlDocument> documents;
  std::string current;
  size_t line_count = 0;  // lines before the current line
  size_t first_line = 0;  // of the current piece
  bool has_content = false;
  size_t start = 0;
  auto flush = [&](size_t next_line) {
    if (has_content) documents.push_back({std::move(current), first_line});
    current.clear();
    first_line = next_line;
    has_content = false;
  };
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line =
        text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    bool marker = (line.starts_with("---") || line.starts_with("...")) &&
                  (line.size() == 3 || line[3] == ' ' || line[3] == '\t' || line[3] == '\r');
    if (marker) {
      bool end_marker = line[0] == '.';
      flush(line_count);
      if (!end_marker) {
        // Content after `---` on the same line belongs to the new document.
        std::string rest(line);
        rest.replace(0, 3, "   ");
        current += rest;
        has_content = rest.find_first_not_of(" \t\r") != std::string::npos;
      }
    } else {
      current += line;
      if (line.find_first_not_of(" \t\r") != std::string_view::npos && !line.starts_with("#")) {
        has_content = true;
      }
    }
    current.push_back('\n');
    ++line_count;
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  if (has_content) documents.push_back({std::move(current), first_line});
  return documents;
}

}  // namespace

bool ParseYamlDocuments(FileContext* ctx, std::vector<DocNode>* roots) {
  if (auto over = PrescanYaml(ctx->lines().text())) {
    ctx->Error(ctx->lines().PositionAt(over->offset), std::move(over->reason));
    return false;
  }
  size_t first_line = 0;
  try {
    Converter converter(ctx);
    // One document at a time: loaded, converted (under the shared budget), released.
    for (const YamlDocument& piece : SplitDocuments(ctx->lines().text())) {
      first_line = piece.first_line;
      YAML::Node document = YAML::Load(piece.text);
      converter.set_first_line(piece.first_line);
      if (!converter.Convert(document, 0, &roots->emplace_back())) return false;
    }
  } catch (const YAML::Exception& e) {
    ctx->Error(PositionOf(e.mark, first_line), fmt::format("invalid YAML: {}", e.msg));
    return false;
  } catch (const std::exception& e) {
    ctx->Error({}, fmt::format("invalid YAML: {}", e.what()));
    return false;
  }
  return true;
}

void ReadYamlFile(FileContext* ctx) {
  std::vector<DocNode> roots;
  if (!ParseYamlDocuments(ctx, &roots)) {
    ++ctx->result()->failed;
    return;
  }
  if (roots.empty()) {
    ctx->Warning({}, "the file holds no rules");
    return;
  }
  if (IsSigmaDocuments(roots)) {
    ReadSigmaDocuments(roots, ctx);
    return;
  }
  for (const DocNode& root : roots) BuildRulesFromDocument(root, ctx);
}

}  // namespace kestrel::rules
