// Differential tests: the Lua and Wasm runtimes (generated chunks/modules + Host API) must give
// exactly the native IR evaluator's results.
// 1. Every case of shared/conformance/eql/endgame/test_queries.toml, in each case mode it
//    names: the serial_event_ids found with predicates in Lua equal those found natively (and
//    the expected ones). A missing data file skips loudly.
// 2. Random expressions over random events (fixed seeds): per event, the Lua predicate and the
//    native evaluation agree.
#include <random>

#include "gtest/gtest.h"
#include "kestrel/engine/query_engine.h"
#include "kestrel/eql/sema.h"
#include "kestrel/runtime/lua/lua_codegen.h"
#include "kestrel/runtime/lua/lua_predicates.h"
#include "kestrel/runtime/wasm/wasm_codegen.h"
#include "kestrel/testing/conformance.h"
#ifdef KESTREL_HAVE_WASM
#include "kestrel/runtime/wasm/wasm_predicates.h"
#endif

namespace kestrel::runtime {
namespace {

// serial_event_ids of the query's results with the given predicate runtime (nullptr: native).
std::vector<int64_t> RunQuery(const eql::IrProgram& program, schema::Schema& schema,
                              const std::vector<event::Event>& events,
                              engine::PredicateRuntime* runtime, uint64_t* errors) {
  auto engine = engine::QueryEngine::Create(&program, schema);
  EXPECT_TRUE(engine.ok());
  if (runtime != nullptr) {
    auto predicates = runtime->Compile(program);
    EXPECT_TRUE(predicates.ok()) << predicates.status();
    if (!predicates.ok()) return {-1};
    (*engine)->UsePredicates(std::move(*predicates));
  }
  for (size_t i = 0; i < events.size(); ++i) (*engine)->Process(events[i], i);
  std::vector<int64_t> ids;
  auto serial = *schema.Find("serial_event_id");
  for (const engine::QueryMatch& m : (*engine)->Finish()) {
    for (const auto& e : m.events) {
      const event::Value* v = e->Find(serial);
      ids.push_back(v != nullptr ? v->as_int() : -1);
    }
  }
  *errors = (*engine)->predicate_errors();
  return ids;
}

// The runtimes compared with native evaluation.
std::vector<std::pair<std::string, std::unique_ptr<engine::PredicateRuntime>>> Runtimes() {
  std::vector<std::pair<std::string, std::unique_ptr<engine::PredicateRuntime>>> out;
  auto lua = LuaPredicateRuntime::Create();
  EXPECT_TRUE(lua.ok()) << lua.status();
  out.emplace_back("lua", std::move(*lua));
#ifdef KESTREL_HAVE_WASM
  out.emplace_back("wasm", std::make_unique<WasmPredicateRuntime>());
#endif
  return out;
}

TEST(DifferentialTest, EveryConformanceCaseAgreesBetweenNativeAndEachRuntime) {
  KESTREL_SKIP_IF_MISSING(testing::ConformancePath("test_queries.toml"), "the differential test");
  schema::Schema schema;
  std::vector<event::Event> events = testing::LoadConformanceEvents(schema);
  auto runtimes = Runtimes();
  int cases = 0, runs = 0, agree = 0;
  uint64_t compiled = 0, delegated = 0, wasm_compiled = 0, wasm_delegated = 0;
  std::string failures;
  for (const testing::ConformanceCase& c : testing::LoadConformanceCases()) {
    const std::string& query = c.query;
    const std::vector<int64_t>& expected = c.expected_event_ids;
    ++cases;
    for (bool case_sensitive : c.case_sensitive_modes) {
      eql::CompileOptions options;
      options.dialect = eql::Dialect::kEndgame;
      options.case_sensitive = case_sensitive;
      eql::CompileResult r = eql::Compile(query, schema, options);
      ASSERT_TRUE(r.ok()) << query;
      LuaChunk chunk = GenerateLua(*r.program);
      compiled += chunk.compiled_nodes;
      delegated += chunk.delegated_nodes;
      WasmModuleCode module = GenerateWasm(*r.program);
      wasm_compiled += module.compiled_nodes;
      wasm_delegated += module.delegated_nodes;
      uint64_t native_errors = 0;
      std::vector<int64_t> native = RunQuery(*r.program, schema, events, nullptr, &native_errors);
      for (auto& [name, runtime] : runtimes) {
        uint64_t errors = 0;
        std::vector<int64_t> got = RunQuery(*r.program, schema, events, runtime.get(), &errors);
        ++runs;
        if (native == got && native == expected && errors == 0) {
          ++agree;
        } else {
          failures += name + ", case #" + std::to_string(cases) + ": " + query + "\n" +
                      (name == "lua" ? chunk.source + "\n" : "");
        }
      }
    }
  }
  std::printf(
      "differential (%zu runtimes): %d of %d runs (%d cases) agree; Lua: %llu nodes "
      "compiled, %llu delegated to the engine; Wasm: %llu compiled, %llu delegated\n",
      runtimes.size(), agree, runs, cases, static_cast<unsigned long long>(compiled),
      static_cast<unsigned long long>(delegated), static_cast<unsigned long long>(wasm_compiled),
      static_cast<unsigned long long>(wasm_delegated));
  EXPECT_EQ(cases, 241);
  EXPECT_EQ(agree, runs) << failures;
}

// Random EQL expressions over a small vocabulary of fields and constants chosen to hit the
// corners: case, wildcards, arrays, nulls, missing fields, mixed numbers.
class RandomQueries {
 public:
  explicit RandomQueries(uint32_t seed) : rng_(seed) {}

  std::string Condition(int depth) {
    int pick = Pick(depth <= 0 ? 6 : 10);
    switch (pick) {
      case 0: {
        const char* ops[] = {"==", "!=", "<", "<=", ">", ">="};
        return StrField() + " " + ops[Pick(6)] + " " + StrConst();
      }
      case 1: {
        const char* ops[] = {"==", "!=", "<", "<=", ">", ">="};
        return NumField() + " " + ops[Pick(6)] + " " + NumConst();
      }
      case 2:
        return StrField() + (Pick(2) ? " : " : " like~ ") + PatternList();
      case 3:
        return StrField() + (Pick(2) ? " regex " : " regex~ ") + "\"" +
               Choose({"p.*", ".*EXE", "[a-z]+\\\\.exe", "-e.*", "c.d"}) + "\"";
      case 4: {
        const char* ops[] = {" in ", " in~ ", " not in ", " not in~ "};
        if (Pick(2)) return StrField() + ops[Pick(4)] + "(" + StrConst() + ", " + StrConst() + ")";
        return NumField() + (Pick(2) ? " in " : " not in ") + "(" + NumConst() + ", " + NumConst() +
               ")";
      }
      case 5:
        return Choose({"startsWith(process.name, \"p\")", "length(process.name) > 4",
                       "process.pid + 1 > 100", "stringContains~(process.args, \"ENC\")", "true",
                       "false", "null == process.parent.name",
                       "process.name == process.parent.name", "process.args[0] : \"-*\"",
                       "process.args[-1] == \"-nop\"", "score * 2 >= 1.5"});
      case 6:
      case 7:
        return "(" + Condition(depth - 1) + (Pick(2) ? " and " : " or ") + Condition(depth - 1) +
               (Pick(3) == 0 ? (Pick(2) ? " and " : " or ") + Condition(depth - 1) : "") + ")";
      case 8:
        return "not (" + Condition(depth - 1) + ")";
      default:
        return "(" + Condition(depth - 1) + " or " + Condition(depth - 1) + ")";
    }
  }

  event::Event Event(schema::Schema& schema) {
    event::EventBuilder b(schema);
    b.Category("process");
    if (Pick(6)) b.Str("process.name", Choose({"pwsh.exe", "PWSH.EXE", "cmd.exe", "p", "", "c?d"}));
    if (Pick(3)) b.Str("process.parent.name", Choose({"pwsh.exe", "explorer.exe", "cmd.exe"}));
    if (Pick(5)) b.Int("process.pid", Choose<int64_t>({0, 1, 99, 100, 4242, -7, INT64_MAX}));
    if (Pick(3) == 0) {
      b.Strs("process.args", {"-enc", "AAAA", "-nop"});
    } else if (Pick(2)) {
      b.Strs("process.args", {});
    }
    event::Event e = b.Build();
    if (Pick(2)) {
      schema::FieldId score = *schema.Intern("score", schema::FieldType::kDouble, false);
      e.SetDouble(score, Choose<double>({0.5, 0.75, 1.0, -2.5}));
      e.Finish();
    }
    return e;
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  template <typename T = std::string>
  T Choose(std::initializer_list<T> v) {
    return *(v.begin() + Pick(static_cast<int>(v.size())));
  }
  std::string StrField() {
    return Choose<std::string>({"process.name", "process.parent.name", "process.args",
                                "process.args[1]", "?process.title"});
  }
  std::string NumField() { return Choose<std::string>({"process.pid", "score", "process.pid"}); }
  std::string StrConst() {
    return Choose<std::string>(
        {"\"pwsh.exe\"", "\"PWSH.EXE\"", "\"cmd.exe\"", "\"p\"", "\"\"", "\"-nop\"", "\"AAAA\""});
  }
  std::string NumConst() { return Choose<std::string>({"0", "1", "100", "4242", "-7", "0.75"}); }
  std::string PatternList() {
    std::string p = Choose<std::string>({"\"p*\"", "\"*.EXE\"", "\"c?d*\"", "\"*\"", "\"-*\""});
    if (Pick(2)) p = "(" + p + ", " + Choose<std::string>({"\"cmd*\"", "\"A*A\""}) + ")";
    return p;
  }

  std::mt19937 rng_;
};

TEST(DifferentialTest, RandomExpressionsAgreeBetweenNativeAndEachRuntime) {
  for (uint32_t seed : {1u, 2u, 3u, 7u, 42u}) {
    schema::Schema schema;
    RandomQueries gen(seed);
    std::vector<event::Event> events;
    for (int i = 0; i < 60; ++i) events.push_back(gen.Event(schema));
    auto runtimes = Runtimes();
    int compiled_queries = 0;
    for (int q = 0; q < 150; ++q) {
      std::string text = "any where " + gen.Condition(3);
      eql::CompileResult r = eql::Compile(text, schema);
      if (!r.ok()) continue;
      ++compiled_queries;
      for (auto& [name, runtime] : runtimes) {
        auto predicates = runtime->Compile(*r.program);
        ASSERT_TRUE(predicates.ok()) << name << ": " << text << ": " << predicates.status();
        const eql::IrStage& stage = r.program->stages[0];
        base::StringArena scratch;
        for (size_t i = 0; i < events.size(); ++i) {
          eql::EvalContext ctx;
          ctx.event = &events[i];
          ctx.scratch = &scratch;
          ctx.schema = &schema;
          bool native = eql::EvalCondition(*stage.predicate, ctx);
          bool other = (*predicates)->Holds(stage, ctx);
          ASSERT_EQ(native, other)
              << name << ", seed " << seed << ", event " << i << ": " << text << "\n"
              << GenerateLua(*r.program).source;
          scratch.Reset();
        }
        EXPECT_EQ((*predicates)->errors(), 0u) << name << ": " << text;
      }
    }
    EXPECT_GE(compiled_queries, 100) << "seed " << seed << ": too few queries compile";
  }
}

}  // namespace
}  // namespace kestrel::runtime
