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

}  // namespace kestrel::base
