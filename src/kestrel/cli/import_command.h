// `kestrel import sigma SRC... --out DIR [--sigma-mapping FILE]` (docs/sigma.md, "Importing"):
// reads Sigma rule files and directories (recursive), converts each rule to EQL
// (rules/sigma_mapping.h, the reader in rules/), compiles it, and writes each rule that compiles
// as a Kestrel YAML rule file in DIR (created 0700 if missing; files 0600, never through a
// symbolic link): full metadata, the EQL query, and a comment naming the Sigma rule's id and file.
// A written file is read back and must give the same query. Prints each rule that did not
// convert (file:line:col: kind: reason), then "N rules: C converted, U unsupported, F failed" and
// the reasons grouped with their counts. Unsupported: a well-formed rule EQL or Kestrel's
// sources cannot express; failed: a malformed rule, an unmapped field, a query that does not
// compile, a write error. Exit 0 when none failed, 1 otherwise, 2 on a usage error (an
// unreadable or invalid --sigma-mapping, an --out that cannot be created, no SRC or --out).
// `--print-mapping` prints the built-in mapping file (the format --sigma-mapping reads) instead.
// Tested by sigma_import_test.sh.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace kestrel::cli {

struct ImportSigmaOptions {
  std::vector<std::string> sources;
  std::string out;
  std::string sigma_mapping;   // empty: the built-in mapping
  bool print_mapping = false;  // print the built-in mapping file and exit
};

int ImportSigmaCommand(const ImportSigmaOptions& options);

}  // namespace kestrel::cli
