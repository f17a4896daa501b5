// `kestrel ui [--logs PATH...] [--alerts FILE...] [--attach ADDR] [--listen 127.0.0.1:8642]
// [--token-file FILE] [--rules PATH...] [--dialect D] [--max-events N]` (issue 25): a local
// investigation web view. Builds the ui::Index once from the logs (read as `kestrel query` reads
// its inputs: query_input.h) and the alert files, then serves the embedded page and the JSON API
// (ui/server.h) until SIGINT/SIGTERM, tailing the alert files for new alerts. The hunt view runs
// `kestrel query`'s path (eql::Compile, engine::QueryEngine, WriteQueryResults --format json);
// the alert view's events before the alert are read again from the logs, only the blocks of
// their time window (QueryInput --from/--to). `--rules` gives the rule texts the alert view shows.
// Safety: a non-loopback --listen without --token-file is a usage error (exit 2); the token
// file's first line is the token (16..256 printable characters); the access URL is printed once
// on stderr. docs/ui.md. Tested by ui_test.sh and ui_browser_test.sh.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kestrel::cli {

struct UiOptions {
  std::vector<std::string> logs;      // files or directories: .klog or NDJSON
  std::vector<std::string> alerts;    // NDJSON alert files
  std::vector<std::string> rules;     // rule files or directories: the alert view's rule text
  std::optional<std::string> attach;  // a `kestrel run --metrics-addr` address
  std::string listen = "127.0.0.1:8642";
  std::optional<std::string> token_file;
  std::string dialect = "elasticsearch";
  uint64_t max_events = 20'000'000;
};

int UiCommand(const UiOptions& options);

}  // namespace kestrel::cli
