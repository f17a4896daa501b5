// Fuzz target for Wasm predicate module loading (runtime/wasm/wasm_instance.h): reading,
// validation, the import/export/memory/ABI checks and instantiation, then one call of the
// predicate (small fuel) against an empty event when the module is accepted. Any crash,
// sanitizer report or hang is a bug: a bad module must only ever be refused or trap.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kestrel/eql/ir_eval.h"
#include "kestrel/event/event.h"
#include "kestrel/runtime/host_api.h"
#include "kestrel/runtime/wasm/wasm_instance.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string error;
  kestrel::runtime::WasmLimits limits;
  limits.fuel = 10'000;
  limits.max_memory_pages = 4;
  auto instance = kestrel::runtime::WasmInstance::Create(data, size, limits, &error);
  if (instance == nullptr) return 0;
  kestrel::event::Event event;
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
