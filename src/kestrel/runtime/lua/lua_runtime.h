// LuaRuntime: one sandboxed LuaJIT state (one per worker) that loads predicate chunks and calls
// them with Host API v1.
//
// Sandbox: only the base (minus dofile/loadfile/load/loadstring/require/module/getfenv/setfenv/
// collectgarbage/newproxy), string (minus dump), table and math libraries are opened; io, os,
// package, debug, jit and ffi never are, so rules cannot reach files, processes or native code.
// Each chunk gets its own global table. Binary (bytecode) chunks are refused.
// Limits: an instruction-count hook (every kHookInterval instructions) stops a call past
// max_instructions; an allocator that refuses to grow past max_memory makes allocation fail
// with Lua's memory error. The JIT compiler is off: LuaJIT's compiled code does not run hooks,
// so a compiled loop could never be stopped, and a predicate entered from C cannot be traced
// anyway (measured in docs/benchmarks.md).
// Host API: the functions of include/kestrel/host_api_v1.h as the fields of the table `kestrel`
// passed to each chunk (Lua C functions, ~10 ns a call; FFI calls from interpreted code cost
// ~100 ns). kestrel.require_api(v) fails, naming both versions, unless v is this host's version.
// Errors (Lua errors, limits, kestrel.report_error) make Call return kError with a message; the
// state stays usable. Thread safety: one thread at a time. Tested by lua_runtime_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/base/arena.h"
#include "kestrel/event/value.h"
#include "kestrel/host_api_v1.h"

struct lua_State;

namespace kestrel::runtime {

struct LuaLimits {
  uint64_t max_instructions = 1'000'000;  // per call (and per chunk load)
  size_t max_memory = 64 << 20;           // bytes for the whole state
  // The instruction-count hook (max_instructions). Off only for states that run nothing but
  // Kestrel's generated chunks, which have no loop and no recursion (lua_codegen.h): the hook
  // costs ~1 ns per interpreted instruction.
  bool step_hook = true;
};

class LuaRuntime {
 public:
  static constexpr int32_t kError = -2;
  static constexpr int kHookInterval = 1000;

  static absl::StatusOr<std::unique_ptr<LuaRuntime>> Create(const LuaLimits& limits = {});
  ~LuaRuntime();
  LuaRuntime(const LuaRuntime&) = delete;
  LuaRuntime& operator=(const LuaRuntime&) = delete;

  // Runs chunk `source` (called with the `kestrel` table; it must return a table of functions)
  // and returns a handle for each function P[1..n], in order.
  absl::StatusOr<std::vector<int>> Load(std::string_view source, std::string_view name);

  // Calls a loaded function with `ctx` as the Host API context. Returns KESTREL_TRUE, _FALSE or
  // _NULL (any result other than the numbers 1 and 0 is NULL), or kError with *error set.
  int32_t Call(int handle, kestrel_host_ctx* ctx, std::string* error);

  // Function modules (custom functions callable from EQL): the chunk returns
  //   { name = { params = {"string", ...}, returns = "number", fn = function(...) end }, ... }
  // with types string, number, bool or any. Specs come sorted by name.
  struct FunctionSpec {
    std::string name;
    std::vector<std::string> params;
    std::string returns;
    int handle = 0;
  };
  absl::StatusOr<std::vector<FunctionSpec>> LoadFunctions(std::string_view source,
                                                          std::string_view name);

  // Calls a loaded function. Arguments: null -> nil, bool, numbers, strings, arrays -> tables of
  // their scalar elements; other kinds -> nil.
  // Result: nil -> null, boolean, number (integral values that fit int64 -> Int, else Double),
  // string (copied into `arena`); any other type is an error. False with *error on failure.
  bool CallFunction(int handle, std::span<const event::Value> args, base::StringArena* arena,
                    event::Value* result, std::string* error);

  size_t memory_used() const;

  struct State;  // public for the C callbacks in the .cc; opaque to users

 private:
  explicit LuaRuntime(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace kestrel::runtime
