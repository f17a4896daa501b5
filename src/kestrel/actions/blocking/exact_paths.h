// Rules that name exact files, which the kernel can enforce by inode without running the rule:
// `kill` rules armed at exec (sources/ebpf `kill_inodes`) and `block` rules on the BPF-LSM path
// (lsm_guard.h). A rule qualifies when it is a one-stage event query with no pipes whose whole
// condition is
//   process where process.executable == "/PATH"      (or `process.executable in ("/A", "/B")`)
//   file    where file.path          == "/PATH"      (or `file.path in (...)`)
// compared with case (not `:`, `~`, `like~`, nor an Endgame rule without case), every value an
// absolute path. Anything else (wildcards, other conditions, sequences, another category) is not
// exact and stays on the general path (the user-space guard, or a kill after the alert).
//
// Pure functions of the compiled programs; no I/O. Tested by exact_paths_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "kestrel/eql/ir.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/schema/field.h"

namespace kestrel::actions::blocking {

// The condition's field: process.executable in a process stage (an exec), file.path in a file
// stage (an open).
enum class ExactField : uint8_t { kExecutable, kFilePath };

// True when `node` is exactly `field == "V"` (either side) or `field in ("V", ...)` with
// case-sensitive comparison and string values; the values are appended to *out. False (and *out
// unchanged) otherwise.
bool ExactStringValues(const eql::IrNode& node, schema::FieldId field,
                       std::vector<std::string>* out);

// The paths of a rule of the shape above for `field`, or nullopt.
std::optional<std::vector<std::string>> ExactPaths(const eql::IrProgram& program, ExactField field);

// A file an exact-path block rule names, with the rule's index in the `active` list it came from.
struct RulePath {
  std::string path;
  size_t rule = 0;

  bool operator==(const RulePath&) const = default;
};

// The active rules with action `block`, split by what can enforce them:
//   exec: exact-executable block rules' files (deny their exec in the kernel);
//   open: exact-file-path block rules' files (deny their open in the kernel);
//   general: every other block rule, in order, for the user-space (fanotify) guard.
// RulePath::rule is the rule's position in `active`. Rules with another action are in none of
// the lists. The pointers are `active`'s.
struct BlockRuleSplit {
  std::vector<RulePath> exec;
  std::vector<RulePath> open;
  std::vector<const rules::CompiledRule*> general;
};
BlockRuleSplit SplitBlockRules(const std::vector<const rules::CompiledRule*>& active);

}  // namespace kestrel::actions::blocking
