// `kestrel check`; see check_command.h.
#include "kestrel/cli/check_command.h"

#include <fmt/format.h>

#include <filesystem>

#include "kestrel/cli/run_command.h"
#include "kestrel/rules/rule_set.h"

namespace kestrel::cli {

int CheckCommand(const CheckOptions& options) {
  for (const std::string& p : options.paths) {
    std::error_code ec;
    if (!std::filesystem::exists(p, ec)) {
      fmt::print(stderr, "error: '{}' does not exist\n", p);
      return kExitUsage;
    }
  }
  schema::Schema schema;
  rules::RuleSetOptions rule_options;
  rule_options.strict = options.strict;
  rule_options.default_dialect = options.dialect == "endgame" ? rules::RuleDialect::kEndgame
                                                              : rules::RuleDialect::kElasticsearch;
  rules::RuleSetBuild build = rules::BuildRuleSet(options.paths, schema, rule_options);
  for (const std::string& m : build.messages) {
    if (options.quiet_warnings && m.find(": warning: ") != std::string::npos) continue;
    fmt::print("{}", m);
  }
  if (options.summary) fmt::print("{}\n", build.Summary());
  std::fflush(stdout);
  return build.failed == 0 ? kExitOk : kExitFailure;
}

}  // namespace kestrel::cli
