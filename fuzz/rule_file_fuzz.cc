// Fuzz target for the rule-file readers (.eql headers, JSON, YAML, Elastic TOML), the
// compilation of the queries they yield, and the rule test file parser (rule_test_file.h). The
// first byte picks the format (0-3 mod 5: a rule file, 4: a test file); the rest is the file.
// Any crash, sanitizer report or hang is a bug: a bad rule file must only produce diagnostics.
#include <cstddef>
#include <cstdint>
#include <string>

#include "kestrel/eql/sema.h"
#include "kestrel/rules/rule_file.h"
#include "kestrel/rules/rule_test_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  using kestrel::rules::RuleFormat;
  static constexpr RuleFormat kFormats[] = {RuleFormat::kEql, RuleFormat::kJson, RuleFormat::kYaml,
                                            RuleFormat::kToml};
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  if (data[0] % 5 == 4) {
    kestrel::rules::RuleTestLoad test = kestrel::rules::ParseRuleTestText("fuzz.test.yaml", text);
    for (const auto& d : test.diagnostics) (void)kestrel::rules::FormatLoadDiagnostic(d);
    return 0;
  }
  RuleFormat format = kFormats[data[0] % 5];
  kestrel::rules::LoadResult loaded = kestrel::rules::LoadRuleText("fuzz", format, text);
  for (const auto& d : loaded.diagnostics) (void)kestrel::rules::FormatLoadDiagnostic(d);
  kestrel::schema::Schema schema;
  for (const kestrel::rules::RuleSpec& spec : loaded.rules) {
    for (size_t i = 0; i <= spec.query.size(); i += 7) (void)spec.PositionOf(i);
    kestrel::eql::CompileOptions options;
    options.dialect = spec.dialect == kestrel::rules::RuleDialect::kEndgame
                          ? kestrel::eql::Dialect::kEndgame
                          : kestrel::eql::Dialect::kElasticsearch;
    (void)kestrel::eql::Compile(spec.query, schema, options);
  }
  return 0;
}
