#include "kestrel/engine/lineage.h"

#include <gtest/gtest.h>

#include "kestrel/eql/sema.h"

namespace kestrel::engine {
namespace {

using event::EventBuilder;

class LineageTest : public ::testing::Test {
 protected:
  event::Event Proc(std::string_view self, std::string_view parent) {
    EventBuilder b(schema_);
    b.Category("process").Str("process.entity_id", self);
    if (!parent.empty()) b.Str("process.parent.entity_id", parent);
    return b.Build();
  }
  schema::Schema schema_;
};

TEST_F(LineageTest, DescendantChildAndEventOf) {
  eql::IrNode descendant, child, self;
  descendant.relation = eql::RelationKind::kDescendantOf;
  child.relation = eql::RelationKind::kChildOf;
  self.relation = eql::RelationKind::kEventOf;
  ProcessLineage lineage(schema_, eql::Dialect::kElasticsearch);
  for (auto [p, parent] : {std::pair{"a", "root"}, {"b", "a"}, {"c", "b"}}) {
    lineage.Observe(Proc(p, parent));
  }
  for (eql::IrNode* n : {&descendant, &child, &self}) lineage.Mark(n, Proc("a", ""));
  EXPECT_TRUE(lineage.Related(descendant, Proc("c", "")));  // parent found in the table
  EXPECT_FALSE(lineage.Related(child, Proc("c", "")));
  EXPECT_TRUE(lineage.Related(child, Proc("b", "")));
  EXPECT_TRUE(lineage.Related(self, Proc("a", "")));
  EXPECT_FALSE(lineage.Related(descendant, Proc("a", "")));
}

TEST_F(LineageTest, BoundedTableForgetsTheOldestWithItsMarks) {
  eql::IrNode descendant;
  descendant.relation = eql::RelationKind::kDescendantOf;
  ProcessLineage lineage(schema_, eql::Dialect::kElasticsearch, /*max_processes=*/2);
  lineage.Observe(Proc("a", "root"));
  lineage.Mark(&descendant, Proc("a", ""));
  lineage.Observe(Proc("b", "a"));
  EXPECT_TRUE(lineage.Related(descendant, Proc("x", "b")));
  lineage.Observe(Proc("c", "b"));  // a is forgotten, and with it its mark
  EXPECT_EQ(lineage.forgotten(), 1u);
  EXPECT_FALSE(lineage.Related(descendant, Proc("x", "b")));
}

}  // namespace
}  // namespace kestrel::engine
