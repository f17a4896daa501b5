// Fuzz target for the EQL front end: lexer, parser, macro parsing, semantic analysis, IR dumps
// and diagnostic rendering. The first byte picks the dialect ('E' Elasticsearch, otherwise
// Endgame); the rest is the query. Any crash, sanitizer report or hang is a bug: bad rule text
// must only ever produce diagnostics.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kestrel/eql/parser.h"
#include "kestrel/eql/sema.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using namespace kestrel::eql;
  Dialect dialect = data[0] == 'E' ? Dialect::kElasticsearch : Dialect::kEndgame;
  std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);

  ParseOptions parse_options;
  parse_options.dialect = dialect;
  ParseResult parsed = ParseQuery(text, parse_options);
  for (const Diagnostic& d : parsed.diagnostics) (void)RenderDiagnostic(d, "fuzz", text);
  if (parsed.ok()) {
    (void)DumpAst(*parsed.query);
    kestrel::schema::Schema schema;
    for (bool case_sensitive : {false, true}) {
      CompileOptions options;
      options.dialect = dialect;
      options.case_sensitive = case_sensitive;
      CompileResult result = Analyze(*parsed.query, schema, options);
      for (const Diagnostic& d : result.diagnostics) (void)RenderDiagnostic(d, "fuzz", text);
      if (result.ok()) (void)DumpIr(*result.program, schema);
    }
  }
  MacroParseResult macros = ParseMacros(text, parse_options);
  for (const MacroDefinition& m : macros.macros) (void)DumpMacro(m);
  return 0;
}
