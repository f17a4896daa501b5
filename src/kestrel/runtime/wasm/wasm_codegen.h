// IR -> Wasm: a binary module (written directly in the WebAssembly 1.0 binary format) holding
// the stage predicates of one rule.
//
// Module ABI (Host API v1, docs/host-api.md):
//   imports  module "kestrel": field_kind, field_match, field_compare_i64, field_compare_f64,
//            lineage, eval_node (the C functions without prefix and context; strings are
//            (offset, length) in the module's memory)
//   exports  "kestrel_api_version" () -> i32     the Host API version the module was built for
//            "kestrel_predicate_v1" (i32) -> i32  predicate of stage i (0-based, program.stages
//                                                 then `until`): 1 true, 0 false, -1 null
//            "memory"                             string constants, data segment at offset 16
// Translation mirrors lua_codegen.h: three-valued i32s, short-circuit and/or with blocks and
// `br`, field-vs-constant comparisons as single Host API calls, the rest handed back to the
// engine with eval_node, so results are the engine's. No loops, no recursion: a call runs a
// number of instructions bounded by the module size. Subtrees deeper than kWasmMaxDepth are
// delegated whole. Tested by wasm_runtime_test.cc and differential_test.cc.
#pragma once

#include <cstdint>
#include <vector>

#include "kestrel/eql/ir.h"

namespace kestrel::runtime {

struct WasmModuleCode {
  std::vector<uint8_t> bytes;
  std::vector<const eql::IrStage*> stages;  // program.stages in order, then `until`
  uint32_t compiled_nodes = 0;
  uint32_t delegated_nodes = 0;
};

inline constexpr int kWasmMaxDepth = 40;

WasmModuleCode GenerateWasm(const eql::IrProgram& program);

}  // namespace kestrel::runtime
