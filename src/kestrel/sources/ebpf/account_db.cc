// Account database snapshots and diffs; see account_db.h.
#include "kestrel/sources/ebpf/account_db.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include <fmt/format.h>

namespace kestrel::sources::ebpf {
namespace {

bool ParseId(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 10) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Splits `line` at ':' into at most `max` fields; returns how many there are.
size_t Split(std::string_view line, std::string_view* fields, size_t max) {
  size_t n = 0, start = 0;
  while (n < max) {
    size_t colon = line.find(':', start);
    if (colon == std::string_view::npos) {
      fields[n++] = line.substr(start);
      return n;
    }
    fields[n++] = line.substr(start, colon - start);
    start = colon + 1;
  }
  return n + 1;  // more fields than max
}

}  // namespace

absl::StatusOr<AccountSnapshot> ParseAccountDb(AccountDb db, std::string_view text) {
  AccountSnapshot snap;
  const size_t want = db == AccountDb::kPasswd ? 7 : 4;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty() || line[0] == '#') continue;
    std::string_view f[8];
    size_t n = Split(line, f, 8);
    AccountEntry e;
    // NIS compat lines ("+", "-name") name no local account: damaged for our purpose.
    bool ok = n == want && !f[0].empty() && f[0][0] != '+' && f[0][0] != '-' &&
              line.find('\0') == std::string_view::npos && ParseId(f[2], &e.id) &&
              (db == AccountDb::kGroup || ParseId(f[3], &e.gid));
    if (ok && db == AccountDb::kGroup) e.gid = e.id;  // a group line: the gid is the entry's id
    if (!ok) {
      ++snap.damaged_lines;
      continue;
    }
    if (snap.entries.size() >= kMaxAccountEntries) {
      return absl::ResourceExhaustedError(
          fmt::format("more than {} account entries", kMaxAccountEntries));
    }
    e.name = std::string(f[0]);
    e.line = std::string(line);
    snap.entries.push_back(std::move(e));
  }
  std::stable_sort(snap.entries.begin(), snap.entries.end(),
                   [](const AccountEntry& a, const AccountEntry& b) { return a.name < b.name; });
  // A name seen twice: the first line is the one the C library uses.
  auto dup =
      std::unique(snap.entries.begin(), snap.entries.end(),
                  [](const AccountEntry& a, const AccountEntry& b) { return a.name == b.name; });
  snap.damaged_lines += static_cast<size_t>(snap.entries.end() - dup);
  snap.entries.erase(dup, snap.entries.end());
  return snap;
}

void DiffAccounts(AccountDb db, const AccountSnapshot& before, const AccountSnapshot& after,
                  std::vector<AccountChange>* out) {
  auto change = [&](AccountChange::Op op, const AccountEntry& e) {
    out->push_back(AccountChange{db, op, e.name, e.id, e.gid});
  };
  // Removals first, then additions and changes, each in name order.
  size_t i = 0, j = 0;
  const auto& a = before.entries;
  const auto& b = after.entries;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].name < b[j].name)) {
      change(AccountChange::Op::kRemoved, a[i++]);
    } else if (i == a.size() || b[j].name < a[i].name) {
      ++j;
    } else {
      ++i;
      ++j;
    }
  }
  i = j = 0;
  while (j < b.size()) {
    if (i < a.size() && a[i].name < b[j].name) {
      ++i;
    } else if (i < a.size() && a[i].name == b[j].name) {
      if (a[i].line != b[j].line) change(AccountChange::Op::kChanged, b[j]);
      ++i;
      ++j;
    } else {
      change(AccountChange::Op::kAdded, b[j++]);
    }
  }
}

absl::StatusOr<std::string> ReadAccountFile(const std::string& path, size_t max_bytes,
                                            bool require_root_owner, uint64_t* dev, uint64_t* ino) {
  int fd = open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) {
    return absl::FailedPreconditionError(
        fmt::format("{}: {}", path, errno == ELOOP ? "a symbolic link" : strerror(errno)));
  }
  struct stat st;
  std::string why;
  if (fstat(fd, &st) != 0) {
    why = strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    why = "not a regular file";
  } else if (require_root_owner && st.st_uid != 0) {
    why = fmt::format("owned by uid {}, not root", st.st_uid);
  } else if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    why = fmt::format("{} bytes, more than the limit of {}", st.st_size, max_bytes);
  }
  std::string text;
  if (why.empty()) {
    if (dev != nullptr) *dev = st.st_dev;
    if (ino != nullptr) *ino = st.st_ino;
    text.resize(static_cast<size_t>(st.st_size));
    size_t got = 0;
    while (got < text.size()) {
      ssize_t n = read(fd, text.data() + got, text.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<size_t>(n);
    }
    text.resize(got);  // shrank meanwhile: what was there
  }
  close(fd);
  if (!why.empty()) return absl::FailedPreconditionError(fmt::format("{}: {}", path, why));
  return text;
}

AccountWatcher::AccountWatcher(Options options) : options_(std::move(options)) {}

std::string AccountWatcher::FilePath(AccountDb db) const {
  std::string root = options_.root;
  while (!root.empty() && root.back() == '/') root.pop_back();
  return root + (db == AccountDb::kPasswd ? "/etc/passwd" : "/etc/group");
}

std::optional<AccountSnapshot> AccountWatcher::Read(AccountDb db) {
  uint64_t dev = 0, ino = 0;
  auto text =
      ReadAccountFile(FilePath(db), options_.max_bytes, options_.require_root_owner, &dev, &ino);
  if (!text.ok()) {
    ++stats_.refusals;
    last_error_ = std::string(text.status().message());
    return std::nullopt;
  }
  auto snap = ParseAccountDb(db, *text);
  if (!snap.ok()) {
    ++stats_.refusals;
    last_error_ = fmt::format("{}: {}", FilePath(db), std::string(snap.status().message()));
    return std::nullopt;
  }
  stats_.damaged_lines += snap->damaged_lines;
  snap->dev = dev;
  snap->ino = ino;
  return std::move(*snap);
}

void AccountWatcher::Start() {
  for (AccountDb db : {AccountDb::kPasswd, AccountDb::kGroup}) {
    if (auto snap = Read(db)) snapshots_[Index(db)] = std::move(*snap);
  }
}

std::optional<AccountDb> AccountWatcher::Watched(std::string_view path) const {
  if (path.size() == 11 && path == "/etc/passwd") return AccountDb::kPasswd;
  if (path.size() == 10 && path == "/etc/group") return AccountDb::kGroup;
  return std::nullopt;
}

bool AccountWatcher::Reread(AccountDb db, std::vector<AccountChange>* out, bool same_file) {
  if (same_file) {
    struct stat st;
    const AccountSnapshot& old = snapshots_[Index(db)];
    if (lstat(FilePath(db).c_str(), &st) == 0 && old.ino != 0 &&
        (static_cast<uint64_t>(st.st_dev) != old.dev ||
         static_cast<uint64_t>(st.st_ino) != old.ino)) {
      ++stats_.replaced;
      return false;
    }
  }
  ++stats_.rereads;
  std::optional<AccountSnapshot> snap = Read(db);
  if (!snap) return false;
  DiffAccounts(db, snapshots_[Index(db)], *snap, out);
  snapshots_[Index(db)] = std::move(*snap);
  return true;
}

}  // namespace kestrel::sources::ebpf
