// The LuaJIT runtime: the sandbox, the limits (steps, memory), hostile chunks, version checks and
// error accounting; and the shape of generated chunks.
#include "kestrel/runtime/lua/lua_runtime.h"

#include <gtest/gtest.h>

#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/sema.h"
#include "kestrel/runtime/host_api.h"
#include "kestrel/runtime/lua/lua_codegen.h"
#include "kestrel/runtime/lua/lua_functions.h"
#include "kestrel/runtime/lua/lua_predicates.h"
#include "kestrel/runtime/predicate_errors.h"

namespace kestrel::runtime {
namespace {

std::unique_ptr<LuaRuntime> NewRuntime(LuaLimits limits = {}) {
  auto r = LuaRuntime::Create(limits);
  EXPECT_TRUE(r.ok()) << r.status();
  return std::move(*r);
}

// Loads `body` as predicate 1 of a chunk and calls it; returns the result and the error text.
int32_t RunBody(LuaRuntime& lua, const std::string& body, std::string* error) {
  auto h = lua.Load(
      "local kestrel = ...\nlocal P = {}\nP[1] = function()\n" + body + "\nend\nreturn P\n",
      "test");
  if (!h.ok()) {
    *error = std::string(h.status().message());
    return -100;
  }
  kestrel_host_ctx ctx;
  return lua.Call((*h)[0], &ctx, error);
}

TEST(LuaRuntimeTest, ResultsAreThreeValued) {
  auto lua = NewRuntime();
  std::string error;
  EXPECT_EQ(RunBody(*lua, "return 1", &error), KESTREL_TRUE);
  EXPECT_EQ(RunBody(*lua, "return 0", &error), KESTREL_FALSE);
  EXPECT_EQ(RunBody(*lua, "return -1", &error), KESTREL_NULL);
  EXPECT_EQ(RunBody(*lua, "return true", &error), KESTREL_TRUE);
  EXPECT_EQ(RunBody(*lua, "return 'yes'", &error), KESTREL_NULL);
  EXPECT_EQ(RunBody(*lua, "return nil", &error), KESTREL_NULL);
}

TEST(LuaRuntimeTest, InfiniteLoopHitsTheStepLimit) {
  auto lua = NewRuntime({.max_instructions = 100'000});
  std::string error;
  EXPECT_EQ(RunBody(*lua, "while true do end", &error), LuaRuntime::kError);
  EXPECT_NE(error.find("step limit"), std::string::npos) << error;
  // A loop long enough to be JIT-compiled elsewhere is still stopped (the JIT is off).
  EXPECT_EQ(RunBody(*lua, "local x = 0 for i = 1, 1e12 do x = x + i end return x", &error),
            LuaRuntime::kError);
  EXPECT_NE(error.find("step limit"), std::string::npos) << error;
  // The state is usable afterwards.
  EXPECT_EQ(RunBody(*lua, "return 1", &error), KESTREL_TRUE);
}

TEST(LuaRuntimeTest, DeepRecursionIsAnError) {
  auto lua = NewRuntime({.max_instructions = 100'000'000});
  std::string error;
  EXPECT_EQ(RunBody(*lua, "local function f(n) return 1 + f(n + 1) end return f(1)", &error),
            LuaRuntime::kError);
  EXPECT_NE(error.find("stack overflow"), std::string::npos) << error;
  EXPECT_EQ(RunBody(*lua, "return 0", &error), KESTREL_FALSE);
}

TEST(LuaRuntimeTest, HugeAllocationsHitTheMemoryCap) {
  auto lua = NewRuntime({.max_instructions = 1'000'000'000, .max_memory = 8 << 20});
  std::string error;
  EXPECT_EQ(RunBody(*lua, "local t = {} for i = 1, 1e9 do t[i] = i end", &error),
            LuaRuntime::kError);
  EXPECT_NE(error.find("memory"), std::string::npos) << error;
  EXPECT_EQ(RunBody(*lua, "return string.rep('x', 64 * 1024 * 1024) and 1", &error),
            LuaRuntime::kError);
  EXPECT_LE(lua->memory_used(), size_t{8} << 20);
  EXPECT_EQ(RunBody(*lua, "return 1", &error), KESTREL_TRUE);
}

TEST(LuaRuntimeTest, DangerousLibrariesAreUnavailable) {
  auto lua = NewRuntime();
  std::string error;
  for (const char* expr :
       {"os", "io", "require", "ffi", "jit", "debug", "package", "load", "loadstring", "dofile",
        "loadfile", "string.dump", "getfenv", "setfenv", "collectgarbage"}) {
    EXPECT_EQ(RunBody(*lua, std::string("return ") + expr + " == nil and 1 or 0", &error),
              KESTREL_TRUE)
        << expr;
  }
  EXPECT_EQ(RunBody(*lua, "os.execute('true')", &error), LuaRuntime::kError);
  EXPECT_EQ(RunBody(*lua, "return require('ffi')", &error), LuaRuntime::kError);
  // Safe libraries remain.
  EXPECT_EQ(
      RunBody(*lua, "return string.upper('a') == 'A' and math.max(1, 2) == 2 and 1 or 0", &error),
      KESTREL_TRUE);
}

TEST(LuaRuntimeTest, ChunksDoNotShareGlobals) {
  auto lua = NewRuntime();
  std::string error;
  EXPECT_EQ(RunBody(*lua, "leak = 1 return 1", &error), KESTREL_TRUE);
  EXPECT_EQ(RunBody(*lua, "return leak == nil and 1 or 0", &error), KESTREL_TRUE);
}

TEST(LuaRuntimeTest, MalformedAndBinaryChunksAreRefused) {
  auto lua = NewRuntime();
  EXPECT_FALSE(lua->Load("this is not lua", "bad").ok());
  EXPECT_FALSE(lua->Load("\x1bLJ\x02garbage", "binary").ok());
  EXPECT_FALSE(lua->Load("return 42", "not-a-table").ok());
  EXPECT_FALSE(lua->Load("return {1}", "not-a-function").ok());
  EXPECT_FALSE(lua->Load("while true do end", "loops-at-load").ok());
}

TEST(LuaRuntimeTest, WrongApiVersionIsRefusedNamingBoth) {
  auto lua = NewRuntime();
  auto h = lua->Load("local kestrel = ... kestrel.require_api(99) return {}", "v99");
  ASSERT_FALSE(h.ok());
  std::string m(h.status().message());
  EXPECT_NE(m.find("99"), std::string::npos) << m;
  EXPECT_NE(m.find("host implements 1"), std::string::npos) << m;
  EXPECT_TRUE(lua->Load("local kestrel = ... kestrel.require_api(1) return {}", "v1").ok());
}

TEST(LuaRuntimeTest, ReportedErrorsFailTheCall) {
  auto lua = NewRuntime();
  std::string error;
  EXPECT_EQ(RunBody(*lua, "kestrel.report_error(3, 'nope') return 1", &error), LuaRuntime::kError);
  EXPECT_NE(error.find("nope"), std::string::npos) << error;
}

TEST(LuaRuntimeTest, UserChunksReadFieldsThroughTheHostApi) {
  schema::Schema schema;
  event::Event e = event::EventBuilder(schema).Str("process.name", "cmd.exe").Int("n", 5).Build();
  eql::EvalContext eval;
  eval.event = &e;
  RegexCache regexes;
  kestrel_host_ctx ctx;
  ctx.eval = &eval;
  ctx.regexes = &regexes;
  auto lua = NewRuntime();
  std::string src =
      "local kestrel = ...\nlocal NAME, N = " + std::to_string(schema.Find("process.name")->value) +
      ", " + std::to_string(schema.Find("n")->value) +
      "\nreturn { function()\n"
      "  local s = kestrel.field_string(NAME)\n"
      "  if s == nil then return -1 end\n"
      "  if kestrel.string_match(12, 1, s, 'CMD') ~= 1 then return 0 end\n"
      "  return kestrel.field_i64(N) * 2 == 10 and 1 or 0\n"
      "end }\n";
  auto h = lua->Load(src, "user");
  ASSERT_TRUE(h.ok()) << h.status();
  std::string error;
  EXPECT_EQ(lua->Call((*h)[0], &ctx, &error), KESTREL_TRUE) << error;
}

TEST(LuaPredicateRuntimeTest, ForeignChunksRunUnderTheStepHook) {
  schema::Schema schema;
  eql::CompileResult r = eql::Compile("process where process.name == \"x\"", schema);
  ASSERT_TRUE(r.ok());
  std::vector<std::string> logged;
  auto runtime = LuaPredicateRuntime::Create(
      {.max_instructions = 100'000}, [&](std::string_view line) { logged.emplace_back(line); });
  ASSERT_TRUE(runtime.ok());
  event::Event e = event::EventBuilder(schema).Category("process").Str("process.name", "x").Build();
  eql::EvalContext ctx;
  ctx.event = &e;
  const eql::IrStage& stage = r.program->stages[0];
  // The generated chunk (hook-free state) and the same text loaded as a package's predicate.
  auto generated = (*runtime)->Compile(*r.program);
  ASSERT_TRUE(generated.ok());
  EXPECT_TRUE((*generated)->Holds(stage, ctx));
  auto same = (*runtime)->Load(*r.program, GenerateLua(*r.program).source, "same");
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE((*same)->Holds(stage, ctx));
  // A foreign chunk that loops forever is stopped, false, counted and logged.
  auto foreign = (*runtime)->Load(
      *r.program, "local k = ... return { function() while true do end end }", "looping");
  ASSERT_TRUE(foreign.ok()) << foreign.status();
  EXPECT_FALSE((*foreign)->Holds(stage, ctx));
  EXPECT_FALSE((*foreign)->Holds(stage, ctx));
  EXPECT_EQ((*foreign)->errors(), 2u);
  ASSERT_EQ(logged.size(), 2u);  // the 1st and 2nd error
  EXPECT_NE(logged[0].find("step limit"), std::string::npos) << logged[0];
  // A chunk with the wrong number of predicates is refused.
  EXPECT_FALSE((*runtime)->Load(*r.program, "return {}", "empty").ok());
}

constexpr char kFunctionModule[] = R"(
local kestrel = ...
return {
  upper = { params = {"string"}, returns = "string", fn = function(s) return s and s:upper() end },
  double = { params = {"number"}, returns = "number", fn = function(x) return x and x * 2 end },
  spin = { params = {}, returns = "bool", fn = function() while true do end end },
  table = { params = {"any"}, returns = "any", fn = function() return {} end },
}
)";

TEST(LuaFunctionsTest, CustomFunctionsRunInTheEngineUnderEveryPredicateRuntime) {
  std::vector<std::string> logged;
  auto functions =
      LuaFunctions::Load(kFunctionModule, "functions.lua", {.max_instructions = 100'000},
                         [&](std::string_view l) { logged.emplace_back(l); });
  ASSERT_TRUE(functions.ok()) << functions.status();
  const auto& sig = (*functions)->signatures();
  ASSERT_EQ(sig.size(), 4u);
  EXPECT_EQ(sig[0].name, "double");  // sorted by name
  EXPECT_EQ(sig[0].result, eql::IrType::kNumber);
  EXPECT_EQ(sig[2].name, "table");
  EXPECT_EQ(sig[2].params, std::vector<eql::IrType>{eql::IrType::kAny});

  schema::Schema schema;
  std::vector<event::Event> events;
  for (auto [name, pid] : {std::pair{"cmd.exe", 42}, {"cmd.exe", 7}, {"sh", 42}}) {
    events.push_back(event::EventBuilder(schema)
                         .Category("process")
                         .Str("process.name", name)
                         .Int("process.pid", pid)
                         .Build());
  }
  eql::CompileOptions options;
  options.functions = &sig;
  eql::CompileResult r = eql::Compile(
      R"(process where upper(process.name) == "CMD.EXE" and double(process.pid) == 84)", schema,
      options);
  ASSERT_TRUE(r.ok()) << r.diagnostics[0].message;
  auto lua = LuaPredicateRuntime::Create();
  ASSERT_TRUE(lua.ok());
  for (engine::PredicateRuntime* runtime : {static_cast<engine::PredicateRuntime*>(nullptr),
                                            static_cast<engine::PredicateRuntime*>(lua->get())}) {
    auto engine = engine::QueryEngine::Create(r.program.get(), schema);
    ASSERT_TRUE(engine.ok());
    (*engine)->UseFunctions(functions->get());
    if (runtime != nullptr) (*engine)->UsePredicates(std::move(*runtime->Compile(*r.program)));
    for (size_t i = 0; i < events.size(); ++i) (*engine)->Process(events[i], i);
    std::vector<engine::QueryMatch> matches = (*engine)->Finish();
    ASSERT_EQ(matches.size(), 1u);
    EXPECT_EQ(matches[0].event_indexes[0], 0u);
  }
  EXPECT_EQ((*functions)->errors(), 0u);

  // A function that spins or returns a table is null for the event, counted and logged.
  eql::CompileResult spin =
      eql::Compile(R"(process where spin() or table(1) == 1)", schema, options);
  ASSERT_TRUE(spin.ok());
  auto engine = engine::QueryEngine::Create(spin.program.get(), schema);
  (*engine)->UseFunctions(functions->get());
  (*engine)->Process(events[0], 0);
  EXPECT_TRUE((*engine)->Finish().empty());
  EXPECT_EQ((*functions)->errors(), 2u);
  ASSERT_EQ(logged.size(), 2u);
  EXPECT_NE(logged[0].find("step limit"), std::string::npos) << logged[0];
  EXPECT_NE(logged[1].find("returned a table"), std::string::npos) << logged[1];
}

TEST(LuaFunctionsTest, BadModulesAreRefused) {
  EXPECT_FALSE(LuaFunctions::Load("return 1", "x").ok());
  EXPECT_FALSE(
      LuaFunctions::Load("return { f = { params = {\"blob\"}, fn = function() end } }", "x").ok());
  EXPECT_FALSE(LuaFunctions::Load("return { f = { params = {} } }", "x").ok());
  EXPECT_FALSE(LuaFunctions::Load("return { f = { fn = os.exit } }", "x").ok());  // os is nil
}

TEST(ErrorCounterTest, LogsAtPowersOfTwo) {
  std::vector<std::string> lines;
  ErrorLogger logger = [&](std::string_view l) { lines.emplace_back(l); };
  ErrorCounter c("r1", &logger);
  for (int i = 0; i < 100; ++i) c.Record("lua", "boom");
  EXPECT_EQ(c.count(), 100u);
  EXPECT_EQ(lines.size(), 7u);  // 1 2 4 8 16 32 64
  EXPECT_NE(lines.back().find("64 errors"), std::string::npos) << lines.back();
}

TEST(LuaCodegenTest, FieldConstantComparisonsBecomeHostCalls) {
  schema::Schema schema;
  eql::CompileResult r = eql::Compile(
      R"(process where process.name : ("cmd*", "pwsh*") and not process.pid in (1, 2) and )"
      R"(process.args regex~ ".*-enc.*" and length(process.name) > 3)",
      schema);
  ASSERT_TRUE(r.ok());
  LuaChunk chunk = GenerateLua(*r.program);
  EXPECT_NE(chunk.source.find("require_api(1)"), std::string::npos);
  EXPECT_NE(chunk.source.find("match("), std::string::npos);
  EXPECT_NE(chunk.source.find("cmpi("), std::string::npos);
  EXPECT_EQ(chunk.delegated_nodes, 1u) << chunk.source;  // length(...) > 3
  EXPECT_EQ(chunk.source.find("while"), std::string::npos);
  EXPECT_EQ(chunk.source.find("for "), std::string::npos);
}

}  // namespace
}  // namespace kestrel::runtime
