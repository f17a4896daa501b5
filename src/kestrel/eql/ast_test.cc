// AST tests: checked casts, child iteration, heights, deep copies and dump formatting.
#include "kestrel/eql/ast.h"

#include "gtest/gtest.h"
#include "kestrel/eql/parser.h"

namespace kestrel::eql {
namespace {

ExprPtr ParseCondition(const std::string& condition) {
  absl::StatusOr<Query> q = Parse("process where " + condition);
  EXPECT_TRUE(q.ok()) << q.status();
  if (!q.ok()) return nullptr;
  return std::move(q->body->Cast<EventQuery>().condition);
}

TEST(AstTest, CastAndAs) {
  ExprPtr e = ParseCondition("a == 1");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->kind(), ExprKind::kBinary);
  EXPECT_EQ(e->Cast<BinaryExpr>().op, BinaryOp::kEq);
  EXPECT_NE(e->As<BinaryExpr>(), nullptr);
  EXPECT_EQ(e->As<CallExpr>(), nullptr);
}

TEST(AstDeathTest, WrongCastAborts) {
  ExprPtr e = ParseCondition("a == 1");
  ASSERT_NE(e, nullptr);
  EXPECT_DEATH(e->Cast<CallExpr>(), "bad Expr Cast");
}

TEST(AstTest, ForEachChildVisitsInSourceOrder) {
  ExprPtr e = ParseCondition("f(a, 1, \"x\")");
  std::vector<std::string> seen;
  ForEachChild(*e, [&](const Expr& child) { seen.push_back(DumpExpr(child)); });
  EXPECT_EQ(seen, (std::vector<std::string>{"(field a)", "1", "\"x\""}));
}

TEST(AstTest, HeightsAreComputed) {
  ExprPtr e = ParseCondition("a == 1 and (b + 2) * 3 > 0");
  EXPECT_EQ(e->height, 5u);  // and > (>) > (*) > (+) > b
}

TEST(AstTest, CloneIsDeepAndEqual) {
  ExprPtr e =
      ParseCondition("?a.b[1] : (\"x*\") and not c in~ (1, 2.5, null, true) or -d regex~ \"y\"");
  ExprPtr copy = CloneExpr(*e);
  EXPECT_EQ(DumpExpr(*copy), DumpExpr(*e));
  EXPECT_EQ(copy->height, e->height);
  EXPECT_EQ(copy->span, e->span);
  EXPECT_NE(copy.get(), e.get());
}

TEST(AstTest, DumpFormatsLiterals) {
  EXPECT_EQ(DumpExpr(*ParseCondition("a == 2.0")), "(== (field a) 2.0)");
  EXPECT_EQ(DumpExpr(*ParseCondition("a == \"q\\\"\\n\"")), "(== (field a) \"q\\\"\\n\")");
}

TEST(AstTest, TimeSpanSaturates) {
  TimeSpan t{INT64_MAX / 2, "d", {}};
  EXPECT_EQ(t.Milliseconds(), INT64_MAX);
  EXPECT_EQ((TimeSpan{7, "", {}}).Milliseconds(), 7);
}

TEST(AstTest, PipeKindNames) {
  EXPECT_EQ(PipeKindName(PipeKind::kUniqueCount), "unique_count");
  EXPECT_EQ(BinaryOpName(BinaryOp::kGe), ">=");
  EXPECT_TRUE(IsComparison(BinaryOp::kNe));
  EXPECT_FALSE(IsComparison(BinaryOp::kMod));
}

}  // namespace
}  // namespace kestrel::eql
