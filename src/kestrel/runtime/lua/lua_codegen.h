// IR -> Lua: the source of one Lua chunk holding the stage predicates of one rule.
//
// The chunk is called with the `kestrel` table of Host API v1 functions (lua_runtime.h), checks
// the API version, and returns a table P: P[i] (1-based) is the predicate of
// LuaChunk::stages[i-1], a function of no arguments returning 1 (true), 0 (false) or -1 (null).
//
// Translation: conditions are three-valued numbers. `and`/`or`/`not` become straight-line code
// with forward `goto`s (short-circuit, no loops, no recursion, no allocation); comparisons of a
// field with a constant (string, wildcard, regex, `in`, numbers) become single Host API calls
// (kestrel_field_match / _compare_i64 / _compare_f64), relations kestrel_lineage. Any other
// construct (arithmetic, functions, array lambdas, truthiness, `events[i]`) is handed back to
// the engine with kestrel_eval_node, so the chunk always computes exactly the engine's answer.
// Subtrees deeper than kMaxDepth are delegated whole (Lua limits nesting and locals).
// Generated code contains no loop or function definition other than the predicates themselves,
// so every call runs a bounded number of instructions.
// Tested by lua_runtime_test.cc and differential_test.cc.
#pragma once

#include <string>
#include <vector>

#include "kestrel/eql/ir.h"

namespace kestrel::runtime {

struct LuaChunk {
  std::string source;
  std::vector<const eql::IrStage*> stages;  // program.stages in order, then `until`
  uint32_t compiled_nodes = 0;              // nodes translated to Lua / Host API calls
  uint32_t delegated_nodes = 0;             // roots of subtrees handed to kestrel_eval_node
};

inline constexpr int kLuaMaxDepth = 40;

LuaChunk GenerateLua(const eql::IrProgram& program);

// One predicate as a Lua expression-function (the text of `function() ... end`), for tests.
std::string GenerateLuaPredicate(const eql::IrNode& root, uint32_t* compiled = nullptr,
                                 uint32_t* delegated = nullptr);

}  // namespace kestrel::runtime
