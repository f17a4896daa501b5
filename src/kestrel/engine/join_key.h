// JoinKey: a sequence's (or sample's, join's) `by` key for one event, built once per event per
// distinct `by` list for all the rules of a Detector, and looked up by its hash.
//
// The key's text is each `by` value's JSON text followed by a 0x1f separator (JSON text never
// holds a raw 0x1f, so the text is an injective form of the values): two keys are the same key
// exactly when their texts are equal, the equality the engine has always used. The 64-bit hash
// (XXH3 of the text) is computed once; maps keyed by it (StateStore) still compare the texts, so a
// hash collision never merges two keys' state.
//
// JoinKeyCache keeps, for the event being processed, the keys of `by` lists made only of plain
// fields (`sequence by process.entity_id`, whatever the rule): the first engine that needs a
// list's key builds it, the others reuse it. Lists with other expressions (functions, array
// elements) are built for each use. No allocation per event once the buffers have grown.
// Thread safety: none; one cache per Detector (in CurrentEvidence) or per engine.
// Tested by state_store_test.cc (collisions) and query_engine_test.cc.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "kestrel/eql/ir.h"
#include "kestrel/eql/ir_eval.h"

namespace kestrel::engine {

struct JoinKey {
  std::string_view text;
  uint64_t hash = 0;

  // The key of `text` (hashing it).
  static JoinKey Of(std::string_view text);
  friend bool operator==(const JoinKey& a, const JoinKey& b) {
    return a.hash == b.hash && a.text == b.text;
  }
};

// Hash and equality functors for maps keyed by JoinKey (views of storage the map's user owns).
struct JoinKeyHash {
  size_t operator()(const JoinKey& k) const { return static_cast<size_t>(k.hash); }
};
struct JoinKeyEq {
  bool operator()(const JoinKey& a, const JoinKey& b) const { return a == b; }
};

// Appends the key text of `by` evaluated in `ctx` to `*out`.
void AppendJoinKeyText(std::string* out, const std::vector<eql::IrNodePtr>& by,
                       eql::EvalContext& ctx);

class JoinKeyCache {
 public:
  // The key of `by` for `ctx.event`: from the cache when the same list of plain fields was asked
  // for since Reset(). The text stays valid until the next Get() or Reset().
  JoinKey Get(const std::vector<eql::IrNodePtr>& by, eql::EvalContext& ctx);
  // A new event: forgets the keys (keeps the buffers).
  void Reset() { used_ = 0; }

  // Lists of up to this many plain fields are shared; up to kEntries of them per event.
  static constexpr size_t kMaxFields = 4;
  static constexpr size_t kEntries = 8;

 private:
  struct Entry {
    std::array<uint32_t, kMaxFields> fields{};
    size_t n = 0;
    std::string text;
    uint64_t hash = 0;
  };
  std::array<Entry, kEntries> entries_;
  size_t used_ = 0;
  std::string scratch_;  // keys of lists that are not shared
};

}  // namespace kestrel::engine
