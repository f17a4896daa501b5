// WasmInstance: one instantiated predicate module on wabt's interpreter, bound to Host API v1.
// This header is wabt-free and compiles as C++17 and C++20; wabt lives only in
// wasm_instance.cc, which is built as C++17 (wabt 1.0.32's interp headers do not compile as
// C++20 under GCC 12).
//
// Create() reads and validates the module, refuses any import other than the Host API
// functions of module `kestrel` (with their exact types; see docs/host-api.md), a memory
// without a maximum or larger than max_memory_pages, and a module without the exports
// `kestrel_api_version` () -> i32 (which must return KESTREL_HOST_API_VERSION; a mismatch is
// refused naming both versions) and `kestrel_predicate_v1` (i32) -> i32; then instantiates it.
// Call() runs the predicate of one stage under a fuel limit (instructions, counted in slices of
// kFuelSlice), with wabt's bounded value and call stacks; a trap (out-of-bounds memory,
// unreachable, stack exhaustion, a host function's bounds check), fuel exhaustion or an error
// the predicate reports returns kError with a message, and the instance stays usable. A call
// does not allocate unless it fails.
//
// A function module (WasmModuleKind::kFunctions: custom functions callable from EQL, see
// wasm_functions.h) needs `kestrel_api_version` but not `kestrel_predicate_v1`; FindExport() and
// CallExport() reach its exports by name and wasm type, under the same fuel limit, and Memory()
// gives the host a bounds-checked window into the module's memory to pass strings.
// Thread safety: one thread at a time (one instance per rule per worker). Tested by
// wasm_runtime_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kestrel/host_api_v1.h"

namespace kestrel::runtime {

struct WasmLimits {
  uint64_t fuel = 1'000'000;       // instructions per call
  uint32_t max_memory_pages = 16;  // 64 KiB each
};

enum class WasmModuleKind : uint8_t { kPredicate, kFunctions };

// One wasm scalar (i32, i64 or f64, by the export's declared type).
union WasmScalar {
  int32_t i32;
  int64_t i64;
  double f64;
};

class WasmInstance {
 public:
  static constexpr int32_t kError = -2;
  static constexpr int kFuelSlice = 256;

  // nullptr with *error set when the module is refused.
  static std::unique_ptr<WasmInstance> Create(const uint8_t* bytes, size_t size,
                                              const WasmLimits& limits, std::string* error,
                                              WasmModuleKind kind = WasmModuleKind::kPredicate);
  ~WasmInstance();
  WasmInstance(const WasmInstance&) = delete;
  WasmInstance& operator=(const WasmInstance&) = delete;

  // kestrel_predicate_v1(stage) with `ctx` as the Host API context: KESTREL_TRUE, _FALSE or
  // _NULL (any other return value), or kError with *error set.
  int32_t Call(int32_t stage, kestrel_host_ctx* ctx, std::string* error);

  // The exported function `name` with exactly the wasm types `params` and `results`, one letter
  // each: 'i' i32, 'l' i64, 'd' f64 (e.g. "iid" -> "i"). A handle >= 0, or -1 with *error set.
  int FindExport(const std::string& name, const std::string& params, const std::string& results,
                 std::string* error);
  // Calls export `handle` with `args` (as many as its params) and stores its result (when it has
  // one) in *result. false with *error set on a trap, fuel exhaustion or a reported error.
  bool CallExport(int handle, const WasmScalar* args, WasmScalar* result, kestrel_host_ctx* ctx,
                  std::string* error);
  // The module's memory [offset, offset + size), or nullptr when outside it (or no memory).
  char* Memory(uint32_t offset, uint32_t size);

  struct Impl;

 private:
  explicit WasmInstance(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kestrel::runtime
