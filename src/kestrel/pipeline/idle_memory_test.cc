#include "kestrel/pipeline/idle_memory.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace kestrel::pipeline {
namespace {

// kB of the process's resident file-backed pages (RssFile in /proc/self/status), -1 if unknown.
long RssFileKb() {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return -1;
  char line[256];
  long kb = -1;
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::sscanf(line, "RssFile: %ld kB", &kb) == 1) break;
  }
  std::fclose(f);
  return kb;
}

int written_data = 0;  // .data/.bss: must survive (only code mappings are advised)

// Code pages are dropped from the resident set, data and heap are kept, and the code that was
// dropped runs again (faulted back from the page cache).
TEST(IdleMemoryTest, DropsResidentCodePagesAndKeepsData) {
  written_data = 42;
  std::vector<std::string> heap(1000, std::string(100, 'x'));
  long before = RssFileKb();
  ASSERT_GT(before, 0) << "no RssFile in /proc/self/status";
  ReleasedMemory released = ReleaseStartupMemory();
  long after = RssFileKb();
  EXPECT_GT(released.code_mappings, 0u);
  EXPECT_GT(released.code_bytes, 0u);
  EXPECT_LT(after, before) << "resident file pages did not drop";
  EXPECT_EQ(written_data, 42);
  for (const std::string& s : heap) ASSERT_EQ(s, std::string(100, 'x'));
  // Again, now that this code was faulted back: still works, still advises.
  EXPECT_GT(ReleaseStartupMemory().code_mappings, 0u);
  EXPECT_EQ(written_data, 42);
}

}  // namespace
}  // namespace kestrel::pipeline
