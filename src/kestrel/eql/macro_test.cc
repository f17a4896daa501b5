// MacroTable tests: definition, expansion (nested, in every query position), arity errors and
// the recursion bound.
#include "kestrel/eql/macro.h"

#include "gtest/gtest.h"
#include "kestrel/eql/parser.h"

namespace kestrel::eql {
namespace {

MacroTable TableOf(std::string_view definitions) {
  ParseOptions options;
  options.dialect = Dialect::kEndgame;
  MacroParseResult r = ParseMacros(definitions, options);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.diagnostics.front().message);
  MacroTable table;
  EXPECT_TRUE(table.DefineAll(std::move(r.macros)).ok());
  return table;
}

std::string Expanded(const MacroTable& table, std::string_view eql) {
  ParseOptions options;
  options.dialect = Dialect::kEndgame;
  absl::StatusOr<Query> q = Parse(eql, options);
  if (!q.ok()) return std::string(q.status().message());
  absl::Status s = table.Expand(&*q);
  if (!s.ok()) return std::string(s.message());
  return DumpAst(*q);
}

TEST(MacroTest, ExpandsCallsWithArguments) {
  MacroTable table = TableOf(
      "macro IS_CMD(name) name == \"cmd.exe\"\n"
      "macro EITHER(a, b) a or b\n");
  EXPECT_EQ(table.size(), 2u);
  EXPECT_EQ(Expanded(table, "process where EITHER(IS_CMD(process_name), pid = 4)"),
            "(event process (or (== (field process_name) \"cmd.exe\") (== (field pid) 4)))");
}

TEST(MacroTest, ExpandsInStagesKeysAndPipes) {
  MacroTable table = TableOf("macro KEY(x) length(x)\nmacro T() true");
  EXPECT_EQ(Expanded(table, "sequence by KEY(a) [p where T()] [q where true] | filter T()"),
            "(piped (sequence (by (call length (field a))) (stage (event p true)) "
            "(stage (event q true))) (filter true))");
}

TEST(MacroTest, UnknownCallsAreLeftAlone) {
  MacroTable table = TableOf("macro T() true");
  EXPECT_EQ(Expanded(table, "process where length(a) > 0"),
            "(event process (> (call length (field a)) 0))");
}

TEST(MacroTest, WrongArityIsAnError) {
  MacroTable table = TableOf("macro EITHER(a, b) a or b");
  EXPECT_EQ(Expanded(table, "process where x and EITHER(1)"),
            "1:21: macro 'EITHER' takes 2 argument(s), but 1 were given");
}

TEST(MacroTest, RecursiveMacroIsBounded) {
  MacroTable table = TableOf("macro LOOP(a) LOOP(a)");
  EXPECT_EQ(Expanded(table, "process where LOOP(1)"),
            "1:15: macro 'LOOP' expands more than 200 levels deep (is it recursive?)");
}

TEST(MacroTest, ExponentialGrowthHitsNodeBudget) {
  MacroTable table = TableOf("macro GROW(a) GROW(a + a)");
  std::string result = Expanded(table, "process where GROW(1)");
  EXPECT_NE(result.find("creates more than 1048576 expression nodes"), std::string::npos) << result;
}

TEST(MacroTest, DuplicateDefinitionFails) {
  MacroTable table = TableOf("macro T() true");
  ParseOptions options;
  MacroParseResult again = ParseMacros("macro T() false", options);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(table.Define(std::move(again.macros[0])).code(), absl::StatusCode::kAlreadyExists);
}

TEST(MacroTest, MacroFileErrorsHavePositions) {
  MacroParseResult r = ParseMacros("macro A(x) x\nmacro B(x, x) x");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.front().message, "parameter 'x' is declared twice");
  EXPECT_EQ(r.diagnostics.front().span.line, 2u);
  EXPECT_EQ(r.diagnostics.front().span.column, 12u);
}

}  // namespace
}  // namespace kestrel::eql
