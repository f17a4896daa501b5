// Conformance: every query of the endgameinc/eql test suite
// (shared/conformance/eql/endgame/test_queries.toml) parses in the Endgame dialect: all 241,
// no skips. Only a missing data file skips the test, loudly.
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "kestrel/eql/parser.h"
#include "toml++/toml.h"

namespace kestrel::eql {
namespace {

constexpr char kQueriesFile[] = KESTREL_SHARED_DIR "/conformance/eql/endgame/test_queries.toml";

TEST(ConformanceParseTest, EveryEndgameTestQueryParses) {
  if (!std::filesystem::exists(kQueriesFile)) {
    GTEST_SKIP() << "\n\n*** CONFORMANCE DATA MISSING: " << kQueriesFile
                 << " not found; the Endgame conformance parse test did NOT run ***\n";
  }
  toml::table table;
#if TOML_EXCEPTIONS
  try {
    table = toml::parse_file(kQueriesFile);
  } catch (const toml::parse_error& e) {
    FAIL() << "cannot parse " << kQueriesFile << ": " << e.description();
  }
#else
  toml::parse_result parsed = toml::parse_file(kQueriesFile);
  ASSERT_TRUE(parsed) << parsed.error().description();
  table = std::move(parsed).table();
#endif
  const toml::array* queries = table["queries"].as_array();
  ASSERT_NE(queries, nullptr);
  ParseOptions options;
  options.dialect = Dialect::kEndgame;
  int total = 0;
  int ok = 0;
  for (const toml::node& node : *queries) {
    const toml::table* entry = node.as_table();
    ASSERT_NE(entry, nullptr);
    std::optional<std::string> text = (*entry)["query"].value<std::string>();
    ASSERT_TRUE(text.has_value());
    ++total;
    ParseResult result = ParseQuery(*text, options);
    if (result.ok()) {
      ++ok;
    } else {
      ADD_FAILURE() << "query #" << total << " does not parse:\n"
                    << *text << "\n"
                    << RenderDiagnostic(result.diagnostics.front(), "query", *text);
    }
  }
  EXPECT_EQ(total, 241);
  EXPECT_EQ(ok, total);
}

}  // namespace
}  // namespace kestrel::eql
