// Conformance of the query engine with the endgameinc/eql test suite: every case of
// shared/conformance/eql/endgame/test_queries.toml runs over test_data.json in each case mode the
// case asks for, and the serial_event_ids of the results are compared with expected_event_ids.
// A missing data file skips loudly.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "gtest/gtest.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/sema.h"
#include "kestrel/event/json_decoder.h"
#include "toml++/toml.h"

namespace kestrel::engine {
namespace {

constexpr char kDir[] = KESTREL_SHARED_DIR "/conformance/eql/endgame/";

std::vector<event::Event> LoadEvents(schema::Schema& schema) {
  std::ifstream in(std::string(kDir) + "test_data.json");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string json = ss.str();
  size_t size = json.size();
  json.append(event::JsonDecoder::kPadding, '\0');
  event::DecoderOptions options;
  options.time_field = "timestamp";
  options.time_format = event::TimeFormat::kFiletime;
  event::JsonDecoder decoder(&schema, options);
  std::vector<event::Event> events;
  event::Event scratch;
  absl::Status s = decoder.DecodeArray(
      std::string_view(json.data(), size), json.size(), &scratch,
      [&](event::Event& e) { events.push_back(e); },
      [&](size_t i, const absl::Status& st) { ADD_FAILURE() << "event " << i << ": " << st; });
  EXPECT_TRUE(s.ok()) << s;
  return events;
}

// The serial_event_ids the query returns, or an error text.
std::string RunQuery(const std::string& query, bool case_sensitive, std::vector<int64_t>* ids) {
  schema::Schema schema;
  std::vector<event::Event> events = LoadEvents(schema);
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
  std::string path = std::string(kDir) + "test_queries.toml";
  if (!std::filesystem::exists(path)) {
    GTEST_SKIP() << "\n\n*** CONFORMANCE DATA MISSING: " << path
                 << " not found; the query conformance test did NOT run ***\n";
  }
  toml::table table = toml::parse_file(path);
  int total = 0, passed = 0;
  std::string failures;
  for (const toml::node& node : *table["queries"].as_array()) {
    const toml::table& entry = *node.as_table();
    std::string query = *entry["query"].value<std::string>();
    std::vector<int64_t> expected;
    for (const toml::node& id : *entry["expected_event_ids"].as_array()) {
      expected.push_back(*id.value<int64_t>());
    }
    ++total;
    bool ok = true;
    for (bool case_sensitive : {false, true}) {
      if (entry["case_sensitive"].value_or(false) && !case_sensitive) continue;
      if (entry["case_insensitive"].value_or(false) && case_sensitive) continue;
      std::vector<int64_t> got;
      std::string error = RunQuery(query, case_sensitive, &got);
      if (!error.empty() || got != expected) {
        ok = false;
        failures += "case #" + std::to_string(total) +
                    (case_sensitive ? " [case-sensitive]" : " [case-insensitive]") + ":\n" + query +
                    "\n  expected " + Join(expected) + "\n  got      " +
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
