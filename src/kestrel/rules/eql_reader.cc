// The .eql reader: one query per file, with an optional header of `// key: value` comments.
//
//   // name: Web server process spawns a shell      <- header keys (docs/rules.md lists them)
//   // severity: high
//   // Free comment lines become the description.   <- other leading comments
//   process where ...                               <- the query: first non-comment line to EOF
//
// One pass over the leading lines; the query is the rest of the file verbatim (trailing
// whitespace trimmed), so its query map is a single anchor. Linear in the file size.
// Tested by rule_file_test.cc.
#include <algorithm>
#include <string>

#include <fmt/format.h>

#include "kestrel/rules/formats.h"

namespace kestrel::rules {
namespace {

constexpr std::string_view kHeaderKeys[] = {
    "id",      "name",    "description", "severity",  "risk_score", "tags",
    "action",  "dialect", "tactic",      "technique", "references", "false_positives",
    "version", "message", "suppress"};

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

DocNode StringNode(const LineIndex& lines, size_t offset, std::string_view text) {
  DocNode node;
  node.kind = DocNode::Kind::kString;
  node.position = lines.PositionAt(offset);
  node.content_offset = offset;
  node.text = std::string(text);
  return node;
}

DocNode::Entry* FindEntry(DocNode* map, std::string_view key) {
  for (DocNode::Entry& e : map->entries) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

// `{by: [a, b], for: 5m}` (the flow map of the YAML form; `by: a` alone is one field) as a map
// node, or `off`: the header value of `suppress`. nullopt: not that shape (BuildRule then
// reports the string).
std::optional<DocNode> SuppressNode(const DocNode& value) {
  std::string_view t = value.text;
  if (t.size() < 2 || t.front() != '{' || t.back() != '}') return std::nullopt;
  t = t.substr(1, t.size() - 2);
  DocNode map;
  map.kind = DocNode::Kind::kMap;
  map.position = value.position;
  auto trim = [](std::string_view s) {
    while (!s.empty() && IsBlank(s.front())) s.remove_prefix(1);
    while (!s.empty() && IsBlank(s.back())) s.remove_suffix(1);
    return s;
  };
  while (!trim(t).empty()) {
    t = trim(t);
    size_t colon = t.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    std::string key(trim(t.substr(0, colon)));
    t = trim(t.substr(colon + 1));
    DocNode node;
    node.position = value.position;
    if (!t.empty() && t.front() == '[') {
      size_t close = t.find(']');
      if (close == std::string_view::npos) return std::nullopt;
      node.kind = DocNode::Kind::kString;  // "a, b": BuildRule splits it
      node.text = std::string(t.substr(1, close - 1));
      t = t.substr(close + 1);
    } else {
      size_t comma = t.find(',');
      node.kind = DocNode::Kind::kString;
      node.text = std::string(trim(t.substr(0, comma)));
      t = comma == std::string_view::npos ? std::string_view() : t.substr(comma);
    }
    map.entries.push_back({std::move(key), value.position, std::move(node)});
    t = trim(t);
    if (!t.empty() && t.front() == ',') t.remove_prefix(1);
  }
  return map;
}

}  // namespace

void ReadEqlFile(std::string_view stem, FileContext* ctx) {
  const LineIndex& lines = ctx->lines();
  std::string_view text = lines.text();
  DocNode rule;
  rule.kind = DocNode::Kind::kMap;
  rule.position = {1, 1};
  DocNode threat;  // {tactic, techniques} from the `tactic` and `technique` header keys
  threat.kind = DocNode::Kind::kMap;
  std::string free_text;
  size_t query_begin = std::string_view::npos;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = std::min(text.find('\n', pos), text.size());
    size_t first = pos;
    while (first < eol && IsBlank(text[first])) ++first;
    if (first == eol) {
      pos = eol + 1;
      continue;
    }
    if (text.substr(first, 2) != "//") {
      query_begin = first;
      break;
    }
    size_t body = first + 2;
    size_t end = eol;
    while (end > body && IsBlank(text[end - 1])) --end;
    while (body < end && IsBlank(text[body])) ++body;
    std::string_view comment = text.substr(body, end - body);
    size_t colon = comment.find(':');
    std::string_view key = comment.substr(0, colon);
    bool is_header =
        colon != std::string_view::npos &&
        std::find(std::begin(kHeaderKeys), std::end(kHeaderKeys), key) != std::end(kHeaderKeys);
    if (is_header) {
      size_t value = body + colon + 1;
      while (value < end && IsBlank(text[value])) ++value;
      DocNode node = StringNode(lines, value, text.substr(value, end - value));
      SourcePosition key_position = lines.PositionAt(body);
      if (key == "tactic") {
        // "TA0002" or "TA0002 Execution".
        size_t space = node.text.find(' ');
        DocNode tactic;
        tactic.kind = DocNode::Kind::kMap;
        tactic.position = node.position;
        tactic.entries.push_back(
            {"id", key_position,
             StringNode(lines, value, text.substr(value, std::min(space, node.text.size())))});
        if (space != std::string::npos) {
          std::string_view name = text.substr(value + space + 1, end - value - space - 1);
          tactic.entries.push_back(
              {"name", key_position, StringNode(lines, value + space + 1, name)});
        }
        threat.entries.push_back({"tactic", key_position, std::move(tactic)});
      } else if (key == "technique") {
        threat.entries.push_back({"techniques", key_position, std::move(node)});
      } else if (key == "suppress" && SuppressNode(node)) {
        rule.entries.push_back({"suppress", key_position, *SuppressNode(node)});
      } else if (DocNode::Entry* existing = FindEntry(&rule, key)) {
        ctx->Warning(
            key_position,
            fmt::format("header key '{}' given again; this value replaces the first", key));
        existing->value = std::move(node);
      } else {
        rule.entries.push_back({std::string(key), key_position, std::move(node)});
      }
    } else if (!comment.empty()) {
      if (!free_text.empty()) free_text += ' ';
      free_text += comment;
    }
    pos = eol + 1;
  }
  if (!threat.entries.empty()) {
    threat.position = threat.entries.front().key_position;
    DocNode list;
    list.kind = DocNode::Kind::kList;
    list.position = threat.position;
    list.items.push_back(std::move(threat));
    rule.entries.push_back({"threat", list.position, std::move(list)});
  }
  if (FindEntry(&rule, "description") == nullptr && !free_text.empty()) {
    DocNode description;
    description.kind = DocNode::Kind::kString;
    description.text = std::move(free_text);
    rule.entries.push_back({"description", {1, 1}, std::move(description)});
  }
  if (query_begin == std::string_view::npos) {
    ctx->Error(lines.PositionAt(text.size()), "the file holds no query, only comments");
    ++ctx->result()->failed;
    return;
  }
  size_t query_end = text.size();
  while (query_end > query_begin && (IsBlank(text[query_end - 1]) || text[query_end - 1] == '\n')) {
    --query_end;
  }
  DocNode query = StringNode(lines, query_begin, text.substr(query_begin, query_end - query_begin));
  rule.entries.push_back({"query", query.position, std::move(query)});
  BuildRule(rule, RuleDefaults{.id = std::string(stem), .warn_unknown_keys = false}, ctx);
}

}  // namespace kestrel::rules
