// Endgame EQL macros: a table of `macro NAME(p1, p2) expr` definitions and their expansion.
//
// Expansion replaces every call `NAME(a1, a2)` of a defined macro by a copy of the macro body
// in which each bare field reference `p1` naming a parameter is replaced by a copy of the
// argument. Expanded bodies are expanded again, so macros may use macros; a macro that expands
// into itself stops at `max_depth` nested expansions with an error, and every expanded tree's
// height is checked against the same limit; because expansion can also grow exponentially in
// width (macro F(a) F(a + a)), one Expand() copies at most 2^20 nodes before failing. Calls with
// the wrong number of arguments are errors naming the call's position. Cost: linear in the size of
// the expanded tree.
//
// Not thread-safe for concurrent Define(); Expand() is const and may run concurrently.
//
// Tested by macro_test.cc.
#pragma once

#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "kestrel/base/string_map.h"
#include "kestrel/eql/ast.h"

namespace kestrel::eql {

class MacroTable {
 public:
  // Adds `macro`. Fails with AlreadyExists if a macro of that name is defined.
  [[nodiscard]] absl::Status Define(MacroDefinition macro);
  // Adds all of `macros` (stops at the first failure).
  [[nodiscard]] absl::Status DefineAll(std::vector<MacroDefinition> macros);

  // The macro named `name`, or nullptr. The pointer is valid until the next Define().
  const MacroDefinition* Find(std::string_view name) const;
  size_t size() const { return macros_.size(); }

  // Expands macro calls throughout `query` (conditions, `by` keys, pipe arguments).
  // On error `query` may be partly expanded.
  [[nodiscard]] absl::Status Expand(Query* query, int max_depth = 200) const;
  // Expands macro calls in one expression tree.
  [[nodiscard]] absl::Status ExpandExpr(ExprPtr* expr, int max_depth = 200) const;

 private:
  base::StringMap<MacroDefinition> macros_;
};

}  // namespace kestrel::eql
