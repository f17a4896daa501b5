#include "kestrel/base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace kestrel::base {
namespace {

namespace fs = std::filesystem;

mode_t Mode(const fs::path& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? (st.st_mode & 0777) : 0;
}

TEST(FilesTest, MissingDirectoriesAreCreatedOwnerOnlyExistingOnesLeftAlone) {
  std::string tmpl = (fs::temp_directory_path() / "kestrel_files.XXXXXX").string();
  fs::path root(::mkdtemp(tmpl.data()));
  ::chmod(root.c_str(), 0755);
  mode_t old_umask = ::umask(0);  // a permissive umask must not widen what is created
  ASSERT_TRUE(CreatePrivateDirectories((root / "a" / "b").string()).ok());
  ::umask(old_umask);
  EXPECT_EQ(Mode(root / "a"), 0700u);
  EXPECT_EQ(Mode(root / "a" / "b"), 0700u);
  EXPECT_EQ(Mode(root), 0755u);
  EXPECT_TRUE(CreatePrivateDirectories((root / "a" / "b").string()).ok());  // already there
  std::ofstream(root / "file") << "x";
  EXPECT_FALSE(CreatePrivateDirectories((root / "file" / "c").string()).ok());
  fs::remove_all(root);
}

TEST(FilesTest, ReadFileBoundedRefusesFifosDevicesAndLargeFilesAtOnce) {
  std::string tmpl = (fs::temp_directory_path() / "kestrel_read.XXXXXX").string();
  fs::path root(::mkdtemp(tmpl.data()));
  std::ofstream(root / "small") << "run:\n  workers: 1\n";
  auto small = ReadFileBounded((root / "small").string(), 100);
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(*small, "run:\n  workers: 1\n");
  EXPECT_EQ(ReadFileBounded((root / "small").string(), 5).status().code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_EQ(::mkfifo((root / "fifo").c_str(), 0600), 0);
  EXPECT_EQ(ReadFileBounded((root / "fifo").string(), 100).status().code(),
            absl::StatusCode::kFailedPrecondition);  // no writer: must not wait for one
  EXPECT_EQ(ReadFileBounded("/dev/zero", 100).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadFileBounded(root.string(), 100).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadFileBounded((root / "missing").string(), 100).status().code(),
            absl::StatusCode::kNotFound);
  fs::remove_all(root);
}

TEST(FilesTest, WritableByOthersNamesWhatAnotherUserCouldChange) {
  std::string tmpl = (fs::temp_directory_path() / "kestrel_perm.XXXXXX").string();
  fs::path root(::mkdtemp(tmpl.data()));
  ::chmod(root.c_str(), 0755);
  fs::create_directories(root / "sub");
  ::chmod((root / "sub").c_str(), 0755);
  std::ofstream(root / "sub" / "ok.eql") << "x";
  ::chmod((root / "sub" / "ok.eql").c_str(), 0644);
  EXPECT_TRUE(WritableByOthers(root.string()).empty());
  std::ofstream(root / "sub" / "bad.eql") << "x";
  ::chmod((root / "sub" / "bad.eql").c_str(), 0666);
  ::chmod((root / "sub").c_str(), 0775);
  std::vector<std::string> found = WritableByOthers(root.string());
  ASSERT_EQ(found.size(), 2u);
  std::sort(found.begin(), found.end());
  EXPECT_EQ(found[0], (root / "sub" / "bad.eql").string() + ": writable by others");
  EXPECT_EQ(found[1], (root / "sub").string() + ": writable by its group (gid " +
                          std::to_string(::getegid()) + ")");
  fs::remove_all(root);
}

}  // namespace
}  // namespace kestrel::base

namespace kestrel::base {
namespace {

// Evidence files: a symlink, a FIFO, a hard link or a file another user planted is refused (a
// root daemon must not append alerts to a file that user can read, or to /etc/shadow).
TEST(FilesTest, OpenPrivateFileRefusesWhatAnotherUserCouldHavePlanted) {
  std::string tmpl = (fs::temp_directory_path() / "kestrel_open.XXXXXX").string();
  fs::path root(::mkdtemp(tmpl.data()));
  fs::path target = root / "target";
  std::ofstream(target) << "secret";
  ::chmod(target.c_str(), 0600);

  auto fresh = OpenPrivateFile((root / "alerts.jsonl").string(), O_WRONLY | O_APPEND);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  ::close(*fresh);
  EXPECT_EQ(Mode(root / "alerts.jsonl"), 0600u);
  auto again = OpenPrivateFile((root / "alerts.jsonl").string(), O_WRONLY | O_APPEND);
  ASSERT_TRUE(again.ok()) << again.status();
  ::close(*again);

  fs::create_symlink(target, root / "link");
  auto link = OpenPrivateFile((root / "link").string(), O_WRONLY | O_APPEND);
  EXPECT_EQ(link.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(link.status().message().find("symbolic link"), std::string::npos);

  fs::create_hard_link(target, root / "hard");
  auto hard = OpenPrivateFile((root / "hard").string(), O_WRONLY | O_TRUNC);  // not truncated
  EXPECT_EQ(hard.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(hard.status().message().find("2 hard links"), std::string::npos);

  ASSERT_EQ(::mkfifo((root / "fifo").c_str(), 0600), 0);
  auto fifo = OpenPrivateFile((root / "fifo").string(), O_WRONLY);  // not waited on
  EXPECT_EQ(fifo.status().code(), absl::StatusCode::kFailedPrecondition);

  auto null = OpenPrivateFile("/dev/null", O_WRONLY | O_APPEND, /*allow_devices=*/true);
  ASSERT_TRUE(null.ok()) << null.status();  // `--output /dev/null`
  ::close(*null);
  EXPECT_FALSE(OpenPrivateFile("/dev/null", O_WRONLY | O_APPEND).ok());
  std::ifstream in(target);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content, "secret");  // never written through
  if (::geteuid() == 0) {        // a file planted by another user (CI runs as root)
    fs::path planted = root / "planted";
    std::ofstream(planted) << "";
    ASSERT_EQ(::chown(planted.c_str(), 65534, 65534), 0);
    auto other = OpenPrivateFile(planted.string(), O_WRONLY | O_APPEND);
    EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(other.status().message().find("owned by uid 65534"), std::string::npos);
  } else {
    fs::remove_all(root);
    GTEST_SKIP() << "not root: the planted-file case needs chown (CI runs it as root)";
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace kestrel::base
