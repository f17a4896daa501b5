// Compiler-style rendering of Diagnostic (see diagnostic.h for the format).
#include "kestrel/eql/diagnostic.h"

#include <algorithm>

#include "fmt/format.h"

namespace kestrel::eql {

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kNote:
      return "note";
  }
  return "error";
}

namespace {

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

std::string RenderDiagnostic(const Diagnostic& diagnostic, std::string_view file_name,
                             std::string_view source) {
  const Span& span = diagnostic.span;
  std::string out;
  if (!file_name.empty()) out += fmt::format("{}:", file_name);
  out += fmt::format("{}:{}: {}: {}\n", span.line, span.column, SeverityName(diagnostic.severity),
                     diagnostic.message);

  size_t offset = std::min<size_t>(span.offset, source.size());
  size_t line_start = offset == 0 ? std::string_view::npos : source.rfind('\n', offset - 1);
  line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
  size_t line_end = source.find('\n', line_start);
  if (line_end == std::string_view::npos) line_end = source.size();
  std::string_view line = source.substr(line_start, line_end - line_start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  // A long line (a one-line query of a megabyte) is shown as a window around the span's start.
  size_t shown_begin = line_start;
  size_t shown_end = line_start + line.size();
  if (line.size() > kMaxShownLineBytes) {
    size_t at = std::min(offset, shown_end);
    shown_begin = at - std::min<size_t>(at - line_start, kMaxShownLineBytes / 3);
    while (shown_begin > line_start && IsUtf8Continuation(source[shown_begin])) --shown_begin;
    shown_end = std::min(shown_end, shown_begin + kMaxShownLineBytes);
    while (shown_end < line_start + line.size() && IsUtf8Continuation(source[shown_end])) {
      --shown_end;
    }
  }
  const bool cut_left = shown_begin > line_start;
  out += cut_left ? "  ..." : "  ";
  out += source.substr(shown_begin, shown_end - shown_begin);
  if (shown_end < line_start + line.size()) out += "...";
  out += cut_left ? "\n     " : "\n  ";
  for (size_t i = shown_begin; i < offset && i < shown_end; ++i) {
    char c = source[i];
    if (IsUtf8Continuation(c)) continue;
    out += c == '\t' ? '\t' : ' ';
  }
  out += '^';
  size_t span_end = std::min<size_t>(span.end(), shown_end);
  for (size_t i = offset + 1; i < span_end; ++i) {
    if (!IsUtf8Continuation(source[i])) out += '~';
  }
  out += '\n';
  if (!diagnostic.hint.empty()) out += fmt::format("  hint: {}\n", diagnostic.hint);
  return out;
}

}  // namespace kestrel::eql
