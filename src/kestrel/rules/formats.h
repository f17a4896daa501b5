// The per-format rule file readers (one .cc each). Each parses ctx->lines().text(), converts it
// to the canonical rule map(s) of document.h and calls BuildRule; a syntax error becomes one
// error diagnostic at the parser's line:column and counts the file as failed. None throws: the
// exceptions of toml++, yaml-cpp and nlohmann-json are caught inside the reader.
// Internal to kestrel_rules. Tested by rule_file_test.cc.
#pragma once

#include <string_view>
#include <vector>

#include "kestrel/rules/document.h"

namespace kestrel::rules {

// `stem`: the file name without its extension, the default rule id and name.
void ReadEqlFile(std::string_view stem, FileContext* ctx);  // eql_reader.cc
void ReadJsonFile(FileContext* ctx);                        // json_reader.cc
void ReadYamlFile(FileContext* ctx);                        // yaml_reader.cc
void ReadTomlFile(FileContext* ctx);                        // toml_reader.cc

// The `---` documents of a YAML file as DocNodes (yaml_reader.cc), typed and budgeted as for rule
// files. On a syntax error or a budget overrun reports an error on `ctx` and returns false.
bool ParseYamlDocuments(FileContext* ctx, std::vector<DocNode>* roots);

// Sigma (sigma_reader.cc, docs/sigma.md): whether any document is a Sigma rule (a map with
// `logsource` and `detection`, or `correlation`), and reading such a file's rules with
// ctx->sigma_mapping() (null: SigmaMapping::Default()).
bool IsSigmaDocuments(const std::vector<DocNode>& roots);
void ReadSigmaDocuments(const std::vector<DocNode>& roots, FileContext* ctx);

}  // namespace kestrel::rules
