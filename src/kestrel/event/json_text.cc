// Raw JSON text helpers; see json_text.h.
#include "kestrel/event/json_text.h"

#include <simdjson.h>

#include <cctype>

#include <algorithm>

namespace kestrel::event {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Skips JSON whitespace from `i`.
size_t SkipSpace(std::string_view t, size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

// The end of the string starting at t[i] == '"', or npos with `why` set.
size_t ScanString(std::string_view t, size_t i, const char** why) {
  for (++i; i < t.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(t[i]);
    if (c == '"') return i + 1;
    if (c < 0x20) {
      *why = "a control character inside a string";
      return std::string_view::npos;
    }
    if (c != '\\') continue;
    if (++i >= t.size()) break;
    switch (t[i]) {
      case '"':
      case '\\':
      case '/':
      case 'b':
      case 'f':
      case 'n':
      case 'r':
      case 't':
        break;
      case 'u':
        for (int k = 0; k < 4; ++k) {
          if (++i >= t.size() || !std::isxdigit(static_cast<unsigned char>(t[i]))) {
            *why = "a bad \\u escape";
            return std::string_view::npos;
          }
        }
        break;
      default:
        *why = "a bad escape in a string";
        return std::string_view::npos;
    }
  }
  *why = "an unterminated string";
  return std::string_view::npos;
}

// The end of the number starting at t[i], or npos.
size_t ScanNumber(std::string_view t, size_t i) {
  if (i < t.size() && t[i] == '-') ++i;
  if (i >= t.size()) return std::string_view::npos;
  if (t[i] == '0') {
    ++i;
  } else if (IsDigit(t[i])) {
    while (i < t.size() && IsDigit(t[i])) ++i;
  } else {
    return std::string_view::npos;
  }
  if (i < t.size() && t[i] == '.') {
    if (++i >= t.size() || !IsDigit(t[i])) return std::string_view::npos;
    while (i < t.size() && IsDigit(t[i])) ++i;
  }
  if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
    ++i;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) ++i;
    if (i >= t.size() || !IsDigit(t[i])) return std::string_view::npos;
    while (i < t.size() && IsDigit(t[i])) ++i;
  }
  return i;
}

// An object key at t[i], its ':' and the space after it: the position of the member's value,
// or npos with *why set.
size_t ScanKeyAndColon(std::string_view t, size_t i, const char** why) {
  if (i >= t.size() || t[i] != '"') {
    *why = "an object key that is not a string";
    return std::string_view::npos;
  }
  i = ScanString(t, i, why);
  if (i == std::string_view::npos) return i;
  i = SkipSpace(t, i);
  if (i >= t.size() || t[i] != ':') {
    *why = "a missing ':' in an object";
    return std::string_view::npos;
  }
  return SkipSpace(t, i + 1);
}

}  // namespace

const char* CheckJsonText(std::string_view t, uint32_t max_depth) {
  if (!simdjson::validate_utf8(t.data(), t.size())) return "invalid UTF-8";
  // Containers open at the current position: a bit per level would do, but depth is small.
  constexpr uint32_t kStack = 1024;
  if (max_depth > kStack) max_depth = kStack;
  char open[kStack];
  uint32_t depth = 0;
  const char* why = nullptr;
  size_t i = SkipSpace(t, 0);
  // Expecting a value (after '[', ',' in an array, ':' in an object, or at the start).
  while (true) {
    if (i >= t.size()) return "unexpected end of the text";
    char c = t[i];
    if (c == '[' || c == '{') {
      if (depth >= max_depth) return "nested too deeply";
      open[depth++] = c;
      i = SkipSpace(t, i + 1);
      if (i < t.size() && t[i] == (c == '[' ? ']' : '}')) {
        --depth;
        ++i;
      } else if (c == '{') {
        i = ScanKeyAndColon(t, i, &why);
        if (i == std::string_view::npos) return why;
        continue;
      } else {
        continue;
      }
    } else if (c == '"') {
      i = ScanString(t, i, &why);
      if (i == std::string_view::npos) return why;
    } else if (c == '-' || IsDigit(c)) {
      i = ScanNumber(t, i);
      if (i == std::string_view::npos) return "a malformed number";
    } else if (t.substr(i, 4) == "true" || t.substr(i, 4) == "null") {
      i += 4;
    } else if (t.substr(i, 5) == "false") {
      i += 5;
    } else {
      return "an unexpected character";
    }
    // After a value: close containers, or ',' and the next element.
    while (true) {
      i = SkipSpace(t, i);
      if (depth == 0) return i == t.size() ? nullptr : "text after the value";
      if (i >= t.size()) return "unexpected end of the text";
      char close = open[depth - 1] == '[' ? ']' : '}';
      if (t[i] == close) {
        --depth;
        ++i;
        continue;
      }
      if (t[i] != ',') return "a missing ',' between elements";
      i = SkipSpace(t, i + 1);
      if (open[depth - 1] == '{') {
        i = ScanKeyAndColon(t, i, &why);
        if (i == std::string_view::npos) return why;
      }
      break;
    }
  }
}

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
