// Conformance of the query engine with the endgameinc/eql test suite: every case of
// shared/conformance/eql/endgame/test_queries.toml runs over test_data.json in each case mode the
// case asks for, and the serial_event_ids of the results are compared with expected_event_ids.
// A missing data file skips loudly.
#include <string>

#include "gtest/gtest.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/sema.h"
#include "kestrel/testing/conformance.h"

namespace kestrel::engine {
namespace {

// The serial_event_ids the query returns, or an error text.
std::string RunQuery(const std::string& query, bool case_sensitive, std::vector<int64_t>* ids) {
  schema::Schema schema;
  std::vector<event::Event> events = testing::LoadConformanceEvents(schema);
  eql::CompileOptions options;
  options.dialect = eql::Dialect::kEndgame;
  options.case_sensitive = case_sensitive;
  eql::CompileResult compiled = eql::Compile(query, schema, options);
  if (!compiled.ok()) {
    std::string out = "does not compile:";
    for (const auto& d : compiled.diagnostics) out += " " + d.message;
    return out;
  }
  auto engine = QueryEngine::Create(compiled.program.get(), schema);
  if (!engine.ok()) return std::string(engine.status().message());
  for (size_t i = 0; i < events.size(); ++i) (*engine)->Process(events[i], i);
  auto serial = *schema.Find("serial_event_id");
  for (const QueryMatch& m : (*engine)->Finish()) {
    for (const auto& e : m.events) {
      const event::Value* v = e->Find(serial);
      ids->push_back(v != nullptr ? v->as_int() : -1);
    }
  }
  return "";
}

std::string Join(const std::vector<int64_t>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + std::to_string(v[i]);
  return out + "]";
}

TEST(ConformanceQueryTest, EndgameTestQueries) {
  KESTREL_SKIP_IF_MISSING(testing::ConformancePath("test_queries.toml"),
                          "the query conformance test");
  std::vector<testing::ConformanceCase> cases = testing::LoadConformanceCases();
  int total = 0, passed = 0;
  std::string failures;
  for (const testing::ConformanceCase& c : cases) {
    ++total;
    bool ok = true;
    for (bool case_sensitive : c.case_sensitive_modes) {
      std::vector<int64_t> got;
      std::string error = RunQuery(c.query, case_sensitive, &got);
      if (!error.empty() || got != c.expected_event_ids) {
        ok = false;
        failures += "case #" + std::to_string(c.number) +
                    (case_sensitive ? " [case-sensitive]" : " [case-insensitive]") + ":\n" +
                    c.query + "\n  expected " + Join(c.expected_event_ids) + "\n  got      " +
                    (error.empty() ? Join(got) : error) + "\n";
        break;
      }
    }
    passed += ok;
  }
  std::printf("query conformance: %d of %d cases pass\n", passed, total);
  if (passed < total) std::printf("%s", failures.c_str());
  EXPECT_EQ(total, 241);
  EXPECT_EQ(passed, total) << "every case must pass; none is excluded";
}

}  // namespace
}  // namespace kestrel::engine
