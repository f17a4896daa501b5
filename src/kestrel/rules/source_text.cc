// Line index and query alignment (see source_text.h for the algorithm).
// Tested by rule_file_test.cc.
#include "kestrel/rules/source_text.h"

#include <algorithm>

namespace kestrel::rules {
namespace {

// Bounds the offsets a run is tried at, so a huge stretch of skipped text cannot make
// alignment quadratic.
constexpr size_t kMaxWindow = 1024;

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }
bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Raw length of the escape sequence at text[i] == '\\' (JSON, TOML and YAML double-quoted
// escapes). A backslash before a line break (TOML/YAML line continuation) is one byte; the
// whitespace after it is skipped as whitespace.
size_t EscapeLength(std::string_view text, size_t i) {
  if (i + 1 >= text.size() || IsSpace(text[i + 1])) return 1;
  size_t digits = 0;
  switch (text[i + 1]) {
    case 'x':
      digits = 2;
      break;
    case 'u':
      digits = 4;
      break;
    case 'U':
      digits = 8;
      break;
    default:
      return 2;
  }
  size_t n = 2;
  while (n < 2 + digits && i + n < text.size() && IsHex(text[i + n])) ++n;
  return n;
}

size_t CommonPrefix(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return i;
}

}  // namespace

LineIndex::LineIndex(std::string_view text) : text_(text) {
  line_starts_.push_back(0);
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\n') line_starts_.push_back(i + 1);
  }
}

SourcePosition LineIndex::PositionAt(size_t offset) const {
  offset = std::min(offset, text_.size());
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  size_t line = static_cast<size_t>(it - line_starts_.begin());  // >= 1
  return {static_cast<uint32_t>(line), static_cast<uint32_t>(offset - line_starts_[line - 1] + 1)};
}

size_t LineIndex::OffsetOf(SourcePosition position) const {
  if (position.line == 0) return 0;
  if (position.line > line_starts_.size()) return text_.size();
  size_t start = line_starts_[position.line - 1];
  size_t end = position.line < line_starts_.size() ? line_starts_[position.line] : text_.size();
  size_t column = position.column == 0 ? 0 : position.column - 1;
  return std::min(start + column, end);
}

size_t LineIndex::OffsetOfCodePointColumn(uint32_t line, uint32_t column) const {
  size_t offset = OffsetOf({line, 1});
  for (uint32_t c = 1; c < column && offset < text_.size() && text_[offset] != '\n'; ++c) {
    ++offset;  // past the lead byte, then past continuation bytes (10xxxxxx)
    while (offset < text_.size() && (static_cast<unsigned char>(text_[offset]) & 0xC0) == 0x80) {
      ++offset;
    }
  }
  return offset;
}

size_t LineIndex::NextLineStart(size_t offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  return it == line_starts_.end() ? text_.size() : *it;
}

SourcePosition Extrapolate(const QueryAnchor& anchor, std::string_view value, size_t offset) {
  offset = std::min(offset, value.size());
  SourcePosition pos = anchor.position;
  size_t line_start = anchor.offset;
  for (size_t i = anchor.offset; i < offset; ++i) {
    if (value[i] == '\n') {
      ++pos.line;
      line_start = i + 1;
      pos.column = 1;
    }
  }
  pos.column += static_cast<uint32_t>(offset - line_start);
  return pos;
}

std::vector<QueryAnchor> AlignValue(const LineIndex& index, size_t begin, std::string_view value,
                                    bool escapes, size_t* work) {
  size_t steps = 0;
  std::vector<QueryAnchor> anchors;
  std::string_view text = index.text();
  size_t raw = std::min(begin, text.size());
  size_t cursor = 0;   // value bytes matched so far
  size_t skipped = 0;  // raw bytes passed over since the last match
  // The last anchor extrapolated to the last matched offset: extrapolating from here rather than
  // from the anchor itself keeps a query that needs no new anchor (one long line) linear.
  QueryAnchor tip{};
  while (cursor < value.size() && raw < text.size()) {
    char c = text[raw];
    if (IsSpace(c)) {
      ++raw;
      ++skipped;
      continue;
    }
    if (escapes && c == '\\') {
      size_t n = EscapeLength(text, raw);
      raw += n;
      skipped += n;
      continue;
    }
    size_t run_end = raw;
    while (run_end < text.size() && !IsSpace(text[run_end]) &&
           !(escapes && text[run_end] == '\\')) {
      ++run_end;
    }
    std::string_view run = text.substr(raw, run_end - raw);
    size_t best_at = 0, best_len = 0;
    size_t last = std::min({cursor + skipped, cursor + kMaxWindow, value.size() - 1});
    for (size_t p = cursor; p <= last; ++p) {
      size_t len = CommonPrefix(run, value.substr(p));
      steps += len + 1;
      if (len > best_len) {
        best_at = p;
        best_len = len;
        if (len == run.size()) break;
      }
    }
    if (best_len == 0) {  // a delimiter, escape digits, a comment: not part of the value
      raw = run_end;
      skipped += run.size();
      continue;
    }
    // Extend the match back over blanks the value shares with the raw text (indentation kept
    // in the value), so they map to their own columns rather than the previous line's.
    size_t run_start = raw;
    while (best_at > cursor && run_start > begin &&
           (value[best_at - 1] == ' ' || value[best_at - 1] == '\t') &&
           text[run_start - 1] == value[best_at - 1]) {
      --best_at;
      --run_start;
    }
    QueryAnchor anchor{static_cast<uint32_t>(best_at), index.PositionAt(run_start)};
    steps += anchor.offset - tip.offset;  // what Extrapolate walks
    if (anchors.empty() || Extrapolate(tip, value, anchor.offset) != anchor.position) {
      anchors.push_back(anchor);
    }
    tip = anchor;
    cursor = best_at + (raw - run_start) + best_len;
    raw += best_len;
    skipped = 0;
  }
  if (work != nullptr) *work = steps;
  if (anchors.empty()) {
    anchors.push_back({0, index.PositionAt(begin)});
  } else if (anchors[0].offset > 0) {
    // Leading value bytes no run matched (indentation inside a TOML string, a YAML block
    // scalar's leading blank lines): walk back from the first anchor on its line, else use the
    // first content byte.
    QueryAnchor first = anchors[0];
    QueryAnchor zero{0, index.PositionAt(begin)};
    if (value.substr(0, first.offset).find('\n') == std::string_view::npos &&
        first.position.column > first.offset) {
      zero.position = {first.position.line, first.position.column - first.offset};
    }
    if (Extrapolate(zero, value, first.offset) == first.position) {
      anchors[0] = zero;
    } else {
      anchors.insert(anchors.begin(), zero);
    }
  }
  return anchors;
}

}  // namespace kestrel::rules
