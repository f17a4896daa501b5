// `kestrel compile --emit ast|ir FILE|-`: parse (and, for `ir`, analyse) one query and print its
// canonical dump on stdout; diagnostics go to stderr in compiler style. `--emit eql FILE`: FILE is
// a rule file (any format; a Sigma rule shows the EQL it became): each rule's `// id: name` and
// query (tested by sigma_import_test.sh).
// Tested by compile_command_test.cc and cli_test.sh.
#pragma once

#include <string>

namespace kestrel::cli {

struct CompileCommandOptions {
  std::string input;                      // a file holding one EQL query, or "-" for stdin
  std::string emit = "ir";                // "ast", "ir" or "eql"
  std::string dialect = "elasticsearch";  // or "endgame"
  bool strict = false;                    // unknown fields are errors
  bool case_sensitive = false;            // Endgame dialect only
};

// Returns an exit code: 0 compiled (warnings allowed), 1 the query has errors or the input
// cannot be read, 2 bad options.
int CompileCommand(const CompileCommandOptions& options);

}  // namespace kestrel::cli
