#include "kestrel/event/event.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace kestrel::event {
namespace {

using schema::Schema;
namespace ecs = schema::ecs;

TEST(EventTest, LookupAfterFinishIsSortedAndLastDuplicateWins) {
  Event e;
  constexpr FieldId kName = ecs::Field("process.name");
  constexpr FieldId kPid = ecs::Field("process.pid");
  e.SetString(kName, "first");
  e.SetInt(kPid, 42);
  e.SetString(kName, "second");
  e.Finish();
  ASSERT_EQ(e.size(), 2u);
  EXPECT_LT(e.entries()[0].id, e.entries()[1].id);
  ASSERT_NE(e.Find(kName), nullptr);
  EXPECT_EQ(e.Find(kName)->as_string(), "second");
  EXPECT_EQ(e.Find(kPid)->as_int(), 42);
  EXPECT_EQ(e.Find(ecs::Field("process.executable")), nullptr);
}

TEST(EventTest, LargeEventsSortCorrectly) {
  Event e;
  for (uint32_t i = 200; i > 0; --i) e.SetInt(FieldId{i}, i);
  e.SetInt(FieldId{7}, -7);
  e.Finish();
  ASSERT_EQ(e.size(), 200u);
  for (uint32_t i = 1; i <= 200; ++i) {
    ASSERT_NE(e.Find(FieldId{i}), nullptr);
    EXPECT_EQ(e.Find(FieldId{i})->as_int(), i == 7 ? -7 : int64_t{i});
  }
}

// Finish(plan) gives what Finish() gives, whether the event's field order is the plan's last
// (entries placed by its permutation) or new (sorted, then kept): orders alternate here, with
// duplicates, more than 32 fields, an empty event and one that differs only in a late id.
TEST(EventTest, FinishWithAPlanEqualsFinish) {
  auto build = [](int shape, Event* e) {
    e->Clear();
    for (uint32_t i = 40; i > 0; --i) e->SetInt(FieldId{i * 3 + (shape == 1 ? 1u : 0u)}, i);
    e->SetInt(FieldId{9}, -1);  // a duplicate: the last wins
    if (shape == 2) e->SetInt(FieldId{500}, 5);
    if (shape == 3) e->Clear();
    e->SetString(FieldId{7}, shape == 0 ? "a" : "b");
  };
  FinishPlan plan;
  Event with_plan, without;
  const int shapes[] = {0, 0, 1, 1, 1, 0, 2, 2, 3, 3, 0};
  for (int shape : shapes) {
    build(shape, &with_plan);
    build(shape, &without);
    with_plan.Finish(&plan);
    without.Finish();
    ASSERT_EQ(with_plan.size(), without.size()) << shape;
    for (size_t i = 0; i < without.size(); ++i) {
      EXPECT_EQ(with_plan.entries()[i].id, without.entries()[i].id) << shape << " " << i;
      EXPECT_EQ(with_plan.entries()[i].value, without.entries()[i].value) << shape << " " << i;
    }
    for (const Event::Entry& e : without.entries()) {
      ASSERT_NE(with_plan.Find(e.id), nullptr);
      EXPECT_EQ(*with_plan.Find(e.id), e.value);
    }
    if (shape != 3) {
      EXPECT_EQ(with_plan.Find(FieldId{9})->as_int(), -1);
    }
  }
  EXPECT_EQ(plan.sorted(), 6u);  // each change of order
  EXPECT_EQ(plan.reused(), 5u);  // each repeat
}

TEST(EventTest, SharedBlocksAreFoundCopiedByReferenceAndVisited) {
  auto block = std::make_shared<Event>();
  block->SetString(ecs::Field("process.parent.name"), "bash");
  block->SetInt(ecs::Field("process.parent.pid"), 10);
  block->Finish();
  Event e;
  e.SetString(ecs::Field("process.name"), "true");
  e.Share(block);
  e.Share(nullptr);  // ignored
  e.Finish();
  EXPECT_EQ(e.size(), 1u);  // own fields only
  EXPECT_EQ(e.field_count(), 3u);
  ASSERT_NE(e.Find(ecs::Field("process.parent.name")), nullptr);
  EXPECT_EQ(e.Find(ecs::Field("process.parent.name"))->as_string(), "bash");
  EXPECT_EQ(e.Find(ecs::Field("process.name"))->as_string(), "true");
  EXPECT_EQ(e.Find(ecs::Field("process.executable")), nullptr);
  // A copy shares the block (no field copied) and keeps it alive after the original is gone.
  Event copy(e);
  Event assigned;
  assigned = e;
  e.Clear();
  block.reset();
  EXPECT_EQ(e.Find(ecs::Field("process.parent.name")), nullptr);
  EXPECT_EQ(e.field_count(), 0u);
  ASSERT_EQ(copy.shared().size(), 1u);
  EXPECT_EQ(copy.shared()[0].use_count(), 2);
  EXPECT_EQ(copy.Find(ecs::Field("process.parent.pid"))->as_int(), 10);
  EXPECT_EQ(assigned.Find(ecs::Field("process.parent.name"))->as_string(), "bash");
  std::vector<std::string> seen;
  copy.ForEachField([&](const Event::Entry& f) { seen.push_back(std::to_string(f.id.value)); });
  EXPECT_EQ(seen.size(), 3u);
  // At most kMaxShared blocks; more are ignored rather than overflowing.
  Event many;
  for (size_t i = 0; i < Event::kMaxShared + 2; ++i) {
    auto b = std::make_shared<Event>();
    b->SetInt(FieldId{static_cast<uint32_t>(1000 + i)}, static_cast<int64_t>(i));
    b->Finish();
    many.Share(b);
  }
  many.Finish();
  EXPECT_EQ(many.shared().size(), Event::kMaxShared);
  EXPECT_NE(many.Find(FieldId{1000}), nullptr);
  EXPECT_EQ(many.Find(FieldId{static_cast<uint32_t>(1000 + Event::kMaxShared)}), nullptr);
}

TEST(EventTest, ArraysAreCopiedIntoTheArena) {
  Event e;
  std::string a = "alpha", b = "beta";
  Value elems[] = {Value::String(a), Value::String(b), Value::Int(3)};
  e.SetArray(ecs::Field("process.args"), elems);
  a[0] = 'X';
  e.Finish();
  auto arr = e.Find(ecs::Field("process.args"))->as_array();
  ASSERT_EQ(arr.size(), 3u);
  EXPECT_EQ(arr[0].as_string(), "alpha");
  EXPECT_EQ(arr[1].as_string(), "beta");
  EXPECT_EQ(arr[2].as_int(), 3);
}

TEST(EventTest, ReuseReachesSteadyStateWithoutAllocating) {
  Event e;
  auto fill = [&] {
    e.Clear();
    for (uint32_t i = 0; i < 30; ++i) e.SetString(FieldId{i}, "a moderately long string value");
    Value elems[] = {Value::String("x"), Value::String("y")};
    e.SetArray(FieldId{31}, elems);
    e.Finish();
  };
  fill();
  size_t blocks = e.arena().block_allocations();
  size_t capacity = e.entry_capacity();
  for (int i = 0; i < 100; ++i) fill();
  EXPECT_EQ(e.arena().block_allocations(), blocks);
  EXPECT_EQ(e.entry_capacity(), capacity);
}

TEST(EventTest, CopyIsDeep) {
  Event original;
  original.SetString(ecs::Field("process.name"), "bash");
  Value elems[] = {Value::String("-c"), Value::String("id")};
  original.SetArray(ecs::Field("process.args"), elems);
  original.set_time_ns(5);
  original.AddCategory(0);
  original.Finish();
  Event copy = original;
  original.Clear();
  original.SetString(ecs::Field("process.name"), "zzzz");
  original.Finish();
  EXPECT_EQ(copy.Find(ecs::Field("process.name"))->as_string(), "bash");
  EXPECT_EQ(copy.Find(ecs::Field("process.args"))->as_array()[1].as_string(), "id");
  EXPECT_EQ(copy.time_ns(), 5);
  EXPECT_TRUE(copy.InCategory(0));
  Event moved = std::move(copy);
  EXPECT_EQ(moved.Find(ecs::Field("process.name"))->as_string(), "bash");
}

TEST(EventTest, CopiesBorrowStaticStringsAndArrays) {
  static constexpr std::string_view kName = "CAP_CHOWN";
  static const Value kElems[] = {Value::StaticString("CAP_CHOWN"), Value::StaticString("CAP_KILL")};
  Event original;
  original.SetUnowned(ecs::Field("event.kind"), Value::StaticString(kName));
  original.SetUnowned(ecs::Field("process.args"), Value::StaticArray(kElems));
  Value mixed[] = {Value::StaticString(kName), Value::String("owned")};
  original.SetArray(ecs::Field("process.env_vars"), mixed);
  original.Finish();
  Event copy = original;
  const Value* kind = copy.Find(ecs::Field("event.kind"));
  ASSERT_NE(kind, nullptr);
  EXPECT_EQ(kind->as_string().data(), kName.data());  // borrowed, not copied
  EXPECT_TRUE(kind->is_static());
  EXPECT_EQ(copy.Find(ecs::Field("process.args"))->as_array().data(), kElems);
  auto env = copy.Find(ecs::Field("process.env_vars"))->as_array();
  ASSERT_EQ(env.size(), 2u);
  EXPECT_EQ(env[0].as_string().data(), kName.data());
  EXPECT_NE(env[1].as_string().data(),
            original.Find(ecs::Field("process.env_vars"))->as_array()[1].as_string().data());
  EXPECT_EQ(env[1].as_string(), "owned");
  EXPECT_FALSE(env[1].is_static());
  // The copy's arena holds the owned string and the non-static array only.
  EXPECT_LE(copy.arena().capacity(), 2 * sizeof(Value) + alignof(Value) + 5);
  EXPECT_TRUE(Value::StaticString("x") == Value::String("x"));  // equality ignores the flag
}

TEST(EventTest, BuilderInternsUnknownFields) {
  Schema schema;
  Event e = EventBuilder(schema)
                .Time(100)
                .Category("process")
                .Str("process.name", "bash")
                .Int("serial_event_id", 7)
                .Ip("destination.ip", "10.0.0.1")
                .Strs("process.args", {"bash", "-c"})
                .Build();
  auto serial = schema.Find("serial_event_id");
  ASSERT_TRUE(serial.has_value());
  EXPECT_TRUE(schema.Info(*serial).dynamic);
  EXPECT_EQ(e.Find(*serial)->as_int(), 7);
  EXPECT_EQ(e.Find(ecs::Field("destination.ip"))->as_ip().ToString(), "10.0.0.1");
  EXPECT_TRUE(e.InCategory(*schema.FindCategory("process")));
  EXPECT_EQ(e.time_ns(), 100);
}

TEST(IpAddressTest, ParsesAndPrintsBothFamilies) {
  auto v4 = IpAddress::Parse("192.168.1.20");
  ASSERT_TRUE(v4.has_value());
  EXPECT_TRUE(v4->is_v4);
  EXPECT_EQ(v4->ToString(), "192.168.1.20");
  auto v6 = IpAddress::Parse("2001:db8::1");
  ASSERT_TRUE(v6.has_value());
  EXPECT_FALSE(v6->is_v4);
  EXPECT_EQ(v6->ToString(), "2001:db8::1");
  EXPECT_FALSE(IpAddress::Parse("not an ip").has_value());
  EXPECT_FALSE(IpAddress::Parse("").has_value());
  EXPECT_FALSE(IpAddress::Parse("1.2.3.4.5").has_value());
}

TEST(ValueTest, UnsignedThatFitsIsInt) {
  EXPECT_EQ(Value::Uint(5).kind(), ValueKind::kInt);
  EXPECT_EQ(Value::Uint(UINT64_MAX).kind(), ValueKind::kUint);
  EXPECT_EQ(Value::Uint(5), Value::Int(5));
  EXPECT_FALSE(Value::Int(5) == Value::Double(5));
}

}  // namespace
}  // namespace kestrel::event
