// KernelFileKeys; see file_key.h.
#include "kestrel/sources/ebpf/file_key.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <tuple>

#include "absl/status/status.h"

namespace kestrel::sources {

absl::StatusOr<KernelFileKey> KernelFileKeys::Of(const std::string& path) {
  struct statx stx {};
  if (::statx(AT_FDCWD, path.c_str(), 0, STATX_INO | STATX_MNT_ID, &stx) != 0) {
    int e = errno;
    return absl::Status(e == ENOENT || e == ENOTDIR ? absl::StatusCode::kNotFound
                                                    : absl::StatusCode::kFailedPrecondition,
                        std::strerror(e));
  }
  uint32_t major = stx.stx_dev_major, minor = stx.stx_dev_minor;
  if (stx.stx_mask & STATX_MNT_ID) {  // Linux 5.8
    if (!mounts_) {
      mounts_.emplace();
      std::ifstream in("/proc/self/mountinfo");
      std::string line;
      while (std::getline(in, line)) {
        unsigned long long id = 0, parent = 0;
        unsigned mj = 0, mn = 0;
        if (std::sscanf(line.c_str(), "%llu %llu %u:%u", &id, &parent, &mj, &mn) == 4) {
          (*mounts_)[id] = {mj, mn};
        }
      }
    }
    if (auto it = mounts_->find(stx.stx_mnt_id); it != mounts_->end()) {
      std::tie(major, minor) = it->second;
    }
  }
  return KernelFileKey{(major << 20) | minor, stx.stx_ino};
}

}  // namespace kestrel::sources
