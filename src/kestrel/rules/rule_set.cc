// BuildRuleSet; see rule_set.h.
//
// Diagnostics of a query are positioned in the query text; RuleSpec::PositionOf maps them to
// the file (line, byte column), and the file's own text supplies the line shown under the
// message, so the caret lands where the user wrote the mistake whatever the file format.
#include "kestrel/rules/rule_set.h"

#include <fmt/format.h>

#include "kestrel/base/files.h"
#include "kestrel/base/string_map.h"
#include "kestrel/eql/diagnostic.h"
#include "kestrel/eql/sema.h"
#include "kestrel/rules/loader.h"
#include "kestrel/rules/rule_file.h"

namespace kestrel::rules {
namespace {

// Files read once each, for the source lines of their diagnostics: with the rule files' own
// bound (a file that changed into a FIFO or grew past the cap since it was loaded shows no
// source line rather than hanging or filling memory).
class FileTexts {
 public:
  const std::string& Get(const std::string& path) {
    auto it = texts_.find(path);
    if (it != texts_.end()) return it->second;
    auto text = base::ReadFileBounded(path, kMaxRuleFileBytes);
    return texts_.emplace(path, text.ok() ? std::move(*text) : std::string()).first->second;
  }

 private:
  base::StringMap<std::string> texts_;
};

// Byte offset of (line, column) in `text` (both 1-based), clamped to the text.
size_t OffsetOf(std::string_view text, SourcePosition pos) {
  size_t offset = 0;
  for (uint32_t line = 1; line < pos.line; ++line) {
    size_t nl = text.find('\n', offset);
    if (nl == std::string_view::npos) return text.size();
    offset = nl + 1;
  }
  return std::min(text.size(), offset + (pos.column > 0 ? pos.column - 1 : 0));
}

std::string Render(const eql::Diagnostic& d, const std::string& file, std::string_view text) {
  std::string out = eql::RenderDiagnostic(d, file, text);
  if (out.empty() || out.back() != '\n') out.push_back('\n');
  return out;
}

eql::Severity SeverityOf(LoadDiagnostic::Kind kind) {
  switch (kind) {
    case LoadDiagnostic::Kind::kError:
      return eql::Severity::kError;
    case LoadDiagnostic::Kind::kWarning:
      return eql::Severity::kWarning;
    case LoadDiagnostic::Kind::kSkipped:
      return eql::Severity::kNote;
  }
  return eql::Severity::kError;
}

// Why `program` cannot carry `action` (empty: it can). `block` holds the event that completes
// the match in the kernel before it happens, which only an exec (process) or an open (file) can
// be: the last stage must be a process or file stage that is not a missing-event stage, in an
// event query or a sequence (a join or sample completes in no particular order).
std::string ActionError(RuleAction action, const eql::IrProgram& program,
                        const schema::Schema& schema, const eql::IrStage** where) {
  if (action != RuleAction::kBlock || program.stages.empty()) return "";
  *where = &program.stages.back();
  if (program.kind != eql::QueryKind::kEvent && program.kind != eql::QueryKind::kSequence) {
    return "action `block` needs an event query or a sequence (a join or sample has no last "
           "event to hold); use `kill` or `alert`";
  }
  const eql::IrStage& last = program.stages.back();
  if (last.missing) {
    return "action `block` cannot hold a match that completes by the absence of an event "
           "(trailing `![...]`); use `kill` or `alert`";
  }
  std::string_view category =
      last.category ? schema.CategoryName(*last.category) : std::string_view("any");
  if (category != "process" && category != "file") {
    return fmt::format(
        "action `block` needs a last event that the kernel can hold (a `process` exec or a "
        "`file` open), not `{}`; use `kill` or `alert`",
        category);
  }
  return "";
}

}  // namespace

std::string RuleSetBuild::Summary() const {
  return fmt::format("{} rule{}: {} ok, {} failed, {} skipped", total(), total() == 1 ? "" : "s",
                     ok, failed, skipped);
}

RuleSetBuild BuildRuleSet(const std::vector<std::string>& paths, schema::Schema& schema,
                          const RuleSetOptions& options) {
  RuleSetBuild build;
  FileTexts texts;
  LoadResult loaded = LoadRulePaths(paths, LoadOptions{options.sigma_mapping});
  build.failed = loaded.failed;
  build.skipped = loaded.skipped;
  base::StringMap<bool> warned_files;  // strict: files whose metadata has a warning
  for (LoadDiagnostic d : loaded.diagnostics) {
    if (d.kind == LoadDiagnostic::Kind::kWarning) {
      ++build.warnings;
      if (options.warnings_are_errors) {
        d.kind = LoadDiagnostic::Kind::kError;
        d.message += " (--strict)";
        warned_files[d.file] = true;
      }
    }
    if (d.pos.line == 0) {
      build.messages.push_back(FormatLoadDiagnostic(d) + "\n");
      continue;
    }
    const std::string& text = texts.Get(d.file);
    eql::Diagnostic diag;
    diag.severity = SeverityOf(d.kind);
    diag.message = d.message;
    diag.span.line = d.pos.line;
    diag.span.column = d.pos.column;
    diag.span.offset = static_cast<uint32_t>(OffsetOf(text, d.pos));
    diag.span.length = 1;
    build.messages.push_back(Render(diag, d.file, text));
  }

  for (RuleSpec& spec : loaded.rules) {
    if (!spec.dialect_set) spec.dialect = options.default_dialect;
    eql::CompileOptions compile;
    compile.dialect = spec.dialect == RuleDialect::kEndgame ? eql::Dialect::kEndgame
                                                            : eql::Dialect::kElasticsearch;
    compile.strict = options.strict;
    compile.case_sensitive = options.endgame_case_sensitive;
    compile.functions = options.functions;
    compile.rule_name = spec.id;
    eql::CompileResult result = eql::Compile(spec.query, schema, compile);
    const std::string& text = texts.Get(spec.file);
    bool strict_failed = warned_files.contains(spec.file);
    for (eql::Diagnostic d : result.diagnostics) {
      if (d.severity == eql::Severity::kWarning) {
        ++build.warnings;
        if (options.warnings_are_errors) {
          d.severity = eql::Severity::kError;
          d.message += " (--strict)";
          strict_failed = true;
        }
      }
      SourcePosition begin = spec.PositionOf(d.span.offset);
      SourcePosition end = spec.PositionOf(d.span.offset + d.span.length);
      d.span.line = begin.line;
      d.span.column = begin.column;
      size_t file_offset = OffsetOf(text, begin);
      d.span.offset = static_cast<uint32_t>(file_offset);
      // A span that crosses lines in the file is underlined to the end of its first line.
      d.span.length = end.line == begin.line && end.column > begin.column
                          ? end.column - begin.column
                          : std::max<uint32_t>(1, d.span.length);
      build.messages.push_back(Render(d, spec.file, text));
    }
    if (!result.ok() || strict_failed) {
      ++build.failed;
      continue;
    }
    // A refusal after the compile: rendered at `span` of the query, as the compiler's own.
    auto refuse = [&](std::string why, eql::Span span) {
      eql::Diagnostic d;
      d.severity = eql::Severity::kError;
      d.message = std::move(why);
      SourcePosition begin = spec.PositionOf(span.offset);
      SourcePosition end = spec.PositionOf(span.offset + span.length);
      d.span.line = begin.line;
      d.span.column = begin.column;
      d.span.offset = static_cast<uint32_t>(OffsetOf(text, begin));
      d.span.length =
          end.line == begin.line && end.column > begin.column ? end.column - begin.column : 1;
      build.messages.push_back(Render(d, spec.file, text));
      ++build.failed;
    };
    const eql::IrStage* where = nullptr;
    if (std::string why = ActionError(spec.action, *result.program, schema, &where); !why.empty()) {
      eql::Span at = where->span;
      at.length = 1;
      refuse(std::move(why), at);
      continue;
    }
    if (options.engine_limits != nullptr) {
      if (auto refused = engine::QueryEngine::Refusal(*result.program, *options.engine_limits)) {
        refuse(std::move(refused->message), refused->span);
        continue;
      }
    }
    ++build.ok;
    build.rules.push_back(CompiledRule{std::move(spec), std::move(result.program)});
  }
  return build;
}

}  // namespace kestrel::rules
