// AOT Wasm predicates (wasm2c + cc -> shared object): results agree with native evaluation on
// random expressions and on process relations; foreign or missing objects are refused. Skips
// loudly when wasm2c or a C compiler is missing.
#include "kestrel/runtime/wasm/aot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <random>

#include "kestrel/eql/sema.h"
#include "kestrel/runtime/wasm/wasm_codegen.h"

namespace kestrel::runtime {
namespace {

namespace fs = std::filesystem;

class AotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!AotAvailable()) GTEST_SKIP() << "\n*** wasm2c or cc missing: AOT NOT TESTED ***\n";
    dir_ = fs::temp_directory_path() / ("kestrel-aot-test-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Compiles `query` ahead of time and returns its predicates.
  std::unique_ptr<engine::RulePredicates> Build(const eql::IrProgram& program) {
    WasmModuleCode code = GenerateWasm(program);
    std::string so = (dir_ / ("p" + std::to_string(next_++) + ".so")).string();
    absl::Status s = CompileAot(
        std::string_view(reinterpret_cast<const char*>(code.bytes.data()), code.bytes.size()), so);
    EXPECT_TRUE(s.ok()) << s;
    auto p = runtime_.Load(program, so, "aot");
    EXPECT_TRUE(p.ok()) << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }

  fs::path dir_;
  int next_ = 0;
  AotPredicateRuntime runtime_;
};

TEST_F(AotTest, AgreesWithNativeEvaluation) {
  schema::Schema schema;
  std::vector<event::Event> events;
  const char* names[] = {"pwsh.exe", "PWSH.EXE", "cmd.exe", ""};
  for (int i = 0; i < 16; ++i) {
    event::EventBuilder b(schema);
    b.Category(i % 3 ? "process" : "network").Int("process.pid", i * 37 - 100);
    if (i % 5) b.Str("process.name", names[i % 4]);
    if (i % 2) b.Strs("process.args", {"-enc", "AAAA"});
    events.push_back(b.Build());
  }
  const char* queries[] = {
      R"(any where process.name == "pwsh.exe" or process.pid > 100)",
      R"(any where process.name : ("*.EXE", "c?d*") and not process.pid in (-100, 455))",
      R"(any where process.args regex~ "-E.*" or length(process.name) > 7)",
      R"(any where not (process.name != "cmd.exe" and process.pid <= 0.5))",
      R"(any where process.name like~ "P*" and process.args in ("AAAA", "x"))",
  };
  for (const char* q : queries) {
    eql::CompileResult r = eql::Compile(q, schema);
    ASSERT_TRUE(r.ok()) << q;
    auto predicates = Build(*r.program);
    ASSERT_NE(predicates, nullptr);
    base::StringArena scratch;
    for (size_t i = 0; i < events.size(); ++i) {
      eql::EvalContext ctx;
      ctx.event = &events[i];
      ctx.scratch = &scratch;
      ctx.schema = &schema;
      const eql::IrStage& stage = r.program->stages[0];
      EXPECT_EQ(predicates->Holds(stage, ctx), eql::EvalCondition(*stage.predicate, ctx))
          << q << ", event " << i;
      scratch.Reset();
    }
    EXPECT_EQ(predicates->errors(), 0u);
  }
}

TEST_F(AotTest, ForeignAndMissingObjectsAreRefused) {
  auto missing = AotModule::Open((dir_ / "nope.so").string());
  EXPECT_FALSE(missing.ok());
  auto foreign = AotModule::Open("libm.so.6");
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.status().message().find("not a Kestrel AOT predicate object"),
            std::string_view::npos)
      << foreign.status();
}

}  // namespace
}  // namespace kestrel::runtime
