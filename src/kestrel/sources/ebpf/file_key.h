// KernelFileKeys: the (device, inode) by which BPF programs know a file — inode->i_sb->s_dev in
// the kernel's dev_t encoding (MAJOR << 20 | MINOR, not glibc's) and i_ino — computed from user
// space: statx for the inode and the mount it is on, /proc/self/mountinfo for that mount's
// superblock device. stat's st_dev is not always the superblock's: btrfs reports a subvolume's
// device, overlayfs a layer's or a pseudo device; a key built from it never matches there.
// Used to fill inode-keyed BPF maps (the BPF-LSM deny maps; kill_inodes should use it too).
//
// Thread safety: one object per thread. Tested by actions/blocking/lsm_guard_test.cc
// (LsmKeyTest: against the kernel's own keys in /proc/locks, on tmpfs and an overlay).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>

#include "absl/status/statusor.h"

namespace kestrel::sources {

struct KernelFileKey {
  uint32_t dev = 0;  // MAJOR << 20 | MINOR of the file's superblock
  uint64_t ino = 0;
};

class KernelFileKeys {
 public:
  // The key of the file `path` names now (symbolic links followed, as exec and open follow
  // them). Errors: the path cannot be stat'ed (NOT_FOUND, ...), with strerror as the message.
  // Reads /proc/self/mountinfo once, at the first call: mounts made later are not seen.
  absl::StatusOr<KernelFileKey> Of(const std::string& path);

 private:
  std::optional<std::map<uint64_t, std::pair<uint32_t, uint32_t>>> mounts_;  // id -> major:minor
};

}  // namespace kestrel::sources
