#include "kestrel/eql/sema.h"

#include <gtest/gtest.h>

#include <string>

#include <fmt/format.h>

#include "kestrel/eql/ir_eval.h"
#include "kestrel/event/event.h"

namespace kestrel::eql {
namespace {

class SemaTest : public ::testing::Test {
 protected:
  CompileResult Run(std::string_view text, Dialect dialect = Dialect::kElasticsearch,
                    bool strict = false) {
    CompileOptions options;
    options.dialect = dialect;
    options.strict = strict;
    return Compile(text, schema_, options);
  }
  std::string Ir(std::string_view text, Dialect dialect = Dialect::kElasticsearch) {
    CompileResult r = Run(text, dialect);
    if (!r.ok()) {
      std::string out = "ERROR:";
      for (const Diagnostic& d : r.diagnostics) out += " " + d.message;
      return out;
    }
    return DumpIr(*r.program, schema_);
  }
  // The first error's message, or "" when the query compiles.
  std::string FirstError(std::string_view text, Dialect dialect = Dialect::kElasticsearch) {
    for (const Diagnostic& d : Run(text, dialect).diagnostics) {
      if (d.severity == Severity::kError) return d.message;
    }
    return "";
  }

  schema::Schema schema_;
};

TEST_F(SemaTest, LowersEventQueriesWithResolvedFields) {
  EXPECT_EQ(Ir(R"(process where process.name == "bash")"),
            R"((event (stage process (== (field process.name) "bash"))))");
  EXPECT_EQ(Ir(R"(any where true)"), "(event (stage any true))");
  EXPECT_EQ(Ir(R"(process where process.args[0] == "sh")"),
            R"((event (stage process (== (field process.args[0]) "sh"))))");
}

TEST_F(SemaTest, ElasticsearchMatchOperators) {
  EXPECT_EQ(Ir(R"(process where process.name : ("bash", "s?"))"),
            R"((event (stage process (wildcard~ ? (field process.name) ["bash" "s?"]))))");
  EXPECT_EQ(Ir(R"(process where process.name like "ba*")"),
            R"((event (stage process (wildcard ? (field process.name) ["ba*"]))))");
  EXPECT_EQ(Ir(R"(process where process.name like~ ("ba*", "SH"))"),
            R"((event (stage process (wildcard~ ? (field process.name) ["ba*" "SH"]))))");
  EXPECT_EQ(Ir(R"(process where process.name regex~ "ba.*")"),
            R"((event (stage process (regex~ (field process.name) ["ba.*"]))))");
  EXPECT_EQ(Ir(R"(process where process.name in~ ("Bash", "sh"))"),
            R"((event (stage process (in~ (field process.name) ["Bash" "sh"]))))");
  EXPECT_EQ(Ir(R"(process where process.name not in ("a", "b"))"),
            R"((event (stage process (query-not-in (field process.name) ["a" "b"]))))");
  EXPECT_EQ(Ir(R"(process where startsWith~(process.name, "BA"))"),
            R"((event (stage process (call startsWith~ (field process.name) "BA"))))");
  EXPECT_EQ(
      Ir(R"(network where cidrMatch(destination.ip, "10.0.0.0/8", "192.168.0.0/16"))"),
      R"((event (stage network (call cidrMatch (field destination.ip) "10.0.0.0/8" "192.168.0.0/16"))))");
}

// Elasticsearch's `:` takes any constant (its grammar's `predicate`): a string is a
// case-insensitive wildcard match, a number or boolean equality, null never matches; a list is
// or-ed. `!:` is `not (x : ...)`, a query negation over a field (issue 24).
TEST_F(SemaTest, ElasticsearchSeqTakesAnyConstantAndNegates) {
  EXPECT_EQ(Ir(R"(process where process.pid : 1)"),
            R"((event (stage process (== (field process.pid) 1))))");
  EXPECT_EQ(
      Ir(R"(process where process.pid : (1, 2))"),
      R"((event (stage process (or (== (field process.pid) 1) (== (field process.pid) 2)))))");
  // A number against a string field is coerced as `==` coerces it.
  EXPECT_EQ(
      Ir(R"(process where process.name : ("a*", 1))"),
      R"((event (stage process (or (wildcard~ ? (field process.name) ["a*"]) (== (field process.name) "1")))))");
  EXPECT_EQ(Ir(R"(process where process.name : 1)"), Ir(R"(process where process.name == 1)"));
  // `: null` is equality with null, as Elasticsearch's spec file expects of `bad_field : null`.
  EXPECT_EQ(Ir(R"(process where process.name : null)"),
            Ir(R"(process where process.name == null)"));
  EXPECT_EQ(Ir(R"(process where process.name !: null)"),
            "(event (stage process (query-not (== (field process.name) null))))");
  EXPECT_EQ(Ir(R"(process where process.name !: "x*")"),
            Ir(R"(process where not process.name : "x*")"));
  EXPECT_EQ(Ir(R"(process where process.name !: ("a", "b*"))"),
            R"((event (stage process (query-not-wildcard~ ? (field process.name) ["a" "b*"]))))");
  EXPECT_EQ(Ir(R"(process where process.pid !: 1)"),
            R"((event (stage process (query-not (== (field process.pid) 1)))))");
  EXPECT_EQ(
      Ir(R"(process where process.pid !: (1, 2))"),
      R"((event (stage process (query-not (or (== (field process.pid) 1) (== (field process.pid) 2))))))");
  // A value that is not a constant after `:`/`!:` (Elasticsearch 7.x's grammar, where they were
  // comparison operators): case-insensitive equality, no wildcards; a call is a value too.
  EXPECT_EQ(Ir(R"(process where process.name : process.executable)"),
            "(event (stage process (==~ (field process.name) (field process.executable))))");
  EXPECT_EQ(Ir(R"(process where process.name !: process.executable)"),
            "(event (stage process (not (==~ (field process.name) (field process.executable)))))");
  EXPECT_EQ(Ir(R"(process where null : (process.exit_code > -1))"),
            "(event (stage process (==~ null (> (field process.exit_code) -1))))");
  EXPECT_EQ(Ir(R"(process where process.pid : number("5"))"), Ir("process where process.pid == 5"));
  EXPECT_EQ(FirstError(R"(process where process.pid : process.name)"),
            "`:` cannot compare a number with a string");
  // The Endgame dialect keeps `:` to strings (and has no `!:`: a parse error).
  EXPECT_EQ(FirstError(R"(process where pid : 1)", Dialect::kEndgame),
            "a pattern must be a string literal after `:`");
  EXPECT_EQ(FirstError(R"(process where process_name !: "a")", Dialect::kEndgame),
            "'!:' is Elasticsearch EQL syntax; the endgame dialect has no '!:' operator");
}

// Elasticsearch dialect: a negation over what Elasticsearch runs as a query is two-valued
// (`query-not`); over a script (two fields, arithmetic, other functions) it stays three-valued.
// The Endgame dialect never marks one. Mandatory join keys are required by each stage.
TEST_F(SemaTest, ElasticsearchQueryNegationsAreMarked) {
  EXPECT_EQ(Ir(R"(file where not file.extension in ("a", "b"))"),
            R"((event (stage file (query-not-in (field file.extension) ["a" "b"]))))");
  EXPECT_EQ(Ir(R"(file where not process.name : "x*")"),
            R"((event (stage file (query-not-wildcard~ ? (field process.name) ["x*"]))))");
  EXPECT_EQ(
      Ir(R"(file where not startsWith(?process.entry_leader.executable, "/usr"))"),
      R"((event (stage file (query-not (call startsWith (field process.entry_leader.executable) "/usr")))))");
  EXPECT_EQ(
      Ir(R"(file where not (process.pid > 1 or length(process.name) > 2))"),
      R"((event (stage file (query-not (or (> (field process.pid) 1) (> (call length (field process.name)) 2))))))");
  EXPECT_EQ(Ir(R"(file where not length(process.name) > 2)"),
            R"((event (stage file (not (> (call length (field process.name)) 2)))))");
  EXPECT_EQ(Ir(R"(file where not process.pid == process.parent.pid)"),
            R"((event (stage file (not (== (field process.pid) (field process.parent.pid))))))");
  EXPECT_EQ(Ir(R"(file where not process.pid + 1 > 2)"),
            R"((event (stage file (not (> (+ (field process.pid) 1) 2)))))");
  // Inside a script (a comparison used as a value), nothing is marked.
  EXPECT_EQ(Ir(R"(file where true == (process.name not in ("a")))"),
            R"((event (stage file (== true (not-in (field process.name) ["a"])))))");
  EXPECT_EQ(Ir(R"(file where not file.extension in ("a", "b"))", Dialect::kEndgame),
            R"((event (stage file (not-in~ (field file.extension) ["a" "b"]))))");
  // Keys: mandatory ones are required by the stages, not by `until`; `?key` is not.
  EXPECT_EQ(
      Ir(R"(sequence by ?process.entity_id [process where true] [file where true] until [file where true])"),
      R"((sequence (stage process true (by (field process.entity_id))) (stage file true (by (field process.entity_id))) (until file true (by (field process.entity_id)))))");
  EXPECT_EQ(
      Ir(R"(sample by host.id [process where true] [file where true])"),
      R"((sample (stage process (!= (field host.id) null) (by (field host.id))) (stage file (!= (field host.id) null) (by (field host.id)))))");
}

TEST_F(SemaTest, SequencesCarryKeysSpansAndUntil) {
  EXPECT_EQ(
      Ir(R"(sequence by process.entity_id [process where process.executable == "/bin/bash"] [file where file.path == "/etc/passwd"] [process where process.executable == "wc"] with maxspan=5s)"),
      R"((sequence (maxspan_ns 5000000000) (stage process (and (== (field process.executable) "/bin/bash") (!= (field process.entity_id) null)) (by (field process.entity_id))) (stage file (and (== (field file.path) "/etc/passwd") (!= (field process.entity_id) null)) (by (field process.entity_id))) (stage process (and (== (field process.executable) "wc") (!= (field process.entity_id) null)) (by (field process.entity_id)))))");
  std::string ir = Ir(
      R"(sequence with maxspan=1m [process where true] by process.pid [network where true] by process.pid until [process where event.type == "end"] by process.pid)");
  EXPECT_NE(ir.find("(maxspan_ns 60000000000)"), std::string::npos) << ir;
  EXPECT_NE(ir.find("(until process"), std::string::npos) << ir;
}

TEST_F(SemaTest, ConstantsFoldAndLogicSimplifies) {
  EXPECT_EQ(Ir(R"(process where 1 + 2 * 3 == 7 and process.pid > 0)"),
            R"((event (stage process (> (field process.pid) 0))))");
  EXPECT_EQ(Ir(R"(process where process.pid > 0 or 1 == 1)"), "(event (stage process true))");
  EXPECT_EQ(Ir(R"(process where length("abc") == 3)"), "(event (stage process true))");
  EXPECT_EQ(Ir(R"(process where process.name == concat("ba", "sh"))"),
            R"((event (stage process (== (field process.name) "bash"))))");
}

TEST_F(SemaTest, EndgameDialectRules) {
  EXPECT_EQ(Ir(R"(process where process_name == "cmd*.exe")", Dialect::kEndgame),
            R"((event (stage process (wildcard~ (field process_name) ["cmd*.exe"]))))");
  EXPECT_EQ(Ir(R"(process where process_name != "cmd*")", Dialect::kEndgame),
            R"((event (stage process (not-wildcard~ (field process_name) ["cmd*"]))))");
  EXPECT_EQ(Ir(R"(process where process_name = "cmd.exe")", Dialect::kEndgame),
            R"((event (stage process (==~ (field process_name) "cmd.exe"))))");
}

TEST_F(SemaTest, UnknownCategoriesWarnWithSuggestion) {
  CompileResult r = Run(R"(proces where true)");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::kWarning);
  EXPECT_EQ(r.diagnostics[0].message, "unknown event category `proces`, did you mean process?");
  EXPECT_EQ(r.diagnostics[0].span.column, 1u);
  EXPECT_EQ(r.diagnostics[0].span.length, 6u);
  // Once per query, at the first use.
  r = Run("sequence [proces where true] [proces where true] [netwrok where true]");
  ASSERT_EQ(r.diagnostics.size(), 2u);
  EXPECT_EQ(r.diagnostics[0].span.column, 11u);
  EXPECT_EQ(r.diagnostics[1].message, "unknown event category `netwrok`, did you mean network?");
  // Far from every ECS value: a warning listing them.
  r = Run("widget where true");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].message, "unknown event category `widget`");
  EXPECT_NE(r.diagnostics[0].hint.find("intrusion_detection"), std::string::npos);
  // ECS values and `any`: silent.
  EXPECT_TRUE(Run("any where true").diagnostics.empty());
  EXPECT_TRUE(
      Run("sequence [process where true] [intrusion_detection where true]").diagnostics.empty());
  // Endgame: its own event types and custom ones are silent; only a near miss warns.
  EXPECT_TRUE(Run("image_load where true", Dialect::kEndgame).diagnostics.empty());
  EXPECT_TRUE(Run("widget where true", Dialect::kEndgame).diagnostics.empty());
  r = Run("imge_load where true", Dialect::kEndgame);
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].message,
            "unknown event category `imge_load`, did you mean image_load?");
}

TEST_F(SemaTest, UnknownFieldsWarnWithSuggestion) {
  CompileResult r = Run(R"(process where process.executabel == "/bin/sh")");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::kWarning);
  EXPECT_EQ(r.diagnostics[0].message, "unknown field `process.executabel`");
  EXPECT_EQ(r.diagnostics[0].hint, "did you mean `process.executable`?");
  EXPECT_EQ(r.diagnostics[0].span.column, 15u);
  // Strict: an error. Optional fields: silent. Endgame: silent.
  EXPECT_FALSE(
      Run(R"(process where process.executabel == "x")", Dialect::kElasticsearch, true).ok());
  EXPECT_TRUE(Run(R"(process where ?process.executabel == "x")").diagnostics.empty());
  EXPECT_TRUE(Run(R"(process where process_name == "x")", Dialect::kEndgame).diagnostics.empty());
}

TEST_F(SemaTest, UnknownFieldWarnsOncePerQuery) {
  // The same misspelt field in three stages is one warning, at its first use; a second
  // unknown field still gets its own.
  CompileResult r = Run(
      R"(sample by host.id [process where proc.flavour == "a"] [process where proc.flavour == "b"])"
      R"( [file where proc.flavour == "c" and file.colour == "d"])");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 2u);
  EXPECT_EQ(r.diagnostics[0].message, "unknown field `proc.flavour`");
  EXPECT_EQ(r.diagnostics[0].span.column, 34u);
  EXPECT_EQ(r.diagnostics[1].message, "unknown field `file.colour`");
}

TEST_F(SemaTest, AuditdSyscallFieldsAreKnown) {
  // The Auditd Manager integration's raw syscall record, read by auditd-based Linux rules.
  EXPECT_TRUE(Run(R"(process where auditd.data.syscall == "connect" and auditd.data.a0 == "a")")
                  .diagnostics.empty());
}

TEST_F(SemaTest, WildcardWithDoubleEqualsWarnsInElasticsearch) {
  CompileResult r = Run(R"(process where process.name == "ba*")");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_NE(r.diagnostics[0].message.find("not a wildcard"), std::string::npos);
  EXPECT_EQ(r.diagnostics[0].hint, "use `:` or `like` for wildcard matching");
}

TEST_F(SemaTest, EqualityCoercesLiteralsLikeTermQueries) {
  CompileResult r = Run(R"(process where user.id == 0 and process.pid in ("1", 2))");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(
      DumpIr(*r.program, schema_),
      R"((event (stage process (and (== (field user.id) "0") (in (field process.pid) [1 2])))))");
  ASSERT_EQ(r.diagnostics.size(), 2u);
  EXPECT_EQ(r.diagnostics[0].message,
            R"(comparing a keyword field with the number 0: compared as the string "0")");
  EXPECT_EQ(r.diagnostics[0].severity, Severity::kWarning);
}

TEST_F(SemaTest, TypeAndArityErrors) {
  EXPECT_EQ(FirstError(R"(process where process.pid == "one")"),
            "cannot compare a number with a string");
  EXPECT_EQ(FirstError(R"(process where process.pid < "one")"),
            "cannot compare a number with a string");
  EXPECT_EQ(FirstError(R"(process where process.name + 1 == 2)"),
            "`+` needs numbers, not a string");
  EXPECT_EQ(FirstError(R"(process where startsWith(process.name))"),
            "`startsWith` takes 2 arguments, not 1");
  EXPECT_EQ(FirstError(R"(process where startsWith(process.pid, "a"))"),
            "argument 1 of `startsWith` must be a string, not a number");
  EXPECT_EQ(FirstError(R"(process where nosuch(process.name))"), "unknown function `nosuch`");
  EXPECT_EQ(FirstError(R"(process where length~(process.name) == 1)"),
            "`length` has no case-insensitive `~` form");
  EXPECT_EQ(
      FirstError(R"(process where process.name regex "(")").rfind("invalid regular expression", 0),
      0u);
  EXPECT_EQ(FirstError(R"(process where process.name like process.executable)"),
            "a pattern must be a string literal after `like`");
  EXPECT_EQ(FirstError(R"(process where process.pid)"),
            "a condition must be a boolean, not a number");
  EXPECT_EQ(FirstError(R"(sequence [process where true] by process.pid [file where true])"),
            "this stage joins on 0 keys but the first joins on 1");
}

TEST_F(SemaTest, ErrorsPointAtTheirSpan) {
  CompileResult r = Run("process where\n  startsWith(process.pid, \"a\")");
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_EQ(r.diagnostics[0].span.line, 2u);
  EXPECT_EQ(r.diagnostics[0].span.column, 14u);
}

TEST_F(SemaTest, LoweredPredicatesEvaluateAgainstEvents) {
  CompileResult r = Run(
      R"(process where process.name : "BA*" and process.args == "-c" and destination.ip == "10.0.0.1" and cidrMatch(destination.ip, "10.0.0.0/8"))");
  ASSERT_TRUE(r.ok());
  event::Event e = event::EventBuilder(schema_)
                       .Category("process")
                       .Str("process.name", "bash")
                       .Strs("process.args", {"bash", "-c", "id"})
                       .Ip("destination.ip", "10.0.0.1")
                       .Build();
  base::StringArena scratch;
  EvalContext ctx;
  ctx.event = &e;
  ctx.scratch = &scratch;
  EXPECT_TRUE(EvalCondition(*r.program->stages[0].predicate, ctx));
  event::Event other = event::EventBuilder(schema_).Str("process.name", "zsh").Build();
  ctx.event = &other;
  EXPECT_FALSE(EvalCondition(*r.program->stages[0].predicate, ctx));
}

}  // namespace
}  // namespace kestrel::eql

namespace kestrel::eql {
namespace {

// Custom functions (CompileOptions::functions): resolved after the built-ins, type-checked
// against their declared signature, never folded.
TEST(SemaCustomFunctionTest, CallsAreCheckedAgainstTheSignature) {
  schema::Schema schema;
  std::vector<CustomFunction> functions = {
      {"entropy", {IrType::kString}, IrType::kNumber},
      {"length", {IrType::kString}, IrType::kBool},  // a built-in's name: the built-in wins
  };
  CompileOptions options;
  options.functions = &functions;
  auto error = [&](std::string_view q) {
    CompileResult r = Compile(q, schema, options);
    return r.ok() ? std::string() : r.diagnostics[0].message;
  };
  CompileResult r = Compile(R"(process where entropy(process.name) > 3.5)", schema, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics[0].message;
  EXPECT_NE(DumpIr(*r.program, schema).find("(custom entropy"), std::string::npos)
      << DumpIr(*r.program, schema);
  // Constant arguments are not folded: the function only runs in the engine.
  r = Compile(R"(process where entropy("abc") > 1)", schema, options);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(DumpIr(*r.program, schema).find("(custom entropy"), std::string::npos);
  EXPECT_EQ(error(R"(process where entropy(process.pid) > 1)"),
            "argument 1 of `entropy` must be a string, not a number");
  EXPECT_EQ(error(R"(process where entropy(process.name, "x") > 1)"),
            "`entropy` takes 1 argument, not 2");
  EXPECT_EQ(error(R"(process where entropy(process.name) == "x")"),
            error(R"(process where process.pid == "x")"));  // the result is a number
  EXPECT_EQ(error(R"(process where nosuch(process.name))"), "unknown function `nosuch`");
  r = Compile(R"(process where length(process.name) > 1)", schema, options);
  EXPECT_TRUE(r.ok());
  // Without the declaration the call is unknown.
  EXPECT_FALSE(Compile(R"(process where entropy(process.name) > 1)", schema).ok());
}

// ---- budgets (issue #20) ------------------------------------------------------------------------

TEST_F(SemaTest, QueryOverTheTokenCapIsRefused) {
  // 100,000 `and` terms: 400,000 tokens, over kMaxQueryTokens; refused before parsing.
  std::string q = "process where ";
  for (int i = 0; i < 100000; ++i) q += fmt::format("{}a == {}", i ? " and " : "", i);
  CompileResult r = Run(q);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].message, "the query has more than 262144 tokens");
  EXPECT_EQ(r.diagnostics[0].span.line, 1u);
}

TEST_F(SemaTest, QueryOverTheByteCapIsRefused) {
  std::string q = "process where process.name == \"" + std::string(kMaxQueryBytes, 'a') + "\"";
  CompileResult r = Run(q);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].message, "the query is longer than 2097152 bytes");
  EXPECT_EQ(r.diagnostics[0].span.offset, kMaxQueryBytes);
  EXPECT_EQ(r.diagnostics[0].span.column, kMaxQueryBytes + 1);
}

TEST_F(SemaTest, DiagnosticsPerQueryAreCappedWithANote) {
  // 1,000 unknown fields: 100 warnings kept, one note counts the rest (each warning's "did you
  // mean" search was also repeated for all of them, and the list of warned fields scanned).
  std::string q = "process where ";
  for (int i = 0; i < 1000; ++i) q += fmt::format("{}foo.x{} == 1", i ? " and " : "", i);
  CompileResult r = Run(q);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), kMaxQueryDiagnostics + 1);
  EXPECT_EQ(r.diagnostics[0].severity, Severity::kNote);
  EXPECT_EQ(r.diagnostics[0].message,
            "900 more diagnostics of this query not shown (at most 100 are)");
  EXPECT_EQ(r.diagnostics[1].message, "unknown field `foo.x0`");
}

TEST_F(SemaTest, PatternBudgetNamesTheRule) {
  std::string q = "process where process.name : (";
  for (size_t i = 0; i <= kMaxQueryPatterns; ++i) q += fmt::format("{}\"a*{}\"", i ? ", " : "", i);
  q += ")";
  CompileOptions options;
  options.rule_name = "r1";
  CompileResult r = Compile(q, schema_, options);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics[0].message, "rule 'r1' has more than 4096 wildcard and regex patterns");
  EXPECT_EQ(r.diagnostics[0].span.offset, 14u);  // the match expression
  // Exactly at the limit compiles.
  q = "process where process.name : (";
  for (size_t i = 0; i < kMaxQueryPatterns; ++i) q += fmt::format("{}\"a*{}\"", i ? ", " : "", i);
  EXPECT_TRUE(Compile(q + ")", schema_, options).ok());
  // Bytes count too.
  q = "process where process.name : (\"" + std::string(kMaxQueryPatternBytes, 'a') + "*\")";
  EXPECT_EQ(FirstError(q), "the query has more than 262144 bytes of wildcard and regex patterns");
}

TEST_F(SemaTest, CatastrophicRegexIsRefusedAtLoad) {
  // RE2 ran this at ~42 us a byte (its NFA over a 22,000-instruction program).
  EXPECT_EQ(FirstError(R"(process where process.name regex "(.*){1,1000}(.*){1,1000}y")"),
            "regular expression too complex: it compiles to 22003 instructions, more than the "
            "5000 a pattern may have (counted repetitions such as `{1,1000}` multiply its size)");
  EXPECT_EQ(FirstError(R"(process where match(process_name, "(.*){1,1000}(.*){1,1000}y"))",
                       Dialect::kEndgame),
            FirstError(R"(process where process.name regex "(.*){1,1000}(.*){1,1000}y")"));
  EXPECT_EQ(FirstError(R"(process where match(process_name, "(a"))", Dialect::kEndgame),
            "invalid regular expression: missing ): (a");
  EXPECT_EQ(FirstError(R"(process where process.name regex "(.*){1,100}y")"), "");
}

TEST_F(SemaTest, RegexesMatchLongStringsInLinearTime) {
  // The largest accepted shapes, over a 1 MB value: RE2's DFA, no backtracking.
  CompileResult r = Run(R"(process where process.name regex "(.*){1,100}y" and
                            match(process.name, "x*y", "[a-z]*q"))",
                        Dialect::kEndgame);  // match() is an Endgame function
  ASSERT_TRUE(r.ok());
  const IrNode& pred = *r.program->stages[0].predicate;
  ASSERT_EQ(pred.op, IrOp::kAnd);
  EXPECT_EQ(pred.children[1]->regexes.size(), 2u);  // match() compiled once, at load
  std::string value(1 << 20, 'x');
  for (const char* tail : {"y", "z"}) {
    std::string s = value + tail;
    event::EventBuilder b(schema_);
    event::Event e = b.Category("process").Str("process.name", s).Build();
    base::StringArena scratch;
    EvalContext ctx;
    ctx.event = &e;
    ctx.scratch = &scratch;
    Value v = EvalIr(pred, ctx);
    EXPECT_EQ(v.kind(), event::ValueKind::kBool);
    EXPECT_EQ(v.as_bool(), std::string(tail) == "y") << tail;
  }
}

}  // namespace
}  // namespace kestrel::eql
