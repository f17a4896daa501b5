// Spool: the on-disk queue of a sink's undelivered alerts, an append-only file in the style of
// the event log (log/log_format.h): a fixed header, then framed records.
//
//   header (24 bytes): "KSPOOL01", u64 LE committed read offset, u64 LE xxh64 of the 16 bytes
//   record:            u32 LE body length, u64 LE xxh64 of the body, body
//   body:              u16 LE host length, host, u16 LE rule id length, rule id, u8 severity,
//                      i64 LE time, the formatted alert
//
// Records are appended at the end and consumed from the committed read offset, which is
// rewritten in place after each delivery (so a restart resends at most the last batch: at least
// once). Open() recovers an existing spool: it resumes at the committed offset and truncates a
// damaged or half-written tail (counted in recovered_damaged_bytes()). When every record is
// consumed the file is truncated back to its header; when the consumed prefix grows past the
// cap, the live records are moved to the front (compaction), so the file stays under ~2x cap.
//
// Budget: live bytes (records not yet consumed, framing included) never exceed max_bytes:
// Append() refuses a record that would (the caller counts the drop). O(record) per append and
// per consumed record; memory is O(batch).
// Thread safety: none (one delivery thread). Tested by spool_test.cc.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kestrel/actions/sink.h"

namespace kestrel::actions {

inline constexpr uint64_t kSpoolHeaderSize = 24;
inline constexpr uint64_t kSpoolRecordOverhead = 12 + 2 + 2 + 1 + 8;  // framing + fixed body

// How the spool writes: pwrite(2) (tests inject a failing one, e.g. ENOSPC).
using SpoolWriteFn = ssize_t (*)(int fd, const void* buf, size_t n, off_t offset);

class Spool {
 public:
  // Opens or creates `path` (its directory is created). `max_bytes` caps the live bytes.
  // `write`: pwrite(2) unless a test injects another.
  static absl::StatusOr<std::unique_ptr<Spool>> Open(const std::string& path, uint64_t max_bytes,
                                                     SpoolWriteFn write = nullptr);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // The bytes `m` takes in the spool.
  static uint64_t RecordSize(const SinkMessage& m);

  // Appends `m`. Returns false (and writes nothing) when it would push the live bytes past the
  // cap, unless `force` (for the drop notice, which may exceed the cap by one record).
  // Errors: the write failed (disk full: the message says why, with strerror); nothing is
  // appended.
  [[nodiscard]] absl::StatusOr<bool> Append(const SinkMessage& m, bool force = false);

  // Reads up to `n` records from the read position into *out (replacing its contents), without
  // consuming them. Errors: the file was damaged under us.
  [[nodiscard]] absl::Status Peek(size_t n, std::vector<SinkMessage>* out);
  // Consumes the first `n` records of the last Peek() (n <= its size) and commits the read
  // position.
  [[nodiscard]] absl::Status Consume(size_t n);

  uint64_t pending() const { return pending_; }  // records not consumed
  uint64_t live_bytes() const { return write_ - read_; }
  uint64_t file_bytes() const { return write_; }
  uint64_t recovered_records() const { return recovered_records_; }  // found by Open()
  uint64_t recovered_damaged_bytes() const { return damaged_; }
  const std::string& path() const { return path_; }

 private:
  Spool(std::string path, int fd, uint64_t max_bytes, SpoolWriteFn write);
  bool WriteAll(const char* buf, size_t n, uint64_t off);
  absl::Status Recover();
  absl::Status WriteHeader(uint64_t read_offset);
  absl::Status Reset();    // everything consumed: back to the header alone
  absl::Status Compact();  // move live records to the front

  const std::string path_;
  const int fd_;
  const uint64_t max_bytes_;
  const SpoolWriteFn write_fn_;
  uint64_t read_ = kSpoolHeaderSize;   // offset of the first unconsumed record
  uint64_t write_ = kSpoolHeaderSize;  // end of the last record
  uint64_t pending_ = 0;
  std::vector<uint64_t> peek_ends_;  // end offsets of the last Peek()'s records
  uint64_t recovered_records_ = 0;
  uint64_t damaged_ = 0;
  std::string buf_;  // reused
};

}  // namespace kestrel::actions
