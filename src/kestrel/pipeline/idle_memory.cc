// ReleaseStartupMemory; see idle_memory.h.
#include "kestrel/pipeline/idle_memory.h"

#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstring>

namespace kestrel::pipeline {

ReleasedMemory ReleaseStartupMemory() {
  ReleasedMemory out;
#if defined(__GLIBC__)
  out.trimmed = malloc_trim(0) != 0;
#endif
#if defined(__linux__)
  // Each line is handled as it is read (advising does not change the map; a line longer than
  // the buffer is a path, whose rest is skipped as lines that do not parse).
  std::FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return out;
  char line[4096];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    uintptr_t lo = 0, hi = 0;
    char perms[8] = {};
    unsigned long long offset = 0;
    unsigned dev_major = 0, dev_minor = 0;
    unsigned long long inode = 0;
    int path_at = 0;
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx %x:%x %llu %n", &lo, &hi, perms,
                    &offset, &dev_major, &dev_minor, &inode, &path_at) < 7) {
      continue;
    }
    // Code of a file: r-xp with an inode and a path (not [vdso], [vsyscall], anonymous).
    if (std::strcmp(perms, "r-xp") != 0 || inode == 0 || line[path_at] != '/') continue;
    if (hi <= lo) continue;
    if (madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED) == 0) {
      ++out.code_mappings;
      out.code_bytes += hi - lo;
    }
  }
  std::fclose(maps);
#endif
  return out;
}

}  // namespace kestrel::pipeline
