// The .json reader: a first pass over the text checks the DocumentBudget's depth and value
// limits (document.h) before any tree is built, and records the byte offset of every value and
// key by its path ("/rules/0/query", hashed), because nlohmann-json keeps no positions; then
// nlohmann-json parses (ordered, so warnings follow file order). Both passes are iterative and
// linear in the file size; the conversion to DocNodes is bounded by a DocumentBudget too.
// Query strings keep exact positions even with escape sequences (the aligner re-anchors after
// each escape, source_text.h).
// Tested by rule_file_test.cc.
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"
#include "kestrel/rules/formats.h"

namespace kestrel::rules {
namespace {

using Json = nlohmann::ordered_json;

// A value's path ("/rules/0/query") as a 64-bit FNV-1a chain: a child's hash extends its
// container's with the key's bytes or the index, so neither pass builds path strings (whose
// total length is quadratic in the nesting: the old cause of gigabytes for a deep file).
constexpr uint64_t kRootPath = 14695981039346656037ULL;

uint64_t Mix(uint64_t h, std::string_view bytes) {
  for (char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
  return h;
}
uint64_t KeyPath(uint64_t parent, std::string_view key) {
  return Mix(Mix(parent, "/k"), key) * 1099511628211ULL;
}
uint64_t IndexPath(uint64_t parent, size_t index) {
  char bytes[sizeof index];
  std::memcpy(bytes, &index, sizeof index);
  return Mix(Mix(parent, "/i"), std::string_view(bytes, sizeof bytes));
}

struct JsonOffsets {
  absl::flat_hash_map<uint64_t, size_t> values;  // path -> offset of the value's first byte
  absl::flat_hash_map<uint64_t, size_t> keys;    // path -> offset of the key's opening quote
  // Set when the text nests deeper than kMaxDocumentDepth or holds more than
  // kMaxDocumentNodes values: where, and the scan stopped there.
  std::optional<size_t> over_budget_at;
  std::string over_budget;
};

bool IsJsonSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// One pass over `t` before anything is parsed: the offsets of values and keys, and the budget
// (depth, values) checked as it goes, so an over-deep or over-long file is refused before the
// JSON parser builds its tree. Linear in the text; never reads past the end, whatever the text
// (an invalid text is then reported by the parser).
JsonOffsets ScanOffsets(std::string_view t) {
  JsonOffsets out;
  struct Frame {
    bool object;
    size_t index;
    uint64_t path;  // the container's own path
  };
  std::vector<Frame> stack;
  uint64_t path = kRootPath;
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
    path = KeyPath(stack.back().path, t.substr(key_start + 1, key_end - key_start - 2));
    out.keys[path] = key_start;
    skip_space();
    if (i < n && t[i] == ':') ++i;
    return true;
  };
  size_t values = 0;
  while (true) {
    skip_space();
    if (i >= n) break;
    if (stack.size() > static_cast<size_t>(kMaxDocumentDepth) || ++values > kMaxDocumentNodes) {
      out.over_budget_at = i;
      out.over_budget = stack.size() > static_cast<size_t>(kMaxDocumentDepth)
                            ? fmt::format("values nested deeper than {} levels", kMaxDocumentDepth)
                            : fmt::format("more than {} values", kMaxDocumentNodes);
      return out;
    }
    out.values[path] = i;
    char c = t[i];
    bool value_done = true;
    if (c == '{' || c == '[') {
      stack.push_back({c == '{', 0, path});
      ++i;
      skip_space();
      if (i < n && (t[i] == '}' || t[i] == ']')) {
        ++i;
        stack.pop_back();
      } else if (c == '{') {
        if (!read_key()) break;
        value_done = false;
      } else {
        path = IndexPath(stack.back().path, 0);
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
      path = f.path;
      if (t[i] == ',') {
        ++i;
        ++f.index;
        if (f.object) {
          if (!read_key()) return out;
        } else {
          path = IndexPath(f.path, f.index);
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

  bool Convert(const Json& j, uint64_t path, int depth, DocNode* out) {
    auto it = offsets_.values.find(path);
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
        for (size_t k = 0; k < j.size(); ++k) {
          if (!Convert(j[k], IndexPath(path, k), depth + 1, &out->items.emplace_back())) {
            return false;
          }
        }
        return true;
      }
      case Json::value_t::object: {
        out->kind = DocNode::Kind::kMap;
        for (const auto& [key, value] : j.items()) {
          uint64_t key_path = KeyPath(path, key);
          auto k = offsets_.keys.find(key_path);
          DocNode::Entry& e = out->entries.emplace_back();
          e.key = key;
          e.key_position =
              k == offsets_.keys.end() ? out->position : ctx_->lines().PositionAt(k->second);
          if (!Convert(value, key_path, depth + 1, &e.value)) return false;
        }
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
  JsonOffsets offsets = ScanOffsets(text);
  if (offsets.over_budget_at) {
    ctx->Error(ctx->lines().PositionAt(*offsets.over_budget_at), std::move(offsets.over_budget));
    ++ctx->result()->failed;
    return;
  }
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
  DocNode root;
  if (!Converter(offsets, ctx).Convert(json, kRootPath, 0, &root)) {
    ++ctx->result()->failed;
    return;
  }
  BuildRulesFromDocument(root, ctx);
}

}  // namespace kestrel::rules
