// Which rules the kernel can enforce by inode (exact_paths.h): a table of queries and the paths
// they pin, and the split of a rule set's block rules.
#include "kestrel/actions/blocking/exact_paths.h"

#include <gtest/gtest.h>

#include <memory>

#include "kestrel/eql/sema.h"
#include "kestrel/schema/schema.h"

namespace kestrel::actions::blocking {
namespace {

using Paths = std::optional<std::vector<std::string>>;

std::shared_ptr<const eql::IrProgram> Program(schema::Schema& schema, std::string_view query,
                                              eql::CompileOptions options = {}) {
  eql::CompileResult r = eql::Compile(query, schema, options);
  EXPECT_TRUE(r.ok()) << query;
  return std::move(r.program);
}

TEST(ExactPathsTest, StandardCategoryIdsAreFixed) {
  // exact_paths.cc relies on process = 0 and file = 1 in every Schema.
  schema::Schema schema;
  EXPECT_EQ(schema.FindCategory("process"), schema::CategoryId{0});
  EXPECT_EQ(schema.FindCategory("file"), schema::CategoryId{1});
}

struct Case {
  const char* query;
  ExactField field;
  Paths want;
};

TEST(ExactPathsTest, OnlyExactCaseSensitiveAbsolutePathsQualify) {
  const std::vector<Case> cases = {
      {R"(process where process.executable == "/usr/bin/nc")", ExactField::kExecutable,
       std::vector<std::string>{"/usr/bin/nc"}},
      {R"(process where "/usr/bin/nc" == process.executable)", ExactField::kExecutable,
       std::vector<std::string>{"/usr/bin/nc"}},
      {R"(process where process.executable in ("/bin/a", "/bin/b"))", ExactField::kExecutable,
       std::vector<std::string>{"/bin/a", "/bin/b"}},
      {R"(file where file.path == "/etc/shadow")", ExactField::kFilePath,
       std::vector<std::string>{"/etc/shadow"}},
      {R"(file where file.path in ("/etc/shadow", "/etc/gshadow"))", ExactField::kFilePath,
       std::vector<std::string>{"/etc/shadow", "/etc/gshadow"}},
      // The other field of the pair.
      {R"(file where file.path == "/etc/shadow")", ExactField::kExecutable, std::nullopt},
      {R"(process where process.executable == "/usr/bin/nc")", ExactField::kFilePath, std::nullopt},
      // The right field in the wrong category: not an exec / not an open.
      {R"(file where process.executable == "/usr/bin/nc")", ExactField::kExecutable, std::nullopt},
      {R"(process where file.path == "/etc/shadow")", ExactField::kFilePath, std::nullopt},
      {R"(any where process.executable == "/usr/bin/nc")", ExactField::kExecutable, std::nullopt},
      // Not exact: without case, wildcards, more conditions, negation, relative names.
      {R"(process where process.executable : "/usr/bin/nc")", ExactField::kExecutable,
       std::nullopt},
      {R"(process where process.executable in~ ("/usr/bin/nc"))", ExactField::kExecutable,
       std::nullopt},
      {R"(process where process.executable like "/usr/bin/*")", ExactField::kExecutable,
       std::nullopt},
      {R"(process where process.executable == "/usr/bin/nc" and process.pid > 1)",
       ExactField::kExecutable, std::nullopt},
      {R"(process where process.executable == "/a" or process.executable == "/b")",
       ExactField::kExecutable, std::nullopt},
      {R"(process where process.executable != "/usr/bin/nc")", ExactField::kExecutable,
       std::nullopt},
      {R"(process where not process.executable in ("/usr/bin/nc"))", ExactField::kExecutable,
       std::nullopt},
      {R"(process where process.executable == "nc")", ExactField::kExecutable, std::nullopt},
      {R"(process where process.executable in ("/bin/a", "b"))", ExactField::kExecutable,
       std::nullopt},
      {R"(process where process.name == "/usr/bin/nc")", ExactField::kExecutable, std::nullopt},
      // Not one plain event query: pipes, sequences.
      {R"(process where process.executable == "/usr/bin/nc" | head 1)", ExactField::kExecutable,
       std::nullopt},
      {R"(sequence [process where process.executable == "/a"] [process where process.executable == "/b"])",
       ExactField::kExecutable, std::nullopt},
  };
  for (const Case& c : cases) {
    schema::Schema schema;
    auto program = Program(schema, c.query);
    ASSERT_NE(program, nullptr) << c.query;
    EXPECT_EQ(ExactPaths(*program, c.field), c.want) << c.query;
  }
}

TEST(ExactPathsTest, EndgameRulesWithoutCaseAreNotExact) {
  schema::Schema schema;
  eql::CompileOptions endgame;
  endgame.dialect = eql::Dialect::kEndgame;
  auto insensitive =
      Program(schema, R"(process where process.executable == "/usr/bin/nc")", endgame);
  ASSERT_NE(insensitive, nullptr);
  EXPECT_EQ(ExactPaths(*insensitive, ExactField::kExecutable), std::nullopt);
  endgame.case_sensitive = true;
  auto sensitive = Program(schema, R"(process where process.executable == "/usr/bin/nc")", endgame);
  ASSERT_NE(sensitive, nullptr);
  EXPECT_EQ(ExactPaths(*sensitive, ExactField::kExecutable),
            (std::vector<std::string>{"/usr/bin/nc"}));
}

TEST(ExactPathsTest, ExactStringValuesLeavesOutputAloneWhenNotExact) {
  // `process.executable in ("/a", 3)` as sema would never build it (it coerces the set): a set
  // with a non-string element is not exact, and nothing of it is appended.
  eql::IrNode in;
  in.op = eql::IrOp::kIn;
  auto field = std::make_unique<eql::IrNode>();
  field->op = eql::IrOp::kField;
  field->field = schema::ecs::Field("process.executable");
  in.children.push_back(std::move(field));
  in.set = {event::Value::String("/a"), event::Value::Int(3)};
  std::vector<std::string> out = {"keep"};
  EXPECT_FALSE(ExactStringValues(in, schema::ecs::Field("process.executable"), &out));
  EXPECT_EQ(out, std::vector<std::string>{"keep"});
  in.set.pop_back();
  EXPECT_TRUE(ExactStringValues(in, schema::ecs::Field("process.executable"), &out));
  EXPECT_EQ(out, (std::vector<std::string>{"keep", "/a"}));
  EXPECT_FALSE(ExactStringValues(in, schema::ecs::Field("file.path"), &out));
  in.case_insensitive = true;
  EXPECT_FALSE(ExactStringValues(in, schema::ecs::Field("process.executable"), &out));
}

TEST(ExactPathsTest, SplitBlockRulesByWhatCanEnforceThem) {
  schema::Schema schema;
  struct Def {
    const char* query;
    rules::RuleAction action;
  };
  const std::vector<Def> defs = {
      {R"(process where process.executable == "/opt/x")", rules::RuleAction::kBlock},  // 0
      {R"(file where file.path in ("/etc/a", "/etc/b"))", rules::RuleAction::kBlock},  // 1
      {R"(process where process.executable : "/opt/*")", rules::RuleAction::kBlock},   // 2
      {R"(process where process.executable == "/opt/y")", rules::RuleAction::kKill},   // 3
      {R"(process where process.executable == "/opt/z")", rules::RuleAction::kAlert},  // 4
      {R"(sequence by user.id [file where true] [process where process.executable == "/tmp/p"])",
       rules::RuleAction::kBlock},  // 5
      {R"(process where process.executable in ("/opt/p", "/opt/q"))",
       rules::RuleAction::kBlock},  // 6
  };
  std::vector<rules::CompiledRule> owned;
  for (const Def& d : defs) {
    rules::CompiledRule rule;
    rule.spec.id = d.query;
    rule.spec.action = d.action;
    rule.program = Program(schema, d.query);
    ASSERT_NE(rule.program, nullptr) << d.query;
    owned.push_back(std::move(rule));
  }
  std::vector<const rules::CompiledRule*> active;
  for (const rules::CompiledRule& r : owned) active.push_back(&r);
  BlockRuleSplit split = SplitBlockRules(active);
  EXPECT_EQ(split.exec, (std::vector<RulePath>{{"/opt/x", 0}, {"/opt/p", 6}, {"/opt/q", 6}}));
  EXPECT_EQ(split.open, (std::vector<RulePath>{{"/etc/a", 1}, {"/etc/b", 1}}));
  EXPECT_EQ(split.general, (std::vector<const rules::CompiledRule*>{active[2], active[5]}));
}

}  // namespace
}  // namespace kestrel::actions::blocking
