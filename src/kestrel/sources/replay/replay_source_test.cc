#include "kestrel/sources/replay/replay_source.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kestrel/event/json_decoder.h"
#include "kestrel/event/json_encoder.h"
#include "kestrel/log/log_writer.h"

namespace kestrel::sources {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class ReplaySourceTest : public ::testing::Test {
 protected:
  ReplaySourceTest() {
    std::string tmpl = (fs::temp_directory_path() / "kestrel_replay_test.XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  ~ReplaySourceTest() override { fs::remove_all(dir_); }

  std::string File(std::string_view name) const { return (fs::path(dir_) / name).string(); }

  // Decodes NDJSON lines and writes them to a log; returns each event as JSON (in the writer's
  // schema), the reference for what a reader must give back.
  std::vector<std::string> Record(const std::string& path, const std::vector<std::string>& lines,
                                  size_t block_bytes = 1024) {
    schema::Schema schema;
    event::JsonDecoder decoder(&schema);
    log::WriterOptions options;
    options.block_bytes = block_bytes;
    auto writer = log::LogWriter::Create(path, schema, {}, options);
    EXPECT_TRUE(writer.ok()) << writer.status();
    std::vector<std::string> json;
    event::Event e;
    for (const std::string& line : lines) {
      absl::Status s = decoder.Decode(line, &e);
      EXPECT_TRUE(s.ok()) << s << " in " << line;
      EXPECT_TRUE((*writer)->Append(e).ok());
      json.emplace_back();
      event::AppendEventJson(e, schema, &json.back());
    }
    EXPECT_TRUE((*writer)->Close().ok());
    return json;
  }

  struct Replayed {
    std::vector<std::string> json;
    std::vector<SourceDiagnostic> diagnostics;
    uint64_t damaged = 0;
    uint64_t skipped = 0;
  };
  Replayed Replay(ReplayOptions options) {
    Replayed out;
    schema::Schema schema;
    auto source = ReplaySource::Open(
        &schema, options, [&](const SourceDiagnostic& d) { out.diagnostics.push_back(d); });
    EXPECT_TRUE(source.ok()) << source.status();
    if (!source.ok()) return out;
    event::Event e;
    while (true) {
      auto more = (*source)->Next(&e);
      EXPECT_TRUE(more.ok()) << more.status();
      if (!more.ok() || !*more) break;
      out.json.emplace_back();
      event::AppendEventJson(e, schema, &out.json.back());
    }
    EXPECT_EQ((*source)->stats().events, out.json.size());
    out.damaged = (*source)->damaged_blocks();
    out.skipped = (*source)->blocks_skipped();
    return out;
  }

  std::string dir_;
};

std::vector<std::string> Lines(int n) {
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    lines.push_back(fmt::format(
        R"({{"@timestamp":"2026-11-29T10:{:02d}:{:02d}.123456789Z","event":{{"category":["process"],"type":["start"]}},)"
        R"("process":{{"pid":{},"name":"b\u00e4sh\ud83d\udc26","args":["-c","","x"],"args_count":3,"working_directory":""}},)"
        R"("destination":{{"ip":"2001:db8::{:x}","port":{}}},"source":{{"ip":"10.0.0.{}"}},)"
        R"("custom":{{"big":18446744073709551615,"neg":-9223372036854775808,"f":1.5e-300,"t":true,"n":null,)"
        R"("objs":[{{"a":1}}],"nested":[[1],[2]],"empty":[]}}}})",
        i / 60, i % 60, 1000 + i, i + 1, 1024 + i, i % 250));
  }
  return lines;
}

TEST_F(ReplaySourceTest, NdjsonToLogToNdjsonIsIdentical) {
  std::vector<std::string> expected = Record(File("a.klog"), Lines(300));
  Replayed got = Replay({.paths = {File("a.klog")}});
  EXPECT_EQ(got.json, expected);
  EXPECT_THAT(got.json[0], HasSubstr("b\xC3\xA4sh\xF0\x9F\x90\xA6"));
  EXPECT_THAT(got.json[0], HasSubstr("18446744073709551615"));
  EXPECT_THAT(got.json[0], HasSubstr("-9223372036854775808"));
  EXPECT_THAT(got.json[0], HasSubstr("\"working_directory\":\"\""));
  EXPECT_TRUE(got.diagnostics.empty());
}

TEST_F(ReplaySourceTest, FilesAndDirectoriesReplayInOrder) {
  auto lines = Lines(200);
  std::vector<std::string> first(lines.begin(), lines.begin() + 120);
  std::vector<std::string> second(lines.begin() + 120, lines.end());
  fs::create_directory(File("dir"));
  auto a = Record(File("dir/rec.000001.klog"), first);
  auto b = Record(File("dir/rec.000002.klog"), second);
  a.insert(a.end(), b.begin(), b.end());
  EXPECT_EQ(Replay({.paths = {File("dir")}}).json, a);
  EXPECT_EQ(Replay({.paths = {File("dir/rec.000001.klog"), File("dir/rec.000002.klog")}}).json, a);
}

TEST_F(ReplaySourceTest, TimeRangeSkipsBlocksAndFiltersEvents) {
  auto all = Record(File("a.klog"), Lines(600), 512);
  // 10:02:00 up to (not including) 10:03:00: events 120..179.
  int64_t from = 1'795'946'520'000'000'000;  // 2026-11-29T10:02:00Z
  Replayed got =
      Replay({.paths = {File("a.klog")}, .from_ns = from, .to_ns = from + 60'000'000'000});
  ASSERT_EQ(got.json.size(), 60u);
  EXPECT_EQ(got.json.front(), all[120]);
  EXPECT_EQ(got.json.back(), all[179]);
  EXPECT_GT(got.skipped, 10u);  // most blocks never decompressed
}

TEST_F(ReplaySourceTest, DamageIsReportedWithFileAndOffsetAndSkipped) {
  auto all = Record(File("a.klog"), Lines(300), 512);
  auto info = log::InspectLog(File("a.klog"), nullptr);
  ASSERT_TRUE(info.ok());
  ASSERT_GT(info->blocks.size(), 4u);
  const log::BlockInfo& victim = info->blocks[2];
  std::fstream f(File("a.klog"), std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(victim.offset + log::kBlockHeaderSize + 5));
  f.put('\x7f');
  f.close();
  Replayed got = Replay({.paths = {File("a.klog")}});
  EXPECT_EQ(got.json.size(), all.size() - victim.header.event_count);
  EXPECT_EQ(got.damaged, 1u);
  ASSERT_EQ(got.diagnostics.size(), 1u);
  EXPECT_EQ(got.diagnostics[0].location, fmt::format("{}:{}", File("a.klog"), victim.offset));
  EXPECT_THAT(got.diagnostics[0].reason, HasSubstr("checksum"));
}

TEST_F(ReplaySourceTest, BadPathsAreRefusedBeforeReading) {
  schema::Schema schema;
  Record(File("a.klog"), Lines(3));
  auto missing =
      ReplaySource::Open(&schema, {.paths = {File("a.klog"), File("nope.klog")}}, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("nope.klog"));
  fs::create_directory(File("empty"));
  auto empty = ReplaySource::Open(&schema, {.paths = {File("empty")}}, nullptr);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(empty.status().message(), HasSubstr("no *.klog"));
  EXPECT_FALSE(ReplaySource::Open(&schema, {}, nullptr).ok());
  EXPECT_FALSE(
      ReplaySource::Open(&schema, {.paths = {File("a.klog")}, .from_ns = 5, .to_ns = 5}, nullptr)
          .ok());
}

}  // namespace
}  // namespace kestrel::sources
