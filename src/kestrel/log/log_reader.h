// LogFileReader: streams the blocks of one event log file (docs/log-format.md) without loading
// the file: one block in memory at a time.
//
// The file is hostile until proven otherwise. A block whose header checksum, lengths, payload
// checksum or decompression fails, or that the file ends inside, is damaged: it is reported
// (file, byte offset, reason) through the DamageSink, counted, and skipped by scanning forward
// for the next block whose header checksum holds (resynchronisation). Nothing is read outside
// the file or past a length that was not checked.
//
// Continuity: each block's header numbers its first event (the events before it in the file).
// A block that numbers its events below what was already read (a duplicated or replayed block)
// is reported and skipped; one that leaves a gap (a dropped block) is reported and read. The
// footer's block and event counts must match what the file held; a mismatch (e.g. the last block
// dropped) is reported at the footer's offset. A gap that follows damage already reported (a
// block whose header was lost) is not reported twice. Every report counts in damaged().
//
// InspectLog() walks a whole file (checking every payload checksum, decompressing nothing) for
// `kestrel log info`.
// Thread safety: none. Tested by log_test.cc and fuzz/event_log_fuzz.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/log/log_format.h"

namespace kestrel::log {

// Damage found in a file: where (byte offset) and why.
using DamageSink =
    std::function<void(const std::string& path, uint64_t offset, std::string_view reason)>;

struct FileHeaderInfo {
  uint16_t format_version = 0;
  uint16_t min_reader_version = 0;
  LogMetadata meta;
  uint64_t catalogue_size = 0;
  uint64_t catalogue_hash = 0;
  uint64_t header_bytes = 0;  // where the first block starts
};

struct FooterInfo {
  uint64_t blocks = 0;
  uint64_t events = 0;
  int64_t min_time_ns = 0;
  int64_t max_time_ns = 0;
  std::vector<std::string> fields;  // names of every field the file uses
};

struct BlockInfo {
  uint64_t offset = 0;  // of the block header
  BlockHeader header;
};

class LogFileReader {
 public:
  // Opens `path` and reads its header. Errors: the file cannot be opened (NOT_FOUND, ...), is not
  // an event log (INVALID_ARGUMENT), has a damaged header (DATA_LOSS), or needs a newer reader
  // (FAILED_PRECONDITION, naming both versions).
  static absl::StatusOr<std::unique_ptr<LogFileReader>> Open(const std::string& path,
                                                             DamageSink damage);
  ~LogFileReader();
  LogFileReader(const LogFileReader&) = delete;
  LogFileReader& operator=(const LogFileReader&) = delete;

  // Moves to the next block whose header is intact; false at the end of the file. Its payload
  // is not read until LoadPayload(); a block left unread is skipped by its stated length.
  // Errors: an I/O error (the file as a whole cannot be read on).
  absl::StatusOr<bool> NextBlock(BlockInfo* block);

  // Reads the current block's payload and checks its checksum; with `decompress`, returns the
  // raw payload (valid until the next call), else an empty view. Damage (bad checksum, failed
  // decompression) is reported and counted, and the reader resynchronises after the block's
  // start; the result is then nullopt. Errors: I/O.
  absl::StatusOr<std::optional<std::string_view>> LoadPayload(bool decompress);

  // Counts and reports damage found by the caller in the block just loaded (a payload whose
  // records do not decode although its checksum holds).
  void ReportDamage(uint64_t offset, std::string_view reason);

  const FileHeaderInfo& header() const { return header_; }
  const std::string& path() const { return path_; }
  uint64_t file_bytes() const { return file_bytes_; }
  uint64_t damaged() const { return damaged_; }  // damaged regions (blocks) so far
  bool has_footer() const { return has_footer_; }
  const FooterInfo& footer() const { return footer_; }

 private:
  LogFileReader(std::string path, int fd, uint64_t size, DamageSink damage);
  absl::Status ReadHeader();
  absl::Status ReadAt(uint64_t offset, size_t n, std::string* out);
  // Reports damage at `offset` and moves to the next candidate block after it. `header_lost`: no
  // block header could be read there, so the next block may skip the events it held.
  absl::Status Damaged(uint64_t offset, std::string_view reason, bool header_lost = false);
  // Checks `block`'s first event number against the blocks before it; false: a duplicate.
  bool InSequence(const BlockInfo& block);
  void CheckFooterCounts(uint64_t offset);
  // The offset of the first intact block header or footer at or after `from` (file end if none).
  absl::StatusOr<uint64_t> Resync(uint64_t from);
  // Checks a block header at `offset` (in `bytes`, kBlockHeaderSize long); empty when valid.
  std::string CheckBlockHeader(uint64_t offset, const char* bytes, BlockHeader* out) const;
  bool ParseFooter(uint64_t offset, std::string* reason);

  std::string path_;
  int fd_;
  uint64_t file_bytes_;
  DamageSink damage_;
  FileHeaderInfo header_;
  FooterInfo footer_;
  bool has_footer_ = false;
  uint64_t pos_ = 0;
  BlockInfo current_;
  bool has_current_ = false;
  uint64_t damaged_ = 0;
  uint64_t next_event_ = 0;     // the first event number the next block should have
  uint64_t blocks_seen_ = 0;    // blocks with intact headers, in sequence
  bool gap_explained_ = false;  // damage since the last block may have taken events with it
  std::string buf_, compressed_, raw_;
  void* zstd_ = nullptr;  // ZSTD_DCtx
};

struct LogInfo {
  std::string path;
  uint64_t file_bytes = 0;
  uint16_t format_version = 0;
  uint16_t min_reader_version = 0;
  LogMetadata meta;
  uint64_t catalogue_hash = 0;
  bool same_catalogue = false;    // the writer's catalogue is this build's
  std::vector<BlockInfo> blocks;  // intact blocks
  uint64_t damaged_blocks = 0;
  uint64_t events = 0;  // in intact blocks
  int64_t min_time_ns = 0;
  int64_t max_time_ns = 0;
  bool has_footer = false;
  FooterInfo footer;
};

// Walks `path`, verifying every block's checksums. Errors: as LogFileReader::Open, and I/O.
absl::StatusOr<LogInfo> InspectLog(const std::string& path, const DamageSink& damage);

}  // namespace kestrel::log
