// LoadRules; see rule_loader.h.
#include "kestrel/pipeline/rule_loader.h"

#include <memory>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include "kestrel/base/status.h"
#include "kestrel/pipeline/run_config.h"

namespace kestrel::pipeline {

rules::RuleSetBuild CheckRuleSet(const std::vector<std::string>& paths, schema::Schema& schema,
                                 const engine::EngineLimits& limits,
                                 const RuleCheckOptions& options) {
  rules::RuleSetOptions rule_options;
  rule_options.functions = options.functions;
  rule_options.sigma_mapping = options.sigma_mapping;
  rule_options.default_dialect =
      options.endgame ? rules::RuleDialect::kEndgame : rules::RuleDialect::kElasticsearch;
  rule_options.engine_limits = &limits;
  rule_options.strict = options.strict;
  rule_options.warnings_are_errors = options.strict;
  return rules::BuildRuleSet(paths, schema, rule_options);
}

absl::StatusOr<LoadedRules> LoadRules(const std::optional<std::string>& dir_flag, bool endgame,
                                      schema::Schema& schema, const engine::EngineLimits& limits,
                                      const std::vector<eql::CustomFunction>* functions,
                                      const rules::SigmaMapping* sigma_mapping) {
  LoadedRules out;
  std::string error;
  auto dir = ResolveRulesDir(dir_flag, &error);
  if (!dir) {
    if (dir_flag) return absl::NotFoundError(error);
    spdlog::warn("{}; running without rules", error);
    return out;
  }
  out.directory = dir->string();
  RuleCheckOptions options;
  options.functions = functions;
  options.endgame = endgame;
  options.sigma_mapping = sigma_mapping;
  out.build = CheckRuleSet({out.directory}, schema, limits, options);
  // Compiler-style diagnostics are multi-line; print them as they are.
  for (const std::string& m : out.build.messages) fmt::print(stderr, "{}", m);
  out.failed = out.build.failed;
  for (const rules::CompiledRule& rule : out.build.rules) {
    // CheckRuleSet placed the engine's refusals in the files; this is the engine's last word.
    auto engine = engine::QueryEngine::Create(rule.program.get(), schema, limits);
    if (!engine.ok()) {
      spdlog::error("{}: rule '{}' not loaded: {}", rule.spec.file, rule.spec.id,
                    base::Message(engine.status()));
      ++out.failed;
      continue;
    }
    out.active.push_back(&rule);
  }
  spdlog::info("rule directory {}: {} rules loaded, {} failed, {} skipped", out.directory,
               out.active.size(), out.failed, out.build.skipped);
  return out;
}

absl::StatusOr<std::shared_ptr<const rules::SigmaMapping>> LoadSigmaMappingOption(
    const std::optional<std::string>& path) {
  if (!path || path->empty()) return nullptr;
  auto mapping = std::make_shared<rules::SigmaMapping>();
  std::vector<std::string> errors = rules::LoadSigmaMapping(*path, mapping.get());
  if (!errors.empty()) {
    return absl::InvalidArgumentError(fmt::format("{}", fmt::join(errors, "\n")));
  }
  return mapping;
}

absl::Status CheckSigmaMappingWithPackage(bool is_package, const rules::SigmaMapping* mapping) {
  if (!is_package || mapping == nullptr) return absl::OkStatus();
  return absl::InvalidArgumentError(
      "--sigma-mapping does not apply to a rule package: its rules were compiled with the "
      "built-in Sigma mapping (convert them with `kestrel import sigma --sigma-mapping` first)");
}

engine::EngineLimits StreamingLimits(size_t max_partials_per_rule, int64_t default_ttl_ns,
                                     size_t state_budget_bytes) {
  engine::EngineLimits limits;
  limits.state_budget_bytes = state_budget_bytes;
  limits.max_partials = max_partials_per_rule;
  limits.default_ttl_ns = default_ttl_ns;
  limits.streaming = true;
  return limits;
}

sources::DiagnosticSink ReportDiagnostics(std::string what, size_t limit) {
  auto reported = std::make_shared<uint64_t>(0);
  return [reported, what = std::move(what), limit](const sources::SourceDiagnostic& d) {
    if (*reported < limit) {
      spdlog::warn("{}: {}: {}", d.location, what, d.reason);
    } else if (*reported == limit) {
      spdlog::warn("more {}: further ones are counted but not shown", what);
    }
    ++*reported;
  };
}

}  // namespace kestrel::pipeline
