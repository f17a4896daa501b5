// LogWriter: appends events to a binary event log (docs/log-format.md).
//
// Events are encoded into a block in memory; a block is compressed (zstd), checksummed (XXH64)
// and appended with one write when its records reach `block_bytes`, when the next event is
// `max_block_span_ns` of event time after the block's oldest, on Flush(), and on Close(). (The
// writer never reads a clock: a wall-clock flush of an idle recording is the caller's timer
// calling Flush(), e.g. `kestrel record`'s.)
// A block is written whole or not at all as far as readers are concerned: a crash or a cut at
// any byte leaves every earlier block readable (the reader resynchronises past a torn tail).
// Close() writes the footer (counts, every field used); a log without one was not closed cleanly
// and still reads.
//
// Rotation: with `max_size_bytes` or `max_age_ns` set, the output path is a pattern — `DIR/x.klog`
// becomes `DIR/x.000001.klog`, `DIR/x.000002.klog`, … (numbers continue after the highest already
// there, so names sort in time order across restarts); a new file starts when the current one
// has reached the size, or when the next event is `max_age_ns` of event time after the file's
// first event.
//
// Errors (disk full, permission) are returned by Append/Flush/Close; what was written before
// stays readable. Existing files are never overwritten unless `overwrite` is set.
// Thread safety: none (one writer). Tested by log_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/event/event.h"
#include "kestrel/log/log_format.h"
#include "kestrel/log/record_codec.h"
#include "kestrel/schema/schema.h"

namespace kestrel::log {

enum class FsyncPolicy : uint8_t {
  kNever,       // leave it to the kernel
  kEveryBlock,  // fsync after each block (a power loss loses at most the block being built)
  kOnClose,     // fsync when a file is closed (the default)
};

struct WriterOptions {
  FsyncPolicy fsync = FsyncPolicy::kOnClose;
  int compression_level = 3;  // zstd level
  // Raw record bytes that close a block: larger blocks compress better (Endgame workload, level
  // 3: ~35 bytes per event with 1 MiB, ~38 with 256 KiB); smaller ones seek finer.
  size_t block_bytes = 1 << 20;
  uint64_t max_size_bytes = 0;  // rotate at this file size (0: never)
  int64_t max_age_ns = 0;       // rotate after this much event time per file (0: never)
  // Write the block being built before an event this much event time after its oldest (0: only
  // by size): a live recording then loses at most this span of events to a crash.
  int64_t max_block_span_ns = 0;
  bool overwrite = false;  // replace an existing file instead of refusing it
};

class LogWriter {
 public:
  // Creates the first file. `schema` must outlive the writer. Errors: the file exists (and
  // !overwrite), cannot be created, or the options are invalid.
  static absl::StatusOr<std::unique_ptr<LogWriter>> Create(const std::string& path,
                                                           const schema::Schema& schema,
                                                           const LogMetadata& metadata,
                                                           const WriterOptions& options);
  ~LogWriter();  // closes (errors are logged) if Close() was not called
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  absl::Status Append(const event::Event& event);
  // Writes the block being built now (e.g. on a timer while recording a slow live source).
  absl::Status Flush();
  // Writes the last block and the footer, syncs by policy, closes. Idempotent.
  absl::Status Close();

  uint64_t events() const { return total_events_; }
  uint32_t pending_events() const { return encoder_.events(); }  // in the block being built
  uint64_t blocks() const { return total_blocks_; }
  uint64_t bytes() const { return total_bytes_; }  // all files, as written so far
  const std::vector<std::string>& files() const { return files_; }

 private:
  LogWriter(const schema::Schema& schema, const LogMetadata& metadata,
            const WriterOptions& options);
  absl::Status OpenFile();
  absl::Status CloseFile();
  absl::Status WriteBlock();
  absl::Status WriteAll(const std::string& bytes);
  std::string NextPath();

  const schema::Schema& schema_;
  LogMetadata metadata_;
  WriterOptions options_;
  std::string pattern_dir_, pattern_stem_, pattern_ext_;
  bool rotating_ = false;
  uint64_t next_number_ = 1;

  int fd_ = -1;
  std::string path_;
  BlockEncoder encoder_;
  std::string raw_, compressed_, scratch_;
  void* zstd_ = nullptr;  // ZSTD_CCtx

  // Current file.
  uint64_t file_bytes_ = 0, file_events_ = 0, file_blocks_ = 0;
  int64_t file_first_time_ = 0, file_min_time_ = 0, file_max_time_ = 0;
  std::vector<uint32_t> file_fields_;
  std::vector<uint8_t> file_field_seen_;
  uint64_t file_categories_ = 0;

  uint64_t total_events_ = 0, total_blocks_ = 0, total_bytes_ = 0;
  std::vector<std::string> files_;
  bool closed_ = false;
};

}  // namespace kestrel::log
