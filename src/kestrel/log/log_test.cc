#include <sys/stat.h>
#include <unistd.h>

#include <cfloat>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kestrel/base/status.h"
#include "kestrel/event/value.h"
#include "kestrel/log/log_reader.h"
#include "kestrel/log/log_writer.h"
#include "kestrel/log/record_codec.h"
#include "xxhash.h"

namespace kestrel::log {
namespace {

namespace fs = std::filesystem;
using event::Event;
using event::Value;
using event::ValueKind;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "kestrel_log_test.XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string File(std::string_view name) const { return (fs::path(path_) / name).string(); }

 private:
  std::string path_;
};

LogMetadata Meta() {
  LogMetadata m;
  m.kestrel_version = "0.1.0-test";
  m.host_name = "test-host";
  m.boot_id = "6b1c0f5e-0000-4000-8000-000000000001";
  m.clock_origin_ns = 1'700'000'000'000'000'000;
  return m;
}

// An event exercising every value kind and the awkward corners of each.
Event RichEvent(schema::Schema& schema, int i) {
  Event e;
  auto id = [&](std::string_view name, schema::FieldType type, bool array = false) {
    auto found = schema.Find(name);
    return found ? *found : *schema.Intern(name, type, array);
  };
  e.set_time_ns(1'000'000'000LL * i + 17);
  e.set_wall_ns(1'700'000'000'000'000'000LL + i);
  e.AddCategory(schema.InternCategory(i % 2 ? "process" : "file"));
  e.SetString(id("process.name", schema::FieldType::kKeyword), i % 3 ? "bash" : "");
  e.SetString(id("process.command_line", schema::FieldType::kKeyword),
              "echo \"h\xC3\xA9llo w\xC3\xB6rld \xF0\x9F\x90\xA6\" \\ \t tab");
  e.SetInt(id("process.pid", schema::FieldType::kLong), i);
  e.SetInt(id("custom.min", schema::FieldType::kLong), std::numeric_limits<int64_t>::min());
  e.SetInt(id("custom.max", schema::FieldType::kLong), std::numeric_limits<int64_t>::max());
  e.SetUint(id("custom.umax", schema::FieldType::kUnsigned), std::numeric_limits<uint64_t>::max());
  e.SetDouble(id("custom.dmax", schema::FieldType::kDouble), DBL_MAX);
  e.SetDouble(id("custom.dmin", schema::FieldType::kDouble), -DBL_MIN);
  e.SetDouble(id("custom.negzero", schema::FieldType::kDouble), -0.0);
  e.SetBool(id("custom.flag", schema::FieldType::kBoolean), i % 2 == 0);
  e.SetNull(id("custom.nothing", schema::FieldType::kKeyword));
  e.SetIp(id("source.ip", schema::FieldType::kIp), *event::IpAddress::Parse("10.1.2.3"));
  e.SetIp(id("destination.ip", schema::FieldType::kIp), *event::IpAddress::Parse("2001:db8::1"));
  std::vector<Value> args = {Value::String("-c"), Value::String(""), Value::String("x y")};
  e.SetArray(id("process.args", schema::FieldType::kKeyword, true), args);
  std::vector<Value> mixed = {Value::Int(-1), Value::Double(0.5), Value::Bool(true), Value::Null()};
  e.SetArray(id("custom.mixed", schema::FieldType::kKeyword, true), mixed);
  e.SetArray(id("custom.empty", schema::FieldType::kKeyword, true), {});
  e.SetRawJson(id("custom.objects", schema::FieldType::kKeyword), R"([{"a":1},[2,3]])");
  e.Finish();
  return e;
}

// Field name -> value text, in the event's own schema (for comparing across schemas).
std::map<std::string, std::string> Fields(const Event& e, const schema::Schema& schema) {
  std::map<std::string, std::string> out;
  auto text = [](const Value& v) {
    switch (v.kind()) {
      case ValueKind::kNull:
        return std::string("null");
      case ValueKind::kBool:
        return std::string(v.as_bool() ? "true" : "false");
      case ValueKind::kInt:
        return "i" + std::to_string(v.as_int());
      case ValueKind::kUint:
        return "u" + std::to_string(v.as_uint());
      case ValueKind::kDouble: {
        char buf[64];
        std::snprintf(buf, sizeof buf, "d%a%s", v.as_double(),
                      std::signbit(v.as_double()) ? "-" : "");
        return std::string(buf);
      }
      case ValueKind::kString:
        return "s" + std::string(v.as_string());
      case ValueKind::kRawJson:
        return "j" + std::string(v.as_string());
      case ValueKind::kIp:
        return "ip" + v.as_ip().ToString();
      case ValueKind::kArray:
        return std::string("array");
    }
    return std::string("?");
  };
  for (const Event::Entry& entry : e.entries()) {
    std::string value = text(entry.value);
    if (entry.value.kind() == ValueKind::kArray) {
      value = "[";
      for (const Value& el : entry.value.as_array()) value += text(el) + ",";
      value += "]";
    }
    out[std::string(schema.Info(entry.id).name)] = value;
  }
  std::string cats;
  for (int c = 0; c < 64; ++c) {
    if (e.categories() >> c & 1) cats += std::string(schema.CategoryName(c)) + ",";
  }
  out["<categories>"] = cats;
  out["<time>"] = std::to_string(e.time_ns());
  out["<wall>"] = std::to_string(e.wall_ns());
  return out;
}

struct ReadResult {
  std::vector<std::map<std::string, std::string>> events;
  uint64_t damaged = 0;
  std::vector<std::string> damage;
  absl::Status status;
  bool footer = false;
};

ReadResult ReadAll(const std::string& path) {
  ReadResult result;
  schema::Schema schema;
  auto reader =
      LogFileReader::Open(path, [&](const std::string&, uint64_t off, std::string_view r) {
        result.damage.push_back(std::to_string(off) + ": " + std::string(r));
      });
  if (!reader.ok()) {
    result.status = reader.status();
    return result;
  }
  BlockDecoder decoder(&schema);
  BlockInfo block;
  Event e;
  while (true) {
    auto more = (*reader)->NextBlock(&block);
    if (!more.ok()) {
      result.status = more.status();
      return result;
    }
    if (!*more) break;
    auto payload = (*reader)->LoadPayload(true);
    if (!payload.ok()) {
      result.status = payload.status();
      return result;
    }
    if (!payload->has_value()) continue;
    if (!decoder.Start(**payload, block.header.event_count).ok()) {
      (*reader)->ReportDamage(block.offset, "bad definitions");
      continue;
    }
    while (true) {
      auto next = decoder.Next(&e);
      if (!next.ok()) {
        (*reader)->ReportDamage(block.offset, base::Message(next.status()));
        if (next.status().code() == absl::StatusCode::kDataLoss) continue;  // one record refused
        break;
      }
      if (!*next) break;
      result.events.push_back(Fields(e, schema));
    }
  }
  result.damaged = (*reader)->damaged();
  result.footer = (*reader)->has_footer();
  return result;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteBytes(const std::string& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Writes `n` rich events in blocks of about `block_bytes`; returns the events as read back from
// the writer's schema.
std::vector<std::map<std::string, std::string>> WriteLog(const std::string& path, int n,
                                                         size_t block_bytes = 4096) {
  schema::Schema schema;
  WriterOptions options;
  options.block_bytes = block_bytes;
  auto writer = LogWriter::Create(path, schema, Meta(), options);
  EXPECT_TRUE(writer.ok()) << writer.status();
  std::vector<std::map<std::string, std::string>> expected;
  for (int i = 0; i < n; ++i) {
    Event e = RichEvent(schema, i);
    EXPECT_TRUE((*writer)->Append(e).ok());
    expected.push_back(Fields(e, schema));
  }
  EXPECT_TRUE((*writer)->Close().ok());
  return expected;
}

TEST(LogTest, RoundTripKeepsEveryFieldOfEveryKind) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  auto expected = WriteLog(path, 500);
  ReadResult got = ReadAll(path);
  ASSERT_TRUE(got.status.ok()) << got.status;
  EXPECT_TRUE(got.footer);
  EXPECT_EQ(got.damaged, 0u);
  ASSERT_EQ(got.events.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_EQ(got.events[i], expected[i]) << i;
  // Spot-check the corners survived, not just that both sides agree.
  EXPECT_EQ(got.events[3]["custom.umax"], "u18446744073709551615");
  EXPECT_EQ(got.events[3]["custom.min"], "i-9223372036854775808");
  EXPECT_EQ(got.events[3]["custom.negzero"].back(), '-');
  EXPECT_EQ(got.events[3]["process.name"], "s");
  EXPECT_EQ(got.events[3]["destination.ip"], "ip2001:db8::1");
  EXPECT_EQ(got.events[3]["source.ip"], "ip10.1.2.3");
  EXPECT_EQ(got.events[3]["process.args"], "[s-c,s,sx y,]");
  EXPECT_EQ(got.events[3]["custom.empty"], "[]");
}

// Recorded events are the owner's only, and a symbolic link at the path is refused even with
// overwrite (it could point at any file the recorder may write).
TEST(LogTest, LogsAreOwnerOnlyAndNeverWrittenThroughASymlink) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  WriteLog(path, 10);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string victim = dir.File("victim");
  { std::ofstream(victim) << "precious"; }
  std::string link = dir.File("link.klog");
  ASSERT_EQ(::symlink(victim.c_str(), link.c_str()), 0);
  schema::Schema schema;
  WriterOptions options;
  options.overwrite = true;
  EXPECT_FALSE(LogWriter::Create(link, schema, LogMetadata{}, options).ok());
  // Overwriting a hard link to another file is refused before anything is truncated.
  std::string hard = dir.File("hard.klog");
  ASSERT_EQ(::link(victim.c_str(), hard.c_str()), 0);
  auto refused = LogWriter::Create(hard, schema, LogMetadata{}, options);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("hard links"), std::string::npos) << refused.status();
  std::ifstream in(victim);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "precious");
}

TEST(LogTest, InspectCountsBlocksEventsAndTimeRange) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  WriteLog(path, 1000);
  auto info = InspectLog(path, nullptr);
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(info->events, 1000u);
  EXPECT_GT(info->blocks.size(), 10u);
  EXPECT_EQ(info->damaged_blocks, 0u);
  EXPECT_TRUE(info->has_footer);
  EXPECT_EQ(info->footer.events, 1000u);
  EXPECT_EQ(info->footer.blocks, info->blocks.size());
  EXPECT_EQ(info->min_time_ns, 17);
  EXPECT_EQ(info->max_time_ns, 999'000'000'017);
  EXPECT_EQ(info->meta.host_name, "test-host");
  EXPECT_EQ(info->meta.clock_origin_ns, 1'700'000'000'000'000'000);
  EXPECT_TRUE(info->same_catalogue);
  EXPECT_THAT(info->footer.fields, ::testing::Contains("custom.objects"));
  uint64_t sum = 0;
  for (const BlockInfo& b : info->blocks) {
    EXPECT_EQ(b.header.first_event, sum);
    sum += b.header.event_count;
  }
}

// Which events lie in blocks that end at or before `limit` bytes (and do not contain `flip`).
uint64_t EventsInIntactBlocks(const LogInfo& info, uint64_t limit, uint64_t flip = UINT64_MAX) {
  uint64_t n = 0;
  for (const BlockInfo& b : info.blocks) {
    uint64_t end = b.offset + kBlockHeaderSize + b.header.compressed_len;
    if (end <= limit && !(flip >= b.offset && flip < end)) n += b.header.event_count;
  }
  return n;
}

TEST(LogTest, CutAtAnyByteKeepsEveryEarlierBlock) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  auto expected = WriteLog(path, 600);
  auto info = InspectLog(path, nullptr);
  ASSERT_TRUE(info.ok());
  std::string bytes = ReadBytes(path);
  std::mt19937_64 rng(42);
  std::string cut_path = dir.File("cut.klog");
  for (int trial = 0; trial < 200; ++trial) {
    uint64_t cut =
        info->blocks.front().offset + rng() % (bytes.size() - info->blocks.front().offset);
    WriteBytes(cut_path, std::string_view(bytes).substr(0, cut));
    ReadResult got = ReadAll(cut_path);
    ASSERT_TRUE(got.status.ok()) << "cut at " << cut << ": " << got.status;
    uint64_t intact = EventsInIntactBlocks(*info, cut);
    ASSERT_EQ(got.events.size(), intact) << "cut at " << cut;
    for (size_t i = 0; i < got.events.size(); ++i) ASSERT_EQ(got.events[i], expected[i]);
    bool on_boundary = cut == info->blocks.front().offset;
    for (const BlockInfo& b : info->blocks) {
      on_boundary |= cut == b.offset + kBlockHeaderSize + b.header.compressed_len;
    }
    if (!on_boundary && intact < expected.size()) {
      EXPECT_GE(got.damaged, 1u) << "cut at " << cut << " not reported";
      EXPECT_FALSE(got.damage.empty());
    }
    EXPECT_FALSE(got.footer);
  }
}

TEST(LogTest, SingleByteFlipsLoseOnlyTheBlockHit) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  auto expected = WriteLog(path, 600);
  auto info = InspectLog(path, nullptr);
  ASSERT_TRUE(info.ok());
  std::string bytes = ReadBytes(path);
  std::mt19937_64 rng(7);
  std::string bad_path = dir.File("flip.klog");
  uint64_t first_block = info->blocks.front().offset;
  for (int trial = 0; trial < 200; ++trial) {
    std::string damaged = bytes;
    uint64_t at = rng() % damaged.size();
    damaged[at] = static_cast<char>(damaged[at] ^ (1 + rng() % 255));
    WriteBytes(bad_path, damaged);
    ReadResult got = ReadAll(bad_path);
    if (at < first_block) {
      // The file header: refused as damaged (or not a log), never misread.
      EXPECT_FALSE(got.status.ok()) << "flip at " << at;
      continue;
    }
    ASSERT_TRUE(got.status.ok()) << "flip at " << at << ": " << got.status;
    uint64_t intact = EventsInIntactBlocks(*info, UINT64_MAX, at);
    EXPECT_EQ(got.events.size(), intact) << "flip at " << at;
    bool in_block = intact < expected.size();
    if (in_block) {
      EXPECT_EQ(got.damaged, 1u) << "flip at " << at;
      EXPECT_TRUE(got.footer);
    } else {
      EXPECT_FALSE(got.footer) << "flip at " << at << " in the footer went unseen";
    }
    EXPECT_FALSE(got.damage.empty()) << "flip at " << at;
  }
}

TEST(LogTest, DamagedTrailerIsReportedAndBlocksStillRead) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  auto expected = WriteLog(path, 50);
  std::string bytes = ReadBytes(path);
  bytes[bytes.size() - 3] ^= 0x20;
  WriteBytes(path, bytes);
  ReadResult got = ReadAll(path);
  ASSERT_TRUE(got.status.ok());
  EXPECT_EQ(got.events, expected);
  EXPECT_FALSE(got.footer);
  ASSERT_EQ(got.damage.size(), 1u);
  EXPECT_THAT(got.damage[0], HasSubstr("trailer damaged"));
}

TEST(LogTest, NewerFormatIsRefusedNamingBothVersions) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  WriteLog(path, 3);
  std::string bytes = ReadBytes(path);
  bytes[8] = 7;   // format version 7
  bytes[10] = 5;  // needs a reader of version 5
  WriteBytes(path, bytes);
  auto reader = LogFileReader::Open(path, nullptr);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reader.status().message(), HasSubstr("format version 7"));
  EXPECT_THAT(reader.status().message(), HasSubstr("reader of version 5"));
  EXPECT_THAT(reader.status().message(), HasSubstr("versions 1 to 1"));
}

TEST(LogTest, NewerVersionReadableByOldReadersIsRead) {
  // A later writer that only adds header fields keeps min_reader_version 1: still readable.
  TempDir dir;
  std::string path = dir.File("a.klog");
  auto expected = WriteLog(path, 3);
  std::string bytes = ReadBytes(path);
  bytes[8] = 2;
  size_t hashed = kFileHeaderFixed + LoadU32(bytes.data() + 12);
  std::string hash;
  PutU64(&hash, XXH64(bytes.data(), hashed, 0));
  bytes.replace(hashed, 8, hash);
  WriteBytes(path, bytes);
  ReadResult got = ReadAll(path);
  ASSERT_TRUE(got.status.ok()) << got.status;
  EXPECT_EQ(got.events, expected);
}

TEST(LogTest, NotALogAndEmptyFilesAreRefusedClearly) {
  TempDir dir;
  WriteBytes(dir.File("text.klog"), "{\"event\":1}\n");
  auto r = LogFileReader::Open(dir.File("text.klog"), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("not a Kestrel event log"));
  WriteBytes(dir.File("empty.klog"), "");
  EXPECT_FALSE(LogFileReader::Open(dir.File("empty.klog"), nullptr).ok());
  auto missing = LogFileReader::Open(dir.File("missing.klog"), nullptr);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST(LogTest, ExistingFileIsNotOverwrittenUnlessAsked) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  WriteLog(path, 3);
  schema::Schema schema;
  auto again = LogWriter::Create(path, schema, Meta(), {});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  WriterOptions overwrite;
  overwrite.overwrite = true;
  auto replaced = LogWriter::Create(path, schema, Meta(), overwrite);
  ASSERT_TRUE(replaced.ok());
  ASSERT_TRUE((*replaced)->Close().ok());
  EXPECT_TRUE(ReadAll(path).events.empty());
}

TEST(LogTest, RotationBySizeNumbersFilesInOrder) {
  TempDir dir;
  schema::Schema schema;
  WriterOptions options;
  options.max_size_bytes = 8192;
  auto writer = LogWriter::Create(dir.File("rec.klog"), schema, Meta(), options);
  ASSERT_TRUE(writer.ok()) << writer.status();
  std::vector<std::map<std::string, std::string>> expected;
  for (int i = 0; i < 400; ++i) {
    Event e = RichEvent(schema, i);
    ASSERT_TRUE((*writer)->Append(e).ok());
    expected.push_back(Fields(e, schema));
  }
  ASSERT_TRUE((*writer)->Close().ok());
  std::vector<std::string> files = (*writer)->files();
  ASSERT_GT(files.size(), 2u);
  EXPECT_EQ(fs::path(files[0]).filename(), "rec.000001.klog");
  EXPECT_EQ(fs::path(files[1]).filename(), "rec.000002.klog");
  EXPECT_TRUE(std::is_sorted(files.begin(), files.end()));
  std::vector<std::map<std::string, std::string>> all;
  for (const std::string& f : files) {
    EXPECT_LT(fs::file_size(f), 8192u + 8192u / 2) << f;
    ReadResult got = ReadAll(f);
    ASSERT_TRUE(got.status.ok());
    EXPECT_TRUE(got.footer);
    all.insert(all.end(), got.events.begin(), got.events.end());
  }
  EXPECT_EQ(all, expected);

  // A second recording continues the numbering instead of overwriting.
  auto next = LogWriter::Create(dir.File("rec.klog"), schema, Meta(), options);
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE((*next)->Close().ok());
  EXPECT_EQ(fs::path((*next)->files()[0]).filename(),
            fmt::format("rec.{:06d}.klog", files.size() + 1));
}

TEST(LogTest, RotationByAgeUsesEventTime) {
  TempDir dir;
  schema::Schema schema;
  WriterOptions options;
  options.max_age_ns = 10'000'000'000;  // 10 s of event time; events are 1 s apart
  auto writer = LogWriter::Create(dir.File("rec.klog"), schema, Meta(), options);
  ASSERT_TRUE(writer.ok());
  for (int i = 0; i < 35; ++i) ASSERT_TRUE((*writer)->Append(RichEvent(schema, i)).ok());
  ASSERT_TRUE((*writer)->Close().ok());
  ASSERT_EQ((*writer)->files().size(), 4u);
  EXPECT_EQ(ReadAll((*writer)->files()[0]).events.size(), 10u);
  EXPECT_EQ(ReadAll((*writer)->files()[3]).events.size(), 5u);
}

TEST(LogTest, UnclosedLogReadsWithoutFooter) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  schema::Schema schema;
  WriterOptions options;
  options.block_bytes = 2048;
  auto writer = LogWriter::Create(path, schema, Meta(), options);
  ASSERT_TRUE(writer.ok());
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*writer)->Append(RichEvent(schema, i)).ok());
  ASSERT_TRUE((*writer)->Flush().ok());
  // Simulate a crash: read the file while the writer is still open.
  ReadResult got = ReadAll(path);
  EXPECT_EQ(got.events.size(), 100u);
  EXPECT_FALSE(got.footer);
  EXPECT_EQ(got.damaged, 0u);
}

// A log is untrusted input: a raw-JSON value (written verbatim, with valid checksums) that is
// not one JSON array must not reach output, where it could break the JSON of the stream or
// forge a whole alert line after a line break. Such a record is refused and reported; the
// records around it still read, and valid raw JSON comes back minified (no line break).
TEST(LogTest, RawJsonValuesAreCheckedAndMinified) {
  TempDir dir;
  std::string path = dir.File("raw.klog");
  schema::Schema schema;
  schema::FieldId name = *schema.Intern("process.name", schema::FieldType::kKeyword, false);
  schema::FieldId raw = *schema.Intern("custom.objects", schema::FieldType::kKeyword, false);
  const std::vector<std::string> values = {
      "[ {\"a\" : 1},\n  [2, 3] ]",  // valid, with whitespace and a line break: minified
      "[]}}\n{\"@timestamp\":\"2026-01-01T00:00:00Z\",\"rule\":{\"name\":\"forged\"}}\n{\"x\":[",
      "[1,2",                                       // truncated
      "{\"a\":1}",                                  // valid JSON but not an array
      "[\"\xff\xfe\"]",                             // invalid UTF-8
      "[\"tab\there\"]",                            // unescaped control character
      std::string(70, '[') + std::string(70, ']'),  // nested too deep
      "[{\"b\":\"ok\"}]",
      // What the NDJSON decoder keeps raw is read back: numbers of any size (the log reader's
      // first check converted them, and refused what `record` had kept).
      "[{\"n\":123456789012345678901234567890},-0.5e+999]",
  };
  auto writer = LogWriter::Create(path, schema, Meta(), {});
  ASSERT_TRUE(writer.ok());
  for (size_t i = 0; i < values.size(); ++i) {
    Event e;
    e.set_time_ns(static_cast<int64_t>(i));
    e.SetString(name, fmt::format("event-{}", i));
    e.SetRawJson(raw, values[i]);
    e.Finish();
    ASSERT_TRUE((*writer)->Append(e).ok());
  }
  ASSERT_TRUE((*writer)->Close().ok());

  ReadResult got = ReadAll(path);
  ASSERT_TRUE(got.status.ok()) << got.status;
  ASSERT_EQ(got.events.size(), 3u);
  EXPECT_EQ(got.events[0]["process.name"], "sevent-0");
  EXPECT_EQ(got.events[0]["custom.objects"], "j[{\"a\":1},[2,3]]");
  EXPECT_EQ(got.events[1]["process.name"], "sevent-7");
  EXPECT_EQ(got.events[1]["custom.objects"], "j[{\"b\":\"ok\"}]");
  EXPECT_EQ(got.events[2]["custom.objects"], "j[{\"n\":123456789012345678901234567890},-0.5e+999]");
  EXPECT_EQ(got.damaged, values.size() - 3);
  ASSERT_EQ(got.damage.size(), values.size() - 3);
  EXPECT_THAT(got.damage[0], HasSubstr("raw JSON value is not valid JSON"));
  EXPECT_THAT(got.damage[2], HasSubstr("not a JSON array"));
  for (const auto& event : got.events) {
    for (const auto& [field, value] : event) EXPECT_EQ(value.find("forged"), std::string::npos);
  }
}

// Byte ranges of the blocks of `path` ([offset, end)), from InspectLog.
std::vector<std::pair<uint64_t, uint64_t>> BlockRanges(const std::string& path) {
  auto info = InspectLog(path, nullptr);
  EXPECT_TRUE(info.ok());
  std::vector<std::pair<uint64_t, uint64_t>> out;
  if (!info.ok()) return out;
  for (const BlockInfo& b : info->blocks) {
    out.emplace_back(b.offset, b.offset + kBlockHeaderSize + b.header.compressed_len);
  }
  return out;
}

// Sets the trailer's footer offset after the bytes before the footer changed by `shift`.
void MoveFooter(std::string* bytes, int64_t shift) {
  size_t at = bytes->size() - kTrailerSize;
  std::string offset;
  PutU64(&offset, static_cast<uint64_t>(static_cast<int64_t>(LoadU64(bytes->data() + at)) + shift));
  bytes->replace(at, 8, offset);
}

// Removes the bytes [BEGIN, END) of the log at PATH (whole blocks: their checksums stay valid)
// and moves the footer's offset with them.
void EraseBlock(const std::string& path, uint64_t begin, uint64_t end) {
  std::string bytes = ReadBytes(path);
  bytes.erase(begin, end - begin);
  MoveFooter(&bytes, -static_cast<int64_t>(end - begin));
  WriteBytes(path, bytes);
}

// The one damage report of a read that otherwise succeeded up to its footer.
std::string OnlyDamage(const ReadResult& got) {
  EXPECT_TRUE(got.status.ok()) << got.status;
  EXPECT_TRUE(got.footer);
  EXPECT_EQ(got.damaged, 1u);
  EXPECT_EQ(got.damage.size(), 1u);
  return got.damage.empty() ? std::string() : got.damage[0];
}

// Every block's checksums hold, but one is missing: the gap in the event numbering is damage,
// reported at the offset where the missing events should have been.
TEST(LogTest, DroppedBlockIsReportedWithItsOffset) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  auto expected = WriteLog(path, 200, 2048);
  auto blocks = BlockRanges(path);
  ASSERT_GE(blocks.size(), 4u);
  auto [begin, end] = blocks[1];
  EraseBlock(path, begin, end);

  ReadResult got = ReadAll(path);
  std::string damage = OnlyDamage(got);
  EXPECT_THAT(damage, HasSubstr(fmt::format("{}: ", begin)));
  EXPECT_THAT(damage, HasSubstr("a block was dropped"));
  auto info = InspectLog(path, nullptr);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->damaged_blocks, 1u);
  EXPECT_LT(got.events.size(), expected.size());
}

// A block repeated (same checksums) would deliver its events twice, and replay would repeat
// their alerts: it is reported and skipped.
TEST(LogTest, DuplicatedBlockIsReportedAndSkipped) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  auto expected = WriteLog(path, 200, 2048);
  auto blocks = BlockRanges(path);
  ASSERT_GE(blocks.size(), 3u);
  std::string bytes = ReadBytes(path);
  auto [begin, end] = blocks[1];
  bytes.insert(end, bytes.substr(begin, end - begin));
  MoveFooter(&bytes, static_cast<int64_t>(end - begin));
  WriteBytes(path, bytes);

  ReadResult got = ReadAll(path);
  EXPECT_EQ(got.events, expected);
  std::string damage = OnlyDamage(got);
  EXPECT_THAT(damage, HasSubstr(fmt::format("{}: ", end)));
  EXPECT_THAT(damage, HasSubstr("duplicated block"));
}

// The last block dropped leaves no gap between blocks; the footer's counts tell.
TEST(LogTest, FooterCountMismatchIsReported) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  WriteLog(path, 200, 2048);
  auto blocks = BlockRanges(path);
  ASSERT_GE(blocks.size(), 3u);
  auto [begin, end] = blocks.back();
  EraseBlock(path, begin, end);

  EXPECT_THAT(OnlyDamage(ReadAll(path)),
              HasSubstr(fmt::format("{}: the footer counts {} blocks and 200 events", begin,
                                    blocks.size())));
}

// With a block span, a block ends before the first event that much event time after its oldest.
TEST(LogTest, BlocksEndAfterTheirEventTimeSpan) {
  TempDir dir;
  std::string path = dir.File("a.klog");
  schema::Schema schema;
  WriterOptions options;
  options.max_block_span_ns = 2'500'000'000;  // events are 1 s apart
  auto writer = LogWriter::Create(path, schema, Meta(), options);
  ASSERT_TRUE(writer.ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE((*writer)->Append(RichEvent(schema, i)).ok());
  // Events 0-2 and 3-5 are written; 6-8 will be with the next event; 9 waits.
  EXPECT_EQ((*writer)->blocks(), 3u);
  EXPECT_EQ((*writer)->pending_events(), 1u);
  EXPECT_EQ(ReadAll(path).events.size(), 9u);  // read while the writer is still open
  ASSERT_TRUE((*writer)->Close().ok());
  EXPECT_EQ(ReadAll(path).events.size(), 10u);
}

TEST(LogTest, DecoderRejectsHostilePayloadsWithoutOverreading) {
  schema::Schema schema;
  BlockEncoder encoder(schema);
  for (int i = 0; i < 20; ++i) encoder.Add(RichEvent(schema, i));
  std::string payload;
  encoder.Take(&payload);
  std::mt19937_64 rng(3);
  BlockDecoder decoder(&schema);
  Event e;
  int rejected = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::string bad = payload;
    if (trial % 2) {
      bad.resize(rng() % bad.size());  // truncated: a heap copy of exactly that size
    } else {
      for (int k = 0; k < 3; ++k) bad[rng() % bad.size()] = static_cast<char>(rng());
    }
    std::string exact(bad.begin(), bad.end());
    if (!decoder.Start(exact, 20).ok()) {
      ++rejected;
      continue;
    }
    while (true) {
      auto next = decoder.Next(&e);
      if (!next.ok()) {
        ++rejected;
        break;
      }
      if (!*next) break;
    }
  }
  EXPECT_GT(rejected, 500);
}

TEST(LogTest, ProjectionKeepsOnlyTheChosenFieldsAndDecodesTheRestExactly) {
  schema::Schema schema;
  BlockEncoder encoder(schema);
  std::vector<Event> events;
  for (int i = 0; i < 20; ++i) {
    events.push_back(RichEvent(schema, i));
    encoder.Add(events.back());
  }
  std::string payload;
  encoder.Take(&payload);
  // The kept fields read past every other one: string back-references and integer deltas of the
  // skipped fields (and of the kept ones) stay exact in later records.
  schema::FieldId pid = *schema.Find("process.pid");
  schema::FieldId command_line = *schema.Find("process.command_line");
  BlockDecoder decoder(&schema);
  decoder.OnlyFields({pid, command_line});
  ASSERT_TRUE(decoder.Start(payload, 20).ok());
  Event e;
  for (int i = 0; i < 20; ++i) {
    auto next = decoder.Next(&e);
    ASSERT_TRUE(next.ok() && *next) << i;
    ASSERT_EQ(e.size(), 2u) << i;
    EXPECT_EQ(e.Find(pid)->as_int(), i);
    EXPECT_EQ(e.Find(command_line)->as_string(), events[i].Find(command_line)->as_string());
    EXPECT_EQ(e.time_ns(), events[i].time_ns());
    EXPECT_EQ(e.wall_ns(), events[i].wall_ns());
    EXPECT_EQ(e.categories(), events[i].categories());
  }
  // No field at all: times and categories only; AllFields() restores every field.
  decoder.OnlyFields({});
  ASSERT_TRUE(decoder.Start(payload, 20).ok());
  ASSERT_TRUE(*decoder.Next(&e));
  EXPECT_EQ(e.size(), 0u);
  EXPECT_EQ(e.categories(), events[0].categories());
  decoder.AllFields();
  ASSERT_TRUE(decoder.Start(payload, 20).ok());
  ASSERT_TRUE(*decoder.Next(&e));
  EXPECT_EQ(Fields(e, schema), Fields(events[0], schema));
}

}  // namespace
}  // namespace kestrel::log
