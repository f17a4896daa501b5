#include "kestrel/schema/schema.h"

#include <gtest/gtest.h>

#include <thread>

namespace kestrel::schema {
namespace {

TEST(SchemaTest, CatalogueFieldsHaveCompileTimeIds) {
  Schema schema;
  constexpr FieldId kName = ecs::Field("process.name");
  EXPECT_EQ(schema.Find("process.name"), kName);
  EXPECT_EQ(schema.Info(kName).name, "process.name");
  EXPECT_EQ(schema.Info(kName).type, FieldType::kKeyword);
  EXPECT_FALSE(schema.Info(kName).dynamic);
  EXPECT_EQ(schema.Find("@timestamp"), ecs::kTimestamp);
}

TEST(SchemaTest, CatalogueCoversIssueAndRuleFields) {
  Schema schema;
  struct Want {
    const char* name;
    FieldType type;
    bool is_array;
  };
  for (const Want& w : std::initializer_list<Want>{
           {"event.category", FieldType::kKeyword, true},
           {"event.outcome", FieldType::kKeyword, false},
           {"process.pid", FieldType::kLong, false},
           {"process.args", FieldType::kKeyword, true},
           {"process.args_count", FieldType::kLong, false},
           {"process.parent.executable", FieldType::kKeyword, false},
           {"process.parent.args", FieldType::kKeyword, true},
           {"process.session_leader.entity_id", FieldType::kKeyword, false},
           {"process.group_leader.pid", FieldType::kLong, false},
           {"process.entry_leader.entry_meta.type", FieldType::kKeyword, false},
           {"process.user.id", FieldType::kKeyword, false},
           {"process.env_vars", FieldType::kKeyword, true},
           {"process.exit_code", FieldType::kLong, false},
           {"process.start", FieldType::kDate, false},
           {"process.interactive", FieldType::kBoolean, false},
           {"process.thread.capabilities.effective", FieldType::kKeyword, true},
           {"user.Ext.real.id", FieldType::kKeyword, false},
           {"file.size", FieldType::kLong, false},
           {"file.Ext.original.path", FieldType::kKeyword, false},
           {"destination.ip", FieldType::kIp, false},
           {"source.port", FieldType::kLong, false},
           {"network.transport", FieldType::kKeyword, false},
           {"dns.question.name", FieldType::kKeyword, false},
           {"host.os.type", FieldType::kKeyword, false},
           {"host.id", FieldType::kKeyword, false},
           {"container.id", FieldType::kKeyword, false},
       }) {
    auto id = schema.Find(w.name);
    ASSERT_TRUE(id.has_value()) << w.name;
    EXPECT_EQ(schema.Info(*id).type, w.type) << w.name;
    EXPECT_EQ(schema.Info(*id).is_array, w.is_array) << w.name;
  }
}

TEST(SchemaTest, InternAssignsDenseDynamicIds) {
  Schema schema;
  size_t before = schema.field_count();
  auto a = schema.Intern("process_name", FieldType::kKeyword, false);
  auto b = schema.Intern("serial_event_id", FieldType::kLong, false);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->value, before);
  EXPECT_EQ(b->value, before + 1);
  EXPECT_EQ(*schema.Intern("process_name", FieldType::kLong, false), *a) << "type of first wins";
  EXPECT_EQ(schema.Info(*a).type, FieldType::kKeyword);
  EXPECT_TRUE(schema.Info(*a).dynamic);
  EXPECT_EQ(schema.Find("serial_event_id"), *b);
  EXPECT_EQ(*schema.Intern("process.name", FieldType::kLong, false), ecs::Field("process.name"));
  EXPECT_FALSE(schema.Intern("", FieldType::kKeyword, false).ok());
}

TEST(SchemaTest, BudgetExhaustionIsAnError) {
  Schema schema;
  absl::Status last;
  for (size_t i = schema.field_count(); i <= Schema::kMaxFields; ++i) {
    auto id = schema.Intern("f" + std::to_string(i), FieldType::kKeyword, false);
    if (!id.ok()) {
      last = id.status();
      break;
    }
  }
  EXPECT_EQ(last.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(schema.field_count(), Schema::kMaxFields);
}

TEST(SchemaTest, ConcurrentInternIsConsistent) {
  Schema schema;
  std::vector<FieldId> seen[2];
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        seen[t].push_back(*schema.Intern("dyn." + std::to_string(i), FieldType::kLong, false));
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(seen[0], seen[1]);
  for (FieldId id : seen[0]) EXPECT_EQ(schema.Find(schema.Info(id).name), id);
}

TEST(SchemaTest, SuggestsClosestCatalogueName) {
  Schema schema;
  auto s = schema.Suggest("process.executabel");
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0], "process.executable");
  EXPECT_TRUE(schema.Suggest("completely_unrelated_name_xyz").empty());
}

TEST(SchemaTest, Categories) {
  Schema schema;
  EXPECT_EQ(schema.FindCategory("process"), CategoryId{0});
  EXPECT_EQ(schema.CategoryName(0), "process");
  CategoryId img = schema.InternCategory("image_load");
  EXPECT_EQ(schema.InternCategory("image_load"), img);
  EXPECT_EQ(schema.CategoryName(img), "image_load");
  for (int i = 0; i < 100; ++i) schema.InternCategory("c" + std::to_string(i));
  EXPECT_EQ(schema.InternCategory("one_too_many"), Schema::kOtherCategory);
  EXPECT_EQ(schema.CategoryName(Schema::kOtherCategory), "other");
}

}  // namespace
}  // namespace kestrel::schema
