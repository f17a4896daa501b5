// Tests the on-disk spool: order, consumption, the cap, recovery after a restart and a damaged
// tail, compaction.
#include "kestrel/actions/spool.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace kestrel::actions {
namespace {

std::string TempPath(const std::string& name) {
  auto dir =
      std::filesystem::temp_directory_path() / ("kestrel-spool-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto p = dir / name;
  std::filesystem::remove(p);
  return p.string();
}

SinkMessage SpoolMsg(int i) {
  SinkMessage m;
  m.host = "h" + std::to_string(i % 3);
  m.rule_id = "r";
  m.body = "{\"n\":" + std::to_string(i) + "}";
  m.severity = 2;
  m.time_ns = 1000 + i;
  return m;
}

TEST(Spool, KeepsOrderAcrossPeekAndConsume) {
  auto s = Spool::Open(TempPath("order"), 1 << 20);
  ASSERT_TRUE(s.ok()) << s.status();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(*(*s)->Append(SpoolMsg(i)));
  std::vector<SinkMessage> got;
  ASSERT_TRUE((*s)->Peek(4, &got).ok());
  ASSERT_EQ(got.size(), 4u);
  EXPECT_EQ(got[0].body, "{\"n\":0}");
  EXPECT_EQ(got[1].host, "h1");
  EXPECT_EQ(got[3].time_ns, 1003);
  ASSERT_TRUE((*s)->Consume(2).ok());
  EXPECT_EQ((*s)->pending(), 8u);
  ASSERT_TRUE((*s)->Peek(100, &got).ok());
  ASSERT_EQ(got.size(), 8u);
  EXPECT_EQ(got[0].body, "{\"n\":2}");
  ASSERT_TRUE((*s)->Consume(8).ok());
  EXPECT_EQ((*s)->pending(), 0u);
  EXPECT_EQ((*s)->file_bytes(), kSpoolHeaderSize);  // truncated when empty
}

TEST(Spool, CapRefusesExactlyWhatDoesNotFit) {
  uint64_t size = Spool::RecordSize(SpoolMsg(0));
  auto s = Spool::Open(TempPath("cap"), 5 * size);
  ASSERT_TRUE(s.ok());
  int accepted = 0;
  for (int i = 0; i < 9; ++i)
    accepted += *(*s)->Append(SpoolMsg(i)) ? 1 : 0;  // same size (1 digit)
  EXPECT_EQ(accepted, 5);
  EXPECT_EQ((*s)->live_bytes(), 5 * size);
  EXPECT_TRUE(*(*s)->Append(SpoolMsg(9), /*force=*/true));
}

TEST(Spool, RestartResumesAtTheCommittedOffset) {
  std::string path = TempPath("restart");
  {
    auto s = Spool::Open(path, 1 << 20);
    for (int i = 0; i < 6; ++i) ASSERT_TRUE(*(*s)->Append(SpoolMsg(i)));
    std::vector<SinkMessage> got;
    ASSERT_TRUE((*s)->Peek(3, &got).ok());
    ASSERT_TRUE((*s)->Consume(3).ok());
  }
  auto s = Spool::Open(path, 1 << 20);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->recovered_records(), 3u);
  std::vector<SinkMessage> got;
  ASSERT_TRUE((*s)->Peek(10, &got).ok());
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].body, "{\"n\":3}");
}

TEST(Spool, DamagedTailIsCutAndCounted) {
  std::string path = TempPath("damaged");
  uint64_t good_end;
  {
    auto s = Spool::Open(path, 1 << 20);
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(*(*s)->Append(SpoolMsg(i)));
    good_end = (*s)->file_bytes();
  }
  {
    std::ofstream f(path, std::ios::app | std::ios::binary);
    f.write("\x20\x00\x00\x00garbage", 11);  // a half-written record
  }
  auto s = Spool::Open(path, 1 << 20);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->pending(), 4u);
  EXPECT_EQ((*s)->recovered_damaged_bytes(), 11u);
  EXPECT_EQ((*s)->file_bytes(), good_end);
}

TEST(Spool, BadHeaderStartsEmpty) {
  std::string path = TempPath("badheader");
  {
    std::ofstream f(path, std::ios::binary);
    f << "not a spool at all, but long enough";
  }
  auto s = Spool::Open(path, 1 << 20);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->pending(), 0u);
  EXPECT_GT((*s)->recovered_damaged_bytes(), 0u);
}

TEST(Spool, CompactionKeepsTheLiveRecords) {
  uint64_t size = Spool::RecordSize(SpoolMsg(0));
  auto s = Spool::Open(TempPath("compact"), 4 * size);
  ASSERT_TRUE(s.ok());
  int next = 0, expect = 0;
  std::vector<SinkMessage> got;
  // Keep one record live while many pass through: the file must not grow without bound.
  ASSERT_TRUE(*(*s)->Append(SpoolMsg(next++ % 10)));
  for (int round = 0; round < 200; ++round) {
    ASSERT_TRUE(*(*s)->Append(SpoolMsg(next++ % 10)));
    ASSERT_TRUE((*s)->Peek(1, &got).ok());
    ASSERT_EQ(got[0].body, SpoolMsg(expect++ % 10).body);
    ASSERT_TRUE((*s)->Consume(1).ok());
    ASSERT_LE((*s)->file_bytes(), kSpoolHeaderSize + 3 * 4 * size);
  }
  EXPECT_EQ((*s)->pending(), 1u);
}

}  // namespace
}  // namespace kestrel::actions
