// Conformance: every query of the endgameinc/eql test suite
// (shared/conformance/eql/endgame/test_queries.toml) parses in the Endgame dialect: all 241,
// no skips. Only a missing data file skips the test, loudly.
#include <string>

#include "gtest/gtest.h"
#include "kestrel/eql/parser.h"
#include "kestrel/testing/conformance.h"

namespace kestrel::eql {
namespace {

TEST(ConformanceParseTest, EveryEndgameTestQueryParses) {
  KESTREL_SKIP_IF_MISSING(testing::ConformancePath("test_queries.toml"),
                          "the Endgame conformance parse test");
  std::vector<testing::ConformanceCase> cases = testing::LoadConformanceCases();
  ParseOptions options;
  options.dialect = Dialect::kEndgame;
  int ok = 0;
  for (const testing::ConformanceCase& c : cases) {
    ParseResult result = ParseQuery(c.query, options);
    if (result.ok()) {
      ++ok;
    } else {
      ADD_FAILURE() << "query #" << c.number << " does not parse:\n"
                    << c.query << "\n"
                    << RenderDiagnostic(result.diagnostics.front(), "query", c.query);
    }
  }
  EXPECT_EQ(cases.size(), 241u);
  EXPECT_EQ(ok, static_cast<int>(cases.size()));
}

}  // namespace
}  // namespace kestrel::eql
