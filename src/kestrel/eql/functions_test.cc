#include "kestrel/eql/functions.h"

#include <gtest/gtest.h>

#include <random>

#include <re2/re2.h>

namespace kestrel::eql {
namespace {

using event::Value;

TEST(WildcardMatchTest, GlobSemantics) {
  EXPECT_TRUE(WildcardMatch("bash", "b*", false, false));
  EXPECT_TRUE(WildcardMatch("bash", "*", false, false));
  EXPECT_TRUE(WildcardMatch("", "*", false, false));
  EXPECT_TRUE(WildcardMatch("/usr/bin/curl", "*/curl", false, false));
  EXPECT_TRUE(WildcardMatch("aXbXc", "a*b*c", false, false));
  EXPECT_FALSE(WildcardMatch("aXbXd", "a*b*c", false, false));
  EXPECT_FALSE(WildcardMatch("BASH", "bash", false, false));
  EXPECT_TRUE(WildcardMatch("BASH", "ba*", true, false));
  EXPECT_TRUE(WildcardMatch("sh", "s?", false, true));
  EXPECT_FALSE(WildcardMatch("sh", "s?", false, false)) << "? is literal without question_mark";
  EXPECT_TRUE(WildcardMatch("s?", "s?", false, false));
  // Many stars over a long text stay fast (no exponential backtracking).
  std::string text(10000, 'a');
  EXPECT_FALSE(WildcardMatch(text, "*a*a*a*a*a*a*a*a*b", false, false));
}

TEST(WildcardMatchTest, FastPathAgreesWithTheGeneralAlgorithm) {
  // Random texts and patterns over a small alphabet, so matches and near misses are common.
  std::mt19937 rng(12345);
  const char alphabet[] = "aAb*";
  for (int i = 0; i < 200000; ++i) {
    std::string text, pattern;
    for (size_t n = rng() % 9; n > 0; --n) text.push_back("aAbc"[rng() % 4]);
    for (size_t n = rng() % 7; n > 0; --n) pattern.push_back(alphabet[rng() % 4]);
    for (bool ci : {false, true}) {
      ASSERT_EQ(WildcardMatch(text, pattern, ci, false),
                WildcardMatchBacktracking(text, pattern, ci, false))
          << "text '" << text << "' pattern '" << pattern << "' ci " << ci;
    }
  }
  EXPECT_TRUE(WildcardMatch("aXa", "a*a", false, false));
  EXPECT_FALSE(WildcardMatch("a", "a*a", false, false)) << "head and tail may not overlap";
}

// The evaluator folds a text once for all the patterns of a case-insensitive match: the same
// answers as folding per pattern, with and without `?`.
TEST(WildcardTest, FoldedTextMatchesLikeCaseInsensitiveMatch) {
  std::mt19937 rng(11);
  const char alphabet[] = {'a', 'B', '*', '?', 'b', 'A'};
  std::string folded;
  for (int i = 0; i < 20000; ++i) {
    std::string text, pattern;
    for (size_t n = rng() % 8; n > 0; --n) text.push_back("aBbA"[rng() % 4]);
    for (size_t n = rng() % 7; n > 0; --n) pattern.push_back(alphabet[rng() % 6]);
    for (bool qm : {false, true}) {
      ASSERT_EQ(WildcardMatchFolded(FoldAscii(text, &folded), pattern, qm),
                WildcardMatch(text, pattern, true, qm))
          << "text '" << text << "' pattern '" << pattern << "' qm " << qm;
    }
  }
  EXPECT_TRUE(WildcardMatchFolded(FoldAscii("/USR/Bin/Curl -X", &folded), "*bin/cURL*", false));
  EXPECT_FALSE(WildcardMatchFolded(FoldAscii("/usr/bin/wget", &folded), "*CURL*", true));
}

TEST(CompareTest, ThreeValuedAndMultiValued) {
  Value args[] = {Value::String("bash"), Value::String("-c")};
  Value array = Value::Array(args);
  EXPECT_TRUE(IsTrue(Compare(CompareOp::kEq, array, Value::String("-c"), false)));
  EXPECT_FALSE(IsTrue(Compare(CompareOp::kNe, array, Value::String("-c"), false)));
  EXPECT_TRUE(Compare(CompareOp::kLt, Value::Null(), Value::Int(1), false).is_null());
  EXPECT_TRUE(IsTrue(Compare(CompareOp::kEq, Value::Null(), Value::Null(), false)));
  EXPECT_TRUE(IsTrue(Compare(CompareOp::kLt, Value::Int(3), Value::Double(3.5), false)));
  EXPECT_TRUE(IsTrue(Compare(CompareOp::kGt, Value::Uint(UINT64_MAX), Value::Int(1), false)));
  EXPECT_TRUE(IsTrue(Compare(CompareOp::kEq, Value::String("A"), Value::String("a"), true)));
  EXPECT_FALSE(IsTrue(Compare(CompareOp::kEq, Value::String("A"), Value::String("a"), false)));
  auto ip = event::IpAddress::Parse("10.0.0.1");
  EXPECT_TRUE(IsTrue(Compare(CompareOp::kEq, Value::Ip(*ip), Value::String("10.0.0.1"), false)));
}

TEST(ArithTest, OverflowAndDivisionByZeroAreNull) {
  EXPECT_EQ(Arith(ArithOp::kDiv, Value::Int(7), Value::Int(2)), Value::Int(3));
  EXPECT_EQ(Arith(ArithOp::kDiv, Value::Int(-7), Value::Int(2)), Value::Int(-3));
  EXPECT_TRUE(Arith(ArithOp::kDiv, Value::Int(1), Value::Int(0)).is_null());
  EXPECT_TRUE(Arith(ArithOp::kAdd, Value::Int(INT64_MAX), Value::Int(1)).is_null());
  EXPECT_TRUE(Arith(ArithOp::kMod, Value::Int(INT64_MIN), Value::Int(-1)).is_null());
  EXPECT_EQ(Arith(ArithOp::kMul, Value::Int(2), Value::Double(1.5)), Value::Double(3.0));
}

TEST(BuiltinTest, CidrMatch) {
  base::StringArena arena;
  auto call = [&](std::initializer_list<Value> args) {
    return CallBuiltin(Builtin::kCidrMatch, std::vector<Value>(args), false, &arena);
  };
  auto ip = [](const char* s) { return Value::Ip(*event::IpAddress::Parse(s)); };
  EXPECT_TRUE(IsTrue(call({ip("10.1.2.3"), Value::String("10.0.0.0/8")})));
  EXPECT_FALSE(IsTrue(call({ip("11.1.2.3"), Value::String("10.0.0.0/8")})));
  EXPECT_TRUE(IsTrue(
      call({ip("192.168.1.1"), Value::String("10.0.0.0/8"), Value::String("192.168.0.0/16")})));
  EXPECT_TRUE(IsTrue(call({ip("fe80::1"), Value::String("fe80::/10")})));
  EXPECT_FALSE(IsTrue(call({ip("10.0.0.1"), Value::String("fe80::/10")})));
  EXPECT_FALSE(IsTrue(call({ip("10.0.0.1"), Value::String("10.0.0.0/33")})));
  EXPECT_TRUE(IsTrue(call({Value::String("127.0.0.1"), Value::String("127.0.0.1")})));
  EXPECT_TRUE(call({Value::Null(), Value::String("10.0.0.0/8")}).is_null());
}

TEST(BuiltinTest, LookupIsCaseInsensitive) {
  ASSERT_NE(FindBuiltin("STARTSWITH"), nullptr);
  EXPECT_EQ(FindBuiltin("startswith")->id, Builtin::kStartsWith);
  EXPECT_EQ(FindBuiltin("nope"), nullptr);
  for (int i = 0; i <= static_cast<int>(Builtin::kWildcard); ++i) {
    EXPECT_EQ(static_cast<int>(GetBuiltinInfo(static_cast<Builtin>(i)).id), i);
  }
}

// Issue #20: a pattern from data goes through the same size cap as a rule's: one too large never
// matches (RE2 would run it at ~42 us a byte), a valid one still does.
TEST(RegexTest, MatchWithAPatternOverTheSizeCapNeverMatches) {
  base::StringArena arena;
  std::string text = std::string(10000, 'x') + "y";
  std::vector<Value> args = {Value::String(text), Value::String("(.*){1,1000}(.*){1,1000}y")};
  EXPECT_EQ(CallBuiltin(Builtin::kMatch, args, false, &arena), Value::Bool(false));
  args[1] = Value::String("x*y");
  EXPECT_EQ(CallBuiltin(Builtin::kMatch, args, false, &arena), Value::Bool(true));
  std::string error;
  EXPECT_EQ(CompileRegex("(.*){1,1000}(.*){1,1000}y", false, &error), nullptr);
  EXPECT_NE(error.find("too complex"), std::string::npos);
  EXPECT_NE(CompileRegex("(.*){1,100}y", true, &error), nullptr);
}

// The cap admits real rules: Elastic's hidden-file rule matches `process.args regex~` with a
// 254-fold counted repetition, 2,553 instructions (a 2,000 cap refused the rule).
TEST(RegexTest, TheSizeCapAdmitsRealRulesPatterns) {
  std::string error;
  auto re = CompileRegex(R"(\.[a-z0-9_\-][a-z0-9_\-\.]{1,254})", true, &error);
  ASSERT_NE(re, nullptr) << error;
  EXPECT_GT(re->ProgramSize(), 2000);
  EXPECT_TRUE(RE2::FullMatch(".Hidden-dir", *re));
}

}  // namespace
}  // namespace kestrel::eql
