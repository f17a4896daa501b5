// Saved hunts (saved_hunts.h): names, the YAML round trip, save/load/list, overrides, --to-rule.
#include "kestrel/cli/saved_hunts.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace kestrel::cli {
namespace {
namespace fs = std::filesystem;

class TempRules {
 public:
  TempRules() {
    char tmpl[] = "/tmp/kestrel_hunts_XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~TempRules() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

SavedHunt Hunt(std::string name, std::string query) {
  SavedHunt h;
  h.name = std::move(name);
  h.query = std::move(query);
  return h;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(SavedHuntsTest, NamesAreValidated) {
  EXPECT_TRUE(ValidateHuntName("curl_then_shell").ok());
  EXPECT_TRUE(ValidateHuntName("v1.2-x").ok());
  for (const char* bad : {"", "..", ".hidden", "a/b", "../x", "a b", "a\\b", "x\ny"}) {
    EXPECT_FALSE(ValidateHuntName(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateHuntName(std::string(65, 'a')).ok());
  EXPECT_TRUE(ValidateHuntName(std::string(64, 'a')).ok());
}

TEST(SavedHuntsTest, YamlRoundTrip) {
  SavedHunt h;
  h.name = "multi";
  h.query =
      "sequence by user.name\n  [process where process.name : \"curl\"]\n  [network where "
      "true]";
  h.dialect = "endgame";
  h.case_sensitive = true;
  h.fields = {"process.name", "user.name"};
  h.format = "json";
  h.input = "examples/demo-events.ndjson";
  std::vector<std::string> warnings;
  auto back = HuntFromYaml(HuntToYaml(h), &warnings);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->name, h.name);
  EXPECT_EQ(back->query, h.query);
  EXPECT_EQ(back->dialect, "endgame");
  EXPECT_TRUE(back->case_sensitive);
  EXPECT_FALSE(back->case_insensitive);
  EXPECT_EQ(back->fields, h.fields);
  EXPECT_EQ(back->format, h.format);
  EXPECT_EQ(back->input, h.input);
  EXPECT_FALSE(back->time_field.has_value());
  EXPECT_TRUE(warnings.empty());

  EXPECT_FALSE(HuntFromYaml("name: x\n", &warnings).ok());                 // no query
  EXPECT_FALSE(HuntFromYaml("query: a\ndialect: sql\n", &warnings).ok());  // bad dialect
  auto bad = HuntFromYaml("name: x\nquery: a: b\n", &warnings, "h.hunt");  // not YAML
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(std::string(bad.status().message()).rfind("h.hunt:", 0), 0u) << bad.status();
  EXPECT_NE(bad.status().message().find("\n  "), std::string::npos) << bad.status();
  EXPECT_NE(bad.status().message().find("^"), std::string::npos) << bad.status();
  auto typed = HuntFromYaml("query: a\nfields: {x: 1}\n", &warnings, "h.hunt");  // wrong type
  ASSERT_FALSE(typed.ok());
  EXPECT_NE(typed.status().message().find("h.hunt:2:"), std::string::npos) << typed.status();
  ASSERT_TRUE(HuntFromYaml("query: a\ncolour: red\n", &warnings).ok());  // unknown key
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("colour"), std::string::npos);
}

TEST(SavedHuntsTest, SaveLoadListAndNoOverwrite) {
  TempRules rules;
  SavedHunt h;
  h.name = "b_hunt";
  h.query = "process where true";
  ASSERT_TRUE(SaveHunt(rules.dir(), h, false).ok());
  fs::path path = HuntPath(rules.dir(), "b_hunt");
  EXPECT_EQ(path, rules.dir() / "hunts" / "b_hunt.hunt");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((rules.dir() / "hunts").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  h.query = "file where true";
  absl::Status again = SaveHunt(rules.dir(), h, false);
  EXPECT_EQ(again.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(Read(path).find("process where true"), std::string::npos);  // unchanged
  ASSERT_TRUE(SaveHunt(rules.dir(), h, true).ok());                     // --force
  EXPECT_NE(Read(path).find("file where true"), std::string::npos);

  SavedHunt a;
  a.name = "a_hunt";
  a.query = "network where true";
  ASSERT_TRUE(SaveHunt(rules.dir(), a, false).ok());
  std::vector<std::string> warnings;
  std::vector<SavedHunt> all = ListHunts(rules.dir(), &warnings);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "a_hunt");
  EXPECT_EQ(all[1].name, "b_hunt");
  auto loaded = LoadHunt(rules.dir(), "a_hunt", &warnings);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->query, "network where true");
  EXPECT_EQ(LoadHunt(rules.dir(), "nope", &warnings).status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(LoadHunt(rules.dir(), "../etc", &warnings).ok());
  EXPECT_FALSE(SaveHunt(rules.dir(), Hunt("a/b", "x"), false).ok());
}

TEST(SavedHuntsTest, SaveDoesNotFollowASymlink) {
  TempRules rules;
  fs::create_directories(rules.dir() / "hunts");
  fs::path target = rules.dir() / "target";
  std::ofstream(target) << "keep\n";
  fs::create_symlink(target, HuntPath(rules.dir(), "x"));
  SavedHunt h = Hunt("x", "process where true");
  EXPECT_FALSE(SaveHunt(rules.dir(), h, true).ok());
  EXPECT_EQ(Read(target), "keep\n");
}

TEST(SavedHuntsTest, CommandLineFlagsOverrideTheSavedOnes) {
  SavedHunt h;
  h.query = "process where true";
  h.dialect = "endgame";
  h.fields = {"a"};
  h.format = "json";
  h.input = "saved.ndjson";
  QueryOptions o;
  o.dialect = "elasticsearch";
  o.format = "table";
  o.input = "given.ndjson";
  ApplyHunt(h, {"--format", "--input"}, &o);
  EXPECT_EQ(o.query, h.query);
  EXPECT_EQ(o.dialect, "endgame");  // not given: the saved one
  EXPECT_EQ(o.fields, h.fields);
  EXPECT_EQ(o.format, "table");  // given: the command line's
  EXPECT_EQ(o.input, "given.ndjson");

  QueryOptions saved;
  saved.query = "q";
  saved.input = "-";
  EXPECT_FALSE(HuntFromOptions("n", saved, {}).input.has_value());  // not given: not saved
  EXPECT_EQ(HuntFromOptions("n", saved, {"--input"}).input, "-");
}

TEST(SavedHuntsTest, RuleIdIsAVersion5UuidOfTheName) {
  std::string id = HuntRuleId("curl_then_shell");
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '5');
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos);
  EXPECT_EQ(id, HuntRuleId("curl_then_shell"));
  EXPECT_NE(id, HuntRuleId("curl_then_shell2"));
}

TEST(SavedHuntsTest, PromoteWritesARuleAndAStubAndNeverOverwrites) {
  TempRules rules;
  SavedHunt h = Hunt("curl_then_shell", "process where process.name == \"curl\"");
  auto written = PromoteHunt(rules.dir(), h);
  ASSERT_TRUE(written.ok()) << written.status();
  std::string rule = Read(written->rule);
  EXPECT_NE(rule.find("// id: " + HuntRuleId("curl_then_shell") + "\n"), std::string::npos);
  EXPECT_NE(rule.find("// severity: medium\n"), std::string::npos);
  EXPECT_NE(rule.find("// description: TODO"), std::string::npos);
  EXPECT_TRUE(rule.ends_with("process where process.name == \"curl\"\n"));
  EXPECT_NE(Read(written->tests).find("cases: []"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat(written->rule.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  std::ofstream(written->rule) << "edited\n";
  auto again = PromoteHunt(rules.dir(), h);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(Read(written->rule), "edited\n");
  // Only the test file exists: still refused, and the rule is not written.
  fs::remove(written->rule);
  EXPECT_FALSE(PromoteHunt(rules.dir(), h).ok());
  EXPECT_FALSE(fs::exists(written->rule));
}

}  // namespace
}  // namespace kestrel::cli
