// Tests of suggest.h.
#include "kestrel/base/suggest.h"

#include "gtest/gtest.h"

namespace kestrel::base {
namespace {

TEST(SuggestTest, EditDistance) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("proces", "process"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("abc", ""), 3u);
  EXPECT_EQ(EditDistance("rnu", "run"), 1u);  // a transposition is one typo
  EXPECT_EQ(EditDistance("netwrok", "network"), 1u);
}

TEST(SuggestTest, ClosestMatchIsATypoOrNothing) {
  std::vector<std::string_view> categories = {"process", "file", "network", "api"};
  EXPECT_EQ(ClosestMatch("proces", categories), "process");
  EXPECT_EQ(ClosestMatch("netwrok", categories), "network");
  EXPECT_EQ(ClosestMatch("file", categories), "file");
  EXPECT_EQ(ClosestMatch("a", categories), std::nullopt);  // not "api": 2 edits for 1 byte
  EXPECT_EQ(ClosestMatch("registry", categories), std::nullopt);
  EXPECT_EQ(ClosestMatch("x", {}), std::nullopt);
}

TEST(SuggestTest, FirstAmongTies) {
  EXPECT_EQ(ClosestMatch("rum", {"run", "rule"}), "run");
  EXPECT_EQ(ClosestMatch("chek", {"check", "cheek"}), "check");
}

}  // namespace
}  // namespace kestrel::base
