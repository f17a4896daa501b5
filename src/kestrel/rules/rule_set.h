// Building a rule set: load rule files (loader.h), compile each EQL query (eql/sema.h) and map
// every diagnostic back to its rule file, rendered compiler-style:
//
//   rules/linux/x.toml:14:23: error: unknown function `startWith`
//     process where startWith(process.name, "ba")
//                   ^~~~~~~~~
//     hint: ...
//
// A rule with an error is left out and counted; the others are kept (bad input never stops the
// rest). Rules in other languages are counted as skipped. With `engine_limits` the engine's own
// refusals are checked here too, and with `warnings_are_errors` warnings fail their rule:
// pipeline::CheckRuleSet sets both the way `run` and `check` share.
// Tested by rule_set_test.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/ir.h"
#include "kestrel/eql/sema.h"
#include "kestrel/rules/rule_spec.h"
#include "kestrel/schema/schema.h"

namespace kestrel::rules {

class SigmaMapping;

struct CompiledRule {
  RuleSpec spec;
  std::shared_ptr<const eql::IrProgram> program;  // immutable once built
};

struct RuleSetOptions {
  RuleDialect default_dialect = RuleDialect::kElasticsearch;  // for rules that name none
  bool strict = false;                                        // unknown fields are errors
  bool endgame_case_sensitive = false;  // Endgame-dialect rules compare strings with case
  // Custom functions rules may call (eql::CustomFunction). REQUIRES: outlives the build.
  const std::vector<eql::CustomFunction>* functions = nullptr;
  // The mapping Sigma rule files are converted with; null: the built-in one. REQUIRES: outlives
  // the build.
  const SigmaMapping* sigma_mapping = nullptr;
  // Set: a rule that an engine with these limits refuses (engine::QueryEngine::Refusal, e.g. a
  // `| count` pipe on a stream) fails, its reason placed in the file. REQUIRES: outlives the build.
  const engine::EngineLimits* engine_limits = nullptr;
  // `check --strict`: every warning is an error; a rule with one (in its query, or in its file's
  // metadata) fails.
  bool warnings_are_errors = false;
};

struct RuleSetBuild {
  std::vector<CompiledRule> rules;    // the rules that compiled, in load order
  std::vector<std::string> messages;  // rendered diagnostics, each ending in a newline
  size_t ok = 0;
  size_t failed = 0;   // rules (or whole files) rejected with an error
  size_t skipped = 0;  // well-formed rules Kestrel does not run (other languages)
  size_t warnings = 0;

  size_t total() const { return ok + failed + skipped; }
  // "N rules: M ok, K failed, S skipped"
  std::string Summary() const;
};

// `paths` are files and directories (recursive). `schema` gains the fields the rules name.
RuleSetBuild BuildRuleSet(const std::vector<std::string>& paths, schema::Schema& schema,
                          const RuleSetOptions& options = {});

}  // namespace kestrel::rules
