#include "kestrel/bus/spsc_ring.h"

#include <chrono>
#include <thread>

#include "gtest/gtest.h"

namespace kestrel::bus {
namespace {

TEST(SpscRingTest, FifoWithinCapacity) {
  SpscRing<int> ring(3);  // rounded to 4
  EXPECT_EQ(ring.capacity(), 4u);
  for (int i = 0; i < 4; ++i) {
    int* slot = ring.BeginPush();
    ASSERT_NE(slot, nullptr);
    *slot = i;
    ring.CommitPush();
  }
  EXPECT_EQ(ring.BeginPush(), nullptr);  // full
  EXPECT_EQ(ring.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    ASSERT_NE(ring.Front(), nullptr);
    EXPECT_EQ(*ring.Front(), i);
    ring.Pop();
  }
  EXPECT_EQ(ring.Front(), nullptr);
}

TEST(SpscRingTest, TwoThreadsPassEveryValueInOrder) {
  SpscRing<uint64_t> ring(8);
  constexpr uint64_t kCount = 300'000;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kCount; ++i) {
      ring.WaitForSpace();
      *ring.BeginPush() = i;
      ring.CommitPush();
    }
  });
  uint64_t sum = 0, expected = 0;
  bool in_order = true;
  for (uint64_t i = 0; i < kCount; ++i) {
    ring.WaitForData();
    uint64_t v = *ring.Front();
    in_order &= v == expected++;
    sum += v;
    ring.Pop();
  }
  producer.join();
  EXPECT_TRUE(in_order);
  EXPECT_EQ(sum, kCount * (kCount - 1) / 2);
}

TEST(SpscRingTest, WaitForSpaceForGivesUpOnAFullRingAndSeesRoomMadeMeanwhile) {
  SpscRing<int> ring(2);
  for (int i = 0; i < 2; ++i) {
    *ring.BeginPush() = i;
    ring.CommitPush();
  }
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(ring.WaitForSpaceFor(std::chrono::milliseconds(5)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(5));
  EXPECT_FALSE(ring.WaitForSpaceFor(std::chrono::microseconds(0)));
  std::thread consumer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ring.Pop();
  });
  EXPECT_TRUE(ring.WaitForSpaceFor(std::chrono::seconds(30)));
  consumer.join();
  EXPECT_NE(ring.BeginPush(), nullptr);
}

}  // namespace
}  // namespace kestrel::bus
