// Custom-function modules: declarations, Wasm functions (ABI, hostile functions, refusals) run by
// the engine, Lua modules checked against declarations, one instance per worker.
#include "kestrel/runtime/function_module.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <thread>

#include "kestrel/engine/query_engine.h"
#include "kestrel/event/event.h"

namespace kestrel::runtime {
namespace {

#ifdef KESTREL_HAVE_WASM
#include "kestrel/runtime/wasm/testdata/test_modules.inc"
#endif

TEST(FunctionDeclarationTest, ParsesAndFormats) {
  auto f = ParseFunctionDeclaration(" cidr_private ( string , number,bool ) -> boolean ");
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->name, "cidr_private");
  EXPECT_EQ(f->params, (std::vector<eql::IrType>{eql::IrType::kString, eql::IrType::kNumber,
                                                 eql::IrType::kBool}));
  EXPECT_EQ(f->result, eql::IrType::kBool);
  EXPECT_EQ(FormatFunctionDeclaration(*f), "cidr_private(string, number, bool) -> bool");
  auto none = ParseFunctionDeclaration("now() -> number");
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_TRUE(none->params.empty());
  for (std::string_view bad : {"f(string)", "f string -> bool", "1f() -> bool", "f(blob) -> bool",
                               "f(string,) -> bool", "f() x -> bool", "f() -> "}) {
    auto r = ParseFunctionDeclaration(bad);
    EXPECT_FALSE(r.ok()) << bad;
    EXPECT_NE(std::string(r.status().message()).find("bad function declaration"),
              std::string::npos);
  }
  EXPECT_EQ(FunctionModuleKindOf("x/f.lua"), FunctionModuleKind::kLua);
  EXPECT_EQ(FunctionModuleKindOf("f.wasm"), FunctionModuleKind::kWasm);
  EXPECT_EQ(FunctionModuleKindOf("f.so"), std::nullopt);
}

constexpr char kLuaModule[] = R"(
local kestrel = ...
return {
  upper = { params = {"string"}, returns = "string", fn = function(s) return s:upper() end },
}
)";

TEST(FunctionModuleTest, LuaModuleMustMatchItsDeclarations) {
  auto ok = FunctionModule::Load(FunctionModuleKind::kLua, kLuaModule, "f.lua",
                                 {"upper(string) -> string"});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ((*ok)->Declarations(), std::vector<std::string>{"upper(string) -> string"});
  auto undeclared = FunctionModule::Load(FunctionModuleKind::kLua, kLuaModule, "f.lua");
  EXPECT_TRUE(undeclared.ok()) << undeclared.status();  // a Lua module declares itself
  auto wrong = FunctionModule::Load(FunctionModuleKind::kLua, kLuaModule, "f.lua",
                                    {"upper(number) -> string"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(std::string(wrong.status().message()).find("the manifest upper(number) -> string"),
            std::string::npos)
      << wrong.status();
}

#ifdef KESTREL_HAVE_WASM

const std::vector<std::string> kDeclared = {
    "is_tmp(string) -> bool",     "twice(number) -> number", "basename(string) -> string",
    "pid_plus(number) -> number", "spin(number) -> bool",    "oob(bool) -> bool",
    "bad_string() -> string",
};

std::vector<event::Event> Events(schema::Schema& schema) {
  std::vector<event::Event> events;
  for (auto [exe, pid] : {std::pair{"/tmp/x", 42}, {"/usr/bin/x", 42}, {"/tmp/x", 7}}) {
    events.push_back(event::EventBuilder(schema)
                         .Category("process")
                         .Str("process.executable", exe)
                         .Int("process.pid", pid)
                         .Build());
  }
  return events;
}

TEST(WasmFunctionsTest, FunctionsRunInTheEngine) {
  auto module = FunctionModule::Load(FunctionModuleKind::kWasm, std::string(kFunctionsWasm),
                                     "functions.wasm", kDeclared);
  ASSERT_TRUE(module.ok()) << module.status();
  const auto& sig = (*module)->signatures();
  ASSERT_EQ(sig.size(), kDeclared.size());
  EXPECT_EQ(sig[0].name, "bad_string");  // sorted by name
  std::vector<std::string> logged;
  auto functions = (*module)->NewInstance([&](std::string_view l) { logged.emplace_back(l); });
  ASSERT_TRUE(functions.ok()) << functions.status();

  schema::Schema schema;
  std::vector<event::Event> events = Events(schema);
  eql::CompileOptions options;
  options.functions = &sig;
  eql::CompileResult r = eql::Compile(
      R"(process where is_tmp(process.executable) and basename(process.executable) == "x" and
         twice(process.pid) == 84 and pid_plus(1) == 43)",
      schema, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics[0].message;
  auto engine = engine::QueryEngine::Create(r.program.get(), schema);
  ASSERT_TRUE(engine.ok());
  (*engine)->UseFunctions(functions->get());
  for (size_t i = 0; i < events.size(); ++i) (*engine)->Process(events[i], i);
  std::vector<engine::QueryMatch> matches = (*engine)->Finish();
  ASSERT_EQ(matches.size(), 1u);
  EXPECT_EQ(matches[0].event_indexes[0], 0u);
  EXPECT_TRUE(logged.empty());

  // Type-checked at compile time from the declaration.
  eql::CompileResult bad = eql::Compile(R"(process where twice("a") == 2)", schema, options);
  EXPECT_FALSE(bad.ok());
}

TEST(WasmFunctionsTest, HostileFunctionsAreNullAndCounted) {
  auto module = FunctionModule::Load(FunctionModuleKind::kWasm, std::string(kFunctionsWasm),
                                     "functions.wasm", kDeclared);
  ASSERT_TRUE(module.ok()) << module.status();
  std::vector<std::string> logged;
  auto functions = (*module)->NewInstance([&](std::string_view l) { logged.emplace_back(l); });
  ASSERT_TRUE(functions.ok());
  schema::Schema schema;
  std::vector<event::Event> events = Events(schema);
  eql::CompileOptions options;
  options.functions = &(*module)->signatures();
  eql::CompileResult r = eql::Compile(
      R"(process where spin(1) or oob(true) or bad_string() == "x" or is_tmp(process.executable))",
      schema, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics[0].message;
  auto engine = engine::QueryEngine::Create(r.program.get(), schema);
  ASSERT_TRUE(engine.ok());
  (*engine)->UseFunctions(functions->get());
  (*engine)->Process(events[1], 0);  // /usr/bin/x: only the three failures, then false
  (*engine)->Process(events[0], 1);  // /tmp/x: the failures, then is_tmp holds
  std::vector<engine::QueryMatch> matches = (*engine)->Finish();
  ASSERT_EQ(matches.size(), 1u);
  EXPECT_EQ(matches[0].event_indexes[0], 1u);
  EXPECT_EQ((*functions)->errors(), 6u);  // three failures on each event
  ASSERT_EQ(logged.size(), 3u);           // the 1st, 2nd and 4th
  EXPECT_NE(logged[0].find("kestrel: wasm function spin of module functions.wasm failed: fuel "
                           "exhausted"),
            std::string::npos)
      << logged[0];
  EXPECT_NE(logged[1].find("trap: out of bounds memory access"), std::string::npos) << logged[1];

  // A string result outside the module's memory.
  auto fresh = (*module)->NewInstance([&](std::string_view l) { logged.emplace_back(l); });
  ASSERT_TRUE(fresh.ok());
  eql::CompileResult s = eql::Compile(R"(process where bad_string() == "x")", schema, options);
  ASSERT_TRUE(s.ok());
  auto engine2 = engine::QueryEngine::Create(s.program.get(), schema);
  ASSERT_TRUE(engine2.ok());
  (*engine2)->UseFunctions(fresh->get());
  (*engine2)->Process(events[0], 0);
  EXPECT_TRUE((*engine2)->Finish().empty());
  EXPECT_EQ((*fresh)->errors(), 1u);
  EXPECT_NE(logged.back().find("returned a string outside the memory"), std::string::npos)
      << logged.back();
}

TEST(WasmFunctionsTest, BadModulesAndDeclarationsAreRefused) {
  auto load = [](std::vector<std::string> declared) {
    return FunctionModule::Load(FunctionModuleKind::kWasm, std::string(kFunctionsWasm),
                                "functions.wasm", declared);
  };
  auto message = [](const auto& r) { return std::string(r.status().message()); };
  auto undeclared = load({});
  ASSERT_FALSE(undeclared.ok());
  EXPECT_NE(message(undeclared).find("needs its functions declared"), std::string::npos);
  auto missing = load({"nothere(string) -> bool"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(message(missing).find("missing export kestrel_fn_nothere"), std::string::npos)
      << message(missing);
  auto wrong = load({"twice(string) -> number"});
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(message(wrong).find("export kestrel_fn_twice has type (f64) -> (f64), expected"),
            std::string::npos)
      << message(wrong);
  auto any = load({"twice(any) -> number"});
  ASSERT_FALSE(any.ok());
  EXPECT_NE(message(any).find("string, number or bool, not"), std::string::npos) << message(any);
  auto twice = load({"twice(number) -> number", "twice(number) -> number"});
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(message(twice).find("declared twice"), std::string::npos);
  auto garbage = FunctionModule::Load(FunctionModuleKind::kWasm, "not wasm", "x.wasm",
                                      {"twice(number) -> number"});
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(message(garbage).find("invalid module"), std::string::npos) << message(garbage);
}

TEST(WasmFunctionsTest, InstancesAreIndependentPerThread) {
  auto module = FunctionModule::Load(FunctionModuleKind::kWasm, std::string(kFunctionsWasm),
                                     "functions.wasm", kDeclared);
  ASSERT_TRUE(module.ok()) << module.status();
  schema::Schema schema;
  std::vector<event::Event> events = Events(schema);
  eql::CompileOptions options;
  options.functions = &(*module)->signatures();
  eql::CompileResult r = eql::Compile(
      R"(process where basename(process.executable) == "x" and twice(process.pid) == 84)", schema,
      options);
  ASSERT_TRUE(r.ok());
  std::vector<size_t> counts(2);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < 2; ++t) {
    threads.emplace_back([&, t] {
      auto functions = (*module)->NewInstance();
      if (!functions.ok()) return;
      auto engine = engine::QueryEngine::Create(r.program.get(), schema);
      if (!engine.ok()) return;
      (*engine)->UseFunctions(functions->get());
      for (size_t round = 0; round < 500; ++round) {
        for (size_t i = 0; i < events.size(); ++i) (*engine)->Process(events[i], round * 3 + i);
      }
      counts[t] = (*engine)->Finish().size();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(counts[0], 1000u);  // events 0 and 1 of each round
  EXPECT_EQ(counts[1], 1000u);
}

#endif  // KESTREL_HAVE_WASM

}  // namespace
}  // namespace kestrel::runtime
