// Negative parser tests: each malformed query fails with a diagnostic at the right line and
// column, with the right message; no input crashes the parser or exhausts its stack.
#include <string>

#include "gtest/gtest.h"
#include "kestrel/eql/parser.h"

namespace kestrel::eql {
namespace {

struct ErrorCase {
  const char* name;
  const char* eql;
  uint32_t line;
  uint32_t column;
  const char* message;
  Dialect dialect = Dialect::kElasticsearch;
};

class ParserErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ParserErrorTest, ReportsPositionAndMessage) {
  const ErrorCase& c = GetParam();
  ParseOptions options;
  options.dialect = c.dialect;
  ParseResult r = ParseQuery(c.eql, options);
  ASSERT_FALSE(r.ok()) << c.eql;
  ASSERT_EQ(r.diagnostics.size(), 1u);
  const Diagnostic& d = r.diagnostics.front();
  EXPECT_EQ(d.severity, Severity::kError);
  EXPECT_EQ(d.message, c.message) << c.eql;
  EXPECT_EQ(d.span.line, c.line) << RenderDiagnostic(d, "q", c.eql);
  EXPECT_EQ(d.span.column, c.column) << RenderDiagnostic(d, "q", c.eql);
}

const ErrorCase kErrorCases[] = {
    {"UnclosedStageBeforeNextStage",
     R"(sequence [process where process.name == "bash" [file where true])", 1, 48,
     "expected ']' to close the sequence stage, found '['"},
    {"UnclosedStageAtEndOfLine",
     "sequence by host.id\n  [process where true]\n  [process where process.name == \"bash\"\n"
     "  [file where true]",
     3, 40, "expected ']' to close the sequence stage"},
    {"UnclosedStageAtEnd", "sequence [a where true] [b where true", 1, 38,
     "expected ']' to close the sequence stage"},
    {"SingleEqualsInElasticsearch", R"(process where process.name = "bash")", 1, 28,
     "'=' is not a comparison operator in Elasticsearch EQL"},
    {"SingleQuotesInElasticsearch", "process where process.name == 'bash'", 1, 31,
     "single-quoted strings are not supported in Elasticsearch EQL"},
    {"QuestionRawStringInElasticsearch", R"(process where a == ?"x")", 1, 20,
     "?\"...\" raw strings are not supported in Elasticsearch EQL"},
    {"UnterminatedString", "process where\n  a == \"bash", 2, 8, "unterminated string"},
    {"UnterminatedRawString", "process where a == \"\"\"abc", 1, 20, "unterminated raw string"},
    {"InvalidEscape", R"(process where a == "x\q")", 1, 22, "invalid escape sequence '\\q'"},
    {"BadUnicodeEscape", R"(process where a == "\u{110000}")", 1, 21,
     "\\u{110000} is not a valid unicode code point"},
    {"UnicodeEscapeWithoutBraces", R"(process where a == "\u0041")", 1, 21,
     "invalid unicode escape"},
    {"MissingRightOperand", "process where a ==", 1, 19, "expected an expression"},
    {"InWithoutParentheses", R"(process where a in "x")", 1, 20,
     "expected '(' after 'in', found a string"},
    {"EmptyInList", "process where a in ()", 1, 20, "the 'in' list is empty"},
    {"UnclosedInList", "process where a in (1, 2", 1, 25, "expected ',' or ')' in the 'in' list"},
    {"TrailingCommaInList", "process where a in (1, )", 1, 24,
     "expected a value in the 'in' list, found ')'"},
    {"UnclosedParenthesis", "process where (a == 1", 1, 22,
     "expected ')' to close the parenthesis"},
    {"MisspelledWhere", "process wher a == 1", 1, 9,
     "expected 'where' after the event category 'process', found 'wher'"},
    {"OneStageSequence", "sequence [a where true]", 1, 24, "a sequence needs at least two stages"},
    {"UnknownPipe", "process where true | bogus 3", 1, 22, "unknown pipe 'bogus'"},
    {"HeadWithoutCount", "process where true | head", 1, 26,
     "expected the number of results after 'head'"},
    {"HeadWithAnExpression", "process where true | head 2 * 5", 1, 27,
     "'head' takes an integer literal, not an expression (a deliberate difference from "
     "Elasticsearch, which folds a constant one)"},
    {"TailWithAFunction", "process where true | tail length(\"ab\")", 1, 27,
     "'tail' takes an integer literal, not an expression (a deliberate difference from "
     "Elasticsearch, which folds a constant one)"},
    {"ChainedComparison", "process where a < b < c", 1, 21, "comparisons cannot be chained"},
    {"NumberRunningIntoName", "process where 5x == 1", 1, 16, "invalid suffix 'x' on number"},
    {"TwoConditionsWithoutAnd", "process where a == 1 b == 2", 1, 22,
     "unexpected 'b' after the end of the query"},
    {"ByAfterMaxspan", "sequence with maxspan=5s by x [a where true] [b where true]", 1, 26,
     "'by' must come before 'with maxspan'"},
    {"MaxspanTwice", "sequence with maxspan=5s [a where true] [b where true] with maxspan=3s", 1,
     56, "'maxspan' is given twice"},
    {"StageAfterTrailingMaxspan",
     "sequence [a where true] [b where true] with maxspan=5s [c where true]", 1, 56,
     "no stage may follow a trailing 'with maxspan=...'"},
    {"MaxspanWithoutValue", "sequence with maxspan= [a where true] [b where true]", 1, 24,
     "expected a time span after 'maxspan=', found '['"},
    {"MaxspanWithoutUnit", "sequence with maxspan=10 [a where true] [b where true]", 1, 23,
     "Missing time unit. Did you mean 10s?"},
    {"MaxspanWithoutUnitEndgame", "sequence with maxspan=150 [a where true] [b where true]", 1, 23,
     "Missing time unit. Did you mean 150s?", Dialect::kEndgame},
    {"TrailingMaxspanWithoutUnit", "sequence [a where true] [b where true] with maxspan=2", 1, 53,
     "Missing time unit. Did you mean 2s?"},
    {"UnknownWithParameter", "sequence [a where true] with foo=1 [b where true]", 1, 30,
     "expected 'runs=N' or 'maxspan=...' after 'with', found 'foo'"},
    {"RunsOfZero", "sequence [a where true] with runs=0 [b where true]", 1, 35,
     "expected a positive integer after 'runs=', found a number"},
    {"MissingEventInJoin", "join [a where true] ![b where true]", 1, 21,
     "a missing-event stage '![...]' is not allowed in join"},
    {"DescendantOfInElasticsearch", "process where descendant of [process where true]", 1, 15,
     "'descendant of' process relationships are not supported in Elasticsearch EQL"},
    {"ForkInElasticsearch", "sequence [a where true] fork [b where true]", 1, 25,
     "'fork' is only supported in the Endgame dialect"},
    {"IntegerOverflow", "process where a == 99999999999999999999", 1, 20,
     "integer literal is out of range", Dialect::kEndgame},
    {"SeveralIndexesInOneBracket", "process where a[0 1] == 2", 1, 16,
     "several indexes in one bracket are not supported (a deliberate difference: "
     "Elasticsearch refuses every array index, Kestrel takes one per bracket)"},
    {"UnterminatedBackQuote", "process where `abc", 1, 15, "unterminated back-quoted name"},
    {"UnterminatedComment", "process where a == 1 /* unclosed", 1, 22, "unterminated /* comment"},
    {"OneStageJoin", "join [a where true]", 1, 20, "a join needs at least two stages"},
    {"SampleWithoutStages", "sample by x", 1, 12, "expected '[' to open the first sample stage"},
    {"UnclosedCall", "process where f(a, b", 1, 21, "expected ',' or ')' in the arguments of 'f'"},
    {"StrayCharacter", "process where a ==   $", 1, 22, "unexpected character '$'"},
    {"DanglingDot", "process where a. == 1", 1, 18, "expected a field name after '.', found '=='"},
    {"TimeSpanInCondition", "process where 5s == 1", 1, 15, "unexpected time span '5s'"},
    {"BracketAtTop", "[process where true]", 1, 1, "a query cannot start with a bracketed stage"},
    {"EmptyQuery", "  // nothing\n", 2, 1, "the query is empty"},
    {"NestedSequence", "sequence [sequence [a where true]] [b where true]", 1, 11,
     "'sequence' cannot be nested inside another query"},
    {"ColonWithoutPattern", "process where a : ", 1, 18, "expected a pattern after ':'"},
    {"NotSeqWithoutPattern", "process where a !: ", 1, 19, "expected a pattern after '!:'"},
    {"EndgameNotSeq", "process where a !: \"b\"", 1, 17,
     "'!:' is Elasticsearch EQL syntax; the endgame dialect has no '!:' operator",
     Dialect::kEndgame},
    {"NotBeforeColon", "process where a not : \"b\"", 1, 17, "'not :' is not EQL syntax"},
    {"NotBeforeLike", "process where a not like~ \"b\"", 1, 17, "'not like~' is not EQL syntax"},
    {"NotBeforeRegex", "process where a not regex \"b\"", 1, 17, "'not regex' is not EQL syntax",
     Dialect::kEndgame},
    {"OptionalMarkerAlone", "process where ? == 1", 1, 17,
     "expected a field name right after '?', found '=='"},
    {"DottedFunctionName", "process where a.b(1)", 1, 15, "'a.b' is not a function name"},
    {"EndgameUnclosedDescendant", "process where descendant of [process where true", 1, 48,
     "expected ']' to close the 'descendant of' query", Dialect::kEndgame},
    {"EndgameForkValue", "sequence [a where true] fork=1 [b where true]", 1, 30,
     "expected 'true' or 'false' after 'fork=', found a number", Dialect::kEndgame},
    {"PipeFieldAfterComma", "process where true | unique a,", 1, 31,
     "expected a field after ',' in 'unique'"},
};

INSTANTIATE_TEST_SUITE_P(All, ParserErrorTest, ::testing::ValuesIn(kErrorCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(ParserErrorTest, RenderedErrorMatchesCompilerStyle) {
  std::string eql =
      "sequence by host.id\n  [process where true]\n"
      "  [process where process.name == \"bash\"\n  [file where true]";
  ParseResult r = ParseQuery(eql);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(RenderDiagnostic(r.diagnostics.front(), "rules/x.eql", eql),
            "rules/x.eql:3:40: error: expected ']' to close the sequence stage\n"
            "    [process where process.name == \"bash\"\n"
            "                                         ^\n"
            "  hint: every stage is written [category where condition]\n");
}

TEST(ParserErrorTest, StatusCarriesRenderedDiagnostic) {
  absl::StatusOr<Query> q = Parse("process where a = 1");
  ASSERT_FALSE(q.ok());
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(q.status().message(),
            "1:17: error: '=' is not a comparison operator in Elasticsearch EQL\n"
            "  process where a = 1\n"
            "                  ^\n"
            "  hint: use '==' to compare values");
}

// --- Depth guard: deep nesting is an error, never a stack overflow. ---

// Far deeper than the guard's 200 levels, within the query's size caps (kMaxQueryTokens).
constexpr int kDeep = 20000;

void ExpectTooDeep(const std::string& eql, Dialect dialect = Dialect::kElasticsearch) {
  ParseOptions options;
  options.dialect = dialect;
  ParseResult r = ParseQuery(eql, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.front().message,
            "the query is nested too deeply (the limit is 200 levels)");
}

TEST(ParserDepthTest, DeepParenthesesFail) {
  ExpectTooDeep("process where " + std::string(kDeep, '(') + "a" + std::string(kDeep, ')'));
}

TEST(ParserDepthTest, DeepNotFail) {
  std::string eql = "process where ";
  for (int i = 0; i < kDeep; ++i) eql += "not ";
  ExpectTooDeep(eql + "a");
}

TEST(ParserDepthTest, DeepUnaryMinusFails) {
  std::string eql = "process where ";
  for (int i = 0; i < kDeep; ++i) eql += "- ";
  ExpectTooDeep(eql + "a");
}

TEST(ParserDepthTest, LongArithmeticChainFails) {
  std::string eql = "process where a";
  for (int i = 0; i < kDeep; ++i) eql += " + 1";
  ExpectTooDeep(eql);
}

TEST(ParserDepthTest, DeepCallsFail) {
  std::string eql = "process where ";
  for (int i = 0; i < kDeep; ++i) eql += "f(";
  ExpectTooDeep(eql + "a" + std::string(kDeep, ')'));
}

TEST(ParserDepthTest, DeepInListsFail) {
  std::string eql = "process where ";
  for (int i = 0; i < kDeep; ++i) eql += "a in (";
  ExpectTooDeep(eql + "a" + std::string(kDeep, ')'));
}

TEST(ParserDepthTest, DeepDescendantOfFails) {
  std::string eql = "process where ";
  for (int i = 0; i < kDeep; ++i) eql += "descendant of [process where ";
  ExpectTooDeep(eql + "true" + std::string(kDeep, ']'), Dialect::kEndgame);
}

TEST(ParserDepthTest, LimitIsConfigurable) {
  ParseOptions options;
  options.max_depth = 5;
  ParseResult r = ParseQuery("process where ((((((a))))))", options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics.front().message,
            "the query is nested too deeply (the limit is 5 levels)");
}

TEST(ParserRobustnessTest, EveryPrefixOfAValidQueryFailsCleanly) {
  std::string eql =
      R"(sequence by host.id with maxspan=5m [process where ?process.args : ("a*", "b") )"
      R"(and not startsWith~(process.name, """x""")] with runs=2 ![file where a[0] in~ ("x")] )"
      R"([network where true] until [process where true] | unique a, b | head 3)";
  ASSERT_TRUE(ParseQuery(eql).ok());
  for (size_t n = 0; n < eql.size(); ++n) {
    ParseResult r = ParseQuery(eql.substr(0, n));
    if (r.ok()) continue;  // some prefixes are complete queries
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_LE(r.diagnostics.front().span.offset, n) << eql.substr(0, n);
    EXPECT_FALSE(RenderDiagnostic(r.diagnostics.front(), "q", eql.substr(0, n)).empty());
  }
}

}  // namespace
}  // namespace kestrel::eql
