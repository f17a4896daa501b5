// Saved hunts (issue 24): `kestrel query --save NAME`, `--run NAME`, `--list`, `--to-rule NAME`.
//
// A hunt is one YAML file, `<rules dir>/hunts/NAME.hunt` (the rule loader reads .eql/.json/.yaml/
// .yml/.toml only, so a hunt is never loaded as a rule), with the keys `name`, `query`,
// `dialect`, and those given when it was saved: `case_sensitive`, `case_insensitive`, `fields`,
// `format`, `input`, `time_field`, `time_format`. Unknown keys are reported and ignored. The
// rules directory is `query --rules DIR`, else the configuration's `run.rules`, else the one
// `kestrel run` finds (ResolveRulesDir).
// Files are created 0600 (the hunts/ directory 0700) without following symbolic links; a hunt
// of the same name is replaced only with `--force`. NAME: 1..64 of [A-Za-z0-9_.-], not starting
// with '.' (no path separators, no `..`, no hidden files).
//
// `--to-rule NAME` writes `<rules dir>/NAME.eql` (the `// key: value` header of docs/rules.md:
// id = the UUID v5 of NAME in Kestrel's hunt namespace, so the same name always gives the same
// id; name; a description placeholder; severity medium; risk_score 47; tags; the dialect when
// not elasticsearch; action alert) and `NAME.test.yaml` (a stub with no cases, so test-rules
// reports the rule until cases are written); it never overwrites either file.
// Tested by saved_hunts_test.cc and hunting_test.sh (CTest cli_hunting).
#pragma once

#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kestrel/cli/query_command.h"

namespace kestrel::cli {

struct SavedHunt {
  std::string name;
  std::string query;
  std::string dialect = "elasticsearch";
  bool case_sensitive = false;
  bool case_insensitive = false;
  std::vector<std::string> fields;
  std::optional<std::string> format;
  std::optional<std::string> input;
  std::optional<std::string> time_field;
  std::optional<std::string> time_format;
};

// OK, or INVALID_ARGUMENT saying what is wrong with `name`.
absl::Status ValidateHuntName(std::string_view name);

// The hunt file's text, and its parse (`warnings` gets a line per unknown key). Errors:
// INVALID_ARGUMENT `FILE:LINE:COL: error: what`, the line and a caret under the column.
std::string HuntToYaml(const SavedHunt& hunt);
absl::StatusOr<SavedHunt> HuntFromYaml(std::string_view text, std::vector<std::string>* warnings,
                                       std::string_view file = "hunt");

// `<rules_dir>/hunts/NAME.hunt`.
std::filesystem::path HuntPath(const std::filesystem::path& rules_dir, std::string_view name);

// Writes the hunt (creating hunts/ 0700). ALREADY_EXISTS unless `overwrite`.
absl::Status SaveHunt(const std::filesystem::path& rules_dir, const SavedHunt& hunt,
                      bool overwrite);
// NOT_FOUND (naming the file and `--list`) when there is no such hunt.
absl::StatusOr<SavedHunt> LoadHunt(const std::filesystem::path& rules_dir, std::string_view name,
                                   std::vector<std::string>* warnings);
// Every hunt, by name (files that do not parse are skipped, with a warning each).
std::vector<SavedHunt> ListHunts(const std::filesystem::path& rules_dir,
                                 std::vector<std::string>* warnings);

// The options of `hunt`, except those the command line gave (`given`: flag names such as
// "--dialect", "--fields").
void ApplyHunt(const SavedHunt& hunt, const std::set<std::string>& given, QueryOptions* options);
// The hunt `options` describe (the input only when `input_given`).
SavedHunt HuntFromOptions(std::string_view name, const QueryOptions& options,
                          const std::set<std::string>& given);

// The UUID v5 of `name` in Kestrel's hunt namespace (lowercase, 36 characters).
std::string HuntRuleId(std::string_view name);

struct PromotedRule {
  std::filesystem::path rule;   // NAME.eql
  std::filesystem::path tests;  // NAME.test.yaml
};
// Writes the rule and its test stub into `rules_dir`. ALREADY_EXISTS (naming the file) if either
// exists; nothing is written then.
absl::StatusOr<PromotedRule> PromoteHunt(const std::filesystem::path& rules_dir,
                                         const SavedHunt& hunt);

}  // namespace kestrel::cli
