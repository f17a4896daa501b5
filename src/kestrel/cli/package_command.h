// `kestrel compile RULES... --target ir|lua|wasm -o OUT`: writes a rule package (the format is
// described in pipeline/rule_package.h, which loads it).
// Tested by rule_package_test.sh.
#pragma once

#include <string>
#include <vector>

namespace kestrel::cli {

struct PackageCompileOptions {
  std::vector<std::string> inputs;  // rule files and directories
  std::string target = "lua";       // ir, lua or wasm
  std::string output;               // the package directory (created; must not exist or be empty)
  std::string dialect = "elasticsearch";
  std::string kestrel_version;
  // RULE_ID=FILE: the rule's predicate is FILE (a user-written Lua chunk or Wasm module of the
  // target's kind, Host API v1) instead of the compiled one; it replaces the rule's conditions.
  std::vector<std::string> predicates;
  // --aot (target wasm): also translate each module with wasm2c and the C compiler into
  // predicates/NNNN.so, which `run` loads instead of interpreting the module.
  bool aot = false;
  // A function module (runtime/function_module.h), Lua or Wasm, whose functions the rules may
  // call; shipped as functions/functions.lua|.wasm, its declarations in the manifest.
  std::string functions;
  std::vector<std::string> declared_functions;  // --function: the Wasm module's declarations
};

int CompilePackageCommand(const PackageCompileOptions& options);

// Writes the package; returns an exit code (run_command.h).
int CompilePackageCommand(const PackageCompileOptions& options);

}  // namespace kestrel::cli
