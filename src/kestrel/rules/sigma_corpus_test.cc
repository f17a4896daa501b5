// The Sigma reader over SigmaHQ's public Linux rules (env KESTREL_SIGMA_RULES: the path of a
// checkout's rules/linux folder; kept outside the repository). Every file is read and every rule
// it yields compiled; at least 95% of the process_creation, file_event and network_connection
// rules must convert and compile; the rest, and the other logsources, are printed with their
// reasons. Skipped, loudly, when the variable is unset.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "kestrel/eql/sema.h"
#include "kestrel/rules/rule_file.h"
#include "kestrel/schema/schema.h"

namespace kestrel::rules {
namespace {

namespace fs = std::filesystem;

struct Tally {
  size_t files = 0, rules = 0, ok = 0, unsupported = 0, failed = 0;
};

TEST(SigmaCorpus, SigmaHqLinuxRulesConvertAndCompile) {
  const char* root = std::getenv("KESTREL_SIGMA_RULES");
  if (root == nullptr || *root == '\0') {
    GTEST_SKIP() << "KESTREL_SIGMA_RULES is not set: the SigmaHQ corpus test did not run (set it "
                    "to a checkout's rules/linux folder, docs/sigma.md)";
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (e.is_regular_file() && RuleFormatForPath(e.path()) == RuleFormat::kYaml) {
      files.push_back(e.path());
    }
  }
  std::sort(files.begin(), files.end());
  ASSERT_GT(files.size(), 100u) << root;
  std::map<std::string, Tally> by_dir;  // the first folder below the root
  std::map<std::string, size_t> reasons;
  for (const fs::path& file : files) {
    std::string dir = fs::relative(file, root).begin()->string();
    Tally& t = by_dir[dir];
    ++t.files;
    LoadResult r = LoadRuleFile(file);
    t.unsupported += r.skipped;
    t.failed += r.failed;
    for (const LoadDiagnostic& d : r.diagnostics) {
      if (d.kind == LoadDiagnostic::Kind::kWarning) continue;
      fmt::print("{}\n", FormatLoadDiagnostic(d));
      std::string reason = d.message.substr(d.message.find("': ") + 3);
      if (size_t brace = reason.find('}');
          reason.starts_with("logsource {") && brace != reason.npos) {
        reason.resize(brace + 1);
      }
      ++reasons[fmt::format("{}: {}", DiagnosticKindName(d.kind), reason)];
    }
    for (const RuleSpec& spec : r.rules) {
      EXPECT_EQ(spec.format, RuleFormat::kSigma) << file;
      schema::Schema schema;
      eql::CompileOptions options;
      eql::CompileResult c = eql::Compile(spec.query, schema, options);
      if (c.ok()) {
        ++t.ok;
      } else {
        ++t.failed;
        for (const eql::Diagnostic& d : c.diagnostics) {
          fmt::print("{}", eql::RenderDiagnostic(d, file.string(), spec.query));
        }
      }
    }
    t.rules = t.ok + t.unsupported + t.failed;
  }
  fmt::print("\nreasons:\n");
  for (const auto& [reason, n] : reasons) fmt::print("  {:4}  {}\n", n, reason);
  fmt::print("\nby folder (files, rules: converted and compiled, unsupported, failed):\n");
  for (const auto& [dir, t] : by_dir) {
    fmt::print("  {:20} {:4} files, {:4} rules: {:4} ok, {:3} unsupported, {:3} failed\n", dir,
               t.files, t.rules, t.ok, t.unsupported, t.failed);
  }
  for (std::string_view dir : {"process_creation", "file_event", "network_connection"}) {
    const Tally& t = by_dir[std::string(dir)];
    ASSERT_GT(t.rules, 0u) << dir;
    EXPECT_GE(t.ok * 100, t.rules * 95) << dir << ": " << t.ok << " of " << t.rules;
  }
}

}  // namespace
}  // namespace kestrel::rules
