// Fuzz target for Wasm predicate module loading (runtime/wasm/wasm_instance.h): reading,
// validation, the import/export/memory/ABI checks and instantiation, then one call of the
// predicate (small fuel) against an empty event when the module is accepted; and the same bytes
// as a custom-function module (wasm_functions.h) with a string and a number function called
// with a few values. Any crash,
// sanitizer report or hang is a bug: a bad module must only ever be refused or trap.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kestrel/eql/ir_eval.h"
#include "kestrel/event/event.h"
#include "kestrel/runtime/host_api.h"
#include "kestrel/runtime/wasm/wasm_functions.h"
#include "kestrel/runtime/wasm/wasm_instance.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string error;
  kestrel::runtime::WasmLimits limits;
  limits.fuel = 10'000;
  limits.max_memory_pages = 4;
  kestrel::event::Event event;
  event.Finish();
  {
    // As a function module: f(string, number) -> string.
    kestrel::eql::CustomFunction f;
    f.name = "f";
    f.params = {kestrel::eql::IrType::kString, kestrel::eql::IrType::kNumber};
    f.result = kestrel::eql::IrType::kString;
    auto functions = kestrel::runtime::WasmFunctions::Load(
        std::string_view(reinterpret_cast<const char*>(data), size), "fuzz", {f}, limits,
        [](std::string_view) {});
    if (functions.ok()) {
      kestrel::eql::EvalContext eval;
      eval.event = &event;
      kestrel::base::StringArena arena;
      eval.scratch = &arena;
      kestrel::eql::IrNode node;
      node.custom = 0;
      kestrel::event::Value args[2] = {kestrel::event::Value::String("/tmp/x"),
                                       kestrel::event::Value::Int(3)};
      for (int i = 0; i < 2; ++i) (void)(*functions)->Call(node, args, eval);
    }
  }
  auto instance = kestrel::runtime::WasmInstance::Create(data, size, limits, &error);
  if (instance == nullptr) return 0;
  event.Finish();
  kestrel::eql::EvalContext eval;
  eval.event = &event;
  kestrel::runtime::RegexCache regexes;
  kestrel_host_ctx ctx;
  ctx.eval = &eval;
  ctx.regexes = &regexes;
  for (int32_t stage : {0, 1, -1}) (void)instance->Call(stage, &ctx, &error);
  return 0;
}
