#include "kestrel/log/log_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <zstd.h>

#include "kestrel/base/files.h"
#include "xxhash.h"

namespace kestrel::log {
namespace {

namespace fs = std::filesystem;

absl::Status ErrnoError(std::string_view what, const std::string& path) {
  int err = errno;
  std::string message = fmt::format("{} '{}': {}", what, path, std::strerror(err));
  if (err == EEXIST) return absl::AlreadyExistsError(message);
  if (err == ENOENT) return absl::NotFoundError(message);
  if (err == EACCES || err == EPERM) return absl::PermissionDeniedError(message);
  return absl::InternalError(message);
}

std::string FileHeader(const LogMetadata& meta) {
  std::string body;
  PutBytes(&body, meta.kestrel_version);
  PutBytes(&body, meta.host_name);
  PutBytes(&body, meta.boot_id);
  PutSigned(&body, meta.clock_origin_ns);
  PutVarint(&body, schema::kEcsCatalogueSize);
  PutU64(&body, CatalogueHash());

  std::string out(kFileMagic, sizeof kFileMagic);
  PutU16(&out, kFormatVersion);
  PutU16(&out, kMinReaderVersion);
  PutU32(&out, static_cast<uint32_t>(body.size()));
  out.append(body);
  PutU64(&out, XXH64(out.data(), out.size(), 0));  // the fixed part and the body
  return out;
}

}  // namespace

LogWriter::LogWriter(const schema::Schema& schema, const LogMetadata& metadata,
                     const WriterOptions& options)
    : schema_(schema), metadata_(metadata), options_(options), encoder_(schema) {}

LogWriter::~LogWriter() {
  if (!closed_) {
    if (absl::Status s = Close(); !s.ok())
      spdlog::error("closing event log: {}", std::string(s.message()));
  }
  ZSTD_freeCCtx(static_cast<ZSTD_CCtx*>(zstd_));
}

absl::StatusOr<std::unique_ptr<LogWriter>> LogWriter::Create(const std::string& path,
                                                             const schema::Schema& schema,
                                                             const LogMetadata& metadata,
                                                             const WriterOptions& options) {
  if (path.empty()) return absl::InvalidArgumentError("no output path for the event log");
  if (options.compression_level < 1 || options.compression_level > ZSTD_maxCLevel()) {
    return absl::InvalidArgumentError(fmt::format("compression level {} out of range 1..{}",
                                                  options.compression_level, ZSTD_maxCLevel()));
  }
  if (options.max_size_bytes != 0 && options.max_size_bytes < 4096) {
    return absl::InvalidArgumentError(
        fmt::format("--max-size {} is too small: at least 4096 bytes", options.max_size_bytes));
  }
  if (options.max_age_ns < 0) return absl::InvalidArgumentError("negative --max-age");
  if (options.max_block_span_ns < 0) return absl::InvalidArgumentError("negative block span");
  std::unique_ptr<LogWriter> w(new LogWriter(schema, metadata, options));
  w->zstd_ = ZSTD_createCCtx();
  if (w->zstd_ == nullptr) return absl::ResourceExhaustedError("zstd: cannot allocate a context");
  ZSTD_CCtx_setParameter(static_cast<ZSTD_CCtx*>(w->zstd_), ZSTD_c_compressionLevel,
                         options.compression_level);
  w->options_.block_bytes = std::clamp<size_t>(options.block_bytes, 1, kMaxBlockBytes / 2);
  if (options.max_size_bytes != 0) {
    // Blocks small enough that a file ends near its size limit.
    w->options_.block_bytes = std::min<size_t>(
        w->options_.block_bytes, std::max<uint64_t>(options.max_size_bytes / 4, 1024));
  }

  w->rotating_ = options.max_size_bytes != 0 || options.max_age_ns != 0;
  if (w->rotating_) {
    fs::path p(path);
    w->pattern_dir_ = p.parent_path().string();
    w->pattern_stem_ = p.stem().string();
    w->pattern_ext_ = p.extension().string();
    if (w->pattern_ext_.empty()) w->pattern_ext_ = ".klog";
    // Continue after the highest number already there.
    std::error_code ec;
    fs::path dir = w->pattern_dir_.empty() ? fs::path(".") : fs::path(w->pattern_dir_);
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      std::string prefix = w->pattern_stem_ + ".";
      if (name.size() != prefix.size() + 6 + w->pattern_ext_.size() ||
          name.compare(0, prefix.size(), prefix) != 0 ||
          name.compare(name.size() - w->pattern_ext_.size(), std::string::npos, w->pattern_ext_) !=
              0) {
        continue;
      }
      std::string digits = name.substr(prefix.size(), 6);
      if (!std::all_of(digits.begin(), digits.end(), ::isdigit)) continue;
      w->next_number_ = std::max<uint64_t>(w->next_number_, std::stoull(digits) + 1);
    }
  } else {
    w->path_ = path;
  }
  if (absl::Status s = w->OpenFile(); !s.ok()) {
    w->closed_ = true;
    return s;
  }
  return w;
}

std::string LogWriter::NextPath() {
  std::string name = fmt::format("{}.{:06d}{}", pattern_stem_, next_number_++, pattern_ext_);
  return pattern_dir_.empty() ? name : (fs::path(pattern_dir_) / name).string();
}

absl::Status LogWriter::OpenFile() {
  if (rotating_) path_ = NextPath();
  // Recorded events hold command lines: the owner's only, and never written through a symbolic
  // link planted at the path (flight recordings go to a directory others may write).
  // Overwriting: only a regular file of ours with one link, truncated once checked (a hard link
  // to another file is never truncated); otherwise O_EXCL, which no planted file passes.
  if (options_.overwrite) {
    auto opened = base::OpenPrivateFile(path_, O_WRONLY | O_TRUNC);
    if (!opened.ok()) {
      return absl::Status(
          opened.status().code(),
          fmt::format("cannot create event log: {}", std::string(opened.status().message())));
    }
    fd_ = *opened;
  } else {
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_EXCL, 0600);
  }
  if (fd_ < 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(fmt::format(
          "event log '{}' already exists (choose another --output, or remove it)", path_));
    }
    return ErrnoError("cannot create event log", path_);
  }
  files_.push_back(path_);
  file_bytes_ = file_events_ = file_blocks_ = 0;
  file_first_time_ = file_min_time_ = file_max_time_ = 0;
  for (uint32_t code : file_fields_) file_field_seen_[code] = 0;
  file_fields_.clear();
  file_categories_ = 0;
  return WriteAll(FileHeader(metadata_));
}

absl::Status LogWriter::WriteAll(const std::string& bytes) {
  const char* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("cannot write event log", path_);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  file_bytes_ += bytes.size();
  total_bytes_ += bytes.size();
  return absl::OkStatus();
}

absl::Status LogWriter::WriteBlock() {
  uint32_t events = encoder_.events();
  if (events == 0) return absl::OkStatus();
  for (uint32_t code : encoder_.block_fields()) {
    if (code >= file_field_seen_.size()) file_field_seen_.resize(code + 1, 0);
    if (!file_field_seen_[code]) {
      file_field_seen_[code] = 1;
      file_fields_.push_back(code);
    }
  }
  file_categories_ |= encoder_.block_categories();
  int64_t min_time = encoder_.min_time_ns();
  int64_t max_time = encoder_.max_time_ns();
  encoder_.Take(&raw_);
  if (raw_.size() > kMaxBlockBytes) {
    return absl::InvalidArgumentError(
        fmt::format("an event block of {} bytes exceeds the format's limit of {} bytes",
                    raw_.size(), kMaxBlockBytes));
  }

  compressed_.resize(ZSTD_compressBound(raw_.size()));
  size_t n = ZSTD_compress2(static_cast<ZSTD_CCtx*>(zstd_), compressed_.data(), compressed_.size(),
                            raw_.data(), raw_.size());
  if (ZSTD_isError(n)) {
    return absl::InternalError(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
  }
  compressed_.resize(n);

  scratch_.clear();
  scratch_.append(kBlockMagic, sizeof kBlockMagic);
  PutU32(&scratch_, static_cast<uint32_t>(Codec::kZstd));
  PutU32(&scratch_, static_cast<uint32_t>(compressed_.size()));
  PutU32(&scratch_, static_cast<uint32_t>(raw_.size()));
  PutU32(&scratch_, events);
  PutU32(&scratch_, 0);  // reserved
  PutU64(&scratch_, static_cast<uint64_t>(min_time));
  PutU64(&scratch_, static_cast<uint64_t>(max_time));
  PutU64(&scratch_, file_events_);
  PutU64(&scratch_, XXH64(compressed_.data(), compressed_.size(), 0));
  PutU64(&scratch_, XXH64(scratch_.data(), scratch_.size(), 0));
  scratch_.append(compressed_);
  if (absl::Status s = WriteAll(scratch_); !s.ok()) return s;

  if (file_blocks_ == 0 || min_time < file_min_time_) file_min_time_ = min_time;
  if (file_blocks_ == 0 || max_time > file_max_time_) file_max_time_ = max_time;
  file_events_ += events;
  ++file_blocks_;
  ++total_blocks_;
  if (options_.fsync == FsyncPolicy::kEveryBlock && ::fdatasync(fd_) != 0) {
    return ErrnoError("cannot sync event log", path_);
  }
  return absl::OkStatus();
}

absl::Status LogWriter::Append(const event::Event& event) {
  if (closed_) return absl::FailedPreconditionError("event log writer is closed");
  if (rotating_ && file_events_ + encoder_.events() > 0) {
    bool by_size = options_.max_size_bytes != 0 && file_bytes_ >= options_.max_size_bytes;
    bool by_age =
        options_.max_age_ns != 0 && event.time_ns() - file_first_time_ >= options_.max_age_ns;
    if (by_size || by_age) {
      if (absl::Status s = CloseFile(); !s.ok()) return s;
      if (absl::Status s = OpenFile(); !s.ok()) return s;
    }
  }
  if (options_.max_block_span_ns > 0 && encoder_.events() > 0 &&
      event.time_ns() > encoder_.min_time_ns() &&
      static_cast<uint64_t>(event.time_ns()) - static_cast<uint64_t>(encoder_.min_time_ns()) >=
          static_cast<uint64_t>(options_.max_block_span_ns)) {
    if (absl::Status s = WriteBlock(); !s.ok()) return s;
  }
  if (file_events_ + encoder_.events() == 0) file_first_time_ = event.time_ns();
  encoder_.Add(event);
  ++total_events_;
  if (encoder_.records_bytes() >= options_.block_bytes) return WriteBlock();
  return absl::OkStatus();
}

absl::Status LogWriter::Flush() {
  if (closed_) return absl::OkStatus();
  return WriteBlock();
}

absl::Status LogWriter::CloseFile() {
  absl::Status status = WriteBlock();
  if (status.ok()) {
    std::string body;
    PutVarint(&body, file_blocks_);
    PutVarint(&body, file_events_);
    PutSigned(&body, file_min_time_);
    PutSigned(&body, file_max_time_);
    PutDefinitions(schema_, file_fields_, file_categories_, &body);
    uint64_t footer_offset = file_bytes_;
    std::string footer(kFooterMagic, sizeof kFooterMagic);
    PutU32(&footer, static_cast<uint32_t>(body.size()));
    footer.append(body);
    PutU64(&footer, XXH64(body.data(), body.size(), 0));
    PutU64(&footer, footer_offset);
    footer.append(kEndMagic, sizeof kEndMagic);
    status = WriteAll(footer);
  }
  if (status.ok() && options_.fsync != FsyncPolicy::kNever && ::fsync(fd_) != 0) {
    status = ErrnoError("cannot sync event log", path_);
  }
  if (::close(fd_) != 0 && status.ok()) status = ErrnoError("cannot close event log", path_);
  fd_ = -1;
  return status;
}

absl::Status LogWriter::Close() {
  if (closed_) return absl::OkStatus();
  closed_ = true;
  if (fd_ < 0) return absl::OkStatus();
  return CloseFile();
}

}  // namespace kestrel::log
