// Helpers over raw JSON text that is already known to be valid (kRawJson values, minified by the
// decoder): nesting depth and splitting an array into its elements. Both skip string contents.
// Linear time, no allocation except the returned vector. Tested by json_decoder_test.cc.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace kestrel::event {

// Calls fn(index, c) for every '[', ']', '{', '}' and ',' of `text` outside string literals.
template <typename Fn>
void ForEachJsonStructural(std::string_view text, Fn fn) {
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == ']' || c == '{' || c == '}' || c == ',') {
      fn(i, c);
    }
  }
}

// Checks that `text` is exactly one JSON value as RFC 8259 defines it (whitespace around it
// allowed): strings well formed (escapes, no control character, valid UTF-8), numbers by the
// grammar (of any size: nothing is converted), nesting at most `max_depth`. Returns nullptr, or
// the reason it is not. Linear time, no allocation: the check for raw JSON text that comes from
// outside (an NDJSON array kept raw, a log's raw value) before it is ever written into an alert.
const char* CheckJsonText(std::string_view text, uint32_t max_depth);

// The deepest bracket nesting of `text`.
uint32_t JsonNestingDepth(std::string_view text);

// The elements of the JSON array `text` (views into it), split at its top-level commas.
std::vector<std::string_view> SplitJsonArray(std::string_view text);

}  // namespace kestrel::event
