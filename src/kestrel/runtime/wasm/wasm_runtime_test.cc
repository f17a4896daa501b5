// The Wasm runtime on wabt's interpreter: hostile and malformed modules are refused at load or
// contained at call time (fuel, stack, memory bounds, traps), ABI and import checks, and the
// generated modules' shape.
#include <gtest/gtest.h>

#include <string_view>

#include "kestrel/eql/sema.h"
#include "kestrel/runtime/host_api.h"
#include "kestrel/runtime/wasm/wasm_codegen.h"
#include "kestrel/runtime/wasm/wasm_instance.h"

namespace kestrel::runtime {
namespace {

#include "kestrel/runtime/wasm/testdata/test_modules.inc"

std::unique_ptr<WasmInstance> Load(std::string_view bytes, std::string* error,
                                   WasmLimits limits = {}) {
  return WasmInstance::Create(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), limits,
                              error);
}

// Loads a module that must load, and calls stage 0 with an empty context.
int32_t CallOnce(std::string_view bytes, std::string* error, WasmLimits limits = {}) {
  auto instance = Load(bytes, error, limits);
  EXPECT_NE(instance, nullptr) << *error;
  if (instance == nullptr) return -100;
  kestrel_host_ctx ctx;
  return instance->Call(0, &ctx, error);
}

TEST(WasmRuntimeTest, InfiniteLoopRunsOutOfFuel) {
  std::string error;
  auto instance = Load(kLoopWasm, &error, {.fuel = 100'000});
  ASSERT_NE(instance, nullptr) << error;
  kestrel_host_ctx ctx;
  EXPECT_EQ(instance->Call(0, &ctx, &error), WasmInstance::kError);
  EXPECT_NE(error.find("fuel exhausted"), std::string::npos) << error;
  // The instance is usable again (and stops again).
  EXPECT_EQ(instance->Call(0, &ctx, &error), WasmInstance::kError);
}

TEST(WasmRuntimeTest, LoadingRunsNoUnboundedCode) {
  std::string error;
  // kestrel_api_version is the module's code too: it runs under the fuel limit (found by the
  // wasm_module fuzzer: it used to hang the load).
  EXPECT_EQ(Load(kVersionloopWasm, &error, {.fuel = 100'000}), nullptr);
  EXPECT_NE(error.find("fuel exhausted"), std::string::npos) << error;
  // A start function would run at instantiation: refused.
  EXPECT_EQ(Load(kStartWasm, &error), nullptr);
  EXPECT_EQ(error, "a start function is not allowed");
}

TEST(WasmRuntimeTest, DeepRecursionTraps) {
  std::string error;
  EXPECT_EQ(CallOnce(kRecurseWasm, &error, {.fuel = 100'000'000}), WasmInstance::kError);
  EXPECT_NE(error.find("trap"), std::string::npos) << error;
}

TEST(WasmRuntimeTest, OutOfBoundsMemoryTraps) {
  std::string error;
  EXPECT_EQ(CallOnce(kOobWasm, &error), WasmInstance::kError);
  EXPECT_NE(error.find("out of bounds"), std::string::npos) << error;
  EXPECT_EQ(CallOnce(kUnreachableWasm, &error), WasmInstance::kError);
  EXPECT_NE(error.find("unreachable"), std::string::npos) << error;
}

TEST(WasmRuntimeTest, HostFunctionsCheckModuleMemoryBounds) {
  std::string error;
  EXPECT_EQ(CallOnce(kHostoobWasm, &error), WasmInstance::kError);
  EXPECT_NE(error.find("field_match: out of bounds"), std::string::npos) << error;
}

TEST(WasmRuntimeTest, MemoryIsCapped) {
  std::string error;
  // memory.grow past the declared maximum fails (returns -1): the predicate sees it.
  EXPECT_EQ(CallOnce(kGrowWasm, &error), KESTREL_TRUE) << error;
  // A memory without a maximum, or with one above the limit, is refused at load.
  EXPECT_EQ(Load(kNomaxWasm, &error), nullptr);
  EXPECT_NE(error.find("maximum"), std::string::npos) << error;
  EXPECT_EQ(Load(kGrowWasm, &error, {.max_memory_pages = 2}), nullptr);
}

TEST(WasmRuntimeTest, WrongAbiVersionIsRefusedNamingBoth) {
  std::string error;
  EXPECT_EQ(Load(kV2Wasm, &error), nullptr);
  EXPECT_EQ(error, "Host API version mismatch: module needs 2, host implements 1");
}

TEST(WasmRuntimeTest, MissingExportsAndForeignImportsAreRefused) {
  std::string error;
  EXPECT_EQ(Load(kNoexportWasm, &error), nullptr);
  EXPECT_NE(error.find("kestrel_predicate_v1"), std::string::npos) << error;
  EXPECT_EQ(Load(kBadimportWasm, &error), nullptr);
  EXPECT_NE(error.find("env.system is not a Host API v1 function"), std::string::npos) << error;
  EXPECT_EQ(Load(kBadtypeWasm, &error), nullptr);
  EXPECT_NE(error.find("kestrel.field_kind has type (i32) -> (i32)"), std::string::npos) << error;
}

TEST(WasmRuntimeTest, MalformedBytesAreRefused) {
  std::string error;
  EXPECT_EQ(Load("", &error), nullptr);
  EXPECT_EQ(Load("not wasm at all", &error), nullptr);
  EXPECT_NE(error.find("invalid module"), std::string::npos) << error;
  // Every truncation of a valid module is refused (never a crash), except a cut at a section
  // boundary, which leaves a valid module (here: without its data section).
  int loaded = 0;
  for (size_t n = 0; n < kUserWasm.size(); ++n) {
    auto instance = Load(kUserWasm.substr(0, n), &error);
    if (instance == nullptr) continue;
    ++loaded;
    kestrel_host_ctx ctx;
    EXPECT_NE(instance->Call(0, &ctx, &error), KESTREL_TRUE) << n;
  }
  EXPECT_EQ(loaded, 1);
}

TEST(WasmRuntimeTest, ReportedErrorsFailTheCall) {
  std::string error;
  EXPECT_EQ(CallOnce(kReportWasm, &error), WasmInstance::kError);
  EXPECT_EQ(error, "reported error: bad event");
}

TEST(WasmRuntimeTest, UserModulesReadFieldsThroughTheHostApi) {
  // user.wat: field_string(field = the stage argument) into memory, then a case-insensitive
  // CONTAINS of "cmd".
  schema::Schema schema;
  event::Event e = event::EventBuilder(schema).Str("process.name", "C:\\CMD.EXE").Build();
  eql::EvalContext eval;
  eval.event = &e;
  RegexCache regexes;
  kestrel_host_ctx ctx;
  ctx.eval = &eval;
  ctx.regexes = &regexes;
  std::string error;
  auto instance = Load(kUserWasm, &error);
  ASSERT_NE(instance, nullptr) << error;
  int32_t name = static_cast<int32_t>(schema.Find("process.name")->value);
  EXPECT_EQ(instance->Call(name, &ctx, &error), KESTREL_TRUE) << error;
  EXPECT_EQ(instance->Call(name + 1000, &ctx, &error), KESTREL_NULL) << error;  // no such field
}

TEST(WasmCodegenTest, GeneratedModulesLoadAndDelegateOnlyWhatTheyCannotTranslate) {
  schema::Schema schema;
  eql::CompileResult r = eql::Compile(
      R"(sequence [process where process.name : ("cmd*", "pwsh*") and not process.pid in (1, 2)])"
      R"( [network where length(process.name) > 3] until [process where process.name == "x"])",
      schema);
  ASSERT_TRUE(r.ok());
  WasmModuleCode code = GenerateWasm(*r.program);
  EXPECT_EQ(code.stages.size(), 3u);
  EXPECT_EQ(code.delegated_nodes, 1u);
  std::string error;
  auto instance = WasmInstance::Create(code.bytes.data(), code.bytes.size(), {}, &error);
  ASSERT_NE(instance, nullptr) << error;
  kestrel_host_ctx ctx;
  EXPECT_EQ(instance->Call(7, &ctx, &error), KESTREL_NULL);  // no such stage
}

}  // namespace
}  // namespace kestrel::runtime
