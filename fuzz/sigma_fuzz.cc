// Fuzz target for the Sigma reader (rules/sigma_reader.cc and its detection, condition and
// mapping parts) and the compilation of the EQL it yields. The input is a Sigma rule file; if it
// holds a line "#%mapping" the text before it is first merged into the default Sigma mapping
// (SigmaMapping::Extend), so the mapping parser is fuzzed too. Any crash, sanitizer report or
// hang is a bug: a bad Sigma file must only produce diagnostics.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kestrel/eql/sema.h"
#include "kestrel/rules/rule_file.h"
#include "kestrel/rules/sigma_mapping.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  kestrel::rules::SigmaMapping mapping = kestrel::rules::SigmaMapping::Default();
  constexpr std::string_view kSplit = "#%mapping\n";
  if (size_t at = text.find(kSplit); at != std::string_view::npos) {
    (void)mapping.Extend("fuzz-mapping.yaml", text.substr(0, at));
    text.remove_prefix(at + kSplit.size());
  }
  kestrel::rules::LoadResult loaded = kestrel::rules::LoadRuleText(
      "fuzz.yml", kestrel::rules::RuleFormat::kYaml, text, kestrel::rules::LoadOptions{&mapping});
  for (const auto& d : loaded.diagnostics) (void)kestrel::rules::FormatLoadDiagnostic(d);
  kestrel::schema::Schema schema;
  for (const kestrel::rules::RuleSpec& spec : loaded.rules) {
    for (size_t i = 0; i <= spec.query.size(); i += 7) (void)spec.PositionOf(i);
    kestrel::eql::CompileOptions options;
    options.dialect = kestrel::eql::Dialect::kElasticsearch;
    (void)kestrel::eql::Compile(spec.query, schema, options);
  }
  return 0;
}
