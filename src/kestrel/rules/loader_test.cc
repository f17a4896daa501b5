// Tests of LoadRulePaths: directories, ordering, failures that do not stop the others, duplicate
// ids across files, and the default rule pack.
#include "kestrel/rules/loader.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <unistd.h>

#include "kestrel/rules/rule_file_test_util.h"

namespace kestrel::rules {
namespace {

namespace fs = std::filesystem;

class LoaderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() /
            fmt::format("kestrel_rules_{}_{}", info->name(), static_cast<int>(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string Write(const std::string& relative, std::string_view text) {
    fs::path p = root_ / relative;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  std::string Path(const std::string& relative) const { return (root_ / relative).string(); }

  fs::path root_;
};

std::vector<std::string> Ids(const LoadResult& r) {
  std::vector<std::string> ids;
  for (const RuleSpec& rule : r.rules) ids.push_back(rule.id);
  return ids;
}

TEST_F(LoaderTest, DirectoriesAreWalkedRecursivelyInPathOrder) {
  Write("b.eql", "process where true\n");
  Write("a/z.yaml", "id: a-z\nquery: process where true\n");
  Write("a/m/deep.json", R"({"id": "deep", "query": "process where true"})");
  Write("a.toml", "id = 'a-toml'\nquery = 'process where true'\n");
  Write("c.yml", "rules:\n- id: c1\n  query: x\n- id: c2\n  query: y\n");
  Write("notes.txt", "not a rule");
  Write("README.md", "# rules");
  Write(".hidden.eql", "process where true\n");
  Write(".git/x.eql", "process where true\n");
  LoadResult r = LoadRulePaths({root_.string()});
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"deep", "a-z", "a-toml", "b", "c1", "c2"}))
      << Diagnostics(r);
  EXPECT_EQ(r.files, 5u);
  EXPECT_EQ(r.failed, 0u);
  EXPECT_TRUE(r.diagnostics.empty()) << Diagnostics(r);
}

TEST_F(LoaderTest, RuleTestFilesBesideRulesAreNotLoaded) {
  Write("linux/foo.eql", "process where true\n");
  Write("linux/foo.test.yaml", "cases: []\n");
  Write("linux/bar.yaml", "id: bar\nquery: process where true\n");
  Write("linux/bar.TEST.YML", "cases: []\n");
  LoadResult r = LoadRulePaths({root_.string()});
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"bar", "foo"})) << Diagnostics(r);
  EXPECT_EQ(r.files, 2u);
  EXPECT_TRUE(r.diagnostics.empty()) << Diagnostics(r);
  // Named explicitly, a test file is an error that says what it is.
  LoadResult explicit_file = LoadRulePaths({Path("linux/foo.test.yaml")});
  EXPECT_EQ(explicit_file.failed, 1u);
  EXPECT_NE(Diagnostics(explicit_file).find("a rule test file, not a rule file"), std::string::npos)
      << Diagnostics(explicit_file);
}

TEST_F(LoaderTest, ABrokenFileDoesNotStopTheOthers) {
  Write("1.toml", "[rule\n");
  Write("2.json", "{\"id\": ");
  Write("3.yaml", "id: [\n");
  Write("4.eql", "// severity: high\nprocess where true\n");
  LoadResult r = LoadRulePaths({root_.string()});
  EXPECT_EQ(Ids(r), std::vector<std::string>{"4"});
  EXPECT_EQ(r.files, 4u);
  EXPECT_EQ(r.failed, 3u);
  ASSERT_EQ(r.diagnostics.size(), 3u) << Diagnostics(r);
  EXPECT_EQ(r.diagnostics[0].file, Path("1.toml"));
  EXPECT_EQ(r.diagnostics[1].file, Path("2.json"));
  EXPECT_EQ(r.diagnostics[2].file, Path("3.yaml"));
  for (const LoadDiagnostic& d : r.diagnostics) {
    EXPECT_EQ(d.kind, LoadDiagnostic::Kind::kError);
    EXPECT_GT(d.pos.line, 0u) << FormatLoadDiagnostic(d);
  }
}

TEST_F(LoaderTest, DuplicateIdAcrossFilesNamesTheFirstFile) {
  std::string first = Write("a/one.yaml", "id: dup\nquery: process where true\n");
  std::string second = Write("b/two.json", "{\n  \"id\": \"dup\", \"query\": \"x\"}");
  LoadResult r = LoadRulePaths({root_.string()});
  EXPECT_EQ(Ids(r), std::vector<std::string>{"dup"});
  EXPECT_EQ(r.rules[0].file, first);
  EXPECT_EQ(r.failed, 1u);
  EXPECT_EQ(Diagnostics(r), second + ":2:9: error: duplicate rule id 'dup' (first defined at " +
                                first + ":1:5); this rule is not loaded");
}

TEST_F(LoaderTest, ExplicitFilesKeepTheGivenOrderAndMissingPathsAreErrors) {
  std::string z = Write("z.eql", "process where true\n");
  std::string a = Write("a.eql", "process where true\n");
  std::string txt = Write("x.txt", "");
  LoadResult r = LoadRulePaths({z, Path("missing"), a, txt});
  EXPECT_EQ(Ids(r), (std::vector<std::string>{"z", "a"}));
  EXPECT_EQ(r.failed, 2u);
  EXPECT_EQ(Diagnostics(r),
            Path("missing") + ": error: no such file or directory\n" + txt +
                ": error: not a rule file (expected the extension .eql, .json, .yaml, .yml or "
                ".toml)");
}

TEST_F(LoaderTest, SkippedRulesAreCountedNotFailed) {
  Write("k.toml", "[rule]\nrule_id = 'k'\ntype = 'query'\nlanguage = 'kuery'\nquery = 'a:b'\n");
  LoadResult r = LoadRulePaths({root_.string()});
  EXPECT_TRUE(r.rules.empty());
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_TRUE(r.ok());
}

TEST(DefaultRulePack, LoadsWithoutDiagnostics) {
  LoadResult r = LoadRulePaths({std::string(KESTREL_SOURCE_DIR) + "/rules"});
  EXPECT_TRUE(r.diagnostics.empty()) << Diagnostics(r);
  EXPECT_EQ(r.failed, 0u);
  ASSERT_GE(r.rules.size(), 60u);
  EXPECT_EQ(r.files, r.rules.size());  // one rule per .eql file; the .test.yaml files are not read
  size_t sequences = 0;
  for (const RuleSpec& rule : r.rules) {
    EXPECT_EQ(rule.format, RuleFormat::kEql);
    EXPECT_FALSE(rule.query.empty()) << rule.id;
    EXPECT_NE(rule.name, rule.id) << "the pack names every rule";
    EXPECT_GT(rule.query_start.line, 1u) << rule.id;
    // Full metadata on every rule (issue 10): description, ATT&CK tactic and technique,
    // references, false-positive notes; the default pack only alerts.
    EXPECT_FALSE(rule.description.empty()) << rule.id;
    ASSERT_EQ(rule.threat.size(), 1u) << rule.id;
    EXPECT_TRUE(rule.threat[0].tactic_id.starts_with("TA")) << rule.id;
    EXPECT_FALSE(rule.threat[0].tactic_name.empty()) << rule.id;
    ASSERT_FALSE(rule.threat[0].technique_ids.empty()) << rule.id;
    for (const std::string& t : rule.threat[0].technique_ids) {
      EXPECT_TRUE(t.starts_with("T1")) << rule.id << ": " << t;
    }
    EXPECT_FALSE(rule.threat[0].technique_names[0].empty()) << rule.id;
    EXPECT_FALSE(rule.references.empty()) << rule.id;
    for (const std::string& ref : rule.references) {
      EXPECT_TRUE(ref.starts_with("https://")) << rule.id << ": " << ref;
    }
    EXPECT_FALSE(rule.false_positives.empty()) << rule.id;
    EXPECT_EQ(rule.action, RuleAction::kAlert) << rule.id;
    if (rule.query.starts_with("sequence")) ++sequences;
  }
  EXPECT_GE(sequences, 15u);
  auto passwd = std::find_if(r.rules.begin(), r.rules.end(), [](const RuleSpec& rule) {
    return rule.id == "shell_reads_passwd_then_wc";
  });
  ASSERT_NE(passwd, r.rules.end());
  EXPECT_EQ(passwd->name, "Shell reads /etc/passwd and counts its lines");
  EXPECT_EQ(passwd->severity, engine::Severity::kMedium);
  EXPECT_EQ(passwd->description.rfind("The account list read by a shell", 0), 0u);
}

TEST(ElasticFixtures, DirectoryOfTomlRules) {
  LoadResult r =
      LoadRulePaths({std::string(KESTREL_SOURCE_DIR) + "/src/kestrel/rules/testdata/elastic"});
  EXPECT_EQ(r.files, 3u);
  EXPECT_EQ(r.rules.size(), 2u) << Diagnostics(r);
  EXPECT_EQ(r.skipped, 1u);
  EXPECT_EQ(r.failed, 0u);
}

}  // namespace
}  // namespace kestrel::rules
