// Account database parsing, diffs and bounded reads (account_db.h); no root needed.
#include "kestrel/sources/ebpf/account_db.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace kestrel::sources::ebpf {
namespace {

namespace fs = std::filesystem;
using Op = AccountChange::Op;

constexpr std::string_view kPasswd =
    "root:x:0:0:root:/root:/bin/bash\n"
    "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
    "alice:x:1000:1000:Alice:/home/alice:/bin/bash\n";

AccountSnapshot Parse(AccountDb db, std::string_view text) {
  auto s = ParseAccountDb(db, text);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : AccountSnapshot{};
}

std::vector<AccountChange> Diff(AccountDb db, std::string_view a, std::string_view b) {
  std::vector<AccountChange> out;
  DiffAccounts(db, Parse(db, a), Parse(db, b), &out);
  return out;
}

TEST(AccountDb, ParsesPasswdAndGroupEntriesSortedByName) {
  AccountSnapshot p = Parse(AccountDb::kPasswd, kPasswd);
  ASSERT_EQ(p.entries.size(), 3u);
  EXPECT_EQ(p.entries[0].name, "alice");
  EXPECT_EQ(p.entries[0].id, 1000u);
  EXPECT_EQ(p.entries[0].gid, 1000u);
  EXPECT_EQ(p.entries[2].name, "root");
  EXPECT_EQ(p.damaged_lines, 0u);

  AccountSnapshot g = Parse(AccountDb::kGroup, "sudo:x:27:alice,bob\nroot:x:0:\n");
  ASSERT_EQ(g.entries.size(), 2u);
  EXPECT_EQ(g.entries[1].name, "sudo");
  EXPECT_EQ(g.entries[1].id, 27u);
}

TEST(AccountDb, DamagedLinesAreSkippedAndCounted) {
  std::string text(kPasswd);
  text += "broken line without colons\n";
  text += "eve:x:notanumber:0::/:/bin/sh\n";
  text += ":x:5:5::/:/bin/sh\n";                 // empty name
  text += "+nis::::::\n";                        // NIS compat: no local account
  text += "toolong:x:1:1:a:b:c:d\n";             // eight fields
  text += "root:x:0:0:second root:/:/bin/sh\n";  // a name seen twice: the first wins
  text += std::string("nul\0l:x:1:1::/:/bin/sh\n", 23);
  text += "# a comment\n\n";
  AccountSnapshot p = Parse(AccountDb::kPasswd, text);
  EXPECT_EQ(p.entries.size(), 3u);
  EXPECT_EQ(p.damaged_lines, 7u);
  EXPECT_EQ(p.entries[2].line, "root:x:0:0:root:/root:/bin/bash");
}

TEST(AccountDb, DiffReportsAddedRemovedAndChangedEntries) {
  std::string after(kPasswd);
  after.replace(after.find("daemon"),
                std::string_view("daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n").size(), "");
  after += "toor:x:0:0::/root:/bin/bash\n";
  size_t shell = after.find("/home/alice:/bin/bash");
  after.replace(shell, 21, "/home/alice:/bin/zsh");
  std::vector<AccountChange> c = Diff(AccountDb::kPasswd, kPasswd, after);
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].op, Op::kRemoved);
  EXPECT_EQ(c[0].name, "daemon");
  EXPECT_EQ(c[0].id, 1u);
  EXPECT_EQ(c[1].op, Op::kChanged);
  EXPECT_EQ(c[1].name, "alice");
  EXPECT_EQ(c[2].op, Op::kAdded);
  EXPECT_EQ(c[2].name, "toor");
  EXPECT_EQ(c[2].id, 0u);
  EXPECT_EQ(c[2].db, AccountDb::kPasswd);

  EXPECT_TRUE(Diff(AccountDb::kPasswd, kPasswd, kPasswd).empty());
  // Group membership is a change of the group.
  std::vector<AccountChange> g =
      Diff(AccountDb::kGroup, "sudo:x:27:alice\n", "sudo:x:27:alice,mallory\nnew:x:1001:\n");
  ASSERT_EQ(g.size(), 2u);  // additions and changes in name order
  EXPECT_EQ(g[0].op, Op::kAdded);
  EXPECT_EQ(g[0].name, "new");
  EXPECT_EQ(g[0].id, 1001u);
  EXPECT_EQ(g[1].op, Op::kChanged);
  EXPECT_EQ(g[1].name, "sudo");
}

TEST(AccountDb, TooManyEntriesAreRefused) {
  std::string text;
  for (size_t i = 0; i <= kMaxAccountEntries; ++i)
    text += "u" + std::to_string(i) + ":x:1:1::/:/\n";
  auto s = ParseAccountDb(AccountDb::kPasswd, text);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kResourceExhausted);
}

class AccountFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/kestrel-accounts-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "etc");
  }
  void TearDown() override { fs::remove_all(root_); }
  void Write(std::string_view name, std::string_view text) {
    std::ofstream(root_ / "etc" / name, std::ios::binary) << text;
  }
  AccountWatcher::Options Options() {
    AccountWatcher::Options o;
    o.root = root_.string();
    o.require_root_owner = geteuid() == 0;  // files a test writes are its user's
    return o;
  }
  fs::path root_;
};

TEST_F(AccountFiles, WatcherReportsChangesAgainstTheSnapshotAndKeepsTheNewOne) {
  Write("passwd", kPasswd);
  Write("group", "root:x:0:\n");
  AccountWatcher w(Options());
  w.Start();
  EXPECT_EQ(w.stats().refusals, 0u) << w.last_error();
  EXPECT_EQ(w.Watched("/etc/passwd"), AccountDb::kPasswd);
  EXPECT_EQ(w.Watched("/etc/group"), AccountDb::kGroup);
  EXPECT_EQ(w.Watched("/etc/passwd-"), std::nullopt);
  EXPECT_EQ(w.Watched("/etc/shadow"), std::nullopt);

  Write("group", "root:x:0:\nbackdoor:x:4242:\n");
  std::vector<AccountChange> c;
  w.Reread(AccountDb::kGroup, &c);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c[0].name, "backdoor");
  EXPECT_EQ(c[0].op, Op::kAdded);
  c.clear();
  w.Reread(AccountDb::kGroup, &c);  // no change since
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(w.stats().rereads, 2u);
}

TEST_F(AccountFiles, HugeFilesSymlinksAndForeignOwnersAreRefusedAndCounted) {
  Write("passwd", kPasswd);
  Write("group", "root:x:0:\n");
  AccountWatcher::Options o = Options();
  o.max_bytes = 64;
  AccountWatcher w(o);
  w.Start();
  EXPECT_EQ(w.stats().refusals, 1u);  // passwd is over 64 bytes
  EXPECT_NE(w.last_error().find("more than the limit"), std::string::npos) << w.last_error();
  EXPECT_TRUE(w.snapshot(AccountDb::kPasswd).entries.empty());

  std::vector<AccountChange> c;
  fs::remove(root_ / "etc" / "group");
  fs::create_symlink(root_ / "etc" / "passwd", root_ / "etc" / "group");
  w.Reread(AccountDb::kGroup, &c);
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(w.stats().refusals, 2u);
  EXPECT_NE(w.last_error().find("symbolic link"), std::string::npos) << w.last_error();
  // The snapshot is kept: nothing was removed.
  EXPECT_EQ(w.snapshot(AccountDb::kGroup).entries.size(), 1u);

  auto dir = ReadAccountFile((root_ / "etc").string(), 1 << 20, false);
  EXPECT_FALSE(dir.ok());
  if (geteuid() == 0) {
    Write("owned", "x:x:1:1::/:/\n");
    ASSERT_EQ(chown((root_ / "etc" / "owned").c_str(), 65534, 65534), 0);
    auto owned = ReadAccountFile((root_ / "etc" / "owned").string(), 1 << 20, true);
    EXPECT_FALSE(owned.ok());
    EXPECT_NE(owned.status().message().find("not root"), std::string::npos);
  }
}

}  // namespace
}  // namespace kestrel::sources::ebpf
