#include "kestrel/base/files.h"

#include <sys/stat.h>
#include <unistd.h>

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

}  // namespace
}  // namespace kestrel::base
