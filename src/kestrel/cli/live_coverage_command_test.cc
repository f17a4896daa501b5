// `kestrel check --live-coverage`: the eBPF collector's real declaration as the model (rules on
// host identity, the declared kinds, a category it never produces), the command's output shape,
// and the Linux EQL rules of elastic/detection-rules when KESTREL_DETECTION_RULES names their
// rules/ folder (the figure is printed; skipped loudly otherwise).
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "kestrel/cli/check_command.h"
#include "kestrel/eql/sema.h"
#include "kestrel/rules/rule_set.h"

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

rules::LiveCoverage Analyze(std::string_view query) {
  schema::Schema schema;
  eql::CompileResult r = eql::Compile(query, schema, {});
  EXPECT_TRUE(r.ok()) << query;
  if (!r.ok()) return {};
  return rules::AnalyzeLiveCoverage(*r.program, schema, LiveCollectorModel());
}

TEST(LiveCoverageCommand, TheCollectorsDeclarationIsTheModel) {
  // host.id was null before it was declared: a join key of many Elastic rules.
  EXPECT_TRUE(Analyze(R"(sequence by host.id, process.entity_id with maxspan=1m
      [process where event.type == "start" and event.action == "exec"]
      [network where event.action == "connection_attempted" and destination.port == 4444])")
                  .can_fire);
  EXPECT_TRUE(Analyze(R"(any where host.os.type == "linux" and agent.type != null and
                         host.name != null and host.os.kernel != null)")
                  .can_fire);
  EXPECT_TRUE(
      Analyze(R"(file where event.action == "rename" and file.Ext.original.path : "/tmp/*")")
          .can_fire);
  rules::LiveCoverage c = Analyze(R"(registry where registry.path : "HKLM*")");
  EXPECT_FALSE(c.can_fire);
  EXPECT_THAT(c.reasons, ::testing::ElementsAre("category never produced: registry"));
  c = Analyze(R"(process where event.action == "no_such_action")");
  EXPECT_THAT(c.reasons,
              ::testing::ElementsAre("event.action never emitted for process: no_such_action"));
  c = Analyze(R"(process where host.os.type == "macos")");
  EXPECT_THAT(c.reasons, ::testing::ElementsAre("host.os.type never emitted for process: macos"));
}

class CoverageDir {
 public:
  CoverageDir() {
    std::string tmpl = (fs::temp_directory_path() / "kestrel_cov.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~CoverageDir() { fs::remove_all(path_); }
  void Write(const std::string& name, const std::string& text) {
    std::ofstream(path_ + "/" + name) << text;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LiveCoverageCommand, OutputShapeAndExitCode) {
  CoverageDir dir;
  dir.Write("a_fires.eql", "process where event.type == \"start\" and process.name == \"bash\"\n");
  dir.Write("b_never.eql", "process where event.action == \"no_such_action\"\n");
  dir.Write("c_kql.toml", R"([rule]
rule_id = "0b8a7c4e-1111-4222-8333-944455556666"
name = "A KQL rule"
description = "d"
risk_score = 21
severity = "low"
type = "query"
language = "kuery"
query = "process.name : bash"
)");
  CheckOptions options;
  options.paths = {dir.path()};
  options.live_coverage = true;
  ::testing::internal::CaptureStdout();
  int rc = CheckCommand(options);
  std::string out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 0) << out;
  EXPECT_THAT(out, HasSubstr("a_fires.eql: a_fires: can fire live\n"));
  EXPECT_THAT(out, HasSubstr("b_never.eql: b_never: cannot fire live: event.action never emitted "
                             "for process: no_such_action\n"));
  EXPECT_THAT(out, HasSubstr("\n     1  event.action never emitted for process: no_such_action\n"));
  EXPECT_THAT(out, HasSubstr("\n1 rule skipped: not EQL (1 kuery)\n"));
  EXPECT_TRUE(out.ends_with("\n2 rules: 1 can fire live, 1 cannot\n")) << out;

  dir.Write("d_broken.eql", "process where process.name == (\"unclosed\"\n");
  ::testing::internal::CaptureStdout();
  rc = CheckCommand(options);
  out = ::testing::internal::GetCapturedStdout();
  EXPECT_EQ(rc, 1) << out;  // a rule that does not load is an error, and cannot fire
  EXPECT_THAT(out, HasSubstr("d_broken.eql:1:"));
  EXPECT_THAT(out, HasSubstr("does not compile (errors above)"));
  EXPECT_TRUE(out.ends_with("\n3 rules: 1 can fire live, 2 cannot\n")) << out;
}

// The acceptance corpus: elastic/detection-rules' Linux rules (KESTREL_DETECTION_RULES = the path
// of its rules/ folder). Prints the figure and the reasons; checks that N counts exactly the EQL
// rule files and that the figure does not fall below today's.
TEST(LiveCoverageCommand, DetectionRulesLinuxCorpus) {
  const char* env = std::getenv("KESTREL_DETECTION_RULES");
  if (env == nullptr || *env == '\0') {
    GTEST_SKIP() << "KESTREL_DETECTION_RULES is not set: the live coverage of elastic/"
                    "detection-rules' Linux rules was NOT measured (set it to the rules/ folder "
                    "of a detection-rules checkout)";
  }
  fs::path linux_dir = fs::path(env) / "linux";
  ASSERT_TRUE(fs::is_directory(linux_dir)) << linux_dir << " is not a directory";
  size_t eql_files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(linux_dir)) {
    if (entry.path().extension() != ".toml") continue;
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.find("language = \"eql\"") != std::string::npos) ++eql_files;
  }
  schema::Schema schema;
  rules::RuleSetBuild build = rules::BuildRuleSet({linux_dir.string()}, schema);
  rules::LiveModel model = LiveCollectorModel();
  size_t can = 0;
  std::map<std::string, size_t> reasons;
  for (const rules::CompiledRule& rule : build.rules) {
    rules::LiveCoverage c = rules::AnalyzeLiveCoverage(*rule.program, schema, model);
    can += c.can_fire ? 1 : 0;
    for (const std::string& r : c.reasons) ++reasons[r];
  }
  size_t n = build.ok + build.failed;
  std::printf("detection-rules linux: %zu rules: %zu can fire live, %zu cannot (%.1f%%)\n", n, can,
              n - can, n == 0 ? 0.0 : 100.0 * static_cast<double>(can) / static_cast<double>(n));
  for (const auto& [r, count] : reasons) std::printf("  %3zu  %s\n", count, r.c_str());
  EXPECT_EQ(n, eql_files) << "N must count the EQL rules, and only them";
  EXPECT_GE(can * 100, n * 80) << "fewer Linux rules can fire live than when this was measured";
}

}  // namespace
}  // namespace kestrel::cli
