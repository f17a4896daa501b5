// The local account databases (/etc/passwd, /etc/group) as snapshots, their differences as
// account changes, and AccountWatcher, which turns the live collector's file events on those two
// files into `iam` events (docs/collection.md, "Account changes").
//
// Why: Elastic's rules for new, removed and changed accounts read the `system` integration's
// auth log (useradd/groupadd lines), which many machines do not keep (no syslog, no journald).
// Kestrel sees the databases change instead: shadow-utils writes `/etc/passwd+` and renames it
// over `/etc/passwd`, an attacker may append in place. Either way the file's new content is
// compared with the snapshot read at start.
//
// Reading (ReadAccountFile): at most `max_bytes` (default 4 MiB), opened with O_NOFOLLOW, and
// only a regular file owned by root (uid 0) unless the options say otherwise; anything else is
// refused with the reason and counted (AccountWatcher::stats().refusals). A line that is not a
// well-formed entry (too few fields, a non-numeric id, an empty name, a NUL) is skipped and
// counted (damaged_lines); a snapshot holds at most kMaxAccountEntries entries (more: refused).
//
// Diff (DiffAccounts): entries are keyed by name; an entry is changed when any field of its line
// differs (uid, gid, home, shell, gecos, members of a group, the password placeholder). Changes
// come out sorted by name, removals first: deterministic for one pair of snapshots.
//
// AccountWatcher: Watched() says whether a path is one of the two files; Reread() reads the file
// again, diffs it against the snapshot and keeps the new one (a refused read keeps the old
// snapshot and reports nothing). Rare work, off the per-event path: only file events on these two
// paths reach it.
// Thread safety: none. Tested by account_db_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kestrel::sources::ebpf {

enum class AccountDb : uint8_t { kPasswd, kGroup };

inline constexpr size_t kMaxAccountFileBytes = size_t{4} << 20;
inline constexpr size_t kMaxAccountEntries = 100'000;

struct AccountEntry {
  std::string name;
  uint32_t id = 0;   // uid (passwd) or gid (group)
  uint32_t gid = 0;  // passwd: the primary group; group: = id
  std::string line;  // the whole line, for change detection
};

struct AccountSnapshot {
  std::vector<AccountEntry> entries;  // sorted by name, names unique
  size_t damaged_lines = 0;           // skipped: malformed, or a name seen before
  uint64_t dev = 0, ino = 0;          // the file it was read from (0: none)
};

struct AccountChange {
  enum class Op : uint8_t { kAdded, kRemoved, kChanged };
  AccountDb db = AccountDb::kPasswd;
  Op op = Op::kAdded;
  std::string name;
  uint32_t id = 0;
  uint32_t gid = 0;  // users: the primary group (of the new entry; of the old for a removal)
};

// Parses the text of /etc/passwd (name:x:uid:gid:gecos:home:shell) or /etc/group
// (name:x:gid:members). Errors: RESOURCE_EXHAUSTED past kMaxAccountEntries entries.
absl::StatusOr<AccountSnapshot> ParseAccountDb(AccountDb db, std::string_view text);

// Appends the changes from `before` to `after`.
void DiffAccounts(AccountDb db, const AccountSnapshot& before, const AccountSnapshot& after,
                  std::vector<AccountChange>* out);

// The content of `path`, refused (FAILED_PRECONDITION with the reason) when it is a symlink, not a
// regular file, not owned by root (when `require_root_owner`) or larger than `max_bytes`.
// `*dev`/`*ino` (when given) receive the file's device and inode.
absl::StatusOr<std::string> ReadAccountFile(const std::string& path, size_t max_bytes,
                                            bool require_root_owner, uint64_t* dev = nullptr,
                                            uint64_t* ino = nullptr);

class AccountWatcher {
 public:
  struct Options {
    std::string root = "/";  // the files are ROOT/etc/passwd and ROOT/etc/group (tests: a temp dir)
    size_t max_bytes = kMaxAccountFileBytes;
    bool require_root_owner = true;
  };
  struct Stats {
    uint64_t rereads = 0;
    uint64_t replaced = 0;  // same_file re-reads left to a rename's event
    uint64_t refusals = 0;  // reads refused or failed (last_error() says why)
    uint64_t damaged_lines = 0;
  };

  explicit AccountWatcher(Options options);

  // Reads both snapshots (at start). A refused file starts empty: its later changes are all
  // reported as additions once it can be read.
  void Start();

  // The database `path` (an absolute path as events carry it, "/etc/passwd") is, if watched.
  // Cheap: a length test first.
  std::optional<AccountDb> Watched(std::string_view path) const;

  // Re-reads `db`, appends the changes since the last snapshot, keeps the new snapshot. With
  // `same_file`, only when the file is still the one of the snapshot (same inode): a file
  // replaced by a rename since is left for the rename's own event, so that its changes are
  // attributed to the renaming process, not to an earlier writer whose events are decoded late.
  // Returns whether it was read.
  bool Reread(AccountDb db, std::vector<AccountChange>* out, bool same_file = false);

  const Stats& stats() const { return stats_; }
  const std::string& last_error() const { return last_error_; }
  // The current snapshot (for names of groups of users, tests).
  const AccountSnapshot& snapshot(AccountDb db) const { return snapshots_[Index(db)]; }

 private:
  static size_t Index(AccountDb db) { return db == AccountDb::kPasswd ? 0 : 1; }
  std::string FilePath(AccountDb db) const;
  std::optional<AccountSnapshot> Read(AccountDb db);

  Options options_;
  AccountSnapshot snapshots_[2];
  Stats stats_;
  std::string last_error_;
};

}  // namespace kestrel::sources::ebpf
