#include "kestrel/base/arena.h"

#include <gtest/gtest.h>

#include <string>

namespace kestrel::base {
namespace {

TEST(StringArenaTest, CopiesAreStableAndIndependent) {
  StringArena arena(64);
  std::string src = "hello";
  std::string_view a = arena.Copy(src);
  src[0] = 'j';
  std::string_view b = arena.Copy("world");
  EXPECT_EQ(a, "hello");
  EXPECT_EQ(b, "world");
  EXPECT_TRUE(arena.Copy("").empty());
}

TEST(StringArenaTest, AlignmentIsHonoured) {
  StringArena arena(128);
  arena.Allocate(3);
  void* p = arena.Allocate(16, 8);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 8, 0u);
}

TEST(StringArenaTest, OversizedRequestGetsOwnBlock) {
  StringArena arena(64);
  std::string big(10000, 'x');
  std::string_view v = arena.Copy(big);
  EXPECT_EQ(v, big);
  EXPECT_GE(arena.capacity(), 10000u);
}

TEST(StringArenaTest, ReuseAfterResetAllocatesNothing) {
  StringArena arena(256);
  auto fill = [&] {
    for (int i = 0; i < 100; ++i) arena.Copy("some string of moderate length");
    arena.Copy(std::string(5000, 'y'));
  };
  fill();
  size_t allocations = arena.block_allocations();
  for (int round = 0; round < 10; ++round) {
    arena.Reset();
    fill();
  }
  EXPECT_EQ(arena.block_allocations(), allocations);
}

}  // namespace
}  // namespace kestrel::base
