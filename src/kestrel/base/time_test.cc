#include "kestrel/base/time.h"

#include <gtest/gtest.h>

namespace kestrel::base {
namespace {

TEST(TimeTest, ParsesRfc3339Forms) {
  EXPECT_EQ(ParseTimestamp("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseTimestamp("2024-01-01T00:00:00Z"), int64_t{1704067200} * 1'000'000'000);
  EXPECT_EQ(ParseTimestamp("2024-01-01T00:00:00.5Z"),
            int64_t{1704067200} * 1'000'000'000 + 500'000'000);
  EXPECT_EQ(ParseTimestamp("2024-01-01T00:00:00.123456789123Z"),
            int64_t{1704067200} * 1'000'000'000 + 123456789);
  EXPECT_EQ(ParseTimestamp("2024-01-01T01:00:00+01:00"), int64_t{1704067200} * 1'000'000'000);
  EXPECT_EQ(ParseTimestamp("2024-01-01T00:00:00-0130"), int64_t{1704067200 + 5400} * 1'000'000'000);
  EXPECT_EQ(ParseTimestamp("2024-01-01 00:00:00"), int64_t{1704067200} * 1'000'000'000);
  EXPECT_EQ(ParseTimestamp("2024-01-01"), int64_t{1704067200} * 1'000'000'000);
  EXPECT_EQ(ParseTimestamp("1969-12-31T23:59:59Z"), int64_t{-1'000'000'000});
  EXPECT_EQ(ParseTimestamp("2024-02-29T00:00:00Z"), int64_t{1709164800} * 1'000'000'000);
}

TEST(TimeTest, RejectsMalformed) {
  for (const char* bad :
       {"", "2024", "2024-13-01", "2024-02-30T00:00:00Z", "2023-02-29", "2024-01-01T25:00:00Z",
        "2024-01-01T00:00:00.Z", "2024-01-01T00:00:00Q", "2024-01-01T00:00Z",
        "2024-01-01T00:00:00Zjunk", "9999-01-01", "abcd-ef-ghT00:00:00Z"}) {
    EXPECT_FALSE(ParseTimestamp(bad).has_value()) << bad;
  }
}

TEST(TimeTest, FormatRoundTrips) {
  for (const char* s :
       {"1970-01-01T00:00:00Z", "2024-01-01T00:00:00.5Z", "1969-12-31T23:59:59.999999999Z",
        "2261-12-31T23:59:59Z", "2000-02-29T12:34:56.000001Z"}) {
    auto ns = ParseTimestamp(s);
    ASSERT_TRUE(ns.has_value()) << s;
    EXPECT_EQ(FormatTimestamp(*ns), s);
  }
}

TEST(TimeTest, FormatWithFixedDigits) {
  EXPECT_EQ(FormatTimestamp(-1, 9), "1969-12-31T23:59:59.999999999Z");
  EXPECT_EQ(FormatTimestamp(1'500'000'000, 9), "1970-01-01T00:00:01.500000000Z");
  EXPECT_EQ(FormatTimestamp(1'500'999'999, 6), "1970-01-01T00:00:01.500999Z");  // truncated
  EXPECT_EQ(FormatTimestamp(1'500'000'000, 0), "1970-01-01T00:00:01Z");
}

TEST(TimeTest, FiletimeConversion) {
  EXPECT_EQ(FiletimeToUnixNanos(116444736000000000), 0);
  EXPECT_EQ(FiletimeToUnixNanos(116444736010000000), 1'000'000'000);
  EXPECT_EQ(FiletimeToUnixNanos(INT64_MAX), INT64_MAX);
  EXPECT_EQ(FiletimeToUnixNanos(INT64_MIN), INT64_MIN);
}

}  // namespace
}  // namespace kestrel::base
