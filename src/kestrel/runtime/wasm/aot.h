// Ahead-of-time Wasm predicates: a generated predicate module (wasm_codegen.h) translated to C by
// wabt's wasm2c and compiled by the system C compiler into a shared object, which the runtime
// loads (dlopen) instead of interpreting the module.
//
// The shared object is self-contained: the wasm2c output, plus a small C shim (embedded in
// aot.cc) that implements the few wasm-rt functions the output needs (memory from calloc, traps
// by longjmp to the call, call-depth counting) and the `kestrel` imports as calls through a
// table of Host API function pointers that the runtime passes in. Memory accesses are
// bounds-checked in the generated code (WASM_RT_MEMCHECK_SIGNAL_HANDLER=0): no guard pages and
// no SIGSEGV handler (wabt's wasm_rt_init() would install one process-wide), and the shim checks
// every (offset, length) string it passes to the host. Symbols are hidden except the four
// kestrel_aot_v1_* entry points, and objects are opened RTLD_LOCAL, so many can be loaded.
// There is no fuel: only Kestrel's own generated modules (no loops, no recursion) are compiled
// ahead of time, never user-written ones; the package's SHA-256 covers the shared object.
// Tested by aot_test.cc (when wasm2c and a C compiler are installed).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/runtime/host_api.h"
#include "kestrel/runtime/host_predicates.h"
#include "kestrel/runtime/predicate_errors.h"

namespace kestrel::runtime {

#ifndef KESTREL_AOT_CC
#define KESTREL_AOT_CC "cc"
#endif

struct AotToolchain {
  std::string wasm2c = "wasm2c";  // from PATH
  // From PATH; a compiler for the architecture Kestrel was built for (CMake's KESTREL_AOT_CC).
  std::string cc = KESTREL_AOT_CC;
};

// Whether wasm2c and the C compiler can be run.
bool AotAvailable(const AotToolchain& toolchain = {});

// Translates `module` (a module written by GenerateWasm) into the shared object `so_path`.
absl::Status CompileAot(std::string_view module, const std::string& so_path,
                        const AotToolchain& toolchain = {});

// One loaded shared object with one instance of its module.
class AotModule {
 public:
  static constexpr int32_t kError = -2;
  static absl::StatusOr<std::unique_ptr<AotModule>> Open(const std::string& so_path);
  ~AotModule();
  AotModule(const AotModule&) = delete;
  AotModule& operator=(const AotModule&) = delete;

  // kestrel_predicate_v1(stage): KESTREL_TRUE/_FALSE/_NULL, or kError (a trap) with *error set.
  int32_t Call(int32_t stage, kestrel_host_ctx* ctx, std::string* error);

  struct Impl;

 private:
  explicit AotModule(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// engine::PredicateRuntime over AOT shared objects from a rule package (Load only: compiling
// at run time would need the toolchain on every endpoint). Traps are false for the event and
// counted per rule, as in the other runtimes (HostRulePredicates, host_predicates.h).
class AotPredicateRuntime : public engine::PredicateRuntime {
 public:
  explicit AotPredicateRuntime(ErrorLogger logger = nullptr) : host_(std::move(logger)) {}
  absl::StatusOr<std::unique_ptr<engine::RulePredicates>> Compile(
      const eql::IrProgram& program) override;
  absl::StatusOr<std::unique_ptr<engine::RulePredicates>> Load(const eql::IrProgram& program,
                                                               const std::string& so_path,
                                                               std::string_view name,
                                                               FieldMap fields = {});

 private:
  PredicateHost host_;
};

}  // namespace kestrel::runtime
