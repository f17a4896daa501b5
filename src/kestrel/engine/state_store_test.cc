#include "kestrel/engine/state_store.h"
#include "kestrel/base/time.h"

#include <gtest/gtest.h>

namespace kestrel::engine {
namespace {

using base::kSecond;

PartialMatch Match(int64_t start_seconds, uint64_t index) {
  PartialMatch m;
  m.start_ns = start_seconds * kSecond;
  event::Event e;
  e.set_time_ns(m.start_ns);
  e.Finish();
  m.events.push_back(EvidenceRef::Adopt(Evidence::Create(e, index)));
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
  EXPECT_EQ(store.Find(1, "a")->events[0]->index(), 2u);
  EXPECT_EQ(store.Find(1, "b"), nullptr);
  PartialMatch taken;
  EXPECT_TRUE(store.Take(0, "a", &taken));
  EXPECT_EQ(taken.events[0]->index(), 1u);
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
  EXPECT_EQ(store.Find(0, "a")->events[0]->index(), 2u);
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

// Keys are looked up by hash but compared by text: two keys whose hashes collide keep their own
// matches (forced here; XXH3 collisions are rare, never impossible).
TEST(StateStoreTest, KeysWithTheSameHashNeverShareState) {
  StateStore store(2, {});
  JoinKey a{"\"a\"\x1f", 42}, b{"\"b\"\x1f", 42};
  store.Put(0, a, Match(0, 1));
  store.Put(0, b, Match(0, 2));
  EXPECT_EQ(store.stats().keys, 2u);
  ASSERT_NE(store.Find(0, a), nullptr);
  ASSERT_NE(store.Find(0, b), nullptr);
  EXPECT_EQ(store.Find(0, a)->events[0]->index(), 1u);
  EXPECT_EQ(store.Find(0, b)->events[0]->index(), 2u);
  EXPECT_EQ(store.Find(0, JoinKey{"\"c\"\x1f", 42}), nullptr);
  PartialMatch taken;
  ASSERT_TRUE(store.Take(0, b, &taken));
  EXPECT_EQ(taken.events[0]->index(), 2u);
  EXPECT_EQ(store.Find(0, a)->events[0]->index(), 1u);
  EXPECT_EQ(store.Find(0, b), nullptr);
  // The string forms hash the text: the same key as JoinKey::Of.
  store.Put(1, "x", Match(0, 3));
  EXPECT_NE(store.Find(1, JoinKey::Of("x")), nullptr);
}

// The write order list: a rewrite moves a match to the tail, a removal from the middle keeps
// the order of the others, and the quota evicts from the head.
TEST(StateStoreTest, EvictionFollowsWriteOrderThroughRewritesAndRemovals) {
  StateLimits limits;
  limits.max_partials = 2;
  StateStore store(2, limits);
  store.Put(0, "a", Match(0, 1));
  store.Put(0, "b", Match(0, 2));
  store.Put(0, "c", Match(0, 3));
  store.Put(0, "a", Match(0, 4));  // "a" is now the most recent
  store.Erase(0, "c");             // out of the middle
  store.Put(1, "d", Match(0, 5));
  store.Sweep(0);  // 3 held, quota 2: the head ("b") goes
  EXPECT_EQ(store.stats().evicted, 1u);
  EXPECT_EQ(store.Find(0, "b"), nullptr);
  EXPECT_NE(store.Find(0, "a"), nullptr);
  EXPECT_NE(store.Find(1, "d"), nullptr);
  EXPECT_TRUE(store.EvictOldest());  // then "a", then "d"
  EXPECT_EQ(store.Find(0, "a"), nullptr);
  EXPECT_TRUE(store.EvictOldest());
  EXPECT_FALSE(store.EvictOldest());
  EXPECT_EQ(store.OldestTick(), UINT64_MAX);
  EXPECT_EQ(store.stats().evicted_budget, 2u);
  EXPECT_EQ(store.bytes(), 0u);
}

// OldestTick (what the state budget compares across rules at each eviction) is the tick of the
// write at the head of the write order, kept aside as the head moves: through a rewrite of the
// head, a Take, an Erase and evictions.
TEST(StateStoreTest, OldestTickFollowsTheHead) {
  StateBudget budget(size_t{1} << 30);
  StateStore store(2, StateLimits{});
  store.UseBudget(&budget);
  EXPECT_EQ(store.OldestTick(), UINT64_MAX);
  store.Put(0, "a", Match(0, 1));  // tick 1
  store.Put(0, "b", Match(0, 2));  // 2
  store.Put(1, "c", Match(0, 3));  // 3
  EXPECT_EQ(store.OldestTick(), 1u);
  store.Put(0, "a", Match(0, 4));  // the head rewritten: tick 4, "b" is the head
  EXPECT_EQ(store.OldestTick(), 2u);
  PartialMatch taken;
  ASSERT_TRUE(store.Take(0, "b", &taken));
  EXPECT_EQ(store.OldestTick(), 3u);
  budget.AdvanceTo(10);            // another store of the domain wrote up to 10
  store.Put(0, "d", Match(0, 5));  // 11
  store.Erase(1, "c");
  EXPECT_EQ(store.OldestTick(), 4u);
  ASSERT_TRUE(store.EvictOldest());
  EXPECT_EQ(store.OldestTick(), 11u);
  ASSERT_TRUE(store.EvictOldest());
  EXPECT_EQ(store.OldestTick(), UINT64_MAX);
  store.Put(1, "e", Match(0, 6));  // an empty list's first write becomes the head
  EXPECT_EQ(store.OldestTick(), 12u);
}

// Evidence: every kind of value comes back equal, with its kind, times, categories and the
// caller's index; static values are borrowed again, not copied.
TEST(EvidenceTest, DecodesWhatWasEncoded) {
  schema::Schema schema;
  static const event::Value kStaticElements[] = {event::Value::StaticString("cap_a"),
                                                 event::Value::StaticString("cap_b")};
  static constexpr std::string_view kStaticText = "static text";
  event::Event e = event::EventBuilder(schema)
                       .Time(42 * kSecond)
                       .Category("process")
                       .Category("file")
                       .Str("s", std::string_view("hello \xff\x00 world", 14))
                       .Str("empty", "")
                       .Int("neg", INT64_MIN)
                       .Int("pos", 300)
                       .Bool("t", true)
                       .Bool("f", false)
                       .Ip("ip4", "192.0.2.7")
                       .Ip("ip6", "2001:db8::1")
                       .Strs("arr", {"x", "", "yz"})
                       .Build();
  e.set_wall_ns(7);
  auto id = [&](std::string_view name, schema::FieldType t) {
    return *schema.Intern(name, t, false);
  };
  // Values EventBuilder has no setter for; Finish() again sorts them in.
  e.SetUint(id("big", schema::FieldType::kUnsigned), UINT64_MAX);
  e.SetDouble(id("d", schema::FieldType::kDouble), -0.125);
  e.SetNull(id("nul", schema::FieldType::kKeyword));
  e.SetRawJson(id("raw", schema::FieldType::kKeyword), R"([{"a":1},[2]])");
  e.SetUnowned(id("sstr", schema::FieldType::kKeyword), event::Value::StaticString(kStaticText));
  e.SetUnowned(id("sarr", schema::FieldType::kKeyword), event::Value::StaticArray(kStaticElements));
  std::vector<event::Value> mixed = {event::Value::Int(-1), event::Value::Double(2.5),
                                     event::Value::Bool(true), event::Value::Null()};
  e.SetArray(id("mixed", schema::FieldType::kKeyword), mixed);
  e.Finish();

  int64_t live = Evidence::Live();
  EvidenceRef ref = EvidenceRef::Adopt(Evidence::Create(e, 99));
  EXPECT_EQ(Evidence::Live(), live + 1);
  EXPECT_EQ(ref->index(), 99u);
  EXPECT_EQ(ref->time_ns(), 42 * kSecond);
  EXPECT_LT(ref->MemoryBytes(), e.MemoryBytes());
  std::shared_ptr<const event::Event> back = ref->Decode();
  EXPECT_EQ(back->time_ns(), e.time_ns());
  EXPECT_EQ(back->wall_ns(), 7);
  EXPECT_EQ(back->categories(), e.categories());
  ASSERT_EQ(back->size(), e.size());
  for (size_t i = 0; i < e.size(); ++i) {
    const auto& a = e.entries()[i];
    const auto& b = back->entries()[i];
    EXPECT_EQ(a.id, b.id) << i;
    EXPECT_EQ(a.value.kind(), b.value.kind()) << schema.Info(a.id).name;
    EXPECT_TRUE(a.value == b.value) << schema.Info(a.id).name;
    EXPECT_EQ(a.value.is_static(), b.value.is_static()) << schema.Info(a.id).name;
    ASSERT_NE(back->Find(a.id), nullptr);
  }
  EXPECT_EQ(back->Find(*schema.Find("sstr"))->as_string().data(), kStaticText.data());
  EXPECT_EQ(back->Find(*schema.Find("sarr"))->as_array().data(), kStaticElements);
  EXPECT_TRUE(back->Find(*schema.Find("ip4"))->as_ip().is_v4);
  EXPECT_EQ(back->Find(*schema.Find("ip4"))->as_ip().ToString(), "192.0.2.7");
  EXPECT_EQ(back->Find(*schema.Find("ip6"))->as_ip().ToString(), "2001:db8::1");
  // The decoded event owns its bytes: it outlives the evidence.
  ref.reset();
  EXPECT_EQ(Evidence::Live(), live);
  EXPECT_EQ(back->Find(*schema.Find("s"))->as_string(),
            std::string_view("hello \xff\x00 world", 14));
  EXPECT_EQ(back->Find(*schema.Find("arr"))->as_array()[2].as_string(), "yz");
}

// References share one copy; the last one frees it (copies, moves, self-assignment).
TEST(EvidenceTest, TheLastReferenceFreesIt) {
  event::Event e;
  e.Finish();
  int64_t live = Evidence::Live();
  EvidenceRef a = EvidenceRef::Adopt(Evidence::Create(e, 1));
  EvidenceRef b = a;
  EvidenceRef c = std::move(b);
  EXPECT_FALSE(b);  // NOLINT(bugprone-use-after-move): moved-from is empty
  EXPECT_EQ(a->refs(), 2u);
  EvidenceRef& same = a;  // through a reference: clang refuses a literal `a = a`
  a = same;               // self-assignment keeps it
  EXPECT_EQ(a->refs(), 2u);
  a.reset();
  EXPECT_EQ(Evidence::Live(), live + 1);
  EXPECT_EQ(c->refs(), 1u);
  c = EvidenceRef();
  EXPECT_EQ(Evidence::Live(), live);
}

// A partial match holds its events as shared Evidence: a store taking, replacing and evicting
// matches releases each event when its last match goes.
TEST(EvidenceTest, TheStoreReleasesEvidenceWithItsMatches) {
  int64_t live = Evidence::Live();
  StateLimits limits;
  limits.max_partials = 2;
  {
    StateStore store(2, limits);
    PartialMatch m = Match(0, 1);
    PartialMatch shared = m;  // the same event in a second match (another rule, a fork)
    store.Put(0, "a", std::move(m));
    store.Put(1, "b", std::move(shared));
    EXPECT_EQ(Evidence::Live(), live + 1);
    EXPECT_EQ(store.Find(0, "a")->events[0].get(), store.Find(1, "b")->events[0].get());
    EXPECT_EQ(store.Find(0, "a")->events[0]->refs(), 2u);
    store.Put(0, "c", Match(1, 2));
    store.Sweep(kSecond);  // over the quota: "a" goes, its event stays for "b"
    EXPECT_EQ(store.stats().evicted, 1u);
    EXPECT_EQ(Evidence::Live(), live + 2);
    store.Put(1, "b", Match(2, 3));  // replaced: the shared event's last match
    EXPECT_EQ(Evidence::Live(), live + 2);
    PartialMatch taken;
    ASSERT_TRUE(store.Take(0, "c", &taken));
    EXPECT_EQ(Evidence::Live(), live + 2);  // held by `taken`
    taken = PartialMatch{};
    EXPECT_EQ(Evidence::Live(), live + 1);
  }
  EXPECT_EQ(Evidence::Live(), live);
  EXPECT_LE(sizeof(PartialMatch), 48u);
}

}  // namespace
}  // namespace kestrel::engine
