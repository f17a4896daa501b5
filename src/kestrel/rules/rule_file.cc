// One rule file: extension -> reader, file reading under a size budget, duplicate ids.
// Tested by rule_file_test.cc.
#include "kestrel/rules/rule_file.h"

#include <fstream>

#include <fmt/format.h>

#include "kestrel/base/files.h"
#include "kestrel/rules/formats.h"

namespace kestrel::rules {

std::optional<RuleFormat> RuleFormatForPath(const std::filesystem::path& path) {
  std::string ext = path.extension().string();
  for (char& c : ext) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  if (ext == ".eql") return RuleFormat::kEql;
  if (ext == ".json") return RuleFormat::kJson;
  if (ext == ".yaml" || ext == ".yml") return RuleFormat::kYaml;
  if (ext == ".toml") return RuleFormat::kToml;
  return std::nullopt;
}

bool IsRuleTestFile(const std::filesystem::path& path) {
  std::string name = path.filename().string();
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  return name.ends_with(".test.yaml") || name.ends_with(".test.yml");
}

LoadResult LoadRuleText(std::string_view file, RuleFormat format, std::string_view text,
                        const LoadOptions& options) {
  LoadResult result;
  result.files = 1;
  FileContext ctx{std::string(file), format, text, &result};
  ctx.set_sigma_mapping(options.sigma_mapping);
  switch (format) {
    case RuleFormat::kEql:
      ReadEqlFile(std::filesystem::path(file).stem().string(), &ctx);
      break;
    case RuleFormat::kJson:
      ReadJsonFile(&ctx);
      break;
    case RuleFormat::kYaml:
    case RuleFormat::kSigma:
      ReadYamlFile(&ctx);
      break;
    case RuleFormat::kToml:
      ReadTomlFile(&ctx);
      break;
  }
  RuleIdRegistry registry;
  registry.RejectDuplicates(&result);
  return result;
}

LoadResult LoadRuleFile(const std::filesystem::path& path, const LoadOptions& options) {
  std::string file = path.string();
  auto fail = [&](std::string message) {
    LoadResult result;
    result.files = 1;
    result.failed = 1;
    result.diagnostics.push_back({file, {}, LoadDiagnostic::Kind::kError, std::move(message)});
    return result;
  };
  if (IsRuleTestFile(path)) {
    return fail("a rule test file, not a rule file (run it with `kestrel test-rules`)");
  }
  std::optional<RuleFormat> format = RuleFormatForPath(path);
  if (!format) {
    return fail("not a rule file (expected the extension .eql, .json, .yaml, .yml or .toml)");
  }
  // A regular file within the size cap, checked before reading (a FIFO or a device named like
  // a rule file is refused, not waited on).
  auto text = base::ReadFileBounded(path, kMaxRuleFileBytes);
  if (!text.ok()) {
    switch (text.status().code()) {
      case absl::StatusCode::kResourceExhausted:
        return fail(fmt::format("the file is larger than {} bytes", kMaxRuleFileBytes));
      case absl::StatusCode::kFailedPrecondition:
        return fail("not a regular file");
      default:
        return fail("cannot open the file");
    }
  }
  return LoadRuleText(file, *format, *text, options);
}

void RuleIdRegistry::RejectDuplicates(LoadResult* result, size_t first) {
  std::vector<RuleSpec>& rules = result->rules;
  size_t kept = first;
  for (size_t i = first; i < rules.size(); ++i) {
    RuleSpec& rule = rules[i];
    std::string where =
        fmt::format("{}:{}:{}", rule.file, rule.position.line, rule.position.column);
    auto [it, inserted] = first_definition_.try_emplace(rule.id, where);
    if (!inserted) {
      result->diagnostics.push_back(
          {rule.file, rule.position, LoadDiagnostic::Kind::kError,
           fmt::format("duplicate rule id '{}' (first defined at {}); this rule is not loaded",
                       rule.id, it->second)});
      ++result->failed;
      continue;
    }
    if (kept != i) rules[kept] = std::move(rule);
    ++kept;
  }
  rules.resize(kept);
}

}  // namespace kestrel::rules
