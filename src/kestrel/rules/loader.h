// LoadRulePaths: rule files and directories -> RuleSpecs, for `kestrel run`, `check` and the
// rule manager.
//
// Each path is read in the order given: a file whatever its extension (an unknown one is an
// error), a directory recursively, taking its regular files whose extension is .eql, .json,
// .yaml, .yml or .toml (others, and rule test files `*.test.yaml`, are ignored), in
// std::filesystem::path order (component-wise, so a directory's files come before its sibling files
// that sort after it) — the same order on every run. Names starting with '.' (editor temporaries,
// .git) are ignored, and directory symlinks are not followed, so recursion terminates. A file that
// fails does not stop the others. Rule ids are unique across all files: a later duplicate is an
// error naming the first file. Cost: one read and parse per file; directory listings are sorted (n
// log n). Tested by loader_test.cc.
#pragma once

#include <string>
#include <vector>

#include "kestrel/rules/rule_file.h"
#include "kestrel/rules/rule_spec.h"

namespace kestrel::rules {

LoadResult LoadRulePaths(const std::vector<std::string>& paths, const LoadOptions& options = {});

}  // namespace kestrel::rules
