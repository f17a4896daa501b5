// Coverage of Elasticsearch's EQL grammar and function registry by the `elasticsearch` dialect
// (issue 24, item 3): one or more cases per rule of Elasticsearch's EqlBase.g4 (its current rule
// list: kGrammarRules) and per function of its EqlFunctionRegistry (with every `~` form), each
// parsed (a fragment of the canonical AST dump) and run through the query engine over six small
// events. The function table must equal Kestrel's registry for the dialect, and the grammar
// table must name every rule, so a new function or rule without a case fails here. Constructs
// Kestrel refuses say why (kRefusedCases); docs/eql.md lists the deliberate differences.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "kestrel/base/time.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/functions.h"
#include "kestrel/eql/ir_eval.h"
#include "kestrel/eql/parser.h"
#include "kestrel/eql/sema.h"

namespace kestrel::engine {
namespace {

using event::EventBuilder;

using base::kSecond;

// The rules of Elasticsearch's EqlBase.g4 (x-pack/plugin/eql/src/main/antlr, current main:
// `sample`, `!` missing events, `?` optional fields, `~` function names and `eventValue` included).
const std::vector<std::string> kGrammarRules = {
    "singleStatement",
    "singleExpression",
    "statement",
    "query",
    "sequenceParams",
    "sequence",
    "sample",
    "join",
    "pipe",
    "joinKeys",
    "joinTerm",
    "sequenceTerm",
    "subquery",
    "eventQuery",
    "eventFilter",
    "expression",
    "booleanExpression",
    "valueExpression",
    "operatorExpression",
    "predicate",
    "primaryExpression",
    "functionExpression",
    "functionName",
    "constant",
    "comparisonOperator",
    "booleanValue",
    "qualifiedName",
    "identifier",
    "timeUnit",
    "number",
    "string",
    "eventValue",
};

// Elasticsearch's EqlFunctionRegistry: its string and arithmetic functions (the names are
// case-insensitive there and here); `~` marks the case-aware ones (CaseInsensitiveScalarFunction).
const std::set<std::string> kElasticsearchFunctions = {
    "add",      "between~",        "cidrMatch", "concat",   "divide", "endsWith~",
    "indexOf~", "length",          "modulo",    "multiply", "number", "startsWith~",
    "string",   "stringContains~", "substring", "subtract",
};

struct Case {
  const char* rule;     // grammar rule (`rule#alternative`), or function (`name`, `name~`)
  const char* query;    // Elasticsearch dialect; for singleExpression an expression
  const char* ast;      // a fragment of DumpAst(query) ("" for singleExpression)
  const char* matches;  // the `n` of each result's events: "1,2|5,6"
};

// Six events on two hosts: a shell (1) that reads a file (2) and starts curl (3), which
// connects out (4) and starts sh (5), which writes a script (6). One second apart.
const Case kGrammarCases[] = {
    {"singleStatement", "process where true | head 2", "(piped (event process true) (head 2))",
     "1|3"},
    {"singleExpression", "process.pid > 10 and process.name != null", "", "3|5"},
    {"statement", "process where true | head 2 | tail 1",
     "(piped (event process true) (head 2) (tail 1))", "3"},
    {"query#eventQuery", "file where true", "(event file true)", "2|6"},
    {"query#sequence", "sequence [process where process.pid == 10] [process where true]",
     "(sequence (stage", "1,3"},
    {"query#sample", "sample by host.id [file where true] [process where true]",
     "(sample (by (field host.id))", "2,1|6,5"},
    {"query#join", "join [network where true] [file where true]", "(join (stage", "4,2"},
    {"sequenceParams", "sequence by host.id with maxspan=2s [process where true] [file where true]",
     "(maxspan 2s)", "1,2|5,6"},
    {"sequenceParams",
     "sequence by host.id with maxspan=500ms [process where true] [file where true]",
     "(maxspan 500ms)", ""},
    {"sequence", "sequence by host.id [process where process.pid == 10] [network where true]",
     "(sequence (by (field host.id)) (stage (event process", "1,4"},
    {"sequence#until",
     "sequence by host.id [process where process.pid == 10] [network where true] "
     "until [file where true]",
     "(until (event file true))", ""},
    {"sample", "sample by host.id [process where true] [file where true]",
     "(sample (by (field host.id)) (stage (event process true)) (stage (event file true)))",
     "1,2|5,6"},
    {"join", "join by process.entity_id [process where true] [file where true]",
     "(join (by (field process.entity_id))", "1,2|5,6"},
    {"pipe", "any where true | tail 2", "(tail 2)", "5|6"},
    {"joinKeys", "sequence by host.id, user.name [process where true] [network where true]",
     "(by (field host.id) (field user.name))", "3,4"},
    {"joinTerm",
     "sample [process where true] by process.entity_id [file where true] by process.entity_id",
     "(stage (event process true) (by (field process.entity_id)))", "1,2|5,6"},
    {"sequenceTerm",
     "sequence [process where true] by process.pid [process where true] by process.parent.pid",
     "(stage (event process true) (by (field process.parent.pid)))", "1,3|3,5"},
    {"sequenceTerm#runs", "sequence [process where true] with runs=3", "(runs 3)", "1,3,5"},
    {"subquery", "sequence [process where process.pid == 11] [network where true]",
     "(stage (event network true))", "3,4"},
    {"subquery#missing",
     "sequence by process.entity_id with maxspan=5s [process where true] ![network where true]",
     "(missing (event network true))", "1|5"},
    {"eventQuery", "network where destination.port == 443",
     "(event network (== (field destination.port) 443))", "4"},
    {"eventFilter", "any where user.name == \"alice\"", "(event any (==", "3|4"},
    {"expression", "process where (process.pid == 10 or process.pid == 12)", "(or (==", "1|5"},
    {"booleanExpression#logicalNot", "process where not process.name == \"bash\"",
     "(not (== (field process.name) \"bash\"))", "3|5"},
    {"booleanExpression#booleanDefault", "process where process.pid == 11", "(==", "3"},
    {"booleanExpression#logicalBinary", "any where host.id == \"h1\" and user.name == \"root\"",
     "(and (==", "1|2"},
    {"booleanExpression#logicalBinary", "any where process.pid == 12 or destination.port == 443",
     "(or (==", "4|5|6"},
    {"valueExpression#valueExpressionDefault", "any where process.name in (\"sh\")",
     "(in (field process.name) \"sh\")", "5"},
    {"valueExpression#comparison", "process where process.pid >= 11", "(>= (field process.pid) 11)",
     "3|5"},
    {"operatorExpression#operatorExpressionDefault", "process where process.name : \"b*\"",
     "(: (field process.name) \"b*\")", "1"},
    {"operatorExpression#arithmeticUnary", "process where -process.pid == -11",
     "(neg (field process.pid))", "3"},
    {"operatorExpression#arithmeticUnary", "process where +process.pid == 11",
     "(== (field process.pid) 11)", "3"},
    {"operatorExpression#arithmeticBinary",
     "process where process.pid * 2 - process.parent.pid == 12",
     "(- (* (field process.pid) 2) (field process.parent.pid))", "3"},
    {"operatorExpression#arithmeticBinary",
     "process where process.pid / 4 == 3 or "
     "process.pid % 5 == 0",
     "(% (field process.pid) 5)", "1|5"},
    {"operatorExpression#arithmeticBinary", "process where process.pid + 2 * 3 == 16",
     "(+ (field process.pid) (* 2 3))", "1"},
    {"predicate#in", "process where process.name in (\"bash\", \"sh\")", "(in ", "1|5"},
    {"predicate#notIn", "process where process.name not in (\"bash\", \"sh\")", "(not-in ", "3"},
    {"predicate#in~", "process where process.name in~ (\"curl\")", "(in~ ", "3"},
    {"predicate#notIn~", "process where process.name not in~ (\"BASH\", \"curl\")", "(not-in~ ",
     "5"},
    {"predicate#seq", "process where process.name : \"c*\"", "(: ", "3"},
    {"predicate#seqList", "process where process.name : (\"x\", \"S?\")", "(: (field", "5"},
    {"predicate#seqNumber", "process where process.pid : 11", "(: (field process.pid) 11)", "3"},
    {"predicate#notSeq", "process where process.name !: \"bash\"", "(!: ", "3|5"},
    {"predicate#like", "process where process.name like \"C*\" or process.name like \"c*\"",
     "(like ", "3"},
    {"predicate#like~", "process where process.name like~ \"c*\"", "(like~ ", "3"},
    {"predicate#likeList", "process where process.name like~ (\"B*\", \"s?\")", "(like~ (field",
     "1|5"},
    {"predicate#regex", "process where process.name regex \"[a-z]+\"", "(regex ", "1|5"},
    {"predicate#regex~", "process where process.name regex~ \"curl\"", "(regex~ ", "3"},
    {"predicate#regexList", "process where process.name regex (\"b.*\", \"s.\")", "(regex (field",
     "1|5"},
    {"primaryExpression#constantDefault", "process where true", "(event process true)", "1|3|5"},
    {"primaryExpression#function", "process where length(process.name) == 4", "(call length",
     "1|3"},
    {"primaryExpression#dereference", "file where file.name == \"passwd\"", "(field file.name)",
     "2"},
    {"primaryExpression#parenthesizedExpression", "process where (process.pid) == (10)",
     "(== (field process.pid) 10)", "1"},
    {"functionExpression", "process where concat(process.name, \"-\", process.pid) == \"sh-12\"",
     "(call concat (field process.name) \"-\" (field process.pid))", "5"},
    {"functionName#IDENTIFIER", "process where startsWith(process.name, \"CU\")",
     "(call startsWith ", "3"},
    {"functionName#TILDE_IDENTIFIER", "process where startsWith~(process.name, \"cu\")",
     "(call startsWith~ ", "3"},
    {"constant#nullLiteral", "process where process.exit_code == null", "null)", "1|3"},
    {"constant#numericLiteral", "process where process.exit_code == 0", " 0)", "5"},
    {"constant#booleanLiteral", "any where false", "(event any false)", ""},
    {"constant#stringLiteral", "file where file.extension == \"sh\"", "\"sh\")", "6"},
    {"comparisonOperator",
     "process where process.pid != 10 and process.pid < 12 and process.pid <= 11 and "
     "process.pid > 10 and process.pid >= 11 and process.pid == 11",
     "(!= (field process.pid) 10) (< (field process.pid) 12) (<= (field process.pid) 11) "
     "(> (field process.pid) 10) (>= (field process.pid) 11) (== (field process.pid) 11)",
     "3"},
    {"booleanValue", "process where (process.pid == 10) == true", "true)", "1"},
    {"booleanValue", "process where (process.pid == 10) == false", "false)", "3|5"},
    {"qualifiedName#index", "process where process.args[1] == \"id\"", "process.args[1]", "1"},
    {"qualifiedName#optional", "process where ?process.exit_code == 0",
     "(field? process.exit_code)", "5"},
    {"identifier#IDENTIFIER", "any where @timestamp : \"1970-01-01T00:00:06*\"",
     "(field @timestamp)", "6"},
    {"identifier#QUOTED_IDENTIFIER", "file where `file`.`extension` == \"sh\"",
     "(field file.extension)", "6"},
    {"timeUnit", "sequence with maxspan=1500ms [process where process.pid == 10] [file where true]",
     "(maxspan 1500ms)", "1,2"},
    {"timeUnit#separateUnit",
     "sequence with maxspan=1 h [process where process.pid == 10] [file where true]",
     "(maxspan 1h)", "1,2"},
    {"timeUnit#d", "sequence with maxspan=1d [process where process.pid == 12] [file where true]",
     "(maxspan 1d)", "5,6"},
    {"number#integerLiteral", "process where process.pid == 12", "12)", "5"},
    {"number#decimalLiteral",
     "process where process.pid == 11.0 or process.pid < 1.05e1 or process.pid > 11.",
     "11.0) (< (field process.pid) 10.5) (> (field process.pid) 11.0)", "1|3|5"},
    {"number#decimalLiteral", "process where process.pid < .11e2", "11.0)", "1"},
    {"string", "process where process.command_line == \"curl http://example.com/x\"",
     "\"curl http://example.com/x\"", "3"},
    {"string#raw", "process where process.command_line : \"\"\"curl *\"\"\"", "\"curl *\"", "3"},
    {"string#escape", "file where file.path : \"\\/etc\\/*\"", "\"/etc/*\"", "2"},
    {"eventValue#STRING", "\"file\" where true", "(event file true)", "2|6"},
    {"eventValue#IDENTIFIER", "network where true", "(event network true)", "4"},
};

// Every function of the registry, and every `~` form.
const Case kFunctionCases[] = {
    {"add", "process where add(process.pid, 1) == 12", "(call add ", "3"},
    {"between",
     "process where between(process.command_line, \"http://\", \"/\") == \"example.com\"",
     "(call between ", "3"},
    {"between~",
     "process where between~(process.command_line, \"HTTP://\", \"/\") == \"example.com\"",
     "(call between~ ", "3"},
    {"cidrMatch", "network where cidrMatch(source.ip, \"198.51.100.0/24\", \"192.0.2.8/29\")",
     "(call cidrMatch ", "4"},
    {"concat", "process where concat(process.name, process.pid) == \"bash10\"", "(call concat ",
     "1"},
    {"divide", "process where divide(process.pid, 4) == 3", "(call divide ", "5"},
    {"endsWith", "file where endsWith(file.path, \".sh\") or endsWith(file.path, \".SH\")",
     "(call endsWith ", "6"},
    {"endsWith~", "file where endsWith~(file.path, \".SH\")", "(call endsWith~ ", "6"},
    {"indexOf", "process where indexOf(process.command_line, \"example\") == 12", "(call indexOf ",
     "3"},
    {"indexOf", "process where indexOf(process.command_line, \"/\", 11) == 11", "(call indexOf ",
     "3"},
    {"indexOf~", "process where indexOf~(process.command_line, \"EXAMPLE\") == 12",
     "(call indexOf~ ", "3"},
    {"length", "process where length(process.name) == 2", "(call length ", "5"},
    {"modulo", "process where modulo(process.pid, 5) == 1", "(call modulo ", "3"},
    {"multiply", "process where multiply(process.pid, 3) == 36", "(call multiply ", "5"},
    {"number", "process where number(\"11\") == process.pid or number(\"c\", 16) == process.pid",
     "(call number ", "3|5"},
    {"startsWith",
     "process where startsWith(process.executable, \"/bin/\") or "
     "startsWith(process.name, \"cu\")",
     "(call startsWith ", "1"},
    {"startsWith~", "process where startsWith~(process.name, \"cu\")", "(call startsWith~ ", "3"},
    {"string", "process where string(process.pid) == \"11\"", "(call string ", "3"},
    {"stringContains", "process where stringContains(process.command_line, \"example\")",
     "(call stringContains ", "3"},
    {"stringContains~", "process where stringContains~(process.command_line, \"EXAMPLE\")",
     "(call stringContains~ ", "3"},
    {"substring",
     "process where substring(process.name, 1) == \"ash\" or "
     "substring(process.name, 0, 2) == \"CU\"",
     "(call substring ", "1|3"},
    {"substring", "process where substring(process.name, -1) == \"h\"", "(call substring ", "1|5"},
    {"subtract", "process where subtract(process.pid, process.parent.pid) == 1", "(call subtract ",
     "3|5"},
};

// What Kestrel refuses in the dialect, with the words its error must say. Elasticsearch refuses
// these too, except where the message says "deliberate difference".
struct Refused {
  const char* construct;
  const char* query;
  const char* error;
};
const Refused kRefusedCases[] = {
    {"booleanExpression#processCheck", "process where descendant of [process where true]",
     "'descendant of' process relationships are not supported in Elasticsearch EQL"},
    {"sequenceTerm fork (not in the current grammar)",
     "sequence [process where true] fork [file where true]",
     "'fork' is only supported in the Endgame dialect"},
    {"qualifiedName LB INTEGER_VALUE+ RB", "process where process.args[0 1] == \"x\"",
     "several indexes in one bracket are not supported (a deliberate difference"},
    {"string '...' (refused by Elasticsearch's builder)", "process where process.name == 'x'",
     "single-quoted strings are not supported in Elasticsearch EQL"},
    {"string ?\"...\" (refused by Elasticsearch's builder)", "process where process.name == ?\"x\"",
     "raw strings are not supported in Elasticsearch EQL"},
    {"functionExpression, Endgame function", "process where wildcard(process.name, \"b*\")",
     "`wildcard` is an Endgame EQL function; Elasticsearch EQL has no `wildcard`"},
    {"functionExpression, Endgame function", "process where arrayContains(process.args, \"id\")",
     "`arrayContains` is an Endgame EQL function"},
    {"functionName, `~` on a function that compares no strings",
     "process where length~(process.name) == 2", "`length` has no case-insensitive `~` form"},
    {"comparisonOperator '='", "process where process.pid = 10",
     "'=' is not a comparison operator in Elasticsearch EQL"},
    {"timeUnit decimal", "sequence with maxspan=1.5s [process where true] [file where true]",
     "a time span must be a whole number, not 1.5s"},
    {"timeUnit without unit", "sequence with maxspan=10 [process where true] [file where true]",
     "Missing time unit. Did you mean 10s?"},
    {"timeUnit zero", "sequence with maxspan=0s [process where true] [file where true]",
     "a positive maxspan value is required"},
    {"sequence disallowed=joinKeys",
     "sequence with maxspan=1s by host.id [process where true] [file where true]",
     "'by' must come before 'with maxspan'"},
    {"sequence with one query", "sequence [process where true]",
     "a sequence needs at least two stages"},
    {"subquery ![...] in until",
     "sequence [process where true] [file where true] until ![network where true]",
     "a missing-event stage '![...]' is not allowed in until"},
    {"subquery ![...] in sample", "sample by host.id ![process where true] [file where true]",
     "a missing-event stage '![...]' is not allowed in sample"},
    {"pipe head without a count", "process where true | head", "expected the number of results"},
    {"pipe head with a constant expression", "process where true | head 1 + 1",
     "takes an integer literal, not an expression (a deliberate difference"},
    {"predicate like with a field", "process where process.name like process.executable",
     "a pattern must be a string literal after `like`"},
};

class EsGrammarTest : public ::testing::Test {
 protected:
  EsGrammarTest() {
    Add(1, "process", [](EventBuilder& b) {
      b.Str("process.name", "bash").Int("process.pid", 10).Int("process.parent.pid", 1);
      b.Strs("process.args", {"-c", "id"}).Str("process.executable", "/bin/bash");
      b.Str("user.name", "root").Str("host.id", "h1").Str("process.entity_id", "a");
    });
    Add(2, "file", [](EventBuilder& b) {
      b.Str("file.path", "/etc/passwd").Str("file.name", "passwd").Int("process.pid", 10);
      b.Str("user.name", "root").Str("host.id", "h1").Str("process.entity_id", "a");
    });
    Add(3, "process", [](EventBuilder& b) {
      b.Str("process.name", "CURL").Int("process.pid", 11).Int("process.parent.pid", 10);
      b.Str("process.command_line", "curl http://example.com/x");
      b.Str("user.name", "alice").Str("host.id", "h1").Str("process.entity_id", "b");
    });
    Add(4, "network", [](EventBuilder& b) {
      b.Ip("source.ip", "192.0.2.10").Int("destination.port", 443).Int("process.pid", 11);
      b.Str("user.name", "alice").Str("host.id", "h1").Str("process.entity_id", "b");
    });
    Add(5, "process", [](EventBuilder& b) {
      b.Str("process.name", "sh").Int("process.pid", 12).Int("process.parent.pid", 11);
      b.Int("process.exit_code", 0);
      b.Str("user.name", "root").Str("host.id", "h2").Str("process.entity_id", "c");
    });
    Add(6, "file", [](EventBuilder& b) {
      b.Str("file.path", "/tmp/x.sh").Str("file.name", "x.sh").Str("file.extension", "sh");
      b.Int("process.pid", 12).Str("@timestamp", "1970-01-01T00:00:06Z");
      b.Str("user.name", "root").Str("host.id", "h2").Str("process.entity_id", "c");
    });
  }

  void Add(int64_t n, std::string_view category, void (*fill)(EventBuilder&)) {
    EventBuilder b(schema_);
    b.Time(n * kSecond).Category(category).Int("n", n);
    fill(b);
    events_.push_back(b.Build());
  }

  // The results of `query` over the events: each result's `n`s joined by ',', results by '|'.
  std::string Run(std::string_view query) {
    eql::CompileResult r = eql::Compile(query, schema_, {});
    if (!r.ok()) return "compile error: " + r.diagnostics[0].message;
    auto engine = QueryEngine::Create(r.program.get(), schema_, {});
    if (!engine.ok()) return "engine error";
    for (size_t i = 0; i < events_.size(); ++i) (*engine)->Process(events_[i], i);
    std::string out;
    schema::FieldId n = *schema_.Find("n");
    for (const QueryMatch& m : (*engine)->Finish()) {
      if (!out.empty()) out += "|";
      for (size_t i = 0; i < m.events.size(); ++i) {
        out += (i ? "," : "") + std::to_string(m.events[i]->Find(n)->as_int());
      }
    }
    return out;
  }

  // singleExpression: the events on which the expression is true.
  std::string RunExpression(std::string_view expression) {
    base::StringArena arena;
    eql::ExpressionResult r = eql::CompileExpression(expression, schema_, {}, &arena);
    if (!r.ok()) return "compile error: " + r.diagnostics[0].message;
    std::string out;
    schema::FieldId n = *schema_.Find("n");
    for (const event::Event& e : events_) {
      base::StringArena scratch;
      eql::EvalContext ctx;
      ctx.event = &e;
      ctx.scratch = &scratch;
      if (!eql::IsTrue(eql::EvalIr(*r.node, ctx))) continue;
      out += (out.empty() ? "" : "|") + std::to_string(e.Find(n)->as_int());
    }
    return out;
  }

  void Check(const Case& c) {
    SCOPED_TRACE(std::string(c.rule) + ": " + c.query);
    if (std::string_view(c.rule) == "singleExpression") {
      EXPECT_EQ(RunExpression(c.query), c.matches);
      return;
    }
    absl::StatusOr<eql::Query> parsed = eql::Parse(c.query);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    std::string dump = eql::DumpAst(*parsed);
    EXPECT_NE(dump.find(c.ast), std::string::npos) << dump;
    EXPECT_EQ(Run(c.query), c.matches);
  }

  schema::Schema schema_;
  std::vector<event::Event> events_;
};

std::string RuleOf(std::string_view name) { return std::string(name.substr(0, name.find('#'))); }

TEST_F(EsGrammarTest, EveryGrammarRuleParsesAndRuns) {
  for (const Case& c : kGrammarCases) Check(c);
}

TEST_F(EsGrammarTest, EveryRuleOfTheGrammarHasACase) {
  std::set<std::string> covered;
  for (const Case& c : kGrammarCases) covered.insert(RuleOf(c.rule));
  for (const Refused& r : kRefusedCases) covered.insert(RuleOf(r.construct));
  for (const std::string& rule : kGrammarRules) EXPECT_EQ(covered.count(rule), 1u) << rule;
  std::set<std::string> known(kGrammarRules.begin(), kGrammarRules.end());
  for (const Case& c : kGrammarCases) EXPECT_EQ(known.count(RuleOf(c.rule)), 1u) << c.rule;
}

TEST_F(EsGrammarTest, EveryFunctionParsesAndRuns) {
  for (const Case& c : kFunctionCases) Check(c);
}

// The function table above, Kestrel's registry for the dialect (the built-ins not marked
// endgame_only, `~` where they compare strings) and Elasticsearch's registry are the same set.
TEST_F(EsGrammarTest, FunctionCasesEqualTheRegistry) {
  std::set<std::string> cases;
  for (const Case& c : kFunctionCases) cases.insert(c.rule);
  std::set<std::string> registry;
  std::set<std::string> registry_names;
  for (int i = 0; i <= static_cast<int>(eql::Builtin::kWildcard); ++i) {
    const eql::BuiltinInfo& info = eql::GetBuiltinInfo(static_cast<eql::Builtin>(i));
    if (info.endgame_only) {
      // Unknown in the dialect, with an error that names it.
      EXPECT_NE(Run(std::string("any where ") + std::string(info.name) + "(1, 2, 3)")
                    .find("is an Endgame EQL function"),
                std::string::npos)
          << info.name;
      continue;
    }
    registry.insert(std::string(info.name));
    registry_names.insert(std::string(info.name) + (info.string_matching ? "~" : ""));
    if (info.string_matching) {
      registry.insert(std::string(info.name) + "~");
    } else {
      EXPECT_NE(Run(std::string("any where ") + std::string(info.name) + "~(1, 2)")
                    .find("has no case-insensitive `~` form"),
                std::string::npos)
          << info.name;
    }
  }
  EXPECT_EQ(cases, registry);
  EXPECT_EQ(registry_names, kElasticsearchFunctions);
}

TEST_F(EsGrammarTest, RefusedConstructsSayWhy) {
  for (const Refused& r : kRefusedCases) {
    SCOPED_TRACE(std::string(r.construct) + ": " + r.query);
    std::string out = Run(r.query);
    EXPECT_EQ(out.rfind("compile error: ", 0), 0u) << out;
    EXPECT_NE(out.find(r.error), std::string::npos) << out;
  }
}

// Elasticsearch 7.x's `:` and `!:` were comparison operators over any two values (its spec
// files still write `a : b`, `null : (x > -1)`, `x : number("5")`): case-insensitive equality.
TEST_F(EsGrammarTest, SeqWithAnyValueIsCaseInsensitiveEquality) {
  EXPECT_EQ(Run("process where process.name : \"BASH\""), "1");
  EXPECT_EQ(Run("process where process.pid : number(\"12\")"), "5");
  EXPECT_EQ(Run("process where \"curl\" : process.name"), "3");
  EXPECT_EQ(Run("process where process.parent.pid : (process.pid - 1)"), "3|5");
  EXPECT_EQ(Run("process where process.parent.pid !: (process.pid - 1)"), "1");
  EXPECT_EQ(Run("any where null : (process.exit_code > -1)"), "1|2|3|4|6");
  // A null constant is equality with null too (the spec's `bad_field : null`).
  EXPECT_EQ(Run("process where process.exit_code : null"), "1|3");
  EXPECT_EQ(Run("process where process.exit_code !: null"), "5");
  EXPECT_EQ(Run("process where process.executable : concat(\"/BIN/\", process.name)"), "1");
}

}  // namespace
}  // namespace kestrel::engine
