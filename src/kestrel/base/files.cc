// CreatePrivateDirectories; see files.h.
#include "kestrel/base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace kestrel::base {

absl::Status CreatePrivateDirectories(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path so_far;
  for (const fs::path& part : fs::path(path)) {
    so_far /= part;
    if (part.empty() || part == "/") continue;
    if (::mkdir(so_far.c_str(), 0700) == 0) {
      ::chmod(so_far.c_str(), 0700);  // the umask may have taken bits away; never added any
      continue;
    }
    if (errno != EEXIST) {
      return absl::UnavailableError("cannot create directory '" + so_far.string() +
                                    "': " + std::strerror(errno));
    }
    struct stat st;
    if (::stat(so_far.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError("'" + so_far.string() + "' is not a directory");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> OpenPrivateFile(const std::string& path, int flags, bool allow_devices) {
  // O_NONBLOCK: a FIFO is refused at once, never waited on (cleared once checked).
  // O_TRUNC only once checked: a hard link to another file must not be truncated first.
  int fd = ::open(path.c_str(), (flags & ~O_TRUNC) | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK,
                  0600);
  if (fd < 0) {
    int err = errno;
    if (err == ENXIO) {
      return absl::FailedPreconditionError(path + ": a FIFO" +
                                           (allow_devices ? " with no reader" : ", not a file"));
    }
    if (err == ELOOP) {
      return absl::FailedPreconditionError(path +
                                           ": is a symbolic link; refusing to write through it");
    }
    std::string why = path + ": " + std::strerror(err);
    return err == ENOENT                   ? absl::NotFoundError(why)
           : err == EACCES || err == EPERM ? absl::PermissionDeniedError(why)
                                           : absl::UnavailableError(why);
  }
  struct stat st;
  std::string refused;
  if (::fstat(fd, &st) != 0) {
    refused = std::string("cannot stat it: ") + std::strerror(errno);
  } else if (allow_devices && S_ISCHR(st.st_mode)) {
    // A device such as /dev/null: accepted as it is.
  } else if (!S_ISREG(st.st_mode) && !(allow_devices && S_ISFIFO(st.st_mode))) {
    refused = "not a regular file";
  } else if (st.st_uid != ::geteuid()) {
    refused = "owned by uid " + std::to_string(st.st_uid) + ", not by this process's user (uid " +
              std::to_string(::geteuid()) + ")";
  } else if (st.st_nlink != 1) {
    refused = "has " + std::to_string(st.st_nlink) + " hard links";
  }
  if (refused.empty() && (flags & O_NONBLOCK) == 0) {
    int fl = ::fcntl(fd, F_GETFL);
    if (fl < 0 || ::fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
      refused = std::string("cannot clear O_NONBLOCK: ") + std::strerror(errno);
    }
  }
  if (refused.empty() && (flags & O_TRUNC) != 0 && S_ISREG(st.st_mode) && ::ftruncate(fd, 0) != 0) {
    refused = std::string("cannot truncate it: ") + std::strerror(errno);
  }
  if (refused.empty()) return fd;
  ::close(fd);
  return absl::FailedPreconditionError(path + ": " + refused + "; refusing to write to it");
}

absl::StatusOr<std::string> ReadFileBounded(const std::string& path, size_t max_bytes) {
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
  if (fd < 0) {
    std::string reason = std::strerror(errno);
    return errno == ENOENT   ? absl::NotFoundError("cannot open '" + path + "': " + reason)
           : errno == EACCES ? absl::PermissionDeniedError("cannot open '" + path + "': " + reason)
                             : absl::UnavailableError("cannot open '" + path + "': " + reason);
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    return absl::UnavailableError("cannot stat '" + path + "': " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError("'" + path + "' is not a regular file");
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::ResourceExhaustedError("'" + path + "' is larger than " +
                                        std::to_string(max_bytes) + " bytes; not read");
  }
  std::string text(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (true) {
    if (got == text.size()) {
      if (text.size() > max_bytes) {
        return absl::ResourceExhaustedError("'" + path + "' grew past " +
                                            std::to_string(max_bytes) + " bytes while read");
      }
      text.resize(text.size() + 4096);  // it may have grown since fstat
    }
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::UnavailableError("cannot read '" + path + "': " + std::strerror(errno));
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

namespace {

void CheckOne(const std::filesystem::path& p, std::vector<std::string>* out) {
  struct stat st;
  if (::lstat(p.c_str(), &st) != 0) return;
  if (S_ISLNK(st.st_mode)) return;  // not followed; its target is what a read opens
  std::string why;
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    why = "owned by uid " + std::to_string(st.st_uid);
  } else if (st.st_mode & S_IWOTH) {
    why = "writable by others";
  } else if (st.st_mode & S_IWGRP) {
    why = "writable by its group (gid " + std::to_string(st.st_gid) + ")";
  }
  if (!why.empty()) out->push_back(p.string() + ": " + why);
}

}  // namespace

std::vector<std::string> WritableByOthers(const std::string& path, size_t limit) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  CheckOne(path, &out);
  std::error_code ec;
  if (!fs::is_directory(fs::symlink_status(path, ec))) return out;
  for (auto it = fs::recursive_directory_iterator(path, ec);
       it != fs::recursive_directory_iterator() && out.size() < limit; it.increment(ec)) {
    if (ec) break;
    CheckOne(it->path(), &out);
  }
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace kestrel::base
