// Loading rule paths: directory walk, ordering, merging per-file results, duplicate ids.
// Tested by loader_test.cc.
#include "kestrel/rules/loader.h"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "kestrel/rules/rule_file.h"

namespace kestrel::rules {
namespace {

namespace fs = std::filesystem;

bool IsHidden(const fs::path& p) {
  std::string name = p.filename().string();
  return !name.empty() && name[0] == '.';
}

void AddError(LoadResult* result, std::string file, std::string message) {
  result->diagnostics.push_back(
      {std::move(file), {}, LoadDiagnostic::Kind::kError, std::move(message)});
  ++result->failed;
}

// The rule files below `dir`, sorted. Errors while listing are reported and the walk goes on.
std::vector<fs::path> ListRuleFiles(const fs::path& dir, LoadResult* result) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec);
  if (ec) {
    AddError(result, dir.string(), fmt::format("cannot list the directory: {}", ec.message()));
    return files;
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      AddError(result, dir.string(), fmt::format("cannot list the directory: {}", ec.message()));
      break;
    }
    const fs::directory_entry& entry = *it;
    if (IsHidden(entry.path())) {
      if (entry.is_directory(ec)) it.disable_recursion_pending();
      continue;
    }
    if (entry.is_regular_file(ec) && RuleFormatForPath(entry.path()) &&
        !IsRuleTestFile(entry.path())) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

void Merge(LoadResult&& from, RuleIdRegistry* ids, LoadResult* into) {
  size_t first = into->rules.size();
  for (RuleSpec& rule : from.rules) into->rules.push_back(std::move(rule));
  for (LoadDiagnostic& d : from.diagnostics) into->diagnostics.push_back(std::move(d));
  into->files += from.files;
  into->skipped += from.skipped;
  into->failed += from.failed;
  ids->RejectDuplicates(into, first);
}

}  // namespace

LoadResult LoadRulePaths(const std::vector<std::string>& paths, const LoadOptions& options) {
  LoadResult result;
  RuleIdRegistry ids;
  for (const std::string& path : paths) {
    std::error_code ec;
    fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) {
      AddError(&result, path, "no such file or directory");
      continue;
    }
    if (fs::is_directory(status)) {
      for (const fs::path& file : ListRuleFiles(path, &result)) {
        Merge(LoadRuleFile(file, options), &ids, &result);
      }
    } else {
      Merge(LoadRuleFile(path, options), &ids, &result);
    }
  }
  return result;
}

}  // namespace kestrel::rules
