// Tests FileSink: lines appended, rotation by size (no line split) and by age, zstd compression
// of rotated files (decompressed back), and the number of rotated files kept.
#include "kestrel/actions/file_sink.h"

#include <sys/stat.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <zstd.h>

namespace kestrel::actions {
namespace {

namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path dir =
      fs::temp_directory_path() / ("kestrel-file-sink-test-" + std::to_string(::getpid())) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string Decompress(const std::string& z) {
  std::string out(
      ZSTD_getFrameContentSize(z.data(), z.size()) == ZSTD_CONTENTSIZE_UNKNOWN ? 1 << 20 : 1 << 20,
      '\0');
  ZSTD_DStream* d = ZSTD_createDStream();
  ZSTD_inBuffer in{z.data(), z.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  while (in.pos < in.size) {
    size_t r = ZSTD_decompressStream(d, &o, &in);
    if (ZSTD_isError(r)) break;
  }
  ZSTD_freeDStream(d);
  out.resize(o.pos);
  return out;
}

std::vector<SinkMessage> Lines(int from, int n) {
  std::vector<SinkMessage> v;
  for (int i = from; i < from + n; ++i) {
    SinkMessage m;
    m.body = "{\"n\":" + std::to_string(1000 + i) + "}";  // 10 bytes + newline
    v.push_back(m);
  }
  return v;
}

TEST(FileSink, RotatesBySizeCompressesAndKeepsEveryLine) {
  fs::path dir = TempDir("size");
  FileSinkOptions o;
  o.path = (dir / "alerts.jsonl").string();
  o.rotate_bytes = 11 * 10;  // ten lines a file
  o.compress = true;
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.status();
  for (int b = 0; b < 5; ++b) {
    auto batch = Lines(b * 7, 7);
    size_t delivered = 0;
    ASSERT_TRUE((*sink)->Deliver(batch, &delivered).ok());
    EXPECT_EQ(delivered, 7u);
  }
  EXPECT_EQ((*sink)->rotations(), 3u);  // 35 lines: 10 + 10 + 10 + 5
  std::vector<fs::path> rotated;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".zst") rotated.push_back(e.path());
  }
  std::sort(rotated.begin(), rotated.end());
  ASSERT_EQ(rotated.size(), 3u);
  std::string all;
  for (const fs::path& p : rotated) {
    std::string text = Decompress(Read(p));
    EXPECT_EQ(text.size(), 110u) << p;
    all += text;
  }
  all += Read(dir / "alerts.jsonl");
  std::string expected;
  for (const SinkMessage& m : Lines(0, 35)) expected += m.body + "\n";
  EXPECT_EQ(all, expected);
}

TEST(FileSink, RotatesByAgeAndKeepsMaxFiles) {
  fs::path dir = TempDir("age");
  FileSinkOptions o;
  o.path = (dir / "alerts.jsonl").string();
  o.rotate_age = std::chrono::milliseconds(100);
  o.max_files = 2;
  auto sink = FileSink::Open(o);
  ASSERT_TRUE(sink.ok());
  for (int round = 0; round < 4; ++round) {
    size_t delivered = 0;
    ASSERT_TRUE((*sink)->Deliver(Lines(round, 1), &delivered).ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    ASSERT_TRUE((*sink)->Idle().ok());
  }
  EXPECT_EQ((*sink)->rotations(), 4u);
  size_t kept = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename() != "alerts.jsonl") ++kept;
  }
  EXPECT_EQ(kept, 2u);
}

// An alert file is the owner's only, and a symbolic link planted at its path (by a user who can
// write the directory) is refused, not followed into the file it points at.
TEST(FileSink, CreatesOwnerOnlyFilesAndRefusesASymlinkAtThePath) {
  fs::path dir = TempDir("modes");
  FileSinkOptions o;
  o.path = (dir / "sub" / "alerts.jsonl").string();  // the directory it creates: 0700
  {
    auto sink = FileSink::Open(o);
    ASSERT_TRUE(sink.ok()) << sink.status();
    size_t n = 0;
    ASSERT_TRUE((*sink)->Deliver(Lines(0, 1), &n).ok());
  }
  struct stat st;
  ASSERT_EQ(::stat(o.path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir / "sub").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  fs::path victim = dir / "victim";
  std::ofstream(victim) << "precious\n";
  fs::path link = dir / "planted.jsonl";
  fs::create_symlink(victim, link);
  o.path = link.string();
  EXPECT_FALSE(FileSink::Open(o).ok());
  EXPECT_EQ(Read(victim), "precious\n");
  // A hard link to someone else's file is refused too (O_NOFOLLOW alone followed it).
  fs::path hard = dir / "hard.jsonl";
  fs::create_hard_link(victim, hard);
  o.path = hard.string();
  auto refused = FileSink::Open(o);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("hard links"), std::string::npos) << refused.status();
  EXPECT_EQ(Read(victim), "precious\n");
  fs::remove_all(dir);
}

TEST(FileSink, UnwritablePathIsAnError) {
  FileSinkOptions o;
  o.path = "/proc/kestrel-no/alerts.jsonl";
  EXPECT_FALSE(FileSink::Open(o).ok());
}

}  // namespace
}  // namespace kestrel::actions
