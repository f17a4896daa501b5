// The Sigma field mapping: parsing, merging, logsource lookup. Tested by sigma_test.cc.
#include "kestrel/rules/sigma_mapping.h"

#include <fmt/format.h>

#include "kestrel/base/files.h"
#include "kestrel/rules/document.h"
#include "kestrel/rules/formats.h"
#include "kestrel/rules/rule_file.h"

namespace kestrel::rules {

extern const char kDefaultSigmaMappingText[];  // sigma_mapping_data.cc (generated)

namespace {

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

class MappingParser {
 public:
  MappingParser(std::string_view file, std::vector<std::string>* errors)
      : file_(file), errors_(errors) {}

  void Error(const DocNode& at, std::string_view message) {
    errors_->push_back(
        fmt::format("{}:{}:{}: {}", file_, at.position.line, at.position.column, message));
  }

  std::optional<std::string> Scalar(const DocNode& node, std::string_view what) {
    if (node.is_scalar() && node.kind != DocNode::Kind::kNull) return node.text;
    Error(node, fmt::format("'{}' must be a string, found a {}", what, node.KindName()));
    return std::nullopt;
  }

  void Parse(const DocNode& root, std::vector<SigmaLogsource>* into) {
    if (root.kind != DocNode::Kind::kMap) {
      Error(root, fmt::format("a Sigma mapping must be a map, found a {}", root.KindName()));
      return;
    }
    for (const DocNode::Entry& e : root.entries) {
      if (e.key == "version") {
        if (e.value.AsInt() != 1) Error(e.value, "unsupported mapping 'version' (expected 1)");
      } else if (e.key != "logsources") {
        Error(e.value, fmt::format("unknown key '{}' (expected version, logsources)", e.key));
      }
    }
    const DocNode* logsources = root.Find("logsources");
    if (logsources == nullptr) return;
    if (logsources->kind != DocNode::Kind::kMap) {
      Error(*logsources, "'logsources' must be a map of logsource names");
      return;
    }
    for (const DocNode::Entry& e : logsources->entries) {
      SigmaLogsource* ls = nullptr;
      for (SigmaLogsource& existing : *into) {
        if (existing.name == e.key) ls = &existing;
      }
      if (ls == nullptr) {
        ls = &into->emplace_back();
        ls->name = e.key;
      }
      ParseLogsource(e.value, ls);
    }
  }

 private:
  void ParseLogsource(const DocNode& node, SigmaLogsource* ls) {
    if (node.kind != DocNode::Kind::kMap) {
      Error(node, fmt::format("logsource '{}' must be a map", ls->name));
      return;
    }
    for (const DocNode::Entry& e : node.entries) {
      std::string* target = e.key == "category"   ? &ls->category
                            : e.key == "product"  ? &ls->product
                            : e.key == "service"  ? &ls->service
                            : e.key == "query"    ? &ls->query
                            : e.key == "keywords" ? &ls->keywords
                                                  : nullptr;
      if (target != nullptr) {
        if (auto s = Scalar(e.value, e.key)) *target = std::move(*s);
      } else if (e.key == "fields") {
        ParseFields(e.value, &ls->fields);
      } else if (e.key == "records" && e.value.kind == DocNode::Kind::kMap) {
        for (const DocNode::Entry& r : e.value.entries) ParseRecord(r, ls);
      } else {
        Error(e.value, fmt::format("unknown key '{}' in logsource '{}'", e.key, ls->name));
      }
    }
    if (ls->query.empty()) Error(node, fmt::format("logsource '{}' has no 'query'", ls->name));
    if (ls->category.empty() && ls->service.empty()) {
      Error(node, fmt::format("logsource '{}' names no 'category' or 'service'", ls->name));
    }
  }

  void ParseRecord(const DocNode::Entry& entry, SigmaLogsource* ls) {
    SigmaRecord* record = nullptr;
    for (SigmaRecord& r : ls->records) {
      if (r.name == entry.key) record = &r;
    }
    if (record == nullptr) {
      record = &ls->records.emplace_back();
      record->name = entry.key;
    }
    if (entry.value.kind != DocNode::Kind::kMap) {
      Error(entry.value, fmt::format("record '{}' must be a map (condition, fields)", entry.key));
      return;
    }
    for (const DocNode::Entry& e : entry.value.entries) {
      if (e.key == "condition") {
        if (auto s = Scalar(e.value, "condition")) record->condition = std::move(*s);
      } else if (e.key == "fields") {
        ParseFields(e.value, &record->fields);
      } else {
        Error(e.value, fmt::format("unknown key '{}' in record '{}'", e.key, entry.key));
      }
    }
    if (record->condition.empty()) {
      Error(entry.value, fmt::format("record '{}' has no 'condition'", entry.key));
    }
  }

  void ParseFields(const DocNode& node, std::map<std::string, SigmaField, std::less<>>* fields) {
    if (node.kind != DocNode::Kind::kMap) {
      Error(node, "'fields' must be a map of Sigma field -> ECS field");
      return;
    }
    for (const DocNode::Entry& e : node.entries) {
      SigmaField field;
      if (e.value.kind == DocNode::Kind::kMap) {
        for (const DocNode::Entry& f : e.value.entries) {
          if (f.key == "field") {
            if (auto s = Scalar(f.value, "field")) field.ecs = std::move(*s);
          } else if (f.key == "type") {
            auto s = Scalar(f.value, "type");
            if (s && *s != "number" && *s != "string" && *s != "ip") {
              Error(f.value, "'type' must be number, ip or string");
            }
            field.numeric = s && *s == "number";
            field.ip = s && *s == "ip";
          } else if (f.key == "values" && f.value.kind == DocNode::Kind::kMap) {
            for (const DocNode::Entry& v : f.value.entries) {
              if (auto s = Scalar(v.value, "value")) field.values.emplace_back(v.key, *s);
            }
          } else {
            Error(f.value, fmt::format("unknown key '{}' in field '{}' (expected field, type, "
                                       "values: a map)",
                                       f.key, e.key));
          }
        }
      } else if (auto s = Scalar(e.value, e.key)) {
        field.ecs = std::move(*s);
      }
      if (field.ecs.empty()) {
        Error(e.value, fmt::format("field '{}' maps to no ECS field", e.key));
        continue;
      }
      (*fields)[e.key] = std::move(field);
    }
  }

  std::string_view file_;
  std::vector<std::string>* errors_;
};

}  // namespace

const SigmaMapping& SigmaMapping::Default() {
  static const SigmaMapping* mapping = [] {
    auto* m = new SigmaMapping;
    // The embedded file is checked by sigma_test.cc (DefaultMappingParses).
    m->Extend("<built-in sigma mapping>", kDefaultSigmaMappingText);
    return m;
  }();
  return *mapping;
}

std::string_view SigmaMapping::DefaultText() { return kDefaultSigmaMappingText; }

std::vector<std::string> SigmaMapping::Extend(std::string_view file, std::string_view text) {
  std::vector<std::string> errors;
  LoadResult scratch;
  FileContext ctx{std::string(file), RuleFormat::kYaml, text, &scratch};
  std::vector<DocNode> roots;
  if (!ParseYamlDocuments(&ctx, &roots)) {
    for (const LoadDiagnostic& d : scratch.diagnostics) errors.push_back(FormatLoadDiagnostic(d));
    return errors;
  }
  std::vector<SigmaLogsource> merged = logsources_;
  MappingParser parser(file, &errors);
  for (const DocNode& root : roots) parser.Parse(root, &merged);
  if (roots.empty()) errors.push_back(fmt::format("{}: the mapping file is empty", file));
  if (errors.empty()) logsources_ = std::move(merged);
  return errors;
}

const SigmaLogsource* SigmaMapping::Find(std::string_view category, std::string_view product,
                                         std::string_view service) const {
  for (const SigmaLogsource& ls : logsources_) {
    bool match = !category.empty() ? EqualsNoCase(ls.category, category)
                                   : !service.empty() && EqualsNoCase(ls.service, service);
    if (!category.empty() && !service.empty() && !ls.service.empty() &&
        !EqualsNoCase(ls.service, service)) {
      match = false;
    }
    if (match && !product.empty() && !ls.product.empty() && !EqualsNoCase(ls.product, product)) {
      match = false;
    }
    if (match) return &ls;
  }
  return nullptr;
}

std::vector<std::string> LoadSigmaMapping(const std::string& path, SigmaMapping* out) {
  *out = SigmaMapping::Default();
  auto text = base::ReadFileBounded(path, kMaxRuleFileBytes);
  if (!text.ok()) {
    return {fmt::format("{}: cannot read the Sigma mapping: {}", path,
                        std::string(text.status().message()))};
  }
  return out->Extend(path, *text);
}

}  // namespace kestrel::rules
