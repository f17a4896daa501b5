// NdjsonSource: events from newline-delimited JSON (one ECS object per line) or from one JSON
// array of objects, read from a file or standard input.
//
// Format detection: if the first non-blank byte of the input is '[', the whole input is one JSON
// array (read completely into memory: meant for test fixtures; use NDJSON for large inputs; a
// syntax error anywhere in the array makes the whole array one malformed input, as simdjson checks
// the structure of a document before reading it); otherwise it is NDJSON. Blank lines are skipped
// silently; CRLF line ends are accepted.
//
// Reading: the file is read in 1 MiB chunks into a buffer that keeps simdjson's padding after
// the data, so lines are parsed in place without copying. A line longer than `max_line_bytes` is
// reported as malformed and skipped up to its newline. Malformed lines are reported with their
// 1-based line number and the decoder's reason, counted, and skipped.
// Tested by ndjson_source_test.cc.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "kestrel/event/json_decoder.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/source.h"

namespace kestrel::sources {

struct NdjsonOptions {
  std::string path;  // "-" for standard input
  event::DecoderOptions decoder;
  size_t max_line_bytes = 64 << 20;  // 64 MiB
  size_t read_chunk_bytes = 1 << 20;
  // When >= 0: a descriptor that becomes readable when the reader must stop (pipeline/stop.h).
  // Each read waits for the input or for it, whichever comes first; once it is readable the
  // stream ends (Next() returns false) without waiting for more input — standard input and
  // FIFOs are interrupted at once. What was read before is still returned.
  int stop_fd = -1;
};

class NdjsonSource final : public Source {
 public:
  // Opens `options.path`. Errors: NOT_FOUND / PERMISSION_DENIED etc. with the path and reason.
  static absl::StatusOr<std::unique_ptr<NdjsonSource>> Open(schema::Schema* schema,
                                                            NdjsonOptions options,
                                                            DiagnosticSink diagnostics);
  ~NdjsonSource() override;

  absl::StatusOr<bool> Next(event::Event* event) override;
  SourceStats stats() const override;
  std::string_view name() const override { return name_; }

 private:
  NdjsonSource(schema::Schema* schema, NdjsonOptions options, DiagnosticSink diagnostics, int fd);

  // Reads more input into the buffer; false at end of input.
  absl::StatusOr<bool> Fill();
  absl::Status LoadArray();
  void Report(std::string location, std::string reason);

  NdjsonOptions options_;
  DiagnosticSink diagnostics_;
  std::string name_;
  std::string display_path_;
  int fd_;
  bool owns_fd_;
  event::JsonDecoder decoder_;

  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0;  // usable bytes (the allocation has kPadding more)
  size_t begin_ = 0;     // first unconsumed byte
  size_t end_ = 0;       // one past the last byte read
  bool eof_ = false;
  bool format_known_ = false;
  bool array_mode_ = false;
  bool skipping_long_line_ = false;
  uint64_t line_ = 0;  // number of the last line handed to the decoder

  std::deque<event::Event> array_events_;  // array mode: decoded, not yet returned
  SourceStats stats_;
};

}  // namespace kestrel::sources
