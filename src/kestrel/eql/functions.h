// The value semantics of EQL: comparisons, arithmetic, wildcard matching and the built-in
// functions, over event::Value with three-valued (null-aware) results.
//
// One implementation serves both the constant folder (semantic analysis evaluates calls whose
// arguments are literals) and the engine's evaluator, so a rule behaves the same folded or not.
//
// Conventions (Elasticsearch EQL and the Endgame reference agree unless noted):
// - A null argument makes most functions and every ordering comparison null; `==`/`!=` treat
//   null as a value (`null == null` is true, `x == null` is false for a non-null x).
// - Multi-valued fields (array Values) match if any element matches (`process.args == "-c"`);
//   `!=` is the negation of that.
// - Integer arithmetic is 64-bit; division truncates toward zero; overflow or a zero divisor
//   gives null. Mixed integer/double arithmetic is done in double.
// - Case-insensitive forms fold ASCII letters only.
// - Strings a function creates are allocated in the caller's StringArena.
// Tested by functions_test.cc and the conformance folding tests.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "kestrel/base/arena.h"
#include "kestrel/event/value.h"

namespace re2 {
class RE2;
}

namespace kestrel::eql {

using event::Value;

// Regular expressions (`regex`, `regex~`, match(), the Host API's regex operator) run on RE2, a
// linear-time engine: matching costs O(text length x program size), never backtracks. The
// program size (RE2's instruction count, which counted repetitions such as `(.*){1,1000}`
// multiply) is capped, so that cost has a fixed bound per byte: a larger pattern is refused at
// load (sema) and never matches at run time (a pattern built from data). Real rules' patterns
// are a few hundred instructions, the largest of Elastic's detection-rules 2,553
// (`[a-z0-9_\-\.]{1,254}`, defense_evasion_hidden_file_dir_tmp): the cap is about twice that.
inline constexpr int kMaxRegexProgramSize = 5000;
// RE2's memory budget per pattern (compiled program and DFA cache; RE2 falls back to its
// slower NFA rather than growing past it).
inline constexpr int64_t kRegexMaxMemory = int64_t{8} << 20;

// Compiles `pattern` with EQL's options (case-insensitive when `ci`; `.` stops at a line break).
// Returns nullptr with the reason in *error when the pattern is invalid or its program is larger
// than kMaxRegexProgramSize.
std::unique_ptr<re2::RE2> CompileRegex(std::string_view pattern, bool ci, std::string* error);

enum class Builtin : uint8_t {
  kAdd,
  kArrayContains,
  kArrayCount,   // arrayCount(array, var, condition): needs the evaluator (not folded here)
  kArraySearch,  // arraySearch(array, var, condition): likewise
  kBetween,
  kCidrMatch,
  kConcat,
  kDivide,
  kEndsWith,
  kIndexOf,
  kLength,
  kMatch,
  kMatchLite,
  kModulo,
  kMultiply,
  kNumber,
  kSafe,
  kStartsWith,
  kString,
  kStringContains,
  kSubstring,
  kSubtract,
  kWildcard,
};

struct BuiltinInfo {
  Builtin id;
  std::string_view name;  // canonical spelling, e.g. "startsWith"
  uint8_t min_args;
  uint8_t max_args;      // kVariadic: no limit
  bool string_matching;  // takes a `~` case-insensitive form / honours case mode
  bool endgame_only;     // not in Elasticsearch's registry: unknown in that dialect (sema)
};
inline constexpr uint8_t kVariadic = 255;

// The function named `name` (ASCII case-insensitive, as Elasticsearch accepts), or nullopt.
const BuiltinInfo* FindBuiltin(std::string_view name);
const BuiltinInfo& GetBuiltinInfo(Builtin id);

// Applies a built-in to already evaluated arguments. REQUIRES: the arity was checked, and `id`
// is not kArrayCount/kArraySearch/kSafe (they take unevaluated expressions). Returns null for
// null inputs and for runtime errors (bad number, out-of-range index).
Value CallBuiltin(Builtin id, std::span<const Value> args, bool case_insensitive,
                  base::StringArena* arena);

enum class CompareOp : uint8_t { kEq, kNe, kLt, kLe, kGt, kGe };
enum class ArithOp : uint8_t { kAdd, kSub, kMul, kDiv, kMod };

// `a op b`: Bool, or Null for orderings involving null or values of unrelated kinds.
// Strings compare by bytes (ASCII case-folded when case_insensitive); numbers numerically
// across int/uint/double; an IP compares with a string that parses as an IP.
Value Compare(CompareOp op, const Value& a, const Value& b, bool case_insensitive);

// `a op b` for numbers; Null otherwise, on overflow or on division by zero.
Value Arith(ArithOp op, const Value& a, const Value& b);

// Glob match of the whole text: `*` any run, `?` one byte when `question_mark` is set (`:` and
// `like` in Elasticsearch; the Endgame dialect's `==` and wildcard() only know `*`).
// Linear space, O(|text| * |pattern|) worst case, no recursion.
bool WildcardMatch(std::string_view text, std::string_view pattern, bool case_insensitive,
                   bool question_mark);
// WildcardMatch(text, pattern, true, question_mark) for a text already ASCII-lowercased with
// FoldAscii: a case-insensitive match against many patterns folds the text once, not once per
// pattern (only the short pattern is folded here, into a reused buffer).
bool WildcardMatchFolded(std::string_view folded_text, std::string_view pattern,
                         bool question_mark);
// `s` ASCII-lowercased into `buf` (reused: no allocation once it has grown); returns it.
std::string_view FoldAscii(std::string_view s, std::string* buf);
// The general algorithm (one backtrack point), used for patterns with `?`; WildcardMatch takes a
// faster segment-search path for `*`-only patterns. Exposed for the differential test.
bool WildcardMatchBacktracking(std::string_view text, std::string_view pattern,
                               bool case_insensitive, bool question_mark);

// True for a value that counts as true in a condition (Bool true; everything else is false).
inline bool IsTrue(const Value& v) { return v.kind() == event::ValueKind::kBool && v.as_bool(); }

// Text of a scalar as `string()` renders it (numbers shortest round-trip, true/false); false for
// null, arrays and raw JSON.
bool ToText(const Value& v, base::StringArena* arena, std::string_view* out);

}  // namespace kestrel::eql
