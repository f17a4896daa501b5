// Positions in rule file text: a line index (byte offset <-> line:column) and the aligner that
// builds a RuleSpec's query map from a decoded string value and the raw text it was decoded from.
//
// Alignment: a string in a file (a TOML ''' literal, a YAML block scalar, a JSON string with
// escapes) decodes to a value whose bytes are the raw text's bytes minus indentation, folded line
// breaks, delimiters and escape sequences. The aligner walks the raw text from the first content
// byte, splitting it into runs (maximal stretches without whitespace or, for escaping syntaxes, a
// backslash) and matches each run, in order, against the value: a run matches at the offset p in
// [cursor, cursor + skipped] (skipped = raw bytes passed over since the last match, which bounds
// what they can decode to) with the longest common prefix. A matched run whose position is not
// already what PositionOf() would extrapolate from the previous anchor adds an anchor. Unmatched
// runs (closing delimiters, escape digits, comments) are passed over. It is exact for values
// without escape sequences and exact after each escape; it is a heuristic only in that a value
// which is not a decoding of the raw text gets fewer anchors (positions degrade, never crash).
// Cost: O(raw length x min(skipped, kMaxWindow)) byte comparisons, in practice linear.
//
// Tested by rule_file_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "kestrel/rules/rule_spec.h"

namespace kestrel::rules {

// Line starts of a text. Borrows `text`, which must outlive the index.
class LineIndex {
 public:
  explicit LineIndex(std::string_view text);

  std::string_view text() const { return text_; }
  // 1-based line and byte column of a byte offset (clamped to the text's end).
  SourcePosition PositionAt(size_t offset) const;
  // Byte offset of a 1-based line and byte column (clamped to the line's end / the text's end).
  size_t OffsetOf(SourcePosition position) const;
  // Byte offset of a 1-based line and a 1-based column counting UTF-8 code points (toml++).
  size_t OffsetOfCodePointColumn(uint32_t line, uint32_t column) const;
  // Byte offset of the start of the line after the one holding `offset` (text size at the end).
  size_t NextLineStart(size_t offset) const;

 private:
  std::string_view text_;
  std::vector<size_t> line_starts_;  // line_starts_[0] == 0
};

// Builds the query map of `value`, whose source text starts at byte `begin` of index.text() (the
// first content byte, after any opening delimiter). `escapes`: the syntax has backslash escapes.
// `work`, when given, receives the bytes the alignment walked and compared (tests check that it
// is linear in the value: a one-line query needs no new anchors, and once re-walked the value
// from its only anchor for every run, quadratic).
std::vector<QueryAnchor> AlignValue(const LineIndex& index, size_t begin, std::string_view value,
                                    bool escapes, size_t* work = nullptr);

// The position of value[offset] extrapolated from `anchor` (anchor.offset <= offset).
SourcePosition Extrapolate(const QueryAnchor& anchor, std::string_view value, size_t offset);

}  // namespace kestrel::rules
