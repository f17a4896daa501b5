// WasmFunctions: custom functions callable from EQL, implemented by a Wasm module's exports
// `kestrel_fn_<name>` (function_module.h declares their signatures), on WasmInstance.
//
// ABI (docs/host-api.md, "Custom functions in Wasm"): a `number` is an f64, a `bool` an i32 (0 or
// 1), a `string` two i32s (offset, length) in the module's memory. The host copies every string
// argument of a call into the buffer the module's export `kestrel_scratch(size: i32) -> i32`
// returns (required when a function takes strings; -1 or an out-of-range buffer fails the
// call). Results: `bool` an i32 (1 true, 0 false, anything else null), `number` an f64 (NaN is
// null), `string` an i64 (offset << 32 | length; negative is null) whose bytes the host copies.
// A null argument makes the result null without a call. The module may import the Host API and
// read the current event. A trap, fuel exhaustion or a reported error is null for that event,
// counted and logged at powers of two.
// Thread safety: one per worker thread. Tested by function_module_test.cc.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/engine/predicate_runtime.h"
#include "kestrel/eql/sema.h"
#include "kestrel/runtime/host_api.h"
#include "kestrel/runtime/predicate_errors.h"
#include "kestrel/runtime/wasm/wasm_instance.h"

namespace kestrel::runtime {

class WasmFunctions : public engine::FunctionRuntime {
 public:
  static constexpr size_t kMaxArgs = 16;

  // `signatures` are the module's declared functions (index i is IrNode::custom == i).
  static absl::StatusOr<std::unique_ptr<WasmFunctions>> Load(
      std::string_view bytes, std::string_view name,
      const std::vector<eql::CustomFunction>& signatures, const WasmLimits& limits = {},
      ErrorLogger logger = nullptr);

  event::Value Call(const eql::IrNode& node, std::span<const event::Value> args,
                    const eql::EvalContext& ctx) override;
  uint64_t errors() const override { return errors_.count(); }

 private:
  struct Function {
    eql::CustomFunction signature;
    int handle = -1;
  };

  WasmFunctions(std::unique_ptr<WasmInstance> instance, std::string name, ErrorLogger logger)
      : instance_(std::move(instance)),
        logger_(std::move(logger)),
        errors_(std::move(name), &logger_, "of module") {
    host_.regexes = &regexes_;
  }

  std::unique_ptr<WasmInstance> instance_;
  ErrorLogger logger_;
  ErrorCounter errors_;
  RegexCache regexes_;
  kestrel_host_ctx host_;
  std::vector<Function> functions_;
  int scratch_ = -1;                  // kestrel_scratch, when some function takes a string
  base::StringArena fallback_arena_;  // for string results when the context has no scratch
  std::string error_;
};

}  // namespace kestrel::runtime
