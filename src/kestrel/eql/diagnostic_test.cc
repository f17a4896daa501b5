// RenderDiagnostic tests: location prefix, source line, caret and '~' placement, hint.
#include "kestrel/eql/diagnostic.h"

#include "gtest/gtest.h"

namespace kestrel::eql {
namespace {

TEST(DiagnosticTest, RendersCaretUnderSpan) {
  std::string src = "line one\nprocess where x = 1\nlast";
  Diagnostic d{Severity::kError, Span{25, 1, 2, 17}, "bad operator", "use =="};
  EXPECT_EQ(RenderDiagnostic(d, "r.eql", src),
            "r.eql:2:17: error: bad operator\n"
            "  process where x = 1\n"
            "                  ^\n"
            "  hint: use ==\n");
}

TEST(DiagnosticTest, MultiCharacterSpanUsesTildes) {
  Diagnostic d{Severity::kWarning, Span{4, 5, 1, 5}, "odd name", ""};
  EXPECT_EQ(RenderDiagnostic(d, "", "abc hello x"),
            "1:5: warning: odd name\n"
            "  abc hello x\n"
            "      ^~~~~\n");
}

TEST(DiagnosticTest, TabsAndUtf8KeepCaretAligned) {
  std::string src = "\t\xC3\xA9 = x";  // tab, e-acute (2 bytes), " = x"
  Diagnostic d{Severity::kNote, Span{4, 1, 1, 5}, "here", ""};
  EXPECT_EQ(RenderDiagnostic(d, "f", src),
            "f:1:5: note: here\n"
            "  \t\xC3\xA9 = x\n"
            "  \t  ^\n");
}

TEST(DiagnosticTest, SpanAtEndOfInput) {
  std::string src = "a ==";
  Diagnostic d{Severity::kError, Span{4, 1, 1, 5}, "expected an expression", ""};
  EXPECT_EQ(RenderDiagnostic(d, "", src),
            "1:5: error: expected an expression\n"
            "  a ==\n"
            "      ^\n");
}

TEST(DiagnosticTest, SpanOnFirstByteOfLaterLine) {
  std::string src = "a\nb";
  Diagnostic d{Severity::kError, Span{2, 1, 2, 1}, "m", ""};
  EXPECT_EQ(RenderDiagnostic(d, "", src), "2:1: error: m\n  b\n  ^\n");
}

// Issue #20: a one-line query of a megabyte is shown as a window, not copied (twice) into every
// diagnostic.
TEST(DiagnosticTest, LongLineIsShownAsAWindowAroundTheSpan) {
  std::string source = std::string(100000, 'a') + " bad " + std::string(100000, 'b');
  Diagnostic d{Severity::kError, Span{100001, 100000, 1, 100002}, "msg", ""};
  std::string out = RenderDiagnostic(d, "x.eql", source);
  std::string shown = std::string(52, 'a') + " bad " + std::string(103, 'b');
  EXPECT_EQ(out, "x.eql:1:100002: error: msg\n  ..." + shown + "...\n     " + std::string(53, ' ') +
                     "^" + std::string(106, '~') + "\n");
  EXPECT_LT(out.size(), 2 * kMaxShownLineBytes + 100);
}

}  // namespace
}  // namespace kestrel::eql
