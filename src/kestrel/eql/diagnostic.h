// Diagnostics of the EQL front end and their compiler-style rendering:
//
//   rules/x.eql:3:17: error: expected ']' to close the sequence stage
//     [process where process.name == "bash"
//                                          ^
//     hint: every stage is written [category where condition]
//
// Rendering finds the span's source line by scanning for line breaks (linear in the text
// size), copies it (a line longer than kMaxShownLineBytes: a window of that many bytes around the
// span's start, cut ends marked "..."), and puts a caret under the span's first byte and '~' under
// the rest of the span on that line. Tabs in the source line are reproduced in the caret line so
// the caret stays aligned; columns count UTF-8 code points when positioning the caret.
//
// Tested by diagnostic_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "kestrel/eql/token.h"

namespace kestrel::eql {

enum class Severity : uint8_t { kError, kWarning, kNote };

inline constexpr size_t kMaxShownLineBytes = 160;

std::string_view SeverityName(Severity severity);

struct Diagnostic {
  Severity severity = Severity::kError;
  Span span;
  std::string message;  // what is wrong, lower case, no trailing period
  std::string hint;     // what to do about it; may be empty
};

// Renders `diagnostic` against `source` (the text the span refers to). `file_name` prefixes the
// location; when empty the location starts at "line:column". Ends with a newline.
std::string RenderDiagnostic(const Diagnostic& diagnostic, std::string_view file_name,
                             std::string_view source);

}  // namespace kestrel::eql
