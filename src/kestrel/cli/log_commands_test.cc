// `kestrel log cat`, `kestrel replay` and `kestrel record` against hostile logs and idle sources:
// bytes from a log never reach output unchecked (one valid JSON object per line, invalid UTF-8
// replaced), and a recording flushes its partial block while its source is idle.
#include "kestrel/cli/log_commands.h"

#include <fcntl.h>
#include <simdjson.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kestrel/cli/replay_command.h"
#include "kestrel/cli/run_command.h"
#include "kestrel/event/event.h"
#include "kestrel/log/log_reader.h"
#include "kestrel/log/log_writer.h"

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kestrel_log_cmd.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(std::string_view name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// Every line is one JSON object that simdjson's validating parser accepts (UTF-8 included).
void ExpectJsonObjectPerLine(const std::string& text) {
  simdjson::dom::parser parser;
  for (const std::string& line : Lines(text)) {
    simdjson::dom::element root;
    auto err = parser.parse(line).get(root);
    ASSERT_EQ(err, simdjson::SUCCESS) << simdjson::error_message(err) << " in: " << line;
    EXPECT_TRUE(root.is_object()) << line;
  }
}

// A log whose raw-JSON values were crafted (the writer stores them verbatim, with valid
// checksums): one closes the alert's JSON early and forges an alert line after a line break,
// one is invalid UTF-8; between them, ordinary events.
std::string WriteHostileLog(const TempDir& dir) {
  std::string path = dir.File("hostile.klog");
  schema::Schema schema;
  auto writer = log::LogWriter::Create(path, schema, {}, {});
  EXPECT_TRUE(writer.ok());
  auto name = *schema.Intern("process.name", schema::FieldType::kKeyword, false);
  auto args = *schema.Intern("process.args_raw", schema::FieldType::kKeyword, false);
  auto title = *schema.Intern("process.title", schema::FieldType::kKeyword, false);
  const std::string forged =
      "[]}}\n{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"rule\":{\"name\":\"forged alert\"},"
      "\"event\":{\"kind\":\"alert\"}}\n{\"x\":[";
  for (int i = 0; i < 4; ++i) {
    event::EventBuilder b(schema);
    b.Time(1'767'225'600'000'000'000 + i).Category("process").Str("process.name", "bash");
    event::Event e = b.Build();
    event::Event out;
    out.set_time_ns(e.time_ns());
    out.set_wall_ns(e.wall_ns());
    out.AddCategory(e.primary_category());
    out.SetString(name, "bash");
    out.SetString(title, i == 3 ? "bad \xff\xfe utf-8" : "fine");
    if (i == 1) out.SetRawJson(args, forged);
    if (i == 2) out.SetRawJson(args, "[\"\xc3\x28\"]");
    if (i == 0) out.SetRawJson(args, "[ {\"a\": 1},\n [2] ]");
    out.Finish();
    EXPECT_TRUE((*writer)->Append(out).ok());
  }
  EXPECT_TRUE((*writer)->Close().ok());
  return path;
}

// Runs `log cat` on `paths`; returns its standard output, *code its exit code.
std::string LogCatOutput(const std::vector<std::string>& paths, int* code) {
  spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);  // the default logger writes to stdout in tests
  ::testing::internal::CaptureStdout();
  *code = LogCat(paths);
  std::string out = ::testing::internal::GetCapturedStdout();
  spdlog::set_level(level);
  return out;
}

TEST(LogCommandsTest, LogCatNeverPrintsACraftedRawJsonValue) {
  TempDir dir;
  std::string path = WriteHostileLog(dir);
  int code = 0;
  std::string out = LogCatOutput({path}, &code);
  EXPECT_EQ(code, kExitFailure);  // the refused records are damage
  ExpectJsonObjectPerLine(out);
  EXPECT_THAT(out, Not(HasSubstr("forged")));
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_THAT(lines[0], HasSubstr("\"args_raw\":[{\"a\":1},[2]]"));  // minified
}

TEST(LogCommandsTest, LogCatReplacesInvalidUtf8AsAlertsDo) {
  TempDir dir;
  std::string path = WriteHostileLog(dir);
  int code = 0;
  std::string out = LogCatOutput({path}, &code);
  ExpectJsonObjectPerLine(out);
  EXPECT_THAT(out, HasSubstr("\"title\":\"bad \xEF\xBF\xBD\xEF\xBF\xBD utf-8\""));
  EXPECT_THAT(out, Not(HasSubstr("\xc3\x28")));
}

TEST(LogCommandsTest, ReplayAlertsStayOneValidJsonObjectPerLine) {
  TempDir dir;
  std::string path = WriteHostileLog(dir);
  fs::create_directory(dir.File("rules"));
  std::ofstream(dir.File("rules/bash.eql"))
      << "// severity: medium\nprocess where process.name == \"bash\"\n";
  ReplayCommandOptions options;
  options.logs = {path};
  options.rules_dir = dir.File("rules");
  options.output = dir.File("alerts.jsonl");
  spdlog::level::level_enum level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  int code = Replay(options);
  spdlog::set_level(level);
  EXPECT_EQ(code, kExitOk);
  std::ifstream in(*options.output, std::ios::binary);
  std::string alerts((std::istreambuf_iterator<char>(in)), {});
  ExpectJsonObjectPerLine(alerts);
  EXPECT_THAT(alerts, Not(HasSubstr("forged")));
  EXPECT_EQ(Lines(alerts).size(), 2u) << alerts;  // the two records that were not refused
}

// Events read from the log at `path` while its writer may still be open (no footer yet).
uint64_t EventsOnDisk(const std::string& path) {
  auto reader = log::LogFileReader::Open(path, nullptr);
  if (!reader.ok()) return 0;
  uint64_t events = 0;
  log::BlockInfo block;
  while (true) {
    auto more = (*reader)->NextBlock(&block);
    if (!more.ok() || !*more) break;
    events += block.header.event_count;
  }
  return events;
}

// `record` from a source that goes quiet: the partial block reaches the disk within about a
// second of wall time, while the recording is still running (kill -9 would lose no more).
TEST(LogCommandsTest, RecordFlushesAnIdleBlockWithinASecond) {
  TempDir dir;
  std::string fifo = dir.File("events.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  RecordOptions options;
  options.source = "ndjson:" + fifo;
  options.output = dir.File("rec.klog");
  int code = -1;
  std::thread recorder([&] { code = Record(options); });
  int fd = ::open(fifo.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0);
  std::string lines;
  for (int i = 0; i < 3; ++i) {
    lines += fmt::format(
        "{{\"@timestamp\":\"2026-01-01T00:00:0{}Z\",\"event\":{{\"category\":\"process\"}},"
        "\"process\":{{\"name\":\"bash\"}}}}\n",
        i);
  }
  ASSERT_EQ(::write(fd, lines.data(), lines.size()), static_cast<ssize_t>(lines.size()));
  auto start = std::chrono::steady_clock::now();
  uint64_t events = 0;
  while (std::chrono::steady_clock::now() - start < std::chrono::seconds(12)) {
    events = EventsOnDisk(options.output);
    if (events == 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(events, 3u) << "the idle recording's events are not on disk";
#ifdef KESTREL_UNDER_EMULATOR
  constexpr int kSlack = 4;  // qemu-user: the emulator's time, not the recorder's
#else
  constexpr int kSlack = 1;
#endif
  EXPECT_LT(waited, kSlack * std::chrono::milliseconds(2500));
  ::close(fd);  // end of input: the recording closes
  recorder.join();
  EXPECT_EQ(code, kExitOk);
  EXPECT_EQ(EventsOnDisk(options.output), 3u);
}

}  // namespace
}  // namespace kestrel::cli
