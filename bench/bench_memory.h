// Process memory figures for the benchmarks (Linux /proc; 0 where unavailable), shared so that
// every benchmark reports RSS the same way.
#pragma once

#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kestrel::bench {

// Resident set size in MB (from /proc/self/statm).
inline double RssMb() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  unsigned long size = 0, resident = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &resident);
  std::fclose(f);
  return n == 2 ? static_cast<double>(resident) * 4096.0 / (1 << 20) : 0;
}

// A "Name:   N kB" line of /proc/self/status (VmHWM, VmRSS...), in MB.
inline double StatusMb(const char* key) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return 0;
  char line[256];
  double mb = 0;
  size_t n = std::strlen(key);
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    if (std::strncmp(line, key, n) == 0 && line[n] == ':') {
      mb = std::strtod(line + n + 1, nullptr) / 1024.0;
      break;
    }
  }
  std::fclose(f);
  return mb;
}

// The peak RSS (VmHWM) in MB.
inline double PeakRssMb() { return StatusMb("VmHWM"); }

// Resets VmHWM to the current RSS (Linux >= 4.0) after giving freed heap back, so that the
// next PeakRssMb() is the peak from here on.
inline void ResetPeakRss() {
  malloc_trim(0);
  if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

}  // namespace kestrel::bench
