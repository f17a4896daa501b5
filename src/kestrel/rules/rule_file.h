// Reading one rule file: format by extension, the per-format readers (formats.h), and the rule
// id registry that rejects duplicate ids. docs/rules.md documents the formats.
//
//   .eql          one EQL query, optional `// key: value` header
//   .json .yaml .yml  one rule map, or a `rules:` list of rule maps
//   .toml         an Elastic detection-rules file ([metadata], [rule], [[rule.threat]])
//   .yaml .yml    with Sigma's `logsource` + `detection` (or `correlation`): Sigma rules,
//                 converted to EQL (docs/sigma.md; RuleSpec::format is kSigma)
//
// Nothing here throws: parser exceptions are caught in the readers and become diagnostics with
// the file's line and column. A file larger than kMaxRuleFileBytes is rejected unread.
// Thread safety: the functions are reentrant; a RuleIdRegistry is used by one thread.
// Tested by rule_file_test.cc.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "kestrel/base/string_map.h"
#include "kestrel/rules/rule_spec.h"

namespace kestrel::rules {

inline constexpr size_t kMaxRuleFileBytes = size_t{4} << 20;

class SigmaMapping;

struct LoadOptions {
  // The mapping Sigma files are converted with (sigma_mapping.h); null: SigmaMapping::Default().
  // REQUIRES: outlives the load.
  const SigmaMapping* sigma_mapping = nullptr;
};

// The format of a file by its extension (.eql .json .yaml .yml .toml, any case); nullopt for
// anything else.
std::optional<RuleFormat> RuleFormatForPath(const std::filesystem::path& path);

// Whether `path` names a rule test file (docs/rules.md, "Testing a rule"): a name ending in
// ".test.yaml" or ".test.yml" (any case), such as `foo.test.yaml` beside `foo.eql`. Loaders
// never read such files as rules; `kestrel test-rules` does.
bool IsRuleTestFile(const std::filesystem::path& path);

// Reads the rules in `text`, a file of `format` named `file` (used in diagnostics, and its stem
// as the default id of a .eql rule). Duplicate ids within the text are rejected.
LoadResult LoadRuleText(std::string_view file, RuleFormat format, std::string_view text,
                        const LoadOptions& options = {});

// Reads one rule file; its format comes from the extension. An unreadable file, an unknown
// extension or a file over kMaxRuleFileBytes gives one error without a position.
LoadResult LoadRuleFile(const std::filesystem::path& path, const LoadOptions& options = {});

// Remembers where each rule id was first defined; the first definition wins.
class RuleIdRegistry {
 public:
  // Removes from result->rules, starting at index `first`, every rule whose id is already
  // registered (by an earlier call or earlier in the same call), with an error that names the
  // first definition, and counts it in result->failed. Registers the others.
  void RejectDuplicates(LoadResult* result, size_t first = 0);

 private:
  base::StringMap<std::string> first_definition_;  // id -> "file:line:col"
};

}  // namespace kestrel::rules
