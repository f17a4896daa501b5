#include "kestrel/event/json_encoder.h"

#include <gtest/gtest.h>

#include "kestrel/event/json_decoder.h"
#include "kestrel/event/json_writer.h"

namespace kestrel::event {
namespace {

using schema::Schema;

std::string Str(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return out;
}

TEST(JsonWriterTest, EscapesAndRepairsStrings) {
  EXPECT_EQ(Str("plain"), "\"plain\"");
  EXPECT_EQ(Str("q\"b\\n\n\t\x01"), R"("q\"b\\n\n\t\u0001")");
  EXPECT_EQ(Str("\xC3\xA9"), "\"\xC3\xA9\"");
  EXPECT_EQ(Str("bad\xC3("), "\"bad\xEF\xBF\xBD(\"");
  EXPECT_EQ(Str("\xED\xA0\x80"), "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"") << "surrogate";
}

TEST(JsonWriterTest, NumbersRoundTrip) {
  std::string out;
  AppendJsonDouble(&out, 0.1);
  out.push_back(' ');
  AppendJsonDouble(&out, 1.0);
  out.push_back(' ');
  AppendJsonDouble(&out, 1e300);
  out.push_back(' ');
  AppendJsonDouble(&out, 18446744073709551616.0);
  out.push_back(' ');
  AppendJsonInt(&out, INT64_MIN);
  out.push_back(' ');
  AppendJsonUint(&out, UINT64_MAX);
  EXPECT_EQ(out, "0.1 1.0 1e+300 1.8446744073709552e+19 -9223372036854775808 18446744073709551615");
}

TEST(JsonEncoderTest, WritesNestedObjectsInNameOrder) {
  Schema schema;
  Event e = EventBuilder(schema)
                .Str("process.name", "bash")
                .Int("process.pid", 12)
                .Str("process.parent.name", "sshd")
                .Category("process")
                .Str("@timestamp", "2024-01-01T00:00:00Z")
                .Strs("process.args", {"bash", "-i"})
                .Ip("destination.ip", "10.0.0.1")
                .Build();
  std::string out;
  AppendEventJson(e, schema, &out);
  EXPECT_EQ(out,
            R"({"@timestamp":"2024-01-01T00:00:00Z","destination":{"ip":"10.0.0.1"},)"
            R"("process":{"args":["bash","-i"],"name":"bash","parent":{"name":"sshd"},"pid":12}})");
}

TEST(JsonEncoderTest, LeafAndParentConflictKeepsDottedChild) {
  Schema schema;
  Event e = EventBuilder(schema).Int("a", 1).Int("a.b", 2).Int("a.c.d", 3).Int("b", 4).Build();
  std::string out;
  AppendEventJson(e, schema, &out);
  EXPECT_EQ(out, R"({"a":1,"a.b":2,"a.c.d":3,"b":4})");
}

TEST(JsonEncoderTest, DecodeEncodeRoundTrip) {
  Schema schema;
  JsonDecoder decoder(&schema);
  Event e;
  std::string in =
      R"({"@timestamp":"2024-01-01T00:00:00Z","event":{"category":["process"],"type":["start"]},)"
      R"("host":{"os":{"type":"linux"}},"process":{"args":["a","b"],"name":"x","pid":1,)"
      R"("x":{"y":[{"k":1}]}},"score":0.5,"u":18446744073709551615})";
  ASSERT_TRUE(decoder.Decode(in, &e).ok());
  std::string out;
  AppendEventJson(e, schema, &out);
  EXPECT_EQ(out, in);
}

TEST(JsonEncoderTest, AddsTimestampOnlyWhenAskedAndMissing) {
  Schema schema;
  // A live-shaped event: its time in the clocks, no @timestamp field.
  Event live = EventBuilder(schema).Category("process").Str("process.name", "sh").Build();
  live.set_time_ns(1'700'000'000'123'000'000);
  live.set_wall_ns(1'700'000'000'123'000'000);
  std::string plain, hunted;
  AppendEventJson(live, schema, &plain);
  AppendEventJson(live, schema, &hunted, EventJsonOptions{.add_timestamp = true});
  EXPECT_EQ(plain, R"({"process":{"name":"sh"}})");
  EXPECT_EQ(hunted, R"({"@timestamp":"2023-11-14T22:13:20.123Z","process":{"name":"sh"}})");
  // An @timestamp of the event's own is kept as it is, not duplicated.
  Event own = EventBuilder(schema).Str("@timestamp", "2024-01-01T00:00:00Z").Build();
  own.set_wall_ns(5);
  std::string out;
  AppendEventJson(own, schema, &out, EventJsonOptions{.add_timestamp = true});
  EXPECT_EQ(out, R"({"@timestamp":"2024-01-01T00:00:00Z"})");
  // Fraction digits: milliseconds at least, more only when needed to be exact.
  EXPECT_EQ(FormatEventTimestamp(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatEventTimestamp(1'500'000), "1970-01-01T00:00:00.001500Z");
  EXPECT_EQ(FormatEventTimestamp(1'500'001), "1970-01-01T00:00:00.001500001Z");
}

}  // namespace
}  // namespace kestrel::event
