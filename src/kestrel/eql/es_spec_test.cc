// Elasticsearch's own EQL spec files (elastic/elasticsearch
// x-pack/plugin/eql/qa/common/src/main/resources/*.toml: test_queries.toml, test_sample.toml,
// test_missing_events.toml, ...) through the `elasticsearch` dialect: every `query` compiles,
// or is refused for a reason Elasticsearch refuses it too (kRefusals). The files stay outside the
// repository: KESTREL_ES_EQL_SPECS names the folder holding them; unset, the test skips loudly.
// Prints the tally (queries, compiled, refused by reason); docs/eql.md reports it.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "kestrel/eql/sema.h"
#include "toml++/toml.h"

namespace kestrel::eql {
namespace {

namespace fs = std::filesystem;

// Errors Elasticsearch's current parser, builder or function registry gives too: Endgame
// constructs its spec files keep from the reference's suite (and its unsupported lists skip).
constexpr std::string_view kRefusals[] = {
    "process relationships are not supported in Elasticsearch EQL",  // descendant/child/event of
    "'fork' is only supported in the Endgame dialect",
    "raw strings are not supported in Elasticsearch EQL",  // ?"..."
    "single-quoted strings are not supported in Elasticsearch EQL",
    "is an Endgame EQL function",  // arrayContains, arraySearch, match, safe, wildcard, ...
    "'=' is not a comparison operator in Elasticsearch EQL",
};

TEST(EsSpecTest, ElasticsearchSpecQueriesCompile) {
  const char* root = std::getenv("KESTREL_ES_EQL_SPECS");
  if (root == nullptr || *root == '\0') {
    GTEST_SKIP() << "KESTREL_ES_EQL_SPECS is not set: Elasticsearch's EQL spec files were not "
                    "run (set it to a folder of x-pack/plugin/eql/qa/common/src/main/resources/"
                    "*.toml from elastic/elasticsearch, docs/eql.md)";
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(root)) {
    if (e.is_regular_file() && e.path().extension() == ".toml") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no .toml file in " << root;
  size_t total = 0, compiled = 0;
  std::map<std::string, size_t> refused;
  for (const fs::path& file : files) {
    toml::table table;
    try {
      table = toml::parse_file(file.string());
    } catch (const toml::parse_error& e) {
      ADD_FAILURE() << file << ": " << e.description();
      continue;
    }
    const toml::array* queries = table["queries"].as_array();
    if (queries == nullptr) continue;
    for (const toml::node& node : *queries) {
      const toml::table* q = node.as_table();
      std::optional<std::string> text = q ? (*q)["query"].value<std::string>() : std::nullopt;
      if (!text) continue;
      std::string name = (*q)["name"].value_or(std::string("#") + std::to_string(total + 1));
      ++total;
      schema::Schema schema;
      CompileResult r = Compile(*text, schema, {});
      if (r.ok()) {
        ++compiled;
        continue;
      }
      const Diagnostic* error = nullptr;
      for (const Diagnostic& d : r.diagnostics) {
        if (d.severity == Severity::kError && error == nullptr) error = &d;
      }
      ASSERT_NE(error, nullptr);
      auto known = std::find_if(
          std::begin(kRefusals), std::end(kRefusals),
          [&](std::string_view s) { return error->message.find(s) != std::string::npos; });
      if (known == std::end(kRefusals)) {
        ADD_FAILURE() << file.filename() << " " << name << " does not compile:\n"
                      << RenderDiagnostic(*error, "query", *text);
        continue;
      }
      ++refused[std::string(*known)];
    }
  }
  std::cout << "Elasticsearch spec files: " << total << " queries, " << compiled << " compile\n";
  for (const auto& [reason, n] : refused)
    std::cout << "  refused (" << n << "): " << reason << "\n";
  EXPECT_GT(total, 0u);
}

}  // namespace
}  // namespace kestrel::eql
