// `kestrel check`; see check_command.h.
#include "kestrel/cli/check_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "kestrel/cli/run_command.h"
#include "kestrel/pipeline/rule_loader.h"
#include "kestrel/pipeline/run_config.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/sources/ebpf/emitted.h"

namespace kestrel::cli {
namespace {

// "language 'kuery'" in a loader's note about a rule it does not run, else "unknown".
std::string SkippedLanguage(std::string_view message) {
  constexpr std::string_view kKey = "(language '";
  size_t at = message.find(kKey);
  if (at == std::string_view::npos) return "unknown";
  size_t begin = at + kKey.size(), end = message.find('\'', begin);
  return std::string(message.substr(begin, end == std::string_view::npos ? 0 : end - begin));
}

int LiveCoverage(const rules::RuleSetBuild& build, const schema::Schema& schema) {
  const rules::LiveModel model = LiveCollectorModel();
  std::map<std::string, size_t> reasons;
  size_t can = 0, cannot = 0;
  for (const rules::CompiledRule& rule : build.rules) {
    rules::LiveCoverage c = rules::AnalyzeLiveCoverage(*rule.program, schema, model);
    std::string who = fmt::format("{}: {}", rule.spec.file, rule.spec.name);
    if (c.can_fire) {
      ++can;
      fmt::print("{}: can fire live\n", who);
      continue;
    }
    ++cannot;
    std::string joined;
    for (const std::string& r : c.reasons) {
      joined += (joined.empty() ? "" : "; ") + r;
      ++reasons[r];
    }
    fmt::print("{}: cannot fire live: {}\n", who, joined);
  }
  if (build.failed > 0) {
    reasons["does not compile (errors above)"] += build.failed;
  }
  std::vector<std::pair<std::string, size_t>> sorted(reasons.begin(), reasons.end());
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (!sorted.empty()) fmt::print("\nwhy rules cannot fire live (rules per reason):\n");
  for (const auto& [reason, n] : sorted) fmt::print("{:6}  {}\n", n, reason);
  if (build.skipped > 0) {
    std::map<std::string, size_t> languages;
    for (const std::string& m : build.messages) {
      if (m.find(", not EQL; not loaded") != std::string::npos) ++languages[SkippedLanguage(m)];
    }
    std::string by;
    for (const auto& [lang, n] : languages)
      by += fmt::format("{}{} {}", by.empty() ? "" : ", ", n, lang);
    fmt::print("\n{} rule{} skipped: not EQL{}\n", build.skipped, build.skipped == 1 ? "" : "s",
               by.empty() ? "" : " (" + by + ")");
  }
  size_t total = build.ok + build.failed;
  fmt::print("{} rule{}: {} can fire live, {} cannot\n", total, total == 1 ? "" : "s", can,
             cannot + build.failed);
  std::fflush(stdout);
  return build.failed == 0 ? kExitOk : kExitFailure;
}

}  // namespace

rules::LiveModel LiveCollectorModel() {
  namespace ebpf = sources::ebpf;
  rules::LiveModel model;
  for (const ebpf::EmittedKind& k : ebpf::kEmittedKinds) {
    rules::LiveKind& kind = model.kinds.emplace_back();
    kind.name = std::string(k.name);
    kind.category = std::string(k.category);
    for (std::string_view t : k.types) kind.types.emplace_back(t);
    kind.action = std::string(k.action);
    for (const ebpf::ConstantField& c : ebpf::kConstantFields) {
      kind.constants.emplace_back(std::string(c.name), std::string(c.value));
    }
    for (const ebpf::ConstantField& c : k.constants) {
      kind.constants.emplace_back(std::string(c.name), std::string(c.value));
    }
    for (std::string_view f : ebpf::KindFields(k)) kind.fields.emplace_back(f);
  }
  return model;
}

int CheckCommand(const CheckOptions& options) {
  for (const std::string& p : options.paths) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) {
      fmt::print(stderr, "error: '{}' does not exist\n", p);
      return kExitUsage;
    }
  }
  std::shared_ptr<const rules::SigmaMapping> mapping;
  if (!LoadSigmaMappingFlag(options.sigma_mapping, &mapping)) return kExitUsage;
  schema::Schema schema;
  // Exactly what `run` applies (pipeline::CheckRuleSet), with run's default engine limits.
  const pipeline::RunConfig defaults;
  const engine::EngineLimits limits = pipeline::StreamingLimits(
      defaults.max_partials_per_rule, defaults.default_ttl_ns, defaults.state_budget_bytes);
  pipeline::RuleCheckOptions check;
  check.endgame = options.dialect == "endgame";
  check.strict = options.strict;
  check.sigma_mapping = mapping.get();
  rules::RuleSetBuild build = pipeline::CheckRuleSet(options.paths, schema, limits, check);
  if (options.live_coverage) {
    for (const std::string& m : build.messages) {
      if (m.find(": error: ") != std::string::npos) fmt::print("{}", m);
    }
    return LiveCoverage(build, schema);
  }
  for (const std::string& m : build.messages) {
    if (options.quiet_warnings && m.find(": warning: ") != std::string::npos) continue;
    fmt::print("{}", m);
  }
  if (options.summary) fmt::print("{}\n", build.Summary());
  std::fflush(stdout);
  // --strict: a warning about a file that holds no rule fails the check too.
  bool failed = build.failed > 0 || (options.strict && build.warnings > 0);
  return failed ? kExitFailure : kExitOk;
}

}  // namespace kestrel::cli
