// Rule packages: `kestrel compile RULES... --target ir|lua|wasm -o OUT` writes one
// (cli/package_command.h); `kestrel run --rules OUT` loads it (here).
//
// A package is a directory:
//   manifest.json        format, Kestrel and Host API versions, target, dialect, the rules (id,
//                        metadata, predicate file) and every file's SHA-256, and the ids of the
//                        non-catalogue fields the predicates name
//   rules/NNNN/<name>    the source rule files, numbered in load order
//   predicates/NNNN.lua|.wasm|.ir   one compiled predicate per rule, in load order (ir: the IR
//                        dump, checked against the recompiled rule; evaluated natively)
//   predicates/NNNN.so   with --aot: the .wasm translated ahead of time (runtime/wasm/aot.h)
//   functions/functions.lua|.wasm   with --functions: the custom functions rules call (the
//                        manifest lists their declarations, runtime/function_module.h)
// Loading verifies, before anything runs: the format, the Host API version (a mismatch names
// both), every file's SHA-256 (a mismatch names the file), and that the rules recompile to the
// same ids in the same order; the predicates' non-catalogue FieldIds are mapped by name to this
// schema's (runtime::FieldMap). The rules are
// recompiled from their sources (the engine needs their whole IR: stages, keys, pipes); only the
// stage predicates come from the package, through the runtime of its target.
// Tested by rule_package_test.sh.
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/runtime/function_module.h"
#include "kestrel/schema/schema.h"

namespace kestrel::pipeline {

// The manifest's format name and version.
inline constexpr char kPackageFormat[] = "kestrel-rule-package";
inline constexpr int kPackageFormatVersion = 1;

// The SHA-256 of `bytes` in hex (the manifest's file hashes), and a file's bytes.
std::string PackageSha256(std::string_view bytes);
absl::StatusOr<std::string> ReadPackageFile(const std::filesystem::path& path);

// Whether `dir` holds a manifest.json.
bool IsRulePackage(const std::string& dir);

class OpenedPackage {
 public:
  virtual ~OpenedPackage() = default;
  // Where the package's rule sources are (for the rule loader).
  virtual const std::string& rules_dir() const = 0;
  virtual const std::string& target() const = 0;
  virtual const std::string& dialect() const = 0;
  // The package's custom functions (nullptr when it has none): their signatures for LoadRules,
  // NewInstance() for each worker's Detector.
  virtual const runtime::FunctionModule* functions() const = 0;
  // Checks the rules loaded from rules_dir() against the manifest.
  // REQUIRES: `build` and `schema` outlive the package and its runtimes.
  virtual absl::Status Bind(const rules::RuleSetBuild& build, const schema::Schema& schema) = 0;
  // After Bind(): a runtime that supplies the package's predicates to one thread's Detector
  // (nullptr for target ir: native evaluation). Call once per worker.
  virtual absl::StatusOr<std::unique_ptr<engine::PredicateRuntime>> NewRuntime() const = 0;
};

// Reads the manifest and verifies versions and hashes.
absl::StatusOr<std::unique_ptr<OpenedPackage>> OpenRulePackage(const std::string& dir);

// For `run` and `replay --rules DIR`: when *rules_dir is a rule package, opens it, points
// *rules_dir at its rule sources and *endgame at its dialect; nullptr when it is not a package.
// Errors: a package that does not verify (DATA_LOSS, INVALID_ARGUMENT from OpenRulePackage...),
// or FAILED_PRECONDITION when `predicate_runtime` is not native (a package brings its own).
absl::StatusOr<std::unique_ptr<OpenedPackage>> OpenPackageIfAny(
    std::optional<std::string>* rules_dir, bool* endgame, std::string_view predicate_runtime);

}  // namespace kestrel::pipeline
