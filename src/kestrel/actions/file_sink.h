// FileSink: alerts as JSON lines appended to a file (or standard output), rotated by size and/or
// age, rotated files optionally compressed with zstd.
//
// Rotation: before a write that would take the file past rotate_bytes, or once the file is older
// than rotate_age (checked at each batch and when idle), the file is renamed
// PATH.YYYYMMDDTHHMMSS.NNN (UTC; NNN from 000 makes the name unique and keeps names in rotation
// order), compressed to PATH.YYYYMMDDTHHMMSS.NNN.zst when `compress` (the uncompressed copy removed
// after the compressed one is complete), and a new PATH is opened. At most max_files rotated files
// are kept (oldest removed); 0 keeps all. A line is never split between files. Standard output
// ("-") is never rotated. Files are created mode 0600 and never opened through a symbolic link
// (O_NOFOLLOW: a link planted at the path is an error, not a redirection). Thread safety: one
// delivery thread (sink.h). Tested by file_sink_test.cc.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "kestrel/actions/sink.h"

namespace kestrel::actions {

struct FileSinkOptions {
  std::string path;                         // "-": standard output
  uint64_t rotate_bytes = 0;                // 0: no rotation by size
  std::chrono::milliseconds rotate_age{0};  // 0: no rotation by age
  bool compress = false;
  size_t max_files = 0;
};

class FileSink final : public Sink {
 public:
  static absl::StatusOr<std::unique_ptr<FileSink>> Open(FileSinkOptions options);
  ~FileSink() override;

  const std::string& name() const override { return name_; }
  size_t max_batch() const override { return 256; }
  absl::Status Deliver(std::span<const SinkMessage> batch, size_t* delivered) override;
  absl::Status Idle() override;

  uint64_t rotations() const { return rotations_; }

 private:
  explicit FileSink(FileSinkOptions options);
  absl::Status OpenFile();
  absl::Status Rotate();

  const FileSinkOptions options_;
  const std::string name_;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::chrono::system_clock::time_point opened_at_;
  uint64_t rotations_ = 0;
  std::string buf_;  // reused
};

// Compresses `from` into `to` (zstd, level 3). Errors: I/O. Exposed for tests.
absl::Status CompressFile(const std::string& from, const std::string& to);

}  // namespace kestrel::actions
