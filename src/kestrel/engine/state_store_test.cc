#include "kestrel/engine/state_store.h"

#include <gtest/gtest.h>

namespace kestrel::engine {
namespace {

constexpr int64_t kSecond = 1'000'000'000;

PartialMatch Match(int64_t start_seconds, uint64_t index) {
  PartialMatch m;
  m.start_ns = start_seconds * kSecond;
  m.indexes.push_back(index);
  return m;
}

TEST(StateStoreTest, PutFindTake) {
  StateStore store(2, {});
  store.Put(0, "a", Match(0, 1));
  store.Put(1, "a", Match(0, 2));
  store.Put(0, "b", Match(0, 3));
  EXPECT_EQ(store.stats().partials, 3u);
  EXPECT_EQ(store.stats().keys, 2u);
  ASSERT_NE(store.Find(1, "a"), nullptr);
  EXPECT_EQ(store.Find(1, "a")->indexes[0], 2u);
  EXPECT_EQ(store.Find(1, "b"), nullptr);
  PartialMatch taken;
  EXPECT_TRUE(store.Take(0, "a", &taken));
  EXPECT_EQ(taken.indexes[0], 1u);
  EXPECT_FALSE(store.Take(0, "a", &taken));
  EXPECT_EQ(store.stats().partials, 2u);
  EXPECT_EQ(store.stats().keys, 2u);  // "a" still waits at stage 1
  store.EraseKey("a");
  EXPECT_EQ(store.stats().keys, 1u);
  store.Erase(0, "b");
  EXPECT_EQ(store.stats().partials, 0u);
  EXPECT_EQ(store.stats().keys, 0u);
  EXPECT_EQ(store.stats().evicted + store.stats().expired, 0u);  // removals are not counted
}

TEST(StateStoreTest, ReplacingKeepsOneMatchPerStageAndKey) {
  StateStore store(1, {});
  store.Put(0, "a", Match(0, 1));
  store.Put(0, "a", Match(1, 2));
  EXPECT_EQ(store.stats().partials, 1u);
  EXPECT_EQ(store.Find(0, "a")->indexes[0], 2u);
}

TEST(StateStoreTest, ExpiresByEventTimeAtTheBoundary) {
  StateLimits limits;
  limits.ttl_ns = 5 * kSecond;
  StateStore store(1, limits);
  store.Put(0, "a", Match(0, 1));
  EXPECT_FALSE(store.Expired(*store.Find(0, "a"), 5 * kSecond));  // exactly at the TTL: alive
  EXPECT_TRUE(store.Expired(*store.Find(0, "a"), 5 * kSecond + 1));
  store.Sweep(5 * kSecond);
  EXPECT_EQ(store.stats().partials, 1u);
  store.Sweep(5 * kSecond + 1);
  EXPECT_EQ(store.stats().partials, 0u);
  EXPECT_EQ(store.stats().expired, 1u);
}

TEST(StateStoreTest, NoTtlNeverExpires) {
  StateStore store(1, {});
  store.Put(0, "a", Match(0, 1));
  store.Sweep(int64_t{1} << 62);
  EXPECT_EQ(store.stats().partials, 1u);
  EXPECT_FALSE(store.Expired(*store.Find(0, "a"), int64_t{1} << 62));
}

TEST(StateStoreTest, QuotaEvictsTheLeastRecentlyWritten) {
  StateLimits limits;
  limits.max_partials = 3;
  StateStore store(1, limits);
  for (uint64_t i = 0; i < 3; ++i)
    store.Put(0, std::string(1, static_cast<char>('a' + i)), Match(0, i));
  store.Put(0, "a", Match(1, 10));  // rewritten: now the most recent
  store.Put(0, "d", Match(1, 11));
  store.Sweep(kSecond);
  EXPECT_EQ(store.stats().partials, 3u);
  EXPECT_EQ(store.stats().evicted, 1u);
  EXPECT_EQ(store.Find(0, "b"), nullptr);  // the least recently written
  EXPECT_NE(store.Find(0, "a"), nullptr);
  EXPECT_NE(store.Find(0, "c"), nullptr);
  EXPECT_NE(store.Find(0, "d"), nullptr);
}

TEST(StateStoreTest, KeyQuotaCountsDistinctKeys) {
  StateLimits limits;
  limits.max_keys = 2;
  StateStore store(3, limits);
  store.Put(0, "a", Match(0, 1));
  store.Put(1, "a", Match(0, 2));  // same key, second stage: still one key
  store.Put(0, "b", Match(0, 3));
  store.Sweep(0);
  EXPECT_EQ(store.stats().evicted, 0u);
  store.Put(0, "c", Match(0, 4));
  store.Sweep(0);
  // The oldest writes go first until two keys remain: both of "a"'s matches.
  EXPECT_EQ(store.stats().keys, 2u);
  EXPECT_EQ(store.stats().evicted, 2u);
  EXPECT_EQ(store.Find(0, "a"), nullptr);
  EXPECT_EQ(store.Find(1, "a"), nullptr);
}

TEST(StateStoreTest, MemoryStaysFlatUnderChurn) {
  StateLimits limits;
  limits.max_partials = 1000;
  StateStore store(2, limits);
  for (uint64_t i = 0; i < 200'000; ++i) {
    store.Put(i % 2, std::to_string(i % 5000), Match(static_cast<int64_t>(i), i));
    store.Sweep(static_cast<int64_t>(i) * kSecond);
    ASSERT_LE(store.stats().partials, 1000u);
  }
  EXPECT_EQ(store.stats().partials, 1000u);
  EXPECT_GT(store.stats().evicted, 150'000u);
}

// A match replaced or erased after it expired counts as expired, as a sweep would have counted
// it; without a time nothing is counted; SweepAll reaches expired matches a Sweep stops short of.
TEST(StateStoreTest, ExpiredMatchesCountOnceWhoeverRemovesThem) {
  StateLimits limits;
  limits.ttl_ns = 5 * kSecond;
  StateStore store(2, limits);
  store.Put(0, "a", Match(0, 1));
  store.Put(0, "a", Match(6, 2), 6 * kSecond);  // replaces an expired match
  EXPECT_EQ(store.stats().expired, 1u);
  store.Put(0, "a", Match(7, 3), 7 * kSecond);  // replaces a live one: not counted
  EXPECT_EQ(store.stats().expired, 1u);
  store.Put(1, "b", Match(0, 4));
  store.Erase(1, "b");  // no time: not counted (the caller counts)
  EXPECT_EQ(store.stats().expired, 1u);
  store.Put(1, "c", Match(0, 5));
  store.EraseKey("c", 6 * kSecond);  // `until` over an expired match
  EXPECT_EQ(store.stats().expired, 2u);
  // Write order: a live match written first holds Sweep back from an expired one behind it.
  store.Put(0, "d", Match(20, 6));
  store.Put(1, "e", Match(1, 7));
  store.Sweep(21 * kSecond);
  EXPECT_EQ(store.stats().expired, 3u);  // "a" (7 s) only; "d" stops the sweep before "e"
  store.SweepAll(21 * kSecond);
  EXPECT_EQ(store.stats().expired, 4u);   // "e"
  EXPECT_EQ(store.stats().partials, 1u);  // "d"
}

}  // namespace
}  // namespace kestrel::engine
