// Parsing rule test files (rule_test_file.h documents the format): YAML -> DocNodes (the rule
// file reader's converter) -> cases whose events are JSON objects with dotted keys.
// Flattening is iterative over the map levels of one event (an explicit stack), so depth is
// bounded by the converter's kMaxDocumentDepth and never by C++ recursion on input beyond it.
// Linear in the size of the file. Tested by rule_test_file_test.cc.
#include "kestrel/rules/rule_test_file.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <utility>

#include <fmt/format.h>

#include "kestrel/rules/formats.h"
#include "kestrel/rules/rule_file.h"

namespace kestrel::rules {
namespace {

void AppendJsonString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\r':
        *out += "\\r";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          *out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

// A value as JSON; maps inside lists stay nested objects. Depth is bounded by the converter.
void AppendJson(const DocNode& node, std::string* out) {
  switch (node.kind) {
    case DocNode::Kind::kNull:
      *out += "null";
      return;
    case DocNode::Kind::kBool:
      *out += node.bool_value ? "true" : "false";
      return;
    case DocNode::Kind::kInt:
      *out += std::to_string(node.int_value);
      return;
    case DocNode::Kind::kFloat:
    case DocNode::Kind::kString:
      AppendJsonString(node.text, out);
      return;
    case DocNode::Kind::kList: {
      out->push_back('[');
      for (size_t i = 0; i < node.items.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJson(node.items[i], out);
      }
      out->push_back(']');
      return;
    }
    case DocNode::Kind::kMap: {
      out->push_back('{');
      for (size_t i = 0; i < node.entries.size(); ++i) {
        if (i > 0) out->push_back(',');
        AppendJsonString(node.entries[i].key, out);
        out->push_back(':');
        AppendJson(node.entries[i].value, out);
      }
      out->push_back('}');
      return;
    }
  }
}

class Parser {
 public:
  Parser(std::string_view file, std::string_view text)
      : ctx_(std::string(file), RuleFormat::kYaml, text, &diagnostics_sink_) {}

  RuleTestLoad Parse() {
    RuleTestLoad out;
    std::vector<DocNode> roots;
    if (!ParseYamlDocuments(&ctx_, &roots)) return Finish(std::move(out));
    if (roots.size() != 1 || roots[0].kind != DocNode::Kind::kMap) {
      Error(roots.empty() ? SourcePosition{} : roots[0].position,
            "a rule test file is one map with a 'cases' list");
      return Finish(std::move(out));
    }
    const DocNode& root = roots[0];
    RuleTestFile test;
    test.file = ctx_.file();
    for (const DocNode::Entry& e : root.entries) {
      if (e.key != "rule" && e.key != "defaults" && e.key != "cases") {
        Error(e.key_position,
              fmt::format("unknown key '{}' (expected rule, defaults or cases)", e.key));
      }
    }
    if (const DocNode* rule = root.Find("rule")) {
      if (rule->kind != DocNode::Kind::kString || rule->text.empty()) {
        Error(rule->position, "'rule' must be a rule id");
      } else {
        test.rule_id = rule->text;
      }
    }
    std::vector<std::pair<std::string, const DocNode*>> defaults;
    if (const DocNode* d = root.Find("defaults")) {
      if (d->kind != DocNode::Kind::kMap) {
        Error(d->position, "'defaults' must be a map of fields");
      } else {
        Flatten(*d, &defaults);
      }
    }
    const DocNode* cases = root.Find("cases");
    if (cases == nullptr || cases->kind != DocNode::Kind::kList || cases->items.empty()) {
      Error(cases ? cases->position : root.position, "'cases' must be a non-empty list");
    } else {
      std::set<std::string> names;
      for (const DocNode& c : cases->items) {
        RuleTestCase parsed;
        if (ParseCase(c, defaults, &parsed)) {
          if (!names.insert(parsed.name).second) {
            Error(parsed.position, fmt::format("a second case named '{}'", parsed.name));
          }
          test.cases.push_back(std::move(parsed));
        }
      }
    }
    if (ok_) out.test = std::move(test);
    return Finish(std::move(out));
  }

 private:
  RuleTestLoad Finish(RuleTestLoad out) {
    out.diagnostics = std::move(diagnostics_sink_.diagnostics);
    return out;
  }

  void Error(SourcePosition pos, std::string message) {
    ctx_.Error(pos, std::move(message));
    ok_ = false;
  }

  // Map levels -> (dotted key, value) leaves, in file order; an explicit stack of map levels.
  void Flatten(const DocNode& map, std::vector<std::pair<std::string, const DocNode*>>* out) {
    struct Level {
      const DocNode* map;
      size_t next;
      std::string prefix;
    };
    std::vector<Level> stack = {{&map, 0, ""}};
    while (!stack.empty()) {
      Level& level = stack.back();
      if (level.next == level.map->entries.size()) {
        stack.pop_back();
        continue;
      }
      const DocNode::Entry& e = level.map->entries[level.next++];
      std::string key = level.prefix.empty() ? e.key : level.prefix + "." + e.key;
      if (e.key.empty()) {
        Error(e.key_position, "field names must be non-empty strings");
      } else if (e.value.kind == DocNode::Kind::kMap && !e.value.entries.empty()) {
        stack.push_back({&e.value, 0, std::move(key)});
      } else {
        out->emplace_back(std::move(key), &e.value);
      }
    }
  }

  std::optional<uint64_t> Index(const DocNode& node, size_t events) {
    if (node.kind != DocNode::Kind::kInt || node.int_value < 0 ||
        static_cast<uint64_t>(node.int_value) >= events) {
      Error(node.position, fmt::format("an event index must be an integer from 0 to {}, found '{}'",
                                       events == 0 ? 0 : events - 1, node.text));
      return std::nullopt;
    }
    return static_cast<uint64_t>(node.int_value);
  }

  bool ParseExpected(const DocNode& node, size_t events, ExpectedAlert* out) {
    out->position = node.position;
    const DocNode* list = &node;
    if (node.kind == DocNode::Kind::kMap) {
      const DocNode* rule = node.Find("rule");
      if (rule != nullptr) {
        if (rule->kind != DocNode::Kind::kString) {
          Error(rule->position, "'rule' must be a rule id");
          return false;
        }
        out->rule_id = rule->text;
      }
      list = node.Find("events");
      if (list == nullptr) {
        Error(node.position, "an expected alert needs 'events' (the indexes of its events)");
        return false;
      }
    }
    if (list->kind != DocNode::Kind::kList || list->items.empty()) {
      Error(list->position,
            "an expected alert is a non-empty list of event indexes, or {rule: ID, events: [..]}");
      return false;
    }
    bool ok = true;
    for (const DocNode& item : list->items) {
      auto index = Index(item, events);
      if (index) {
        out->events.push_back(*index);
      } else {
        ok = false;
      }
    }
    return ok;
  }

  bool ParseCase(const DocNode& node,
                 const std::vector<std::pair<std::string, const DocNode*>>& defaults,
                 RuleTestCase* out) {
    if (node.kind != DocNode::Kind::kMap) {
      Error(node.position, "a case must be a map with name, expect and events");
      return false;
    }
    out->position = node.position;
    for (const DocNode::Entry& e : node.entries) {
      if (e.key != "name" && e.key != "expect" && e.key != "events") {
        Error(e.key_position,
              fmt::format("unknown case key '{}' (expected name, expect or events)", e.key));
      }
    }
    const DocNode* name = node.Find("name");
    if (name == nullptr || name->kind != DocNode::Kind::kString || name->text.empty()) {
      Error(name ? name->position : node.position, "a case needs a 'name'");
      return false;
    }
    out->name = name->text;
    const DocNode* events = node.Find("events");
    if (events == nullptr || events->kind != DocNode::Kind::kList || events->items.empty()) {
      Error(events ? events->position : node.position,
            fmt::format("case '{}' needs a non-empty 'events' list", out->name));
      return false;
    }
    size_t with_time = 0;
    bool ok = true;
    for (size_t i = 0; i < events->items.size(); ++i) {
      const DocNode& event = events->items[i];
      if (event.kind != DocNode::Kind::kMap) {
        Error(event.position, "an event must be a map of fields");
        ok = false;
        continue;
      }
      std::vector<std::pair<std::string, const DocNode*>> fields;
      Flatten(event, &fields);
      std::set<std::string_view> seen;
      for (const auto& [key, value] : fields) {
        if (!seen.insert(key).second) {
          Error(value->position, fmt::format("field '{}' given twice", key));
          ok = false;
        }
      }
      bool has_time = seen.count("@timestamp") > 0;
      with_time += has_time ? 1 : 0;
      std::string json = "{";
      auto add = [&json](std::string_view key, const DocNode& value) {
        if (json.size() > 1) json.push_back(',');
        AppendJsonString(key, &json);
        json.push_back(':');
        AppendJson(value, &json);
      };
      for (const auto& [key, value] : fields) add(key, *value);
      for (const auto& [key, value] : defaults) {
        if (!seen.count(key)) add(key, *value);
      }
      if (!has_time) {
        if (json.size() > 1) json.push_back(',');
        json += fmt::format("\"@timestamp\":{}",
                            kTestBaseTimeMs + static_cast<int64_t>(i) * kTestEventStepMs);
      }
      json.push_back('}');
      out->events.push_back(std::move(json));
    }
    if (with_time != 0 && with_time != events->items.size()) {
      Error(events->position,
            fmt::format("case '{}': give '@timestamp' on every event or on none", out->name));
      ok = false;
    }
    const DocNode* expect = node.Find("expect");
    if (expect == nullptr || expect->kind != DocNode::Kind::kList) {
      Error(expect ? expect->position : node.position,
            fmt::format("case '{}' needs 'expect': a list of alerts ([] for none)", out->name));
      return false;
    }
    for (const DocNode& alert : expect->items) {
      ExpectedAlert parsed;
      if (ParseExpected(alert, events->items.size(), &parsed)) {
        out->expected.push_back(std::move(parsed));
      } else {
        ok = false;
      }
    }
    return ok;
  }

  LoadResult diagnostics_sink_;
  FileContext ctx_;
  bool ok_ = true;
};

}  // namespace

RuleTestLoad ParseRuleTestText(std::string_view file, std::string_view text) {
  return Parser(file, text).Parse();
}

RuleTestLoad LoadRuleTestFile(const std::filesystem::path& path) {
  auto fail = [&](std::string message) {
    RuleTestLoad out;
    out.diagnostics.push_back(
        {path.string(), {}, LoadDiagnostic::Kind::kError, std::move(message)});
    return out;
  };
  std::error_code ec;
  uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return fail("cannot read the file");
  if (size > kMaxRuleFileBytes) {
    return fail(fmt::format("larger than {} bytes; not read", kMaxRuleFileBytes));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail("cannot open the file");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return ParseRuleTestText(path.string(), text);
}

std::optional<std::filesystem::path> RuleFileForTest(const std::filesystem::path& test_file) {
  std::string name = test_file.filename().string();
  size_t dot = name.size();
  for (std::string_view suffix : {".test.yaml", ".test.yml"}) {
    if (name.size() > suffix.size()) {
      std::string tail = name.substr(name.size() - suffix.size());
      std::transform(tail.begin(), tail.end(), tail.begin(),
                     [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; });
      if (tail == suffix) dot = name.size() - suffix.size();
    }
  }
  if (dot == name.size()) return std::nullopt;
  std::string stem = name.substr(0, dot);
  for (std::string_view ext : {".eql", ".yaml", ".yml", ".json", ".toml"}) {
    std::filesystem::path candidate = test_file.parent_path() / (stem + std::string(ext));
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  return std::nullopt;
}

}  // namespace kestrel::rules
