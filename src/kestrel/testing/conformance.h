// Test helpers for the data in ../shared (the repository's sibling directory, KESTREL_SHARED_DIR):
// the endgameinc/eql conformance suite in shared/conformance/eql/endgame/ (test_queries.toml, the
// other TOML case files, test_data.json), loaded one way for every test that uses it.
//
// Tests that read ../shared skip when it is absent, loudly, naming the path they looked for:
//
//   TEST(Foo, Bar) {
//     const std::string path = kestrel::testing::ConformancePath("test_queries.toml");
//     KESTREL_SKIP_IF_MISSING(path, "the Foo conformance test");
//     ...
//
// Failures to parse or decode a file that is present are test failures (ADD_FAILURE), never
// skips. Only for tests (links GoogleTest). Library kestrel_testing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"
#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"
#include "toml++/toml.h"

namespace kestrel::testing {

// KESTREL_SHARED_DIR + "/" + `relative`: a path inside ../shared.
std::string SharedPath(std::string_view relative);

// A file of the Endgame conformance suite: SharedPath("conformance/eql/endgame/" + `file`).
std::string ConformancePath(std::string_view file);

// The skip message for a missing file of ../shared: the path, and `what` did not run.
std::string MissingSharedData(std::string_view path, std::string_view what);

// Parses a TOML file; nullopt, with a test failure, if it does not parse.
std::optional<toml::table> ParseToml(const std::string& path);

// The case modes a case or section of the suite runs in (the values of `case_sensitive` to run
// with): false then true, or only the one it names (`case_sensitive = true`, `case_insensitive =
// true`).
std::vector<bool> CaseSensitiveModes(const toml::table& entry);

// test_data.json decoded as the reference reads it (`timestamp` as a FILETIME), in file order,
// its fields interned in `schema`. Decoding errors are test failures.
std::vector<event::Event> LoadConformanceEvents(schema::Schema& schema);

// One case of test_queries.toml.
struct ConformanceCase {
  int number = 0;  // 1-based, in file order
  std::string query;
  std::vector<int64_t> expected_event_ids;
  std::vector<bool> case_sensitive_modes;  // CaseSensitiveModes() of the case
};

// Every case of test_queries.toml; empty, with a test failure, if it does not parse.
std::vector<ConformanceCase> LoadConformanceCases();

}  // namespace kestrel::testing

// Skips the current test (GTEST_SKIP) with MissingSharedData(path, what) unless `path` exists.
#define KESTREL_SKIP_IF_MISSING(path, what) \
  if (!std::filesystem::exists(path))       \
  GTEST_SKIP() << ::kestrel::testing::MissingSharedData((path), (what))
