// Tests of static_values.h: the values live events borrow instead of copying.
#include "kestrel/sources/ebpf/static_values.h"

#include <gtest/gtest.h>

#include <string>

#include "kestrel/event/event.h"

namespace kestrel::sources::ebpf {
namespace {

TEST(StaticValuesTest, KindValuesAreTheDeclarationsAndStatic) {
  for (const EmittedKind& k : kEmittedKinds) {
    const KindValues& v = StaticKindValues(k.id);
    ASSERT_TRUE(v.category.is_static()) << k.name;
    ASSERT_EQ(v.category.as_array().size(), 1u);
    EXPECT_EQ(v.category.as_array()[0].as_string(), k.category);
    ASSERT_EQ(v.type_count, k.types.size()) << k.name;
    for (size_t i = 0; i < v.type_count; ++i) {
      EXPECT_TRUE(v.types[i].is_static());
      EXPECT_EQ(v.types[i].as_string(), k.types[i]);
    }
  }
}

TEST(StaticValuesTest, CapabilityArraysAreSharedPerMaskAndBounded) {
  event::Value a = StaticCapabilityArray(0b101);
  event::Value b = StaticCapabilityArray(0b101);
  ASSERT_TRUE(a.is_static());
  EXPECT_EQ(a.as_array().data(), b.as_array().data());  // one array per mask
  ASSERT_EQ(a.as_array().size(), 2u);
  EXPECT_EQ(a.as_array()[0].as_string(), "CAP_CHOWN");
  EXPECT_EQ(a.as_array()[1].as_string(), "CAP_DAC_READ_SEARCH");  // bit 2
  // Past kMaxStaticCapabilitySets masks: Null (the decoder copies into the event then).
  size_t kept = 0, refused = 0;
  for (uint64_t m = 1; m < 200; ++m) {
    (StaticCapabilityArray(m << 8).is_null() ? refused : kept) += 1;
  }
  EXPECT_LE(kept, kMaxStaticCapabilitySets);
  EXPECT_GT(refused, 0u);
  EXPECT_FALSE(StaticCapabilityArray(0b101).is_null());  // kept masks stay
}

TEST(StaticValuesTest, RetainedStringsAreStableDeduplicatedAndBounded) {
  std::string host = "host-a.example.com";
  auto a = RetainForever(host);
  ASSERT_TRUE(a.has_value());
  host[0] = 'X';  // the retained copy is independent of the caller's string
  EXPECT_EQ(*a, "host-a.example.com");
  auto again = RetainForever("host-a.example.com");
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->data(), a->data());
  EXPECT_FALSE(RetainForever(std::string(kMaxRetainedBytes + 1, 'x')).has_value());
}

// The point of it all: an event's copy borrows these values instead of copying their bytes.
TEST(StaticValuesTest, EventCopiesBorrowThem) {
  event::Event e;
  e.SetUnowned(schema::FieldId{1}, StaticKindValues(EmittedKindId::kExec).category);
  e.SetUnowned(schema::FieldId{2}, StaticCapabilityArray(0b11));
  e.Finish();
  event::Event copy = e;
  EXPECT_EQ(copy.Find(schema::FieldId{2})->as_array().data(),
            e.Find(schema::FieldId{2})->as_array().data());
  EXPECT_EQ(copy.arena().capacity(), 0u);  // nothing was copied into its arena
}

}  // namespace
}  // namespace kestrel::sources::ebpf
