// CreatePrivateDirectories; see files.h.
#include "kestrel/base/files.h"

#include <sys/stat.h>

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

}  // namespace kestrel::base
