// The .json reader: nlohmann-json parses (ordered, so warnings follow file order); a second pass
// over the now known-valid text records the byte offset of every value and key by its path
// ("/rules/0/query"), because nlohmann-json keeps no positions. Both passes are iterative and
// linear in the file size; the conversion to DocNodes is bounded by a DocumentBudget (document.h).
// Query strings keep exact positions even with escape sequences (the aligner re-anchors after
// each escape, source_text.h).
// Tested by rule_file_test.cc.
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "kestrel/base/string_map.h"
#include "kestrel/rules/formats.h"

namespace kestrel::rules {
namespace {

using Json = nlohmann::ordered_json;

struct JsonOffsets {
  base::StringMap<size_t> values;  // path -> offset of the value's first byte
  base::StringMap<size_t> keys;    // path -> offset of the key's opening quote
};

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// REQUIRES: `t` is valid JSON (nlohmann-json accepted it). Never reads past the end regardless.
JsonOffsets ScanOffsets(std::string_view t) {
  JsonOffsets out;
  struct Frame {
    bool object;
    size_t index;
    size_t path_len;  // length of the container's own path
  };
  std::vector<Frame> stack;
  std::string path;
  size_t i = 0;
  const size_t n = t.size();
  auto skip_space = [&] {
    while (i < n && IsJsonSpace(t[i])) ++i;
  };
  auto skip_string = [&] {  // at '"'
    for (++i; i < n && t[i] != '"'; ++i) {
      if (t[i] == '\\') ++i;
    }
    ++i;
  };
  // Reads `"key" :` and extends the path; false at the end of the text.
  auto read_key = [&] {
    skip_space();
    if (i >= n || t[i] != '"') return false;
    size_t key_start = i;
    skip_string();
    size_t key_end = std::min(i, n);
    path += '/';
    path.append(t.substr(key_start + 1, key_end - key_start - 2));
    out.keys[path] = key_start;
    skip_space();
    if (i < n && t[i] == ':') ++i;
    return true;
  };
  while (true) {
    skip_space();
    if (i >= n) break;
    out.values[path] = i;
    char c = t[i];
    bool value_done = true;
    if (c == '{' || c == '[') {
      stack.push_back({c == '{', 0, path.size()});
      ++i;
      skip_space();
      if (i < n && (t[i] == '}' || t[i] == ']')) {
        ++i;
        stack.pop_back();
      } else if (c == '{') {
        if (!read_key()) break;
        value_done = false;
      } else {
        path += "/0";
        value_done = false;
      }
    } else if (c == '"') {
      skip_string();
    } else {
      while (i < n && !IsJsonSpace(t[i]) && t[i] != ',' && t[i] != ']' && t[i] != '}') ++i;
    }
    // After a complete value: close containers until one continues with ','.
    while (value_done) {
      skip_space();
      if (stack.empty() || i >= n) return out;
      Frame& f = stack.back();
      path.resize(f.path_len);
      if (t[i] == ',') {
        ++i;
        ++f.index;
        if (f.object) {
          if (!read_key()) return out;
        } else {
          path += fmt::format("/{}", f.index);
        }
        value_done = false;
      } else {
        ++i;  // '}' or ']'
        stack.pop_back();
      }
    }
  }
  return out;
}

class Converter {
 public:
  Converter(const JsonOffsets& offsets, FileContext* ctx) : offsets_(offsets), ctx_(ctx) {}

  bool Convert(const Json& j, std::string* path, int depth, DocNode* out) {
    auto it = offsets_.values.find(*path);
    size_t offset = it == offsets_.values.end() ? 0 : it->second;
    out->position = ctx_->lines().PositionAt(offset);
    if (!budget_.Admit(depth, out->position, ctx_)) return false;
    switch (j.type()) {
      case Json::value_t::null:
      case Json::value_t::discarded:
        out->kind = DocNode::Kind::kNull;
        return true;
      case Json::value_t::boolean:
        out->kind = DocNode::Kind::kBool;
        out->bool_value = j.get<bool>();
        out->text = out->bool_value ? "true" : "false";
        return true;
      case Json::value_t::number_integer:
        out->kind = DocNode::Kind::kInt;
        out->int_value = j.get<int64_t>();
        out->text = j.dump();
        return true;
      case Json::value_t::number_unsigned:
      case Json::value_t::number_float:
        out->kind = j.is_number_unsigned() && j.get<uint64_t>() <= INT64_MAX
                        ? DocNode::Kind::kInt
                        : DocNode::Kind::kFloat;
        if (out->kind == DocNode::Kind::kInt) out->int_value = j.get<int64_t>();
        out->text = j.dump();
        return true;
      case Json::value_t::string:
        out->kind = DocNode::Kind::kString;
        out->text = j.get<std::string>();
        out->content_offset = offset + 1;
        out->escapes = true;
        return true;
      case Json::value_t::binary:
        out->kind = DocNode::Kind::kNull;
        return true;
      case Json::value_t::array: {
        out->kind = DocNode::Kind::kList;
        size_t len = path->size();
        for (size_t k = 0; k < j.size(); ++k) {
          path->resize(len);
          *path += fmt::format("/{}", k);
          if (!Convert(j[k], path, depth + 1, &out->items.emplace_back())) return false;
        }
        path->resize(len);
        return true;
      }
      case Json::value_t::object: {
        out->kind = DocNode::Kind::kMap;
        size_t len = path->size();
        for (const auto& [key, value] : j.items()) {
          path->resize(len);
          *path += '/';
          *path += key;
          auto k = offsets_.keys.find(*path);
          DocNode::Entry& e = out->entries.emplace_back();
          e.key = key;
          e.key_position =
              k == offsets_.keys.end() ? out->position : ctx_->lines().PositionAt(k->second);
          if (!Convert(value, path, depth + 1, &e.value)) return false;
        }
        path->resize(len);
        return true;
      }
    }
    return true;
  }

 private:
  const JsonOffsets& offsets_;
  FileContext* ctx_;
  DocumentBudget budget_;
};

// nlohmann's what(): "[json.exception.parse_error.101] parse error at line 1, column 9: syntax
// error while parsing ..." -> the part after the location.
std::string ParseErrorReason(std::string_view what) {
  size_t column = what.find("column ");
  size_t colon = what.find(": ", column == std::string_view::npos ? 0 : column);
  if (colon != std::string_view::npos) what.remove_prefix(colon + 2);
  return std::string(what);
}

}  // namespace

void ReadJsonFile(FileContext* ctx) {
  std::string_view text = ctx->lines().text();
  Json json;
  try {
    json = Json::parse(text);
  } catch (const Json::parse_error& e) {
    size_t offset = e.byte > 0 ? e.byte - 1 : 0;
    ctx->Error(ctx->lines().PositionAt(offset),
               fmt::format("invalid JSON: {}", ParseErrorReason(e.what())));
    ++ctx->result()->failed;
    return;
  } catch (const std::exception& e) {
    ctx->Error({}, fmt::format("invalid JSON: {}", e.what()));
    ++ctx->result()->failed;
    return;
  }
  JsonOffsets offsets = ScanOffsets(text);
  DocNode root;
  std::string path;
  if (!Converter(offsets, ctx).Convert(json, &path, 0, &root)) {
    ++ctx->result()->failed;
    return;
  }
  BuildRulesFromDocument(root, ctx);
}

}  // namespace kestrel::rules
