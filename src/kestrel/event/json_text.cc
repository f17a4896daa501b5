// Raw JSON text helpers; see json_text.h.
#include "kestrel/event/json_text.h"

#include <algorithm>

namespace kestrel::event {

uint32_t JsonNestingDepth(std::string_view text) {
  uint32_t depth = 0, max_depth = 0;
  ForEachJsonStructural(text, [&](size_t, char c) {
    if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  });
  return max_depth;
}

std::vector<std::string_view> SplitJsonArray(std::string_view text) {
  std::vector<std::string_view> out;
  size_t depth = 0, start = 0;
  ForEachJsonStructural(text, [&](size_t i, char c) {
    if (c == '[' || c == '{') {
      if (depth++ == 0 && c == '[') start = i + 1;
    } else if (c == ']' || c == '}') {
      if (depth > 0 && --depth == 0 && c == ']' && i > start) {
        out.push_back(text.substr(start, i - start));
      }
    } else if (depth == 1) {  // ','
      out.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  });
  return out;
}

}  // namespace kestrel::event
