#include "kestrel/event/json_decoder.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "kestrel/event/json_encoder.h"
#include "kestrel/event/json_text.h"
#include "kestrel/testing/conformance.h"

namespace kestrel::event {
namespace {

using schema::Schema;
namespace ecs = schema::ecs;

class JsonDecoderTest : public ::testing::Test {
 protected:
  absl::Status Decode(std::string_view json) { return decoder_.Decode(json, &event_); }
  const Value* Get(std::string_view name) {
    auto id = schema_.Find(name);
    return id ? event_.Find(*id) : nullptr;
  }

  Schema schema_;
  JsonDecoder decoder_{&schema_};
  Event event_;
};

TEST_F(JsonDecoderTest, NestedAndDottedKeysAreTheSameField) {
  ASSERT_TRUE(Decode(R"({"process":{"name":"bash","parent":{"pid":1}}})").ok());
  EXPECT_EQ(Get("process.name")->as_string(), "bash");
  EXPECT_EQ(Get("process.parent.pid")->as_int(), 1);
  ASSERT_TRUE(Decode(R"({"process.name":"sh","process":{"parent.pid":2}})").ok());
  EXPECT_EQ(Get("process.name")->as_string(), "sh");
  EXPECT_EQ(Get("process.parent.pid")->as_int(), 2);
  EXPECT_FALSE(schema_.Info(*schema_.Find("process.name")).dynamic);
}

TEST_F(JsonDecoderTest, UnknownFieldsGetDynamicIdsWithInferredTypes) {
  ASSERT_TRUE(
      Decode(R"({"process_name":"cmd.exe","serial_event_id":5,"score":1.5,"ok":true})").ok());
  auto check = [&](const char* name, schema::FieldType type) {
    auto id = schema_.Find(name);
    ASSERT_TRUE(id.has_value()) << name;
    EXPECT_TRUE(schema_.Info(*id).dynamic);
    EXPECT_EQ(schema_.Info(*id).type, type) << name;
  };
  check("process_name", schema::FieldType::kKeyword);
  check("serial_event_id", schema::FieldType::kLong);
  check("score", schema::FieldType::kDouble);
  check("ok", schema::FieldType::kBoolean);
  EXPECT_EQ(Get("serial_event_id")->as_int(), 5);
}

TEST_F(JsonDecoderTest, Arrays) {
  ASSERT_TRUE(Decode(R"({"process":{"args":["ls","-la",""]},"tags":[],"x":[1,[2]],)"
                     R"("y":[{"a":1}, {"b" : 2}],"z":[1,"two",null,true]})")
                  .ok());
  auto args = Get("process.args")->as_array();
  ASSERT_EQ(args.size(), 3u);
  EXPECT_EQ(args[1].as_string(), "-la");
  EXPECT_EQ(args[2].as_string(), "");
  EXPECT_EQ(Get("tags")->as_array().size(), 0u);
  EXPECT_EQ(Get("x")->kind(), ValueKind::kRawJson);
  EXPECT_EQ(Get("x")->as_string(), "[1,[2]]");
  EXPECT_EQ(Get("y")->as_string(), R"([{"a":1},{"b":2}])");
  auto z = Get("z")->as_array();
  ASSERT_EQ(z.size(), 4u);
  EXPECT_EQ(z[0].as_int(), 1);
  EXPECT_EQ(z[1].as_string(), "two");
  EXPECT_TRUE(z[2].is_null());
  EXPECT_TRUE(z[3].as_bool());
}

// An array kept raw is checked as a log reader checks it (On-Demand skipped its elements): a
// bad escape inside is a malformed event, not text carried into alerts and logs.
TEST_F(JsonDecoderTest, RawArraysAreCheckedByTheGrammar) {
  auto bad = Decode(R"({"y":[{"a":"\q"}]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("not valid JSON: a bad escape"), std::string::npos) << bad;
  ASSERT_TRUE(Decode(R"({"y":[{"n":123456789012345678901234567890}]})").ok());
  EXPECT_EQ(Get("y")->as_string(), R"([{"n":123456789012345678901234567890}])");
}

TEST_F(JsonDecoderTest, NumbersAtTheEdges) {
  ASSERT_TRUE(
      Decode(R"({"a":9223372036854775807,"b":-9223372036854775808,)"
             R"("c":18446744073709551615,"d":9223372036854775808,"e":1.7976931348623157e308,)"
             R"("f":5e-324,"g":-0.0,"h":18446744073709551616,"i":1e2})")
          .ok());
  EXPECT_EQ(Get("a")->as_int(), INT64_MAX);
  EXPECT_EQ(Get("b")->as_int(), INT64_MIN);
  EXPECT_EQ(Get("c")->kind(), ValueKind::kUint);
  EXPECT_EQ(Get("c")->as_uint(), UINT64_MAX);
  EXPECT_EQ(Get("d")->as_uint(), uint64_t{1} << 63);
  EXPECT_EQ(Get("e")->as_double(), 1.7976931348623157e308);
  EXPECT_EQ(Get("f")->as_double(), 5e-324);
  EXPECT_EQ(Get("g")->kind(), ValueKind::kDouble);
  EXPECT_EQ(Get("h")->kind(), ValueKind::kDouble) << "beyond 64 bits: nearest double";
  EXPECT_EQ(Get("h")->as_double(), 18446744073709551616.0);
  EXPECT_EQ(Get("i")->as_double(), 100.0);
  ASSERT_TRUE(Decode(R"({"a":1.8446744073709552e+19,"b":12345678901234567890123.5})").ok());
  EXPECT_EQ(Get("a")->as_double(), 18446744073709551616.0);
  EXPECT_EQ(Get("b")->as_double(), 12345678901234567890123.5);
  EXPECT_FALSE(Decode(R"({"a":1e999})").ok()) << "out of double range";
  EXPECT_FALSE(Decode(R"({"a":01})").ok());
  EXPECT_FALSE(Decode(R"({"a":NaN})").ok());
}

TEST_F(JsonDecoderTest, IpFieldsBecomeIpValues) {
  ASSERT_TRUE(Decode(R"({"destination":{"ip":"10.1.2.3"},"source":{"ip":"fe80::1"},)"
                     R"("host":{"ip":["127.0.0.1","::1"]},"related":{"ip":"not-an-ip"}})")
                  .ok());
  EXPECT_EQ(Get("destination.ip")->kind(), ValueKind::kIp);
  EXPECT_EQ(Get("destination.ip")->as_ip().ToString(), "10.1.2.3");
  EXPECT_EQ(Get("source.ip")->as_ip().ToString(), "fe80::1");
  EXPECT_EQ(Get("host.ip")->as_array()[1].as_ip().ToString(), "::1");
  EXPECT_EQ(Get("related.ip")->kind(), ValueKind::kString) << "unparsable ip kept as text";
}

TEST_F(JsonDecoderTest, TimeAndCategories) {
  ASSERT_TRUE(
      Decode(R"({"@timestamp":"2024-01-01T00:00:01Z","event":{"category":["process","host"]}})")
          .ok());
  EXPECT_EQ(event_.time_ns(), int64_t{1704067201} * 1'000'000'000);
  EXPECT_EQ(event_.wall_ns(), event_.time_ns());
  EXPECT_TRUE(event_.InCategory(*schema_.FindCategory("process")));
  EXPECT_TRUE(event_.InCategory(*schema_.FindCategory("host")));
  EXPECT_FALSE(event_.InCategory(*schema_.FindCategory("file")));
  // No time: the previous event's time, counted.
  ASSERT_TRUE(Decode(R"({"event_type":"image_load"})").ok());
  EXPECT_EQ(event_.time_ns(), int64_t{1704067201} * 1'000'000'000);
  EXPECT_EQ(decoder_.stats().missing_time, 1u);
  EXPECT_TRUE(event_.InCategory(*schema_.FindCategory("image_load")));
  // Epoch milliseconds by default for numbers.
  ASSERT_TRUE(Decode(R"({"@timestamp":1704067200000})").ok());
  EXPECT_EQ(event_.time_ns(), int64_t{1704067200} * 1'000'000'000);
}

TEST_F(JsonDecoderTest, FiletimeTimeField) {
  DecoderOptions options;
  options.time_field = "timestamp";
  options.time_format = TimeFormat::kFiletime;
  JsonDecoder decoder(&schema_, options);
  ASSERT_TRUE(
      decoder.Decode(R"({"timestamp":116444736010000000,"event_type":"process"})", &event_).ok());
  EXPECT_EQ(event_.time_ns(), 1'000'000'000);
}

TEST_F(JsonDecoderTest, EmptyKeySegmentsArePartOfTheName) {
  ASSERT_TRUE(Decode(R"({"..a":1,"":{"":{"b":2}}})").ok());
  EXPECT_EQ(Get("..a")->as_int(), 1);
  EXPECT_EQ(Get("..b")->as_int(), 2);
}

TEST_F(JsonDecoderTest, DuplicateKeysLastWins) {
  ASSERT_TRUE(Decode(R"({"process":{"name":"a"},"process.name":"b","process":{"name":"c"}})").ok());
  EXPECT_EQ(Get("process.name")->as_string(), "c");
  EXPECT_EQ(event_.size(), 1u);
}

TEST_F(JsonDecoderTest, StringsAndEscapes) {
  ASSERT_TRUE(Decode(R"({"message":"tab\there \"q\" \u00e9 \ud83d\ude00 \\ end"})").ok());
  EXPECT_EQ(Get("message")->as_string(), "tab\there \"q\" \xC3\xA9 \xF0\x9F\x98\x80 \\ end");
}

TEST_F(JsonDecoderTest, InvalidUtf8IsMalformed) {
  EXPECT_FALSE(Decode("{\"message\":\"bad \xC3\x28 byte\"}").ok());
  EXPECT_FALSE(Decode("{\"message\":\"\xFF\"}").ok());
}

TEST_F(JsonDecoderTest, TenMegabyteString) {
  std::string big(10 * 1024 * 1024, 'a');
  std::string json = "{\"message\":\"" + big + "\",\"process\":{\"pid\":3}}";
  ASSERT_TRUE(Decode(json).ok());
  EXPECT_EQ(Get("message")->as_string().size(), big.size());
  EXPECT_EQ(Get("process.pid")->as_int(), 3);
}

TEST_F(JsonDecoderTest, DeepNestingIsRejectedWithoutCrashing) {
  std::string deep;
  for (int i = 0; i < 10000; ++i) deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 10000; ++i) deep += "}";
  absl::Status s = Decode(deep);
  EXPECT_FALSE(s.ok());
  std::string deep_array = "{\"a\":" + std::string(10000, '[') + std::string(10000, ']') + "}";
  EXPECT_FALSE(Decode(deep_array).ok());
  std::string dotted = "{\"a" + std::string(100, '.') + "b\":1}";
  EXPECT_FALSE(Decode(dotted).ok()) << "dotted keys count as nesting";
  // Within the limit it works.
  std::string ok = "{\"a\":{\"b\":{\"c\":{\"d\":1}}}}";
  ASSERT_TRUE(Decode(ok).ok());
  EXPECT_EQ(Get("a.b.c.d")->as_int(), 1);
}

// What decodes must encode to JSON that decodes again (the json_event fuzzer's property): a
// dotted name's array sits one level below its last segment once the encoder nests the name, so
// a name of 64 segments may not hold an array (found by the fuzzer: 64 segments, mostly empty).
TEST_F(JsonDecoderTest, DottedNamesAtTheDepthLimitRoundTrip) {
  for (int segments : {62, 63, 64, 65}) {
    std::string name(static_cast<size_t>(segments) - 1, '.');  // empty segments count too
    name += "x";
    for (const std::string& value : {std::string("1"), std::string("[1, 2]"),
                                     std::string("[{\"a\": 1}]"), std::string("{\"y\": [3]}")}) {
      std::string json = "{\"" + name + "\": " + value + "}";
      if (!Decode(json).ok()) continue;
      std::string encoded;
      AppendEventJson(event_, schema_, &encoded);
      Event again;
      EXPECT_TRUE(decoder_.Decode(encoded, &again).ok())
          << segments << " segments, value " << value << ": " << encoded;
    }
  }
}

TEST_F(JsonDecoderTest, MalformedInputsAreErrorsWithReasons) {
  for (const char* bad : {"", "not json", "[1,2]", "\"str\"", "42", "{", "{\"a\":}", "{\"a\":1,}",
                          "{\"a\":1} trailing", "{\"a\":1}{\"b\":2}", "{'a':1}", "{\"a\":tru}"}) {
    absl::Status s = Decode(bad);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_FALSE(s.message().empty()) << bad;
  }
  EXPECT_TRUE(Decode("{}").ok());
  EXPECT_EQ(event_.size(), 0u);
  EXPECT_TRUE(Decode("  {\"a\" : 1 }  ").ok());
}

TEST_F(JsonDecoderTest, DecodeArrayReportsBadElementsAndContinues) {
  std::string json = R"([{"a":1}, 5, {"a":2}, [1], {"a":3}])";
  json.append(JsonDecoder::kPadding, '\0');
  std::vector<int64_t> seen;
  std::vector<size_t> errors;
  Event scratch;
  absl::Status s = decoder_.DecodeArray(
      std::string_view(json.data(), json.size() - JsonDecoder::kPadding), json.size(), &scratch,
      [&](Event& e) { seen.push_back(e.Find(*schema_.Find("a"))->as_int()); },
      [&](size_t i, const absl::Status&) { errors.push_back(i); });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(seen, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(errors, (std::vector<size_t>{1, 3}));
}

TEST_F(JsonDecoderTest, SteadyStateDoesNotAllocateInTheEvent) {
  std::string line =
      R"({"@timestamp":"2024-01-01T00:00:00Z","event":{"category":["process"],"type":["start"]},)"
      R"("process":{"pid":1234,"name":"bash","args":["bash","-c","id"],"executable":"/bin/bash"}})";
  ASSERT_TRUE(Decode(line).ok());
  size_t blocks = event_.arena().block_allocations();
  size_t capacity = event_.entry_capacity();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(Decode(line).ok());
  EXPECT_EQ(event_.arena().block_allocations(), blocks);
  EXPECT_EQ(event_.entry_capacity(), capacity);
}

TEST(JsonTextTest, DepthAndSplitIgnoreStrings) {
  EXPECT_EQ(JsonNestingDepth(R"([1,{"a":"[[[{"},[2]])"), 2u);
  auto parts = SplitJsonArray(R"([{"a":"x,]"},[1,2],3])");
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0], R"({"a":"x,]"})");
  EXPECT_EQ(parts[1], "[1,2]");
  EXPECT_EQ(parts[2], "3");
  EXPECT_TRUE(SplitJsonArray("[]").empty());
}

// Raw JSON from outside is checked by the grammar before it can reach an alert: nothing is
// converted (a 30-digit number is JSON), but a bad escape, a control character, bad UTF-8,
// trailing text or a missing separator is not.
TEST(JsonTextTest, CheckJsonTextFollowsTheGrammar) {
  for (const char* ok : {"[]", " [ 1 , -0.5e+9 , \"a\\u00e9\\n\" , true , null , false ] ",
                         "[{\"a\":{\"b\":[{}]}},123456789012345678901234567890]", "{}", "\"x\"",
                         "0", "[\"\xc3\xa9\"]"}) {
    EXPECT_EQ(CheckJsonText(ok, 64), nullptr) << ok;
  }
  for (const char* bad : {"",           "[",          "[1,]",  "[,1]",  "[1 2]",      "[01]",
                          "[1.]",       "[.5]",       "[1e]",  "[+1]",  "[\"a\\q\"]", "[\"\\u12\"]",
                          "[\"a\tb\"]", "[\"\xff\"]", "[]x",   "[] []", "{\"a\" 1}",  "{1:2}",
                          "{\"a\":1,}", "[tru]",      "[nul]", "[1]]",  "[[1]",       "\"abc"}) {
    EXPECT_NE(CheckJsonText(bad, 64), nullptr) << bad;
  }
  EXPECT_EQ(CheckJsonText("[[[]]]", 3), nullptr);
  EXPECT_NE(CheckJsonText("[[[[]]]]", 3), nullptr);
  EXPECT_NE(CheckJsonText(std::string(5000, '[') + std::string(5000, ']'), 100000), nullptr);
}

TEST(JsonDecoderConformanceDataTest, DecodesEveryEndgameTestEvent) {
  std::string path = testing::ConformancePath("test_data.json");
  KESTREL_SKIP_IF_MISSING(path, "the conformance data decoding test");
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string json = ss.str();
  size_t size = json.size();
  json.append(JsonDecoder::kPadding, '\0');
  Schema schema;
  DecoderOptions options;
  options.time_field = "timestamp";
  options.time_format = TimeFormat::kFiletime;
  JsonDecoder decoder(&schema, options);
  Event scratch;
  int count = 0;
  std::set<int64_t> serials;
  auto serial = schema.Intern("serial_event_id", schema::FieldType::kLong, false);
  ASSERT_TRUE(serial.ok());
  absl::Status s = decoder.DecodeArray(
      std::string_view(json.data(), size), json.size(), &scratch,
      [&](Event& e) {
        ++count;
        const Value* v = e.Find(*serial);
        ASSERT_NE(v, nullptr);
        EXPECT_TRUE(serials.insert(v->as_int()).second) << "duplicate " << v->as_int();
        EXPECT_NE(e.categories(), 0u);
      },
      [&](size_t i, const absl::Status& st) { ADD_FAILURE() << i << ": " << st; });
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(count, 102);
  EXPECT_EQ(decoder.stats().missing_time, 0u);
}

}  // namespace
}  // namespace kestrel::event
