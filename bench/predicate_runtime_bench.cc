// Cost of one stage-predicate call under each predicate runtime (native IR evaluation, LuaJIT,
// Wasm on wabt's interpreter), on a typical single-event rule and on a one-comparison rule.
// Each iteration is one RulePredicates::Holds() (or EvalCondition for native) on one event.
// Results in docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include "kestrel/eql/sema.h"
#include "kestrel/runtime/lua/lua_predicates.h"
#ifdef KESTREL_HAVE_WASM
#include "kestrel/runtime/wasm/wasm_predicates.h"
#endif

namespace kestrel {
namespace {

constexpr const char* kTypical =
    R"(process where event.type == "start" and process.name : ("powershell.exe", "pwsh.exe") )"
    R"(and process.args : ("*-enc*", "*-encodedcommand*"))";
constexpr const char* kOneComparison = R"(process where process.name == "pwsh.exe")";

struct Fixture {
  explicit Fixture(const char* query) {
    compiled = eql::Compile(query, schema);
    event = event::EventBuilder(schema)
                .Category("process")
                .Str("event.type", "start")
                .Str("process.name", "pwsh.exe")
                .Strs("process.args", {"pwsh.exe", "-nop", "-w", "hidden", "-enc", "SQBFAFgA"})
                .Str("process.executable", "C:\\Program Files\\PowerShell\\7\\pwsh.exe")
                .Int("process.pid", 4242)
                .Build();
    ctx.event = &event;
    ctx.scratch = &scratch;
    ctx.schema = &schema;
  }
  schema::Schema schema;
  eql::CompileResult compiled;
  event::Event event;
  base::StringArena scratch;
  eql::EvalContext ctx;
};

const char* Query(int which) { return which == 0 ? kTypical : kOneComparison; }

void BM_Native(benchmark::State& state) {
  Fixture f(Query(static_cast<int>(state.range(0))));
  const eql::IrNode& p = *f.compiled.program->stages[0].predicate;
  for (auto _ : state) benchmark::DoNotOptimize(eql::EvalCondition(p, f.ctx));
}

void Run(benchmark::State& state, engine::PredicateRuntime& runtime) {
  Fixture f(Query(static_cast<int>(state.range(0))));
  auto predicates = runtime.Compile(*f.compiled.program);
  if (!predicates.ok()) {
    state.SkipWithError(std::string(predicates.status().message()).c_str());
    return;
  }
  const eql::IrStage& stage = f.compiled.program->stages[0];
  if (!(*predicates)->Holds(stage, f.ctx)) state.SkipWithError("predicate does not hold");
  for (auto _ : state) benchmark::DoNotOptimize((*predicates)->Holds(stage, f.ctx));
}

void BM_Lua(benchmark::State& state) {
  auto runtime = runtime::LuaPredicateRuntime::Create();
  Run(state, **runtime);
}

#ifdef KESTREL_HAVE_WASM
void BM_WasmInterpreted(benchmark::State& state) {
  runtime::WasmPredicateRuntime runtime;
  Run(state, runtime);
}
BENCHMARK(BM_WasmInterpreted)->ArgName("one_comparison")->Arg(0)->Arg(1);
#endif

BENCHMARK(BM_Native)->ArgName("one_comparison")->Arg(0)->Arg(1);
BENCHMARK(BM_Lua)->ArgName("one_comparison")->Arg(0)->Arg(1);

}  // namespace
}  // namespace kestrel

BENCHMARK_MAIN();
