// The commands around recorded event logs (docs/log-format.md):
//   kestrel record --source ndjson:FILE|ebpf --output LOG [--count N] [--duration D]
//                  [--max-size BYTES] [--max-age D] [--fsync never|block|close] [--level N]
//   kestrel log info LOG    header, blocks, event counts, time range, damage
//   kestrel log cat LOG...  the events as NDJSON (convert a log back, or inspect it); an event
//                           without `@timestamp` (live events) gets one from its time
// `record` writes a partial block after 1 s of wall time (a timer thread, while the source is
// idle) or, for input that arrives as it happens (ebpf, stdin, a FIFO), of event time: a kill -9
// loses at most about a second. `log cat` and `log info` print nothing of a log unchecked: events
// as validated JSON (log/record_codec.h), header text escaped.
// Tested by log_commands_test.cc and cli_test.sh.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace kestrel::cli {

struct RecordOptions {
  std::string source;                     // ndjson:PATH, ndjson:-, ebpf
  std::string output;                     // the log file (rotated files are named from it)
  std::optional<uint64_t> count;          // stop after this many events
  std::optional<std::string> duration;    // stop after this much wall time (e.g. 30s, 5m)
  std::optional<std::string> max_size;    // rotate past this size (e.g. 64M)
  std::optional<std::string> max_age;     // rotate past this much event time (e.g. 1h)
  std::string fsync = "close";            // never, block, close
  int level = 3;                          // zstd level: 1 writes fastest, 19 is smallest
  std::string dialect = "elasticsearch";  // for the NDJSON time defaults, as in `run`
  std::optional<std::string> time_field;
  std::optional<std::string> time_format;
  std::string version;  // Kestrel's version, written into the header
};

int Record(const RecordOptions& options);
int LogInfo(const std::string& path);
int LogCat(const std::vector<std::string>& paths);

// "1048576", "64K", "64M", "2G" -> bytes. nullopt: bad.
std::optional<uint64_t> ParseSizeFlag(const std::string& text);

}  // namespace kestrel::cli
