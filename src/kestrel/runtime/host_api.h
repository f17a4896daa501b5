// The engine side of Host API v1 (include/kestrel/host_api_v1.h): what a kestrel_host_ctx is.
//
// A runtime fills one HostContext per worker and points it, before each predicate call, at the
// engine's EvalContext (the current event, lineage resolver) and at the IR nodes of the
// predicate being called (for kestrel_eval_node / kestrel_lineage). The C functions of the
// header read through it; they never allocate, except that the first use of a regular
// expression by kestrel_string_match / kestrel_field_match compiles and caches it (bounded,
// see RegexCache).
// Thread safety: one context per worker thread. Tested by host_api_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "kestrel/eql/ir.h"
#include "kestrel/eql/ir_eval.h"
#include "kestrel/host_api_v1.h"

namespace re2 {
class RE2;
}

namespace kestrel::runtime {

// Compiled regular expressions by (pattern, case mode), with the options semantic analysis uses.
// Bounded: past kMaxEntries the cache is cleared (counted) and refilled.
class RegexCache {
 public:
  static constexpr size_t kMaxEntries = 4096;
  RegexCache();
  ~RegexCache();
  // nullptr for an invalid pattern or one over eql::kMaxRegexProgramSize (eql/functions.h).
  const re2::RE2* Get(std::string_view pattern, bool case_insensitive);
  uint64_t clears() const { return clears_; }

 private:
  // By pattern; [0] case-sensitive, [1] case-insensitive.
  absl::flat_hash_map<std::string, std::unique_ptr<re2::RE2>> cache_[2];
  uint64_t clears_ = 0;
};

// Receives errors reported through kestrel_report_error (and by runtimes for traps/limits).
struct ErrorReport {
  int32_t code = 0;
  std::string message;
};

}  // namespace kestrel::runtime

// Defined in the global namespace: the C header declares it there.
struct kestrel_host_ctx {
  const kestrel::eql::EvalContext* eval =
      nullptr;  // the event being evaluated (never null in a call)
  std::span<const kestrel::eql::IrNode* const> nodes;  // the predicate's nodes in pre-order
  kestrel::runtime::RegexCache* regexes = nullptr;     // required for REGEX operators
  // FieldIds in the predicate that are >= field_base are translated through field_map (a rule
  // package's dynamic field ids -> this schema's); others are used as they are.
  uint32_t field_base = UINT32_MAX;
  std::span<const uint32_t> field_map;
  // Set by kestrel_report_error; the runtime reads and clears it after each call.
  bool error = false;
  kestrel::runtime::ErrorReport last_error;
};

namespace kestrel::runtime {

// How a predicate's FieldIds map to this schema's (kestrel_host_ctx::field_base/field_map).
struct FieldMap {
  uint32_t base = UINT32_MAX;
  std::vector<uint32_t> map;
};

// The nodes of `root` in pre-order (root first, children left to right), as the code
// generators number them for kestrel_eval_node / kestrel_lineage. Iterative (no recursion).
std::vector<const eql::IrNode*> NumberNodes(const eql::IrNode& root);

}  // namespace kestrel::runtime
