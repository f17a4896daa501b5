// `kestrel compile`; see compile_command.h.
#include "kestrel/cli/compile_command.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "kestrel/cli/run_command.h"
#include "kestrel/eql/parser.h"
#include "kestrel/eql/sema.h"
#include "kestrel/rules/rule_file.h"
#include "kestrel/rules/rule_set.h"
#include "kestrel/schema/schema.h"

namespace kestrel::cli {

namespace {

// `--emit eql`: the input is a rule file (any format, Sigma included; `-`: YAML on stdin); prints
// each rule's id and name as an EQL comment, then its query. Diagnostics go to stderr; exit 1 if
// any rule failed.
int EmitRuleEql(const std::string& input, const rules::SigmaMapping* mapping) {
  rules::LoadResult loaded;
  rules::LoadOptions load_options{mapping};
  if (input == "-") {  // stdin: a YAML rule file (Sigma or Kestrel's own)
    std::string text(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>{});
    loaded = rules::LoadRuleText("<stdin>", rules::RuleFormat::kYaml, text, load_options);
  } else {
    loaded = rules::LoadRuleFile(input, load_options);
  }
  for (const rules::LoadDiagnostic& d : loaded.diagnostics) {
    fmt::print(stderr, "{}\n", rules::FormatLoadDiagnostic(d));
  }
  for (size_t i = 0; i < loaded.rules.size(); ++i) {
    const rules::RuleSpec& spec = loaded.rules[i];
    fmt::print("{}// {}: {}\n{}\n", i ? "\n" : "", spec.id, spec.name, spec.query);
  }
  return loaded.failed == 0 ? kExitOk : kExitFailure;
}

// A rule file of a supported format (docs/rules.md), or a directory of them.
bool IsRuleInput(const std::string& input) {
  if (input == "-") return false;
  std::error_code ec;
  if (std::filesystem::is_directory(input, ec)) return true;
  std::string ext = std::filesystem::path(input).extension().string();
  return ext == ".eql" || ext == ".json" || ext == ".yaml" || ext == ".yml" || ext == ".toml";
}

// Every rule of `options.input` (rules/loader.h reads the file or directory as `run` does: each
// rule with its own dialect, positions in its file), compiled and dumped in load order. A single
// rule prints as a bare query would; several are each preceded by "# FILE: ID".
int CompileRules(const CompileCommandOptions& options, eql::Dialect dialect,
                 const rules::SigmaMapping* mapping) {
  schema::Schema schema;
  rules::RuleSetOptions rule_options;
  rule_options.default_dialect = dialect == eql::Dialect::kEndgame
                                     ? rules::RuleDialect::kEndgame
                                     : rules::RuleDialect::kElasticsearch;
  rule_options.strict = options.strict;
  rule_options.endgame_case_sensitive = options.case_sensitive;
  rule_options.sigma_mapping = mapping;
  rules::RuleSetBuild build = rules::BuildRuleSet({options.input}, schema, rule_options);
  for (const std::string& m : build.messages) fmt::print(stderr, "{}", m);
  bool headers = build.rules.size() > 1 || build.failed > 0;
  for (const rules::CompiledRule& rule : build.rules) {
    if (headers) fmt::print("# {}: {}\n", rule.spec.file, rule.spec.id);
    if (options.emit == "ir") {
      fmt::print("{}\n", eql::DumpIr(*rule.program, schema));
      continue;
    }
    eql::ParseOptions parse_options;
    parse_options.dialect = rule.spec.dialect == rules::RuleDialect::kEndgame
                                ? eql::Dialect::kEndgame
                                : eql::Dialect::kElasticsearch;
    eql::ParseResult parsed = eql::ParseQuery(rule.spec.query, parse_options);
    if (parsed.ok()) fmt::print("{}\n", eql::DumpAst(*parsed.query));
  }
  if (build.total() == 0) {
    fmt::print(stderr, "error: '{}' holds no rules\n", options.input);
    return kExitFailure;
  }
  if (build.rules.empty() && build.failed == 0) {
    fmt::print(stderr, "error: '{}' holds no EQL rules ({} skipped)\n", options.input,
               build.skipped);
    return kExitFailure;
  }
  return build.failed == 0 ? kExitOk : kExitFailure;
}

}  // namespace

int CompileCommand(const CompileCommandOptions& options) {
  eql::Dialect dialect;
  if (options.dialect == "elasticsearch") {
    dialect = eql::Dialect::kElasticsearch;
  } else if (options.dialect == "endgame") {
    dialect = eql::Dialect::kEndgame;
  } else {
    fmt::print(stderr, "error: unknown dialect '{}' (expected elasticsearch or endgame)\n",
               options.dialect);
    return kExitUsage;
  }
  if (options.emit != "ast" && options.emit != "ir" && options.emit != "eql") {
    fmt::print(stderr, "error: --emit takes ast, ir or eql, not '{}'\n", options.emit);
    return kExitUsage;
  }
  std::shared_ptr<const rules::SigmaMapping> mapping;
  if (!LoadSigmaMappingFlag(options.sigma_mapping, &mapping)) return kExitUsage;
  if (options.emit == "eql") return EmitRuleEql(options.input, mapping.get());
  if (IsRuleInput(options.input)) {
    std::error_code ec;
    if (!std::filesystem::exists(options.input, ec)) {
      fmt::print(stderr, "error: cannot read '{}'\n", options.input);
      return kExitFailure;
    }
    return CompileRules(options, dialect, mapping.get());
  }
  std::string text;
  std::string name = options.input == "-" ? "<stdin>" : options.input;
  if (options.input == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(options.input, std::ios::binary);
    if (!in) {
      fmt::print(stderr, "error: cannot read '{}'\n", options.input);
      return kExitFailure;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }

  std::vector<eql::Diagnostic> diagnostics;
  std::string output;
  bool ok = false;
  if (options.emit == "ast") {
    eql::ParseOptions parse_options;
    parse_options.dialect = dialect;
    eql::ParseResult parsed = eql::ParseQuery(text, parse_options);
    diagnostics = std::move(parsed.diagnostics);
    if (parsed.ok()) {
      output = eql::DumpAst(*parsed.query);
      ok = true;
    }
  } else {
    schema::Schema schema;
    eql::CompileOptions compile_options;
    compile_options.dialect = dialect;
    compile_options.strict = options.strict;
    compile_options.case_sensitive = options.case_sensitive;
    eql::CompileResult result = eql::Compile(text, schema, compile_options);
    diagnostics = std::move(result.diagnostics);
    if (result.ok()) {
      output = eql::DumpIr(*result.program, schema);
      ok = true;
    }
  }
  for (const eql::Diagnostic& d : diagnostics) {
    std::string rendered = eql::RenderDiagnostic(d, name, text);
    if (rendered.empty() || rendered.back() != '\n') rendered.push_back('\n');
    fmt::print(stderr, "{}", rendered);
  }
  if (!ok) return kExitFailure;
  fmt::print("{}\n", output);
  return kExitOk;
}

}  // namespace kestrel::cli
