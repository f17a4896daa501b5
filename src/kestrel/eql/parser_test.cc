// Table-driven parser tests: EQL text -> canonical dump (DumpAst), for every construct of the
// Elasticsearch dialect, the Endgame extensions, and realistic Elastic detection-rules queries.
// Hand-written tests below check spans and fields the dump does not show.
#include "kestrel/eql/parser.h"

#include <string>

#include "gtest/gtest.h"

namespace kestrel::eql {
namespace {

struct DumpCase {
  const char* name;
  const char* eql;
  const char* dump;
  Dialect dialect = Dialect::kElasticsearch;
};

std::string DumpOrError(const char* eql, Dialect dialect) {
  ParseOptions options;
  options.dialect = dialect;
  ParseResult r = ParseQuery(eql, options);
  if (!r.ok()) return "ERROR: " + RenderDiagnostic(r.diagnostics.front(), "q", eql);
  return DumpAst(*r.query);
}

class ParserDumpTest : public ::testing::TestWithParam<DumpCase> {};

TEST_P(ParserDumpTest, ParsesToCanonicalDump) {
  const DumpCase& c = GetParam();
  EXPECT_EQ(DumpOrError(c.eql, c.dialect), c.dump) << c.eql;
}

constexpr Dialect kEndgame = Dialect::kEndgame;

const DumpCase kElasticsearchCases[] = {
    {"SeedSequenceWithTrailingMaxspan",
     R"(sequence by process.entity_id [process where process.executable == "/bin/bash"] [file where file.path == "/etc/passwd"] [process where process.executable == "wc"] with maxspan=5s)",
     R"((sequence (by (field process.entity_id)) (maxspan 5s) (stage (event process (== (field process.executable) "/bin/bash"))) (stage (event file (== (field file.path) "/etc/passwd"))) (stage (event process (== (field process.executable) "wc")))))"},
    {"EventQuery", R"(process where process.name == "bash")",
     R"((event process (== (field process.name) "bash")))"},
    {"AnyWhere", "any where true", "(event any true)"},
    {"NestedBracketedComment", "process where /* a /* b */ c */ true // d", "(event process true)"},
    {"DecimalWithTrailingDot", "process where a == 1. or a == 2.e1",
     "(event process (or (== (field a) 1.0) (== (field a) 20.0)))"},
    {"IntegerBeyondLongIsADouble", "process where a == 99999999999999999999",
     "(event process (== (field a) 1e+20))"},
    {"QuotedCategory", R"(`my category` where true)", "(event my category true)"},
    {"Literals", "process where a == null or b == true or c == 1.5 or d == -7 or e == 1e3",
     "(event process (or (== (field a) null) (== (field b) true) (== (field c) 1.5) "
     "(== (field d) -7) (== (field e) 1000.0)))"},
    {"AllComparisons", "process where a != 1 and a < 2 and a <= 3 and a > 4 and a >= 5",
     "(event process (and (!= (field a) 1) (< (field a) 2) (<= (field a) 3) (> (field a) 4) "
     "(>= (field a) 5)))"},
    {"AndBindsTighterThanOr", "process where a or b and c or d",
     "(event process (or (field a) (and (field b) (field c)) (field d)))"},
    {"ParenthesesKeepGrouping", "process where (a or b) and c",
     "(event process (and (or (field a) (field b)) (field c)))"},
    {"NotBindsTighterThanAnd", "process where not a and b",
     "(event process (and (not (field a)) (field b)))"},
    {"NotOfComparison", "process where not a == 1", "(event process (not (== (field a) 1)))"},
    {"ArithmeticPrecedence", "process where a + b * c - d / e % f == 0",
     "(event process (== (- (+ (field a) (* (field b) (field c))) (% (/ (field d) (field e)) "
     "(field f))) 0))"},
    {"UnaryMinusOnField", "process where -a < 0", "(event process (< (neg (field a)) 0))"},
    {"SpacedMinusIsNegation", "process where - 1 < a", "(event process (< (neg 1) (field a)))"},
    {"SeqColon", R"(process where process.name : "bash")",
     R"((event process (: (field process.name) "bash")))"},
    {"SeqColonList", R"(process where process.args : ("-c", "*curl*"))",
     R"((event process (: (field process.args) "-c" "*curl*")))"},
    // Elasticsearch's grammar: `:` takes any constant, one or a list (issue 24).
    {"SeqColonNumber", "process where serial_event_id : 1",
     "(event process (: (field serial_event_id) 1))"},
    {"SeqColonConstants", "process where opcode : (0, true, null, 1.5, \"a\")",
     R"((event process (: (field opcode) 0 true null 1.5 "a")))"},
    {"NotSeqColon", R"(process where process.name !: "bash")",
     R"((event process (!: (field process.name) "bash")))"},
    {"NotSeqColonList", R"(process where process.name !: ("a*", 1))",
     R"((event process (!: (field process.name) "a*" 1)))"},
    {"NotSeqColonUnspaced", R"(process where a!:"b" and not c!:1)",
     R"((event process (and (!: (field a) "b") (not (!: (field c) 1)))))"},
    {"Like", R"(process where process.name like "ba*")",
     R"((event process (like (field process.name) "ba*")))"},
    {"LikeInsensitiveList", R"(process where process.name like~ ("ba*", "sh"))",
     R"((event process (like~ (field process.name) "ba*" "sh")))"},
    {"Regex", R"(process where process.name regex "b.*")",
     R"((event process (regex (field process.name) "b.*")))"},
    {"RegexInsensitive", R"(process where process.name regex~ """b\w+""")",
     R"((event process (regex~ (field process.name) "b\\w+")))"},
    {"In", R"(process where process.name in ("bash", "sh"))",
     R"((event process (in (field process.name) "bash" "sh")))"},
    {"InInsensitive", R"(process where process.name in~ ("bash", "sh"))",
     R"((event process (in~ (field process.name) "bash" "sh")))"},
    {"NotIn", "process where process.pid not in (1, 2)",
     "(event process (not-in (field process.pid) 1 2))"},
    {"NotInInsensitive", R"(process where process.name not in~ ("a"))",
     R"((event process (not-in~ (field process.name) "a")))"},
    {"OptionalField", R"(process where ?process.parent.name == "sshd")",
     R"((event process (== (field? process.parent.name) "sshd")))"},
    {"ArrayIndex", R"(process where process.args[0] == "-c")",
     R"((event process (== (field process.args[0]) "-c")))"},
    {"IndexThenName", "sequence [a where true] [b where true] | filter events[1].x == 2",
     "(piped (sequence (stage (event a true)) (stage (event b true))) "
     "(filter (== (field events[1].x) 2)))"},
    {"BackQuotedField", "process where `my.field` == 1 and `a``b`.c == 2",
     "(event process (and (== (field `my.field`) 1) (== (field `a``b`.c) 2)))"},
    {"SoftKeywordsAsFields", "process where event.category == any and runs > maxspan",
     "(event process (and (== (field event.category) (field any)) "
     "(> (field runs) (field maxspan))))"},
    {"FunctionCall", R"(network where cidrMatch(destination.ip, "10.0.0.0/8"))",
     R"((event network (call cidrMatch (field destination.ip) "10.0.0.0/8")))"},
    {"CaseInsensitiveFunction", R"(process where startsWith~(process.name, "BA"))",
     R"((event process (call startsWith~ (field process.name) "BA")))"},
    {"NestedCalls", R"(process where length(concat(a, "x")) > 0)",
     R"((event process (> (call length (call concat (field a) "x")) 0)))"},
    {"StringEscapes", R"(process where a == "\n\t\"\\\u{41}\u{1F600}")",
     "(event process (== (field a) \"\\n\\t\\\"\\\\A\xF0\x9F\x98\x80\"))"},
    {"RawString", R"(process where a == """C:\path\"x""")",
     R"((event process (== (field a) "C:\\path\\\"x")))"},
    {"Comments", "process /* the category */ where // line comment\n a == 1",
     "(event process (== (field a) 1))"},
    {"Sequence", "sequence [a where true] [b where false]",
     "(sequence (stage (event a true)) (stage (event b false)))"},
    {"SequenceByAndMaxspan",
     "sequence by host.id, user.id with maxspan=30s [a where true] by x [b where true] by y",
     "(sequence (by (field host.id) (field user.id)) (maxspan 30s) "
     "(stage (event a true) (by (field x))) (stage (event b true) (by (field y))))"},
    {"MaxspanUnits", "sequence with maxspan=500ms [a where true] [b where true]",
     "(sequence (maxspan 500ms) (stage (event a true)) (stage (event b true)))"},
    {"MaxspanSeparateUnit", "sequence with maxspan=2 h [a where true] [b where true]",
     "(sequence (maxspan 2h) (stage (event a true)) (stage (event b true)))"},
    {"SequenceUntil", "sequence by p [a where true] [b where true] until [c where true]",
     "(sequence (by (field p)) (stage (event a true)) (stage (event b true)) "
     "(until (event c true)))"},
    {"SequenceRuns", "sequence [a where true] with runs=3 [b where true]",
     "(sequence (stage (event a true) (runs 3)) (stage (event b true)))"},
    {"SequenceRunsAfterBy", "sequence [a where true] by x with runs=2 [b where true] by x",
     "(sequence (stage (event a true) (by (field x)) (runs 2)) "
     "(stage (event b true) (by (field x))))"},
    {"MissingEvent", "sequence by p [a where true] ![b where true] [c where true]",
     "(sequence (by (field p)) (stage (event a true)) (missing (event b true)) "
     "(stage (event c true)))"},
    {"Sample", "sample by host.id [a where true] [b where true]",
     "(sample (by (field host.id)) (stage (event a true)) (stage (event b true)))"},
    {"SampleStageKeys", "sample [a where true] by x [b where true] by y",
     "(sample (stage (event a true) (by (field x))) (stage (event b true) (by (field y))))"},
    {"Join", "join by user [a where true] [b where true] until [c where true]",
     "(join (by (field user)) (stage (event a true)) (stage (event b true)) "
     "(until (event c true)))"},
    {"Pipes",
     "process where true | head 5 | tail 2 | count | count a | unique a, b | unique_count c "
     "| sort d e | filter x > 1",
     "(piped (event process true) (head 5) (tail 2) (count) (count (field a)) "
     "(unique (field a) (field b)) (unique_count (field c)) (sort (field d) (field e)) "
     "(filter (> (field x) 1)))"},
    {"ExpressionKeys", "sequence [a where true] by x * 2, length(y) [b where true] by z",
     "(sequence (stage (event a true) (by (* (field x) 2) (call length (field y)))) "
     "(stage (event b true) (by (field z))))"},
};

INSTANTIATE_TEST_SUITE_P(Elasticsearch, ParserDumpTest, ::testing::ValuesIn(kElasticsearchCases),
                         [](const auto& info) { return std::string(info.param.name); });

// Queries in the style of Elastic's detection-rules (rules/linux/*.toml).
const DumpCase kDetectionRuleCases[] = {
    {"ReverseShellViaBash",
     R"(process where host.os.type == "linux" and event.type == "start" and
  event.action in ("exec", "exec_event") and process.name in ("bash", "sh") and
  process.args : ("-c", "*curl*") and ?process.parent.name like~ ("python*", "perl*"))",
     R"((event process (and (== (field host.os.type) "linux") (== (field event.type) "start") )"
     R"((in (field event.action) "exec" "exec_event") (in (field process.name) "bash" "sh") )"
     R"((: (field process.args) "-c" "*curl*") (like~ (field? process.parent.name) "python*" "perl*"))))"},
    {"NetworkConnectionAfterExec",
     R"(sequence by host.id, process.entity_id with maxspan=1m
  [process where host.os.type == "linux" and event.type == "start" and process.name in~ ("bash", "sh")]
  [network where event.type == "start" and not cidrMatch(destination.ip, "10.0.0.0/8", "127.0.0.0/8")])",
     R"((sequence (by (field host.id) (field process.entity_id)) (maxspan 1m) )"
     R"((stage (event process (and (== (field host.os.type) "linux") (== (field event.type) "start") )"
     R"((in~ (field process.name) "bash" "sh")))) )"
     R"((stage (event network (and (== (field event.type) "start") )"
     R"((not (call cidrMatch (field destination.ip) "10.0.0.0/8" "127.0.0.0/8")))))))"},
    {"BruteForceRuns",
     R"(sequence by host.id, source.ip, user.name with maxspan=15s
  [authentication where event.action == "ssh_login" and event.outcome == "failure"] with runs=3
  [authentication where event.action == "ssh_login" and event.outcome == "success"])",
     R"((sequence (by (field host.id) (field source.ip) (field user.name)) (maxspan 15s) )"
     R"((stage (event authentication (and (== (field event.action) "ssh_login") )"
     R"((== (field event.outcome) "failure"))) (runs 3)) )"
     R"((stage (event authentication (and (== (field event.action) "ssh_login") )"
     R"((== (field event.outcome) "success"))))))"},
    {"SampleByHost",
     R"(sample by host.id
  [process where process.name == "nc"]
  [network where destination.port == 4444])",
     R"((sample (by (field host.id)) (stage (event process (== (field process.name) "nc"))) )"
     R"((stage (event network (== (field destination.port) 4444)))))"},
    {"MissingFileEvent",
     R"(sequence by process.entity_id with maxspan=30s
  [process where event.type == "start" and process.name == "curl"]
  ![file where event.type == "creation" and file.path : "/tmp/*"]
  [process where event.type == "end"])",
     R"((sequence (by (field process.entity_id)) (maxspan 30s) )"
     R"((stage (event process (and (== (field event.type) "start") (== (field process.name) "curl")))) )"
     R"((missing (event file (and (== (field event.type) "creation") (: (field file.path) "/tmp/*")))) )"
     R"((stage (event process (== (field event.type) "end")))))"},
    {"PersistenceViaCron",
     R"(file where host.os.type == "linux" and event.type in ("creation", "change") and
  file.path : ("/etc/cron.d/*", "/var/spool/cron/crontabs/*") and
  not process.executable regex~ """/usr/(s)?bin/.*""" and
  not startsWith~(process.name, "DPKG"))",
     R"((event file (and (== (field host.os.type) "linux") (in (field event.type) "creation" "change") )"
     R"((: (field file.path) "/etc/cron.d/*" "/var/spool/cron/crontabs/*") )"
     R"((not (regex~ (field process.executable) "/usr/(s)?bin/.*")) )"
     R"((not (call startsWith~ (field process.name) "DPKG")))))"},
};

INSTANTIATE_TEST_SUITE_P(DetectionRules, ParserDumpTest, ::testing::ValuesIn(kDetectionRuleCases),
                         [](const auto& info) { return std::string(info.param.name); });

const DumpCase kEndgameCases[] = {
    {"AssignIsEquality", "process where serial_event_id = 1",
     "(event process (== (field serial_event_id) 1))", kEndgame},
    {"SingleQuotedString", "process where a == 'x\\'y'", "(event process (== (field a) \"x'y\"))",
     kEndgame},
    {"QuestionRawString", R"(process where match(a, ?'\s+\w'))",
     R"((event process (call match (field a) "\\s+\\w")))", kEndgame},
    {"QuestionRawDoubleQuoted", R"(process where a == ?"C:\x")",
     R"((event process (== (field a) "C:\\x")))", kEndgame},
    {"DescendantOf", R"(process where descendant of [process where name == "cmd.exe"])",
     R"((event process (descendant-of (event process (== (field name) "cmd.exe")))))", kEndgame},
    {"NotChildOf", "process where a = 1 and not child of [file where true]",
     "(event process (and (== (field a) 1) (not (child-of (event file true)))))", kEndgame},
    {"EventOf", "file where event of [process where true]",
     "(event file (event-of (event process true)))", kEndgame},
    {"MaxspanBeforeStages", "sequence with maxspan=1d [a where true] [b where true]",
     "(sequence (maxspan 1d) (stage (event a true)) (stage (event b true)))", kEndgame},
    {"Fork", "sequence [a where true] by x [b where true] fork=true by x [c where true] fork",
     "(sequence (stage (event a true) (by (field x))) "
     "(stage (event b true) (by (field x)) (fork true)) (stage (event c true) (fork true)))",
     kEndgame},
    {"SpaceSeparatedPipeArgs", "process where true | unique a b | sort c d",
     "(piped (event process true) (unique (field a) (field b)) (sort (field c) (field d)))",
     kEndgame},
    {"PipeExpressionArg", "process where true | unique length(a) == 3",
     "(piped (event process true) (unique (== (call length (field a)) 3)))", kEndgame},
    {"LeadingDotFloat", "process where true | filter percent >= .5",
     "(piped (event process true) (filter (>= (field percent) 0.5)))", kEndgame},
};

INSTANTIATE_TEST_SUITE_P(Endgame, ParserDumpTest, ::testing::ValuesIn(kEndgameCases),
                         [](const auto& info) { return std::string(info.param.name); });

// --- Hand-written checks of what the dump does not show. ---

TEST(ParserTest, SeedExampleParsesInElasticsearchDialect) {
  absl::StatusOr<Query> q =
      Parse(R"(sequence by process.entity_id [process where process.executable == "/bin/bash"] )"
            R"([file where file.path == "/etc/passwd"] [process where process.executable == "wc"] )"
            R"(with maxspan=5s)");
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->dialect, Dialect::kElasticsearch);
  const auto& seq = q->body->Cast<SequenceQuery>();
  ASSERT_EQ(seq.stages.size(), 3u);
  ASSERT_TRUE(seq.maxspan.has_value());
  EXPECT_EQ(seq.maxspan->Milliseconds(), 5000);
  EXPECT_EQ(seq.stages[1].query->category, "file");
}

TEST(ParserTest, MaxspanMilliseconds) {
  const std::pair<const char*, int64_t> cases[] = {
      {"500ms", 500}, {"5s", 5000}, {"10m", 600000}, {"1h", 3600000}, {"2d", 172800000}};
  for (const auto& [text, ms] : cases) {
    std::string eql =
        std::string("sequence with maxspan=") + text + " [a where true] [b where true]";
    absl::StatusOr<Query> q = Parse(eql);
    ASSERT_TRUE(q.ok()) << q.status();
    EXPECT_EQ(q->body->Cast<SequenceQuery>().maxspan->Milliseconds(), ms) << text;
  }
}

TEST(ParserTest, SpansPointIntoTheSource) {
  std::string eql = "process where\n  process.name == \"bash\"";
  absl::StatusOr<Query> q = Parse(eql);
  ASSERT_TRUE(q.ok()) << q.status();
  const auto& event = q->body->Cast<EventQuery>();
  EXPECT_EQ(event.category_span, (Span{0, 7, 1, 1}));
  const auto& cmp = event.condition->Cast<BinaryExpr>();
  EXPECT_EQ(cmp.span.line, 2u);
  EXPECT_EQ(cmp.span.column, 3u);
  EXPECT_EQ(eql.substr(cmp.span.offset, cmp.span.length), "process.name == \"bash\"");
  const auto& field = cmp.lhs->Cast<FieldExpr>();
  EXPECT_EQ(eql.substr(field.span.offset, field.span.length), "process.name");
  EXPECT_EQ(q->span.offset, 0u);
  EXPECT_EQ(q->span.length, eql.size());
}

TEST(ParserTest, FieldPathSegments) {
  absl::StatusOr<Query> q = Parse("process where ?a.`b.c`[2].d == 1");
  ASSERT_TRUE(q.ok()) << q.status();
  const auto& field =
      q->body->Cast<EventQuery>().condition->Cast<BinaryExpr>().lhs->Cast<FieldExpr>();
  EXPECT_TRUE(field.optional);
  ASSERT_EQ(field.path.size(), 4u);
  EXPECT_EQ(field.path[0].name, "a");
  EXPECT_EQ(field.path[1].name, "b.c");
  EXPECT_EQ(field.path[2].kind, FieldSegment::Kind::kIndex);
  EXPECT_EQ(field.path[2].index, 2);
  EXPECT_EQ(field.path[3].name, "d");
}

TEST(ParserTest, HeadLimitAndPipeSpan) {
  std::string eql = "process where true | head 7";
  absl::StatusOr<Query> q = Parse(eql);
  ASSERT_TRUE(q.ok()) << q.status();
  ASSERT_EQ(q->pipes.size(), 1u);
  EXPECT_EQ(q->pipes[0].kind, PipeKind::kHead);
  EXPECT_EQ(q->pipes[0].limit, 7);
  EXPECT_EQ(eql.substr(q->pipes[0].span.offset, q->pipes[0].span.length), "| head 7");
}

TEST(ParserTest, EndgameDialectIsRecorded) {
  ParseOptions options;
  options.dialect = Dialect::kEndgame;
  absl::StatusOr<Query> q = Parse("process where a = 'x*'", options);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->dialect, Dialect::kEndgame);
}

TEST(ParserTest, NestingUpToTheLimitParses) {
  ParseOptions options;
  options.max_depth = 50;
  std::string eql = "process where " + std::string(40, '(') + "a" + std::string(40, ')');
  EXPECT_TRUE(ParseQuery(eql, options).ok());
}

TEST(ParserTest, LongOrChainsAreFlat) {
  std::string eql = "process where a == 0";
  for (int i = 1; i < 5000; ++i) eql += " or a == " + std::to_string(i);
  absl::StatusOr<Query> q = Parse(eql);
  ASSERT_TRUE(q.ok()) << q.status();
  const auto& logical = q->body->Cast<EventQuery>().condition->Cast<LogicalExpr>();
  EXPECT_EQ(logical.operands.size(), 5000u);
  EXPECT_EQ(logical.height, 3u);
}

TEST(ParserTest, BigInListParses) {
  std::string eql = "process where a in (0";
  for (int i = 1; i < 10000; ++i) eql += ", " + std::to_string(i);
  eql += ")";
  absl::StatusOr<Query> q = Parse(eql);
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->body->Cast<EventQuery>().condition->Cast<InExpr>().values.size(), 10000u);
}

TEST(ParseMacrosTest, ParsesDefinitions) {
  MacroParseResult r = ParseMacros(
      "macro A_OR_B(a, b) a or b\n"
      "macro IS_CMD(name) name == \"cmd.exe\"\n"
      "macro ALWAYS() true");
  ASSERT_TRUE(r.ok()) << r.diagnostics.front().message;
  ASSERT_EQ(r.macros.size(), 3u);
  EXPECT_EQ(DumpMacro(r.macros[0]), "(macro A_OR_B (a b) (or (field a) (field b)))");
  EXPECT_EQ(DumpMacro(r.macros[1]), "(macro IS_CMD (name) (== (field name) \"cmd.exe\"))");
  EXPECT_EQ(DumpMacro(r.macros[2]), "(macro ALWAYS () true)");
}

}  // namespace
}  // namespace kestrel::eql
