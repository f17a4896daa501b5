#include "kestrel/sources/ndjson/ndjson_source.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <random>

namespace kestrel::sources {
namespace {

class NdjsonSourceTest : public ::testing::Test {
 protected:
  std::string WriteFile(const std::string& content) {
    // Unique per test: CTest runs tests in parallel processes.
    std::string path = ::testing::TempDir() + "ndjson_source_test_" +
                       ::testing::UnitTest::GetInstance()->current_test_info()->name() + "_" +
                       std::to_string(counter_++) + ".ndjson";
    std::ofstream(path, std::ios::binary) << content;
    return path;
  }

  // Reads everything; returns the values of `field` (an int field) in order.
  std::vector<int64_t> ReadAll(const std::string& content, size_t chunk = 1 << 20,
                               size_t max_line = 64 << 20) {
    NdjsonOptions options;
    options.path = WriteFile(content);
    options.read_chunk_bytes = chunk;
    options.max_line_bytes = max_line;
    auto source = NdjsonSource::Open(&schema_, options,
                                     [&](const SourceDiagnostic& d) { diagnostics_.push_back(d); });
    EXPECT_TRUE(source.ok()) << source.status();
    std::vector<int64_t> out;
    event::Event e;
    while (true) {
      auto more = (*source)->Next(&e);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      auto id = schema_.Find("n");
      const event::Value* v = id ? e.Find(*id) : nullptr;
      out.push_back(v != nullptr ? v->as_int() : -1);
    }
    stats_ = (*source)->stats();
    return out;
  }

  schema::Schema schema_;
  std::vector<SourceDiagnostic> diagnostics_;
  SourceStats stats_;
  int counter_ = 0;
};

TEST_F(NdjsonSourceTest, MalformedLinesAreReportedWithLineNumbersAndSkipped) {
  auto got = ReadAll("{\"n\":1}\nnot json\n\n   \n{\"n\":2}\r\n{\"n\":\n{\"n\":3}");
  EXPECT_EQ(got, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(stats_.events, 3u);
  EXPECT_EQ(stats_.malformed, 2u);
  ASSERT_EQ(diagnostics_.size(), 2u);
  EXPECT_TRUE(diagnostics_[0].location.ends_with(":2")) << diagnostics_[0].location;
  EXPECT_TRUE(diagnostics_[1].location.ends_with(":6")) << diagnostics_[1].location;
  EXPECT_FALSE(diagnostics_[0].reason.empty());
}

TEST_F(NdjsonSourceTest, LinesSpanningReadChunks) {
  std::string content;
  std::vector<int64_t> want;
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    content +=
        "{\"n\":" + std::to_string(i) + ",\"pad\":\"" + std::string(rng() % 9000, 'x') + "\"}\n";
    want.push_back(i);
  }
  EXPECT_EQ(ReadAll(content, 4096), want);
  EXPECT_EQ(stats_.malformed, 0u);
  EXPECT_EQ(stats_.bytes, content.size());
}

TEST_F(NdjsonSourceTest, OverlongLineIsSkippedNotFatal) {
  std::string content =
      "{\"n\":1}\n{\"n\":2,\"pad\":\"" + std::string(50000, 'y') + "\"}\n{\"n\":3}\n";
  EXPECT_EQ(ReadAll(content, 4096, 10000), (std::vector<int64_t>{1, 3}));
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_TRUE(diagnostics_[0].location.ends_with(":2")) << diagnostics_[0].location;
  EXPECT_NE(diagnostics_[0].reason.find("longer than"), std::string::npos);
  // The same line within one chunk.
  diagnostics_.clear();
  EXPECT_EQ(ReadAll(content, 1 << 20, 10000), (std::vector<int64_t>{1, 3}));
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_TRUE(diagnostics_[0].location.ends_with(":2")) << diagnostics_[0].location;
}

TEST_F(NdjsonSourceTest, JsonArrayInput) {
  auto got = ReadAll("\xEF\xBB\xBF  [\n{\"n\":1},\n\"oops\",\n{\"n\":2}\n]\n");
  EXPECT_EQ(got, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(stats_.malformed, 1u);
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_NE(diagnostics_[0].location.find("array element 1"), std::string::npos);
}

TEST_F(NdjsonSourceTest, TruncatedArrayIsReportedNotFatal) {
  // simdjson validates the structure of the whole document first, so a truncated array yields
  // no events; it is one malformed input, reported, and the run goes on.
  auto got = ReadAll("[{\"n\":1},{\"n\":2},{\"n\":");
  EXPECT_TRUE(got.empty());
  EXPECT_EQ(stats_.malformed, 1u);
  ASSERT_EQ(diagnostics_.size(), 1u);
  EXPECT_FALSE(diagnostics_[0].reason.empty());
}

TEST_F(NdjsonSourceTest, EmptyInput) {
  EXPECT_TRUE(ReadAll("").empty());
  EXPECT_TRUE(ReadAll("\n\n  \n").empty());
  EXPECT_EQ(stats_.malformed, 0u);
}

TEST_F(NdjsonSourceTest, MissingFileIsAnOpenError) {
  NdjsonOptions options;
  options.path = "/nonexistent/events.ndjson";
  auto source = NdjsonSource::Open(&schema_, options, nullptr);
  ASSERT_FALSE(source.ok());
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(source.status().message().find("/nonexistent/events.ndjson"), std::string::npos);
}

}  // namespace
}  // namespace kestrel::sources
