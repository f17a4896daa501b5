// `kestrel query --format table|json|ndjson` (query_output.h): table widths, elision, grouped
// sequences and count rows; ndjson's sequence keys; json against Elasticsearch's EQL search
// response shape (testdata/hunting/eql_search_response.schema.json) over the Endgame conformance
// data, with a validator that is shown to reject wrong documents.
#include "kestrel/cli/query_output.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/sema.h"
#include "kestrel/event/event.h"
#include "kestrel/testing/conformance.h"

namespace kestrel::cli {
namespace {

using nlohmann::json;

// ---- a small JSON Schema validator (the draft-07 keywords the schema file uses) ---------------

class SchemaValidator {
 public:
  explicit SchemaValidator(json schema) : root_(std::move(schema)) {}

  // The violations, each "path: what" (empty: valid).
  std::vector<std::string> Validate(const json& doc) const {
    std::vector<std::string> errors;
    Check(root_, doc, "$", &errors);
    return errors;
  }

 private:
  static bool HasType(const json& v, const std::string& type) {
    if (type == "object") return v.is_object();
    if (type == "array") return v.is_array();
    if (type == "string") return v.is_string();
    if (type == "boolean") return v.is_boolean();
    if (type == "null") return v.is_null();
    if (type == "integer") return v.is_number_integer();
    if (type == "number") return v.is_number();
    ADD_FAILURE() << "schema uses an unknown type " << type;
    return false;
  }

  const json& Resolve(const json& schema) const {
    if (!schema.contains("$ref")) return schema;
    std::string ref = schema["$ref"];
    const std::string prefix = "#/definitions/";
    EXPECT_EQ(ref.rfind(prefix, 0), 0u) << ref;
    return root_["definitions"][ref.substr(prefix.size())];
  }

  void Check(const json& s, const json& v, const std::string& path,
             std::vector<std::string>* errors) const {
    const json& schema = Resolve(s);
    if (schema.contains("type")) {
      const json& t = schema["type"];
      bool ok = false;
      if (t.is_string()) {
        ok = HasType(v, t);
      } else {
        for (const json& one : t) ok = ok || HasType(v, one);
      }
      if (!ok) {
        errors->push_back(path + ": not of type " + t.dump());
        return;
      }
    }
    if (schema.contains("enum")) {
      bool found = false;
      for (const json& e : schema["enum"]) found = found || e == v;
      if (!found) errors->push_back(path + ": not one of " + schema["enum"].dump());
    }
    if (schema.contains("minimum") && v.is_number() && v.get<double>() < schema["minimum"]) {
      errors->push_back(path + ": below the minimum");
    }
    if (v.is_object()) {
      if (schema.contains("required")) {
        for (const json& key : schema["required"]) {
          if (!v.contains(key.get<std::string>())) {
            errors->push_back(path + ": lacks required '" + key.get<std::string>() + "'");
          }
        }
      }
      const json* properties = schema.contains("properties") ? &schema["properties"] : nullptr;
      for (const auto& [key, value] : v.items()) {
        if (properties != nullptr && properties->contains(key)) {
          Check((*properties)[key], value, path + "." + key, errors);
        } else if (schema.value("additionalProperties", true) == false) {
          errors->push_back(path + ": unexpected key '" + key + "'");
        }
      }
    }
    if (v.is_array()) {
      if (schema.contains("minItems") && v.size() < schema["minItems"].get<size_t>()) {
        errors->push_back(path + ": fewer items than " + schema["minItems"].dump());
      }
      if (schema.contains("items")) {
        for (size_t i = 0; i < v.size(); ++i) {
          Check(schema["items"], v[i], path + "[" + std::to_string(i) + "]", errors);
        }
      }
    }
  }

  json root_;
};

SchemaValidator LoadResponseSchema() {
  std::ifstream in(std::string(KESTREL_SOURCE_DIR) +
                   "/testdata/hunting/eql_search_response.schema.json");
  EXPECT_TRUE(in.good());
  return SchemaValidator(json::parse(in));
}

// ---- running a query over events -----------------------------------------------------------

struct Ran {
  std::unique_ptr<eql::IrProgram> program;
  std::vector<engine::QueryMatch> results;
};

Ran RunQuery(schema::Schema& schema, const std::string& query,
             const std::vector<event::Event>& events, bool endgame = false) {
  eql::CompileOptions options;
  options.dialect = endgame ? eql::Dialect::kEndgame : eql::Dialect::kElasticsearch;
  eql::CompileResult compiled = eql::Compile(query, schema, options);
  Ran ran;
  EXPECT_TRUE(compiled.ok()) << query;
  if (!compiled.ok()) return ran;
  ran.program = std::move(compiled.program);
  auto engine = engine::QueryEngine::Create(ran.program.get(), schema);
  EXPECT_TRUE(engine.ok());
  if (!engine.ok()) return ran;
  for (size_t i = 0; i < events.size(); ++i) (*engine)->Process(events[i], i);
  ran.results = (*engine)->Finish();
  return ran;
}

std::string Render(const Ran& ran, schema::Schema& schema, QueryOutputOptions options) {
  std::string out;
  WriteQueryResults(*ran.program, schema, ran.results, options,
                    [&](std::string_view text) { out.append(text); });
  return out;
}

std::vector<std::string> OutputLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

size_t Columns(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

event::Event Exec(schema::Schema& schema, int64_t seconds, std::string_view name,
                  std::string_view entity, std::string_view command_line) {
  event::Event e = event::EventBuilder(schema)
                       .Time(seconds * 1'000'000'000)
                       .Category("process")
                       .Str("event.category", "process")
                       .Str("event.action", "exec")
                       .Str("process.name", name)
                       .Str("process.entity_id", entity)
                       .Str("process.command_line", command_line)
                       .Str("user.name", "alice")
                       .Build();
  return e;
}

event::Event Connect(schema::Schema& schema, int64_t seconds, std::string_view entity) {
  return event::EventBuilder(schema)
      .Time(seconds * 1'000'000'000)
      .Category("network")
      .Str("event.category", "network")
      .Str("event.action", "connection_attempted")
      .Str("process.entity_id", entity)
      .Str("destination.ip", "192.0.2.7")
      .Build();
}

// ---- ElideMiddle -----------------------------------------------------------------------------

TEST(QueryOutputTest, ElideMiddleKeepsBothEnds) {
  EXPECT_EQ(ElideMiddle("abcdefghij", 10), "abcdefghij");
  EXPECT_EQ(ElideMiddle("abcdefghij", 7), "abc…hij");
  EXPECT_EQ(ElideMiddle("abcdefghij", 6), "abc…ij");
  EXPECT_EQ(ElideMiddle("abcdefghij", 1), "…");
  EXPECT_EQ(ElideMiddle("abcdefghij", 0), "");
  // Code points, not bytes: an elided UTF-8 string is never cut inside a character.
  std::string s = ElideMiddle("ééééééééé", 5);
  EXPECT_EQ(s, "éé…éé");
  EXPECT_EQ(Columns(s), 5u);
}

// ---- table -----------------------------------------------------------------------------------

TEST(QueryOutputTest, TableFitsTheWidthAndElidesLongValues) {
  schema::Schema schema;
  std::string long_line = "bash -c " + std::string(300, 'x') + " END";
  std::vector<event::Event> events = {Exec(schema, 1, "bash", "p-1", long_line),
                                      Exec(schema, 2, "ls", "p-2", "ls -la")};
  Ran ran = RunQuery(schema, "process where process.command_line != null", events);
  QueryOutputOptions options;
  options.format = QueryFormat::kTable;
  options.width = 80;
  std::vector<std::string> lines = OutputLines(Render(ran, schema, options));
  ASSERT_EQ(lines.size(), 4u);  // header, two rows, the count
  EXPECT_EQ(lines[0].rfind("@timestamp", 0), 0u);
  // Headers wider than their values give way first, keeping their end.
  EXPECT_NE(lines[0].find("…ategory"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("action"), std::string::npos) << lines[0];
  EXPECT_NE(lines[0].find("process.command_line"), std::string::npos);  // the query's field
  for (const std::string& l : lines) EXPECT_LE(Columns(l), 80u) << l;
  EXPECT_NE(lines[1].find("bash -c xxx"), std::string::npos);
  EXPECT_NE(lines[1].find("…"), std::string::npos);
  EXPECT_NE(lines[1].find("xx END"), std::string::npos);  // the end is kept too
  EXPECT_NE(lines[1].find("1970-01-01T00:00:01.000Z"), std::string::npos);
  EXPECT_EQ(lines[3], "2 events");

  // Wider: nothing is elided.
  options.width = 400;
  lines = OutputLines(Render(ran, schema, options));
  EXPECT_NE(lines[1].find(long_line), std::string::npos);
  EXPECT_EQ(lines[1].find("…"), std::string::npos);
}

TEST(QueryOutputTest, TableColumnsFromFieldsAndEscapedControlCharacters) {
  schema::Schema schema;
  std::vector<event::Event> events = {Exec(schema, 1, "evil\x1b[2Jname", "p-1", "a\nb")};
  Ran ran = RunQuery(schema, "process where true", events);
  QueryOutputOptions options;
  options.format = QueryFormat::kTable;
  options.width = 200;
  options.fields = {"process.name", "process.command_line", "no.such.field"};
  std::string text = Render(ran, schema, options);
  std::vector<std::string> lines = OutputLines(text);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_NE(lines[0].find("process.name"), std::string::npos);
  EXPECT_EQ(lines[0].find("no.such.field"), std::string::npos);  // empty in every row: left out
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
  EXPECT_NE(lines[1].find("evil\\x1b[2Jname"), std::string::npos);
  EXPECT_NE(lines[1].find("a\\nb"), std::string::npos);
}

TEST(QueryOutputTest, TableGroupsASequenceUnderItsNumberAndJoinKeys) {
  schema::Schema schema;
  std::vector<event::Event> events = {
      Exec(schema, 1, "curl", "p-1", "curl example.com"), Connect(schema, 2, "p-1"),
      Exec(schema, 3, "wget", "p-2", "wget example.com"), Connect(schema, 4, "p-2")};
  Ran ran = RunQuery(schema,
                     "sequence by process.entity_id [process where process.name != null] "
                     "[network where true]",
                     events);
  ASSERT_EQ(ran.results.size(), 2u);
  QueryOutputOptions options;
  options.format = QueryFormat::kTable;
  options.width = 100;
  std::vector<std::string> lines = OutputLines(Render(ran, schema, options));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[1], "sequence 1  process.entity_id=\"p-1\"");
  EXPECT_EQ(lines[2].rfind("  1970-01-01T00:00:01", 0), 0u) << lines[2];
  EXPECT_NE(lines[2].find("curl"), std::string::npos);
  EXPECT_NE(lines[3].find("network"), std::string::npos);
  EXPECT_EQ(lines[4], "sequence 2  process.entity_id=\"p-2\"");
  EXPECT_EQ(lines[7], "2 sequences");

  // A join is labelled so; no results: the count line alone.
  Ran join = RunQuery(schema, "join by process.entity_id [process where true] [network where true]",
                      events, /*endgame=*/true);
  lines = OutputLines(Render(join, schema, options));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[1].rfind("join 1  process.entity_id=", 0), 0u) << lines[1];
  EXPECT_EQ(lines[7], "2 joins");
  Ran none = RunQuery(schema, "process where process.name == \"nothing\"", events);
  EXPECT_EQ(Render(none, schema, options), "0 events\n");
}

TEST(QueryOutputTest, TableShowsAMissingStage) {
  schema::Schema schema;
  std::vector<event::Event> events = {Exec(schema, 1, "curl", "p-1", "curl example.com"),
                                      Exec(schema, 2, "sh", "p-1", "sh")};
  Ran ran = RunQuery(schema,
                     "sequence by process.entity_id with maxspan=1m [process where process.name "
                     "== \"curl\"] ![network where true] [process where process.name == \"sh\"]",
                     events);
  ASSERT_EQ(ran.results.size(), 1u);
  QueryOutputOptions options;
  options.format = QueryFormat::kTable;
  std::string text = Render(ran, schema, options);
  EXPECT_NE(text.find("  (missing event"), std::string::npos) << text;
}

TEST(QueryOutputTest, CountRowsInEveryFormat) {
  schema::Schema schema;
  std::vector<event::Event> events = {Exec(schema, 1, "a", "p-1", "a"),
                                      Exec(schema, 2, "b", "p-2", "b"),
                                      Exec(schema, 3, "b", "p-3", "b")};
  Ran ran = RunQuery(schema, "process where true | count process.name", events);
  QueryOutputOptions options;
  options.format = QueryFormat::kTable;
  std::vector<std::string> lines = OutputLines(Render(ran, schema, options));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "process.name  count  percent");
  EXPECT_EQ(lines[1], "a             1      33.33%");
  EXPECT_EQ(lines[2], "b             2      66.67%");
  EXPECT_EQ(lines[3], "2 keys");
  // ndjson: the statistics events, as before.
  options.format = QueryFormat::kNdjson;
  EXPECT_EQ(Render(ran, schema, options),
            "{\"count\":1,\"key\":\"a\",\"percent\":0.3333333333333333}\n"
            "{\"count\":2,\"key\":\"b\",\"percent\":0.6666666666666666}\n");
  // json: events of the kestrel-count index, valid against the response schema.
  options.format = QueryFormat::kJson;
  json doc = json::parse(Render(ran, schema, options));
  EXPECT_TRUE(LoadResponseSchema().Validate(doc).empty());
  EXPECT_EQ(doc["hits"]["total"]["value"], 2);
  EXPECT_EQ(doc["hits"]["events"][1]["_index"], "kestrel-count");
  EXPECT_EQ(doc["hits"]["events"][1]["_source"]["count"], 2);
  // --count: the number, or hits.total alone.
  options.count_only = true;
  Ran plain = RunQuery(schema, "process where process.name == \"b\"", events);
  doc = json::parse(Render(plain, schema, options));
  EXPECT_EQ(doc["hits"]["total"]["value"], 2);
  EXPECT_FALSE(doc["hits"].contains("events"));
  EXPECT_TRUE(LoadResponseSchema().Validate(doc).empty());
  options.format = QueryFormat::kNdjson;
  EXPECT_EQ(Render(plain, schema, options), "2\n");
  options.format = QueryFormat::kTable;
  EXPECT_EQ(Render(plain, schema, options), "2\n");
}

TEST(QueryOutputTest, CountRowsOfSeveralKeysAndOfAnArrayField) {
  schema::Schema schema;
  std::vector<event::Event> events;
  for (const char* name : {"a", "b", "b"}) {
    events.push_back(event::EventBuilder(schema)
                         .Time(1)
                         .Category("process")
                         .Strs("event.type", {"start", "info"})
                         .Str("process.name", name)
                         .Str("user.name", "alice")
                         .Build());
  }
  QueryOutputOptions options;
  options.format = QueryFormat::kTable;
  // Two arguments: one column each.
  Ran two = RunQuery(schema, "process where true | count process.name, user.name", events);
  std::vector<std::string> lines = OutputLines(Render(two, schema, options));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "process.name  user.name  count  percent");
  EXPECT_EQ(lines[1], "a             alice      1      33.33%");
  EXPECT_EQ(lines[2], "b             alice      2      66.67%");
  // An array field: one row per element, never an empty (null) key.
  Ran array = RunQuery(schema, "process where true | count event.type", events);
  lines = OutputLines(Render(array, schema, options));
  ASSERT_EQ(lines.size(), 4u) << Render(array, schema, options);
  EXPECT_EQ(lines[0], "event.type  count  percent");
  EXPECT_EQ(lines[1].rfind("info        3", 0), 0u) << lines[1];
  EXPECT_EQ(lines[2].rfind("start       3", 0), 0u) << lines[2];
}

TEST(QueryOutputTest, QueryFieldPathsInOrderOnce) {
  schema::Schema schema;
  Ran ran = RunQuery(schema,
                     "sequence by process.entity_id [process where process.name == \"a\" and "
                     "user.name == \"b\"] [network where destination.ip != null and "
                     "process.name != null]",
                     {});
  std::vector<std::string> fields = QueryFieldPaths(*ran.program, schema);
  std::vector<std::string> want = {"process.name", "user.name", "process.entity_id",
                                   "destination.ip"};
  EXPECT_EQ(fields, want);
}

// ---- ndjson ----------------------------------------------------------------------------------

TEST(QueryOutputTest, NdjsonKeysEachSequenceEvent) {
  schema::Schema schema;
  std::vector<event::Event> events = {
      Exec(schema, 1, "curl", "p-1", "curl example.com"), Connect(schema, 2, "p-1"),
      Exec(schema, 3, "wget", "p-2", "wget example.com"), Connect(schema, 4, "p-2")};
  Ran ran = RunQuery(
      schema, "sequence by process.entity_id [process where true] [network where true]", events);
  QueryOutputOptions options;
  options.format = QueryFormat::kNdjson;
  std::vector<std::string> lines = OutputLines(Render(ran, schema, options));
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < lines.size(); ++i) {
    json e = json::parse(lines[i]);
    EXPECT_EQ(e["kestrel"]["sequence"], i / 2 + 1) << lines[i];
    EXPECT_EQ(e["kestrel"]["join_keys"], json::array({i < 2 ? "p-1" : "p-2"})) << lines[i];
  }
  // An event query's lines are the events alone (today's output).
  Ran plain = RunQuery(schema, "network where true", events);
  for (const std::string& l : OutputLines(Render(plain, schema, options))) {
    EXPECT_FALSE(json::parse(l).contains("kestrel")) << l;
  }
}

// ---- json ------------------------------------------------------------------------------------

TEST(QueryOutputTest, SchemaValidatorRejectsWrongDocuments) {
  SchemaValidator v = LoadResponseSchema();
  json good = json::parse(R"({"is_partial":false,"is_running":false,"took":3,"timed_out":false,
      "hits":{"total":{"value":1,"relation":"eq"},"sequences":[{"join_keys":["a",1],
      "events":[{"_index":"i","_id":"1","_source":{}},
                {"_index":"","_id":"","_source":{},"missing":true}]}]}})");
  EXPECT_TRUE(v.Validate(good).empty());
  auto broken = [&](const std::function<void(json&)>& change) {
    json doc = good;
    change(doc);
    return v.Validate(doc);
  };
  EXPECT_FALSE(broken([](json& d) { d["hits"]["total"] = 1; }).empty());
  EXPECT_FALSE(broken([](json& d) { d.erase("took"); }).empty());
  EXPECT_FALSE(broken([](json& d) { d["took"] = -1; }).empty());
  EXPECT_FALSE(broken([](json& d) { d["hits"]["total"]["relation"] = "about"; }).empty());
  EXPECT_FALSE(
      broken([](json& d) { d["hits"]["sequences"][0]["events"][0].erase("_id"); }).empty());
  EXPECT_FALSE(broken([](json& d) { d["hits"]["sequences"][0]["events"][0]["_id"] = 1; }).empty());
  EXPECT_FALSE(broken([](json& d) { d["hits"]["sequences"][0]["join_keys"] = "a"; }).empty());
  EXPECT_FALSE(
      broken([](json& d) { d["hits"]["sequences"][0]["events"] = json::array(); }).empty());
  EXPECT_FALSE(broken([](json& d) { d["hits"]["sequence"] = json::array(); }).empty());
  EXPECT_FALSE(
      broken([](json& d) { d["hits"]["sequences"][0]["events"][1]["missing"] = "yes"; }).empty());
}

// The acceptance: `--format json` for a sequence query over the Endgame test data validates
// against the structure of Elasticsearch's EQL search response.
TEST(QueryOutputTest, JsonOfEndgameSequencesIsAnEqlSearchResponse) {
  const std::string data = testing::ConformancePath("test_data.json");
  KESTREL_SKIP_IF_MISSING(data, "the json output test over the Endgame data");
  schema::Schema schema;
  std::vector<event::Event> events = testing::LoadConformanceEvents(schema);
  ASSERT_FALSE(events.empty());
  SchemaValidator v = LoadResponseSchema();
  struct Case {
    std::string query;
    bool sequences;
  };
  for (const Case& c : std::vector<Case>{
           {"sequence by unique_pid [process where true] [file where true]", true},
           {"sequence [process where serial_event_id < 5] [process where serial_event_id > 70]",
            true},
           {"join by unique_pid [process where true] [file where true]", true},
           {"sequence by user_name [process where true] by unique_pid [file where true] by "
            "unique_pid | head 3",
            true},
           {"process where process_name == \"cmd.exe\"", false}}) {
    Ran ran = RunQuery(schema, c.query, events, /*endgame=*/true);
    ASSERT_FALSE(ran.results.empty()) << c.query;
    QueryOutputOptions options;
    options.format = QueryFormat::kJson;
    options.index = "test_data.json";
    json doc = json::parse(Render(ran, schema, options));
    std::vector<std::string> errors = v.Validate(doc);
    EXPECT_TRUE(errors.empty()) << c.query << ": " << (errors.empty() ? "" : errors[0]);
    EXPECT_EQ(doc["hits"]["total"]["value"], ran.results.size());
    if (c.sequences) {
      ASSERT_TRUE(doc["hits"].contains("sequences")) << c.query;
      const json& first = doc["hits"]["sequences"][0];
      EXPECT_EQ(first["events"].size(), ran.results[0].events.size());
      EXPECT_EQ(first["events"][0]["_id"], std::to_string(ran.results[0].event_indexes[0]));
      EXPECT_EQ(first["events"][0]["_index"], "test_data.json");
      // The join key is the value the events share.
      if (c.query.find(" by unique_pid [") == 8 || c.query.find(" by unique_pid [") == 4) {
        EXPECT_EQ(first["join_keys"], json::array({first["events"][0]["_source"]["unique_pid"]}));
      } else if (c.query.find("by user_name") != std::string::npos) {
        EXPECT_EQ(first["join_keys"], json::array({first["events"][0]["_source"]["user_name"],
                                                   first["events"][0]["_source"]["unique_pid"]}));
      }
    } else {
      ASSERT_TRUE(doc["hits"].contains("events"));
      EXPECT_EQ(doc["hits"]["events"][0]["_source"]["process_name"], "cmd.exe");
    }
  }
}

TEST(QueryOutputTest, JsonMarksAMissingStage) {
  schema::Schema schema;
  std::vector<event::Event> events = {Exec(schema, 1, "curl", "p-1", "curl example.com"),
                                      Exec(schema, 2, "sh", "p-1", "sh")};
  Ran ran = RunQuery(schema,
                     "sequence by process.entity_id with maxspan=1m [process where process.name "
                     "== \"curl\"] ![network where true] [process where process.name == \"sh\"]",
                     events);
  QueryOutputOptions options;
  options.format = QueryFormat::kJson;
  json doc = json::parse(Render(ran, schema, options));
  EXPECT_TRUE(LoadResponseSchema().Validate(doc).empty()) << doc.dump();
  const json& evs = doc["hits"]["sequences"][0]["events"];
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_EQ(evs[1]["missing"], true);
  EXPECT_EQ(evs[1]["_id"], "");
  EXPECT_FALSE(evs[0].contains("missing"));
  EXPECT_EQ(evs[2]["_id"], "1");
  EXPECT_EQ(doc["hits"]["sequences"][0]["join_keys"], json::array({"p-1"}));
}

}  // namespace
}  // namespace kestrel::cli
