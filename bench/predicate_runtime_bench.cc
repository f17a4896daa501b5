// Cost of one stage-predicate call under each predicate runtime (native IR evaluation, LuaJIT,
// Wasm on wabt's interpreter), on a typical single-event rule and on a one-comparison rule.
// Each iteration is one RulePredicates::Holds() (or EvalCondition for native) on one event.
// BM_SingleToml/{0 native, 1 lua, 2 wasm, 3 wasm AOT}: throughput of the 20 single-event rules of
// the shared Endgame workload (../shared/bench/endgame-workload/single.toml) through
// engine::Detector, on the events engine_workload_bench uses (generated once into /tmp;
// KESTREL_WORKLOAD_EVENTS). Results in docs/benchmarks.md.
#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <map>

#include "endgame_workload.h"
#include "kestrel/engine/detector.h"
#include "kestrel/sources/ndjson/ndjson_source.h"
#include "toml++/toml.h"

#include "kestrel/eql/sema.h"
#include "kestrel/runtime/lua/lua_predicates.h"
#include "kestrel/runtime/wasm/aot.h"
#include "kestrel/runtime/wasm/wasm_codegen.h"
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

// Compiles each rule's module ahead of time (wasm2c + cc, into /tmp) the first time the engine
// asks for it (outside the timing that matters: later passes reuse the object).
class AotCompilingRuntime : public engine::PredicateRuntime {
 public:
  ~AotCompilingRuntime() override {
    for (const auto& [program, so] : objects_) std::filesystem::remove(so);
  }
  absl::StatusOr<std::unique_ptr<engine::RulePredicates>> Compile(
      const eql::IrProgram& program) override {
    auto it = objects_.find(&program);
    if (it == objects_.end()) {
      runtime::WasmModuleCode code = runtime::GenerateWasm(program);
      std::string so = fmt::format("/tmp/kestrel_bench_aot_{}_{}.so", getpid(), objects_.size());
      absl::Status s = runtime::CompileAot(
          std::string_view(reinterpret_cast<const char*>(code.bytes.data()), code.bytes.size()),
          so);
      if (!s.ok()) return s;
      it = objects_.emplace(&program, so).first;
    }
    return aot_.Load(program, it->second, "bench");
  }

 private:
  runtime::AotPredicateRuntime aot_;
  std::map<const eql::IrProgram*, std::string> objects_;
};

void BM_WasmAot(benchmark::State& state) {
  if (!runtime::AotAvailable()) {
    state.SkipWithError("wasm2c or cc missing");
    return;
  }
  AotCompilingRuntime runtime;
  Run(state, runtime);
}
BENCHMARK(BM_WasmAot)->ArgName("one_comparison")->Arg(0)->Arg(1);

// The shared Endgame workload (endgame_workload.h) and the queries of its single.toml.
struct Workload {
  schema::Schema& schema;
  std::vector<event::Event>& events;
  std::vector<std::unique_ptr<eql::IrProgram>> programs;
};

Workload* LoadWorkload() {
  static Workload* w = [] {
    bench::EndgameWorkload* data = bench::LoadEndgameWorkload();
    auto* w = new Workload{data->schema, data->events, {}};
    if (w->events.empty()) return w;
    toml::table table = toml::parse_file(bench::kWorkloadDir + "single.toml");
    for (const toml::node& node : *table["rule"].as_array()) {
      std::string query = *(*node.as_table())["query"].value<std::string>();
      eql::CompileOptions compile;
      compile.dialect = eql::Dialect::kEndgame;
      auto result = eql::Compile(query, w->schema, compile);
      if (result.ok()) w->programs.push_back(std::move(result.program));
    }
    return w;
  }();
  return w;
}

void BM_SingleToml(benchmark::State& state) {
  Workload* w = LoadWorkload();
  if (w->events.empty()) {
    state.SkipWithError("workload events could not be generated (python3 gen_events.py)");
    return;
  }
  std::unique_ptr<engine::PredicateRuntime> runtime;
  if (state.range(0) == 1) runtime = std::move(*runtime::LuaPredicateRuntime::Create());
#ifdef KESTREL_HAVE_WASM
  if (state.range(0) == 2) runtime = std::make_unique<runtime::WasmPredicateRuntime>();
#else
  if (state.range(0) == 2) {
    state.SkipWithError("built without wabt");
    return;
  }
#endif
  if (state.range(0) == 3) {
    if (!runtime::AotAvailable()) {
      state.SkipWithError("wasm2c or cc missing");
      return;
    }
    runtime = std::make_unique<AotCompilingRuntime>();
  }
  engine::EngineLimits limits;
  limits.streaming = true;
  uint64_t alerts = 0;
  for (auto _ : state) {
    engine::Detector detector(w->schema, limits);
    detector.UsePredicateRuntime(runtime.get());
    for (const auto& p : w->programs) {
      if (!detector.AddRule(p.get()).ok()) state.SkipWithError("rule refused");
    }
    if (!detector.Seal().ok()) state.SkipWithError("index refused");
    auto on_match = [&](size_t, engine::QueryMatch&) { ++alerts; };
    detector.ProcessBatch(w->events, 0, on_match);
    detector.Finish(on_match);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * w->events.size()));
  state.counters["alerts_per_pass"] =
      static_cast<double>(alerts) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_SingleToml)
    ->ArgName("runtime")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->Unit(benchmark::kMillisecond);

BENCHMARK(BM_Native)->ArgName("one_comparison")->Arg(0)->Arg(1);
BENCHMARK(BM_Lua)->ArgName("one_comparison")->Arg(0)->Arg(1);

}  // namespace
}  // namespace kestrel

BENCHMARK_MAIN();
