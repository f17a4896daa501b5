// `kestrel compile --emit ast|ir|eql INPUT`: parse (and, for `ir`, analyse) queries and print their
// canonical dump on stdout; diagnostics go to stderr in compiler style. INPUT is `-` (one query on
// stdin), a rule file of any supported format (.eql, .json, .yaml/.yml, .toml: each rule's query,
// with the rule's own dialect; positions in the file), a directory of them (recursive, as
// `check` reads it), or any other file (one query). Several rules print each dump after a line
// "# FILE: ID"; a single rule prints as a bare query does. `--emit eql FILE`: FILE is a rule file
// (any format; a Sigma rule shows the EQL it became): each rule's `// id: name` and query (tested
// by sigma_import_test.sh).
// Tested by compile_command_test.cc and cli_test.sh.
#pragma once

#include <optional>
#include <string>

namespace kestrel::cli {

struct CompileCommandOptions {
  std::string input;                      // a rule file or directory, a query file, or "-"
  std::string emit = "ir";                // "ast", "ir" or "eql"
  std::string dialect = "elasticsearch";  // or "endgame"
  bool strict = false;                    // unknown fields are errors
  bool case_sensitive = false;            // Endgame dialect only
  // `--sigma-mapping FILE`: extends the built-in Sigma mapping, as on run (exit 2 when bad).
  std::optional<std::string> sigma_mapping;
};

// Returns an exit code: 0 compiled (warnings allowed), 1 a query has errors, the input cannot be
// read or holds no EQL rule, 2 bad options.
int CompileCommand(const CompileCommandOptions& options);

}  // namespace kestrel::cli
