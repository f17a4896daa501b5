// Conformance suite loading; see conformance.h.
#include "kestrel/testing/conformance.h"

#include <fstream>
#include <sstream>

#include "kestrel/event/json_decoder.h"

namespace kestrel::testing {

std::string SharedPath(std::string_view relative) {
  return std::string(KESTREL_SHARED_DIR) + "/" + std::string(relative);
}

std::string ConformancePath(std::string_view file) {
  return SharedPath("conformance/eql/endgame/" + std::string(file));
}

std::string MissingSharedData(std::string_view path, std::string_view what) {
  return "\n\n*** SHARED TEST DATA MISSING: " + std::string(path) + " not found; " +
         std::string(what) + " did NOT run ***\n";
}

std::optional<toml::table> ParseToml(const std::string& path) {
#if TOML_EXCEPTIONS
  try {
    return toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    ADD_FAILURE() << "cannot parse " << path << ": " << e.description();
    return std::nullopt;
  }
#else
  toml::parse_result parsed = toml::parse_file(path);
  if (!parsed) {
    ADD_FAILURE() << "cannot parse " << path << ": " << parsed.error().description();
    return std::nullopt;
  }
  return std::move(parsed).table();
#endif
}

std::vector<bool> CaseSensitiveModes(const toml::table& entry) {
  std::vector<bool> modes;
  for (bool case_sensitive : {false, true}) {
    if (entry["case_sensitive"].value_or(false) && !case_sensitive) continue;
    if (entry["case_insensitive"].value_or(false) && case_sensitive) continue;
    modes.push_back(case_sensitive);
  }
  return modes;
}

std::vector<event::Event> LoadConformanceEvents(schema::Schema& schema) {
  std::ifstream in(ConformancePath("test_data.json"));
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

std::vector<ConformanceCase> LoadConformanceCases() {
  std::vector<ConformanceCase> cases;
  std::optional<toml::table> table = ParseToml(ConformancePath("test_queries.toml"));
  if (!table) return cases;
  const toml::array* queries = (*table)["queries"].as_array();
  if (queries == nullptr) {
    ADD_FAILURE() << "test_queries.toml has no `queries` array";
    return cases;
  }
  for (const toml::node& node : *queries) {
    const toml::table* entry = node.as_table();
    if (entry == nullptr || !(*entry)["query"].value<std::string>()) {
      ADD_FAILURE() << "case #" << cases.size() + 1 << " has no query";
      return {};
    }
    ConformanceCase& c = cases.emplace_back();
    c.number = static_cast<int>(cases.size());
    c.query = *(*entry)["query"].value<std::string>();
    if (const toml::array* ids = (*entry)["expected_event_ids"].as_array()) {
      for (const toml::node& id : *ids) c.expected_event_ids.push_back(id.value_or(int64_t{-1}));
    }
    c.case_sensitive_modes = CaseSensitiveModes(*entry);
  }
  return cases;
}

}  // namespace kestrel::testing
