// `kestrel query`'s input side (query_input.h) and `@timestamp` on hunting output: every input
// kind, directory time order, block pruning counters, --from/--to parsing and its errors, the
// progress line, and `log cat` of live-shaped events.
#include "kestrel/cli/query_input.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kestrel/base/status.h"
#include "kestrel/cli/log_commands.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/eql/sema.h"
#include "kestrel/event/event.h"
#include "kestrel/log/log_writer.h"

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kT0 = 1'767'225'600'000'000'000;  // 2026-01-01T00:00:00Z
constexpr int64_t kSecond = 1'000'000'000;

class InputDir {
 public:
  InputDir() {
    std::string tmpl = (fs::temp_directory_path() / "kestrel_query_input.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~InputDir() { fs::remove_all(path_); }
  std::string File(std::string_view name) const { return (fs::path(path_) / name).string(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A live-shaped event: its time only in the clocks (no @timestamp field), a serial number.
event::Event LiveEvent(schema::Schema& schema, int64_t t, int64_t serial) {
  event::Event e = event::EventBuilder(schema)
                       .Time(t)
                       .Category("process")
                       .Str("process.name", "sh")
                       .Int("serial", serial)
                       .Build();
  e.set_wall_ns(t);
  return e;
}

// Writes events at `times` (serials from `first_serial`) to a log of blocks of `per_block`
// events (a block closes when the next event is that many seconds after its oldest).
void WriteLog(const std::string& path, const std::vector<int64_t>& times, int64_t first_serial = 0,
              int64_t block_span_ns = 0) {
  schema::Schema schema;
  log::WriterOptions options;
  options.max_block_span_ns = block_span_ns;
  auto writer = log::LogWriter::Create(path, schema, {}, options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (size_t i = 0; i < times.size(); ++i) {
    ASSERT_TRUE((*writer)
                    ->Append(LiveEvent(schema, times[i], first_serial + static_cast<int64_t>(i)))
                    .ok());
  }
  ASSERT_TRUE((*writer)->Close().ok());
}

void WriteText(const std::string& path, std::string_view text) {
  std::ofstream out(path);
  out << text;
}

struct Read {
  std::vector<int64_t> serials;
  std::vector<int64_t> times;
  QueryInputCounters counters;
};

absl::StatusOr<Read> ReadAll(schema::Schema* schema, QueryInputOptions options) {
  auto input = QueryInput::Open(schema, options, nullptr);
  if (!input.ok()) return input.status();
  Read read;
  auto serial = *schema->Intern("serial", schema::FieldType::kLong, false);
  event::Event e;
  while (true) {
    auto more = (*input)->Next(&e);
    if (!more.ok()) return more.status();
    if (!*more) break;
    const event::Value* v = e.Find(serial);
    read.serials.push_back(v != nullptr ? v->as_int() : -1);
    read.times.push_back(e.time_ns());
  }
  read.counters = (*input)->counters();
  return read;
}

TEST(QueryInputTest, ReadsNdjsonJsonArraysLogsAndStdinInOrder) {
  InputDir dir;
  WriteText(dir.File("a.ndjson"), R"({"@timestamp":"2026-01-01T00:00:01Z","serial":1})"
                                  "\n"
                                  R"({"@timestamp":"2026-01-01T00:00:02Z","serial":2})"
                                  "\n");
  WriteText(dir.File("b.json"), R"([{"@timestamp":"2026-01-01T00:00:03Z","serial":3},
    {"@timestamp":"2026-01-01T00:00:04Z","serial":4}])");
  WriteLog(dir.File("c.log"), {kT0 + 5 * kSecond, kT0 + 6 * kSecond}, 5);  // not named .klog
  WriteText(dir.File("stdin.ndjson"), R"({"@timestamp":"2026-01-01T00:00:07Z","serial":7})");
  int saved = ::dup(0);
  int fd = ::open(dir.File("stdin.ndjson").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::dup2(fd, 0), 0);
  ::close(fd);
  schema::Schema schema;
  QueryInputOptions options;
  options.paths = {dir.File("a.ndjson"), dir.File("b.json"), dir.File("c.log"), "-"};
  auto read = ReadAll(&schema, options);
  ::dup2(saved, 0);
  ::close(saved);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(read->serials, ElementsAre(1, 2, 3, 4, 5, 6, 7));
  EXPECT_EQ(read->times.front(), kT0 + kSecond);
  EXPECT_EQ(read->counters.files, 4u);
  EXPECT_EQ(read->counters.events_read, 7u);
  EXPECT_EQ(read->counters.events_in_range, 7u);
  EXPECT_EQ(read->counters.blocks_read, 1u);
}

TEST(QueryInputTest, ReadsADirectoryOfLogsInTimeOrder) {
  InputDir dir;
  fs::create_directory(dir.File("rec"));
  // Names sort against time: a flight-recorder directory names files by alert id.
  WriteLog(dir.File("rec/zz.klog"), {kT0 + 1, kT0 + 2}, 0);
  WriteLog(dir.File("rec/mm.klog"), {kT0 + 3, kT0 + 4}, 2);
  WriteLog(dir.File("rec/aa.klog"), {kT0 + 5}, 4);
  WriteText(dir.File("rec/notes.txt"), "not a log");
  schema::Schema schema;
  QueryInputOptions options;
  options.paths = {dir.File("rec")};
  auto read = ReadAll(&schema, options);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(read->serials, ElementsAre(0, 1, 2, 3, 4));
  EXPECT_EQ(read->counters.files, 3u);

  fs::create_directory(dir.File("empty"));
  auto none = QueryInput::Open(&schema, QueryInputOptions{.paths = {dir.File("empty")}}, nullptr);
  ASSERT_FALSE(none.ok());
  EXPECT_THAT(base::Message(none.status()), HasSubstr("holds no *.klog event logs"));
  auto missing = QueryInput::Open(&schema, QueryInputOptions{.paths = {dir.File("nope")}}, nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(base::Message(missing.status()), HasSubstr("nope"));
}

TEST(QueryInputTest, ANarrowRangeReadsOnlyTheBlocksThatOverlapIt) {
  InputDir dir;
  // 100 events, one a second; a block closes every 10 s of event time: 10 blocks.
  std::vector<int64_t> times;
  for (int i = 0; i < 100; ++i) times.push_back(kT0 + i * kSecond);
  WriteLog(dir.File("x.klog"), times, 0, 10 * kSecond - 1);
  schema::Schema schema;
  QueryInputOptions all{.paths = {dir.File("x.klog")}};
  auto full = ReadAll(&schema, all);
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->counters.blocks_total, 10u);
  EXPECT_EQ(full->counters.blocks_read, 10u);
  EXPECT_EQ(full->counters.events_in_range, 100u);

  // [25 s, 35 s): blocks 20-29 and 30-39 overlap it, the other eight are pruned.
  QueryInputOptions narrow = all;
  narrow.from = "2026-01-01T00:00:25Z";
  narrow.to = "2026-01-01T00:00:35Z";
  auto part = ReadAll(&schema, narrow);
  ASSERT_TRUE(part.ok()) << part.status();
  EXPECT_EQ(part->counters.blocks_total, 10u);
  EXPECT_EQ(part->counters.blocks_read, 2u);
  EXPECT_EQ(part->counters.blocks_pruned, 8u);
  EXPECT_EQ(part->counters.events_read, 20u);
  EXPECT_EQ(part->counters.events_in_range, 10u);
  EXPECT_EQ(part->serials.front(), 25);
  EXPECT_EQ(part->serials.back(), 34);

  // Relative: the last 10 s before the newest logged event (99 s), whatever the wall clock.
  QueryInputOptions last = all;
  last.from = "-10s";
  last.now_ns = kT0 + 1'000'000 * kSecond;
  auto tail = ReadAll(&schema, last);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(tail->serials.front(), 89);
  EXPECT_EQ(tail->serials.back(), 99);
  EXPECT_EQ(tail->counters.blocks_read, 2u);

  // A file wholly outside the range is pruned without being opened again.
  QueryInputOptions before = all;
  before.to = "2025-12-31T00:00:00Z";
  auto nothing = ReadAll(&schema, before);
  ASSERT_TRUE(nothing.ok()) << nothing.status();
  EXPECT_TRUE(nothing->serials.empty());
  EXPECT_EQ(nothing->counters.blocks_pruned, 10u);
  EXPECT_EQ(nothing->counters.blocks_read, 0u);
}

TEST(QueryInputTest, JsonInputIsFilteredByTime) {
  InputDir dir;
  WriteText(dir.File("a.ndjson"), R"({"@timestamp":"2026-01-01T00:00:01Z","serial":1})"
                                  "\n"
                                  R"({"@timestamp":"2026-01-01T00:00:02Z","serial":2})"
                                  "\n"
                                  R"({"@timestamp":"2026-01-01T00:00:03Z","serial":3})"
                                  "\n");
  schema::Schema schema;
  QueryInputOptions options{.paths = {dir.File("a.ndjson")}};
  options.from = "2026-01-01T00:00:02Z";
  options.to = "2026-01-01T00:00:03Z";
  auto read = ReadAll(&schema, options);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(read->serials, ElementsAre(2));
  EXPECT_EQ(read->counters.events_read, 3u);
  EXPECT_EQ(read->counters.events_in_range, 1u);
  EXPECT_EQ(read->counters.blocks_total, 0u);
}

TEST(QueryInputTest, TimeBoundsParseEveryFormAndNameTheBadValue) {
  const int64_t anchor = kT0 + 100 * kSecond, now = kT0 + 1000 * kSecond;
  auto at = [&](std::string_view text) { return ParseTimeBound("--from", text, anchor, now); };
  EXPECT_EQ(*at("2026-01-01T00:00:00Z"), kT0);
  EXPECT_EQ(*at("2026-01-01T01:00:00+01:00"), kT0);
  EXPECT_EQ(*at("2026-01-01"), kT0);
  EXPECT_EQ(*at("1767225600000000000"), kT0);
  EXPECT_EQ(*at("-90s"), anchor - 90 * kSecond);
  EXPECT_EQ(*at("-30m"), anchor - 1800 * kSecond);
  EXPECT_EQ(*at("-2h"), anchor - 7200 * kSecond);
  EXPECT_EQ(*at("-7d"), anchor - 7 * 86400 * kSecond);
  EXPECT_EQ(*at("+500ms"), anchor + 500'000'000);
  EXPECT_EQ(*at("now"), now);
  EXPECT_EQ(*at("now-1h"), now - 3600 * kSecond);
  EXPECT_EQ(*at("-5"), -5);  // Unix nanoseconds before 1970
  for (std::string_view bad :
       {"", "yesterday", "-2x", "2026-13-01", "now-", "nowish", "-h", "- 2h", "2h"}) {
    auto t = ParseTimeBound("--to", bad, anchor, now);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(base::Message(t.status()),
                HasSubstr("--to: '" + std::string(bad) + "' is not a time: expected RFC 3339"));
  }
  auto huge = ParseTimeBound("--from", "-99999999w", anchor, now);
  ASSERT_FALSE(huge.ok());
  EXPECT_THAT(base::Message(huge.status()), HasSubstr("out of range"));

  schema::Schema schema;
  QueryInputOptions options;
  options.paths = {"/dev/null"};
  options.from = "2026-01-02";
  options.to = "2026-01-01";
  auto empty = QueryInput::Open(&schema, options, nullptr);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(base::Message(empty.status()), HasSubstr("the time range is empty"));
  options.from = "soon";
  auto bad = QueryInput::Open(&schema, options, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(base::Message(bad.status()), HasSubstr("--from: 'soon' is not a time"));
}

TEST(QueryInputTest, ProgressLineWaitsASecondThrottlesAndClears) {
  std::chrono::steady_clock::time_point t{};
  std::FILE* out = std::tmpfile();
  ASSERT_NE(out, nullptr);
  auto contents = [&] {
    std::fflush(out);
    std::string text(static_cast<size_t>(std::ftell(out)), '\0');
    std::rewind(out);
    size_t n = std::fread(text.data(), 1, text.size(), out);
    text.resize(n);
    std::fseek(out, 0, SEEK_END);
    return text;
  };
  {
    ProgressLine off(false, out, [&] { return t; });
    t += std::chrono::seconds(5);
    off.Update(10, 1);
    off.Clear();
    EXPECT_EQ(contents(), "");  // not a terminal: never
  }
  t = {};
  ProgressLine line(true, out, [&] { return t; });
  t += std::chrono::milliseconds(900);
  line.Update(1000, 0);
  EXPECT_EQ(contents(), "");  // under a second: nothing
  t += std::chrono::milliseconds(100);
  line.Update(2'000'000, 3);
  EXPECT_EQ(contents(), "\r\033[K2000000 events, 2.00 M events/s, 3 matches");
  t += std::chrono::milliseconds(100);
  line.Update(2'100'000, 3);  // within 250 ms of the last: skipped
  EXPECT_FALSE(contents().ends_with("2100000 events, 2.10 M events/s, 3 matches"));
  t += std::chrono::milliseconds(200);
  line.Update(2'600'000, 4);
  EXPECT_THAT(contents(), HasSubstr("2600000 events, 2.00 M events/s, 4 matches"));
  EXPECT_TRUE(line.shown());
  line.Clear();
  EXPECT_TRUE(contents().ends_with("\r\033[K"));
  EXPECT_FALSE(line.shown());
  std::fclose(out);
}

TEST(QueryInputTest, FieldsReadNamesWhatTheQueryReadsOrDeclines) {
  schema::Schema schema;
  auto fields = [&](std::string_view query, eql::Dialect dialect) {
    eql::CompileOptions options;
    options.dialect = dialect;
    eql::CompileResult compiled = eql::Compile(query, schema, options);
    EXPECT_TRUE(compiled.ok()) << query;
    return compiled.ok() ? FieldsRead(*compiled.program) : std::nullopt;
  };
  auto names = [&](const std::vector<schema::FieldId>& ids) {
    std::vector<std::string> out;
    for (schema::FieldId id : ids) out.emplace_back(schema.Info(id).name);
    std::sort(out.begin(), out.end());
    return out;
  };
  auto read = fields(
      R"(sequence by host.id [process where process.name == "a"] [file where file.size > 1]
         until [process where process.pid == 3] | count user.name)",
      eql::Dialect::kElasticsearch);
  ASSERT_TRUE(read.has_value());
  EXPECT_THAT(names(*read),
              ElementsAre("file.size", "host.id", "process.name", "process.pid", "user.name"));
  auto none = fields("process where true", eql::Dialect::kElasticsearch);
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
  // Relations read the process tree, not only named fields: no projection.
  EXPECT_FALSE(fields(R"(process where descendant of [process where process_name == "x"])",
                      eql::Dialect::kEndgame)
                   .has_value());
}

// Live-shaped events recorded to a log come out of `log cat` with @timestamp, and that NDJSON,
// read back as `kestrel query` reads it, keeps their times and order.
TEST(QueryInputTest, LogCatGivesLiveEventsATimestampThatRoundTrips) {
  InputDir dir;
  std::vector<int64_t> times = {kT0 + 1'000'000, kT0 + 1'500'000, kT0 + 2 * kSecond + 7};
  WriteLog(dir.File("live.klog"), times);
  spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  ::testing::internal::CaptureStdout();
  int code = LogCat({dir.File("live.klog")});
  std::string out = ::testing::internal::GetCapturedStdout();
  spdlog::set_level(level);
  ASSERT_EQ(code, kExitOk);
  std::istringstream lines(out);
  std::vector<std::string> got;
  for (std::string line; std::getline(lines, line);) got.push_back(line);
  ASSERT_EQ(got.size(), 3u) << out;
  EXPECT_THAT(got[0], HasSubstr(R"("@timestamp":"2026-01-01T00:00:00.001Z")"));
  EXPECT_THAT(got[1], HasSubstr(R"("@timestamp":"2026-01-01T00:00:00.001500Z")"));
  EXPECT_THAT(got[2], HasSubstr(R"("@timestamp":"2026-01-01T00:00:02.000000007Z")"));

  WriteText(dir.File("back.ndjson"), out);
  schema::Schema schema;
  auto read = ReadAll(&schema, QueryInputOptions{.paths = {dir.File("back.ndjson")}});
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(read->serials, ElementsAre(0, 1, 2));
  EXPECT_EQ(read->times, times);
}

}  // namespace
}  // namespace kestrel::cli
