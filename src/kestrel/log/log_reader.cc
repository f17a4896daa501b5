#include "kestrel/log/log_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>
#include <zstd.h>

#include "xxhash.h"

namespace kestrel::log {

LogFileReader::LogFileReader(std::string path, int fd, uint64_t size, DamageSink damage)
    : path_(std::move(path)), fd_(fd), file_bytes_(size), damage_(std::move(damage)) {}

LogFileReader::~LogFileReader() {
  if (fd_ >= 0) ::close(fd_);
  ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(zstd_));
}

absl::StatusOr<std::unique_ptr<LogFileReader>> LogFileReader::Open(const std::string& path,
                                                                   DamageSink damage) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    std::string message = fmt::format("cannot open event log '{}': {}", path, std::strerror(errno));
    if (errno == ENOENT) return absl::NotFoundError(message);
    if (errno == EACCES) return absl::PermissionDeniedError(message);
    return absl::InternalError(message);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError(fmt::format("'{}' is not a regular file", path));
  }
  std::unique_ptr<LogFileReader> r(
      new LogFileReader(path, fd, static_cast<uint64_t>(st.st_size), std::move(damage)));
  r->zstd_ = ZSTD_createDCtx();
  if (r->zstd_ == nullptr) return absl::ResourceExhaustedError("zstd: cannot allocate a context");
  if (absl::Status s = r->ReadHeader(); !s.ok()) return s;
  return r;
}

absl::Status LogFileReader::ReadAt(uint64_t offset, size_t n, std::string* out) {
  out->resize(n);
  size_t done = 0;
  while (done < n) {
    ssize_t got = ::pread(fd_, out->data() + done, n - done, static_cast<off_t>(offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(
          fmt::format("cannot read event log '{}': {}", path_, std::strerror(errno)));
    }
    if (got == 0) {
      return absl::DataLossError(
          fmt::format("event log '{}' shrank while being read (at offset {})", path_, offset));
    }
    done += static_cast<size_t>(got);
  }
  return absl::OkStatus();
}

absl::Status LogFileReader::ReadHeader() {
  std::string not_a_log =
      fmt::format("'{}' is not a Kestrel event log (no KESTRLOG magic at its start)", path_);
  if (file_bytes_ < sizeof kFileMagic) return absl::InvalidArgumentError(not_a_log);
  if (absl::Status s = ReadAt(0, std::min<uint64_t>(file_bytes_, kFileHeaderFixed), &buf_);
      !s.ok()) {
    return s;
  }
  if (std::memcmp(buf_.data(), kFileMagic, sizeof kFileMagic) != 0) {
    return absl::InvalidArgumentError(not_a_log);
  }
  if (file_bytes_ < kFileHeaderFixed) {
    return absl::DataLossError(fmt::format("event log '{}': header truncated", path_));
  }
  header_.format_version = LoadU16(buf_.data() + 8);
  header_.min_reader_version = LoadU16(buf_.data() + 10);
  uint32_t body_len = LoadU32(buf_.data() + 12);
  if (header_.format_version == 0 || header_.min_reader_version == 0) {
    return absl::DataLossError(fmt::format("event log '{}': header names format version 0", path_));
  }
  if (header_.min_reader_version > kFormatVersion) {
    return absl::FailedPreconditionError(fmt::format(
        "event log '{}' was written in format version {} and needs a reader of version {} or "
        "later; this Kestrel reads format versions 1 to {}: upgrade Kestrel to read it",
        path_, header_.format_version, header_.min_reader_version, kFormatVersion));
  }
  if (body_len > kMaxHeaderBody || kFileHeaderFixed + body_len + 8 > file_bytes_) {
    return absl::DataLossError(fmt::format(
        "event log '{}': header truncated or damaged (claims {} bytes)", path_, body_len));
  }
  if (absl::Status s = ReadAt(0, kFileHeaderFixed + body_len + 8, &buf_); !s.ok()) return s;
  if (XXH64(buf_.data(), kFileHeaderFixed + body_len, 0) !=
      LoadU64(buf_.data() + kFileHeaderFixed + body_len)) {
    return absl::DataLossError(
        fmt::format("event log '{}': header checksum mismatch (the header is damaged)", path_));
  }
  ByteReader in(buf_.data() + kFileHeaderFixed, body_len);
  std::string_view version, host, boot;
  if (!in.Bytes(&version) || !in.Bytes(&host) || !in.Bytes(&boot) ||
      !in.Signed(&header_.meta.clock_origin_ns) || !in.Varint(&header_.catalogue_size) ||
      !in.U64(&header_.catalogue_hash)) {
    return absl::DataLossError(fmt::format("event log '{}': malformed header", path_));
  }
  // Bytes after these fields are additions of later versions of the same format: ignored.
  header_.meta.kestrel_version = version;
  header_.meta.host_name = host;
  header_.meta.boot_id = boot;
  header_.header_bytes = kFileHeaderFixed + body_len + 8;
  pos_ = header_.header_bytes;
  return absl::OkStatus();
}

std::string LogFileReader::CheckBlockHeader(uint64_t offset, const char* p,
                                            BlockHeader* out) const {
  if (std::memcmp(p, kBlockMagic, 4) != 0) return "no block header at this offset";
  if (XXH64(p, kBlockHeaderSize - 8, 0) != LoadU64(p + kBlockHeaderSize - 8)) {
    return "block header checksum mismatch";
  }
  BlockHeader h;
  uint32_t flags = LoadU32(p + 4);
  h.compressed_len = LoadU32(p + 8);
  h.raw_len = LoadU32(p + 12);
  h.event_count = LoadU32(p + 16);
  h.min_time_ns = static_cast<int64_t>(LoadU64(p + 24));
  h.max_time_ns = static_cast<int64_t>(LoadU64(p + 32));
  h.first_event = LoadU64(p + 40);
  h.payload_hash = LoadU64(p + 48);
  if ((flags & 0xff) > static_cast<uint32_t>(Codec::kZstd)) {
    return fmt::format("unknown compression codec {}", flags & 0xff);
  }
  h.codec = static_cast<Codec>(flags & 0xff);
  if (h.compressed_len > kMaxBlockBytes || h.raw_len > kMaxBlockBytes) {
    return fmt::format("impossible block lengths ({} compressed, {} raw; the limit is {})",
                       h.compressed_len, h.raw_len, kMaxBlockBytes);
  }
  if (h.event_count > h.raw_len || h.min_time_ns > h.max_time_ns ||
      (h.codec == Codec::kNone && h.compressed_len != h.raw_len)) {
    return "inconsistent block header";
  }
  uint64_t end = offset + kBlockHeaderSize + h.compressed_len;
  if (end > file_bytes_) {
    return fmt::format("block truncated: it needs {} bytes, the file ends {} bytes after it starts",
                       kBlockHeaderSize + h.compressed_len, file_bytes_ - offset);
  }
  *out = h;
  return "";
}

bool LogFileReader::ParseFooter(uint64_t offset, std::string* reason) {
  std::string bytes;
  if (file_bytes_ - offset < 8 || !ReadAt(offset, 8, &bytes).ok()) {
    *reason = "footer truncated";
    return false;
  }
  uint32_t body_len = LoadU32(bytes.data() + 4);
  if (body_len > kMaxFooterBody || offset + 8 + body_len + 8 + kTrailerSize != file_bytes_) {
    *reason = "footer truncated or damaged (it must end the file)";
    return false;
  }
  std::string trailer;
  if (!ReadAt(file_bytes_ - kTrailerSize, kTrailerSize, &trailer).ok() ||
      LoadU64(trailer.data()) != offset ||
      std::memcmp(trailer.data() + 8, kEndMagic, sizeof kEndMagic) != 0) {
    *reason = "file trailer damaged";
    return false;
  }
  if (!ReadAt(offset + 8, body_len + 8, &bytes).ok() ||
      XXH64(bytes.data(), body_len, 0) != LoadU64(bytes.data() + body_len)) {
    *reason = "footer checksum mismatch";
    return false;
  }
  ByteReader in(bytes.data(), body_len);
  FooterInfo f;
  uint64_t n;
  if (!in.Varint(&f.blocks) || !in.Varint(&f.events) || !in.Signed(&f.min_time_ns) ||
      !in.Signed(&f.max_time_ns) || !in.Varint(&n) || n > body_len) {
    *reason = "malformed footer";
    return false;
  }
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t code;
    uint8_t type;
    std::string_view name;
    if (!in.Varint(&code) || !in.Byte(&type) || !in.Bytes(&name)) {
      *reason = "malformed footer field list";
      return false;
    }
    f.fields.emplace_back(name);
  }
  footer_ = std::move(f);
  return true;
}

absl::StatusOr<uint64_t> LogFileReader::Resync(uint64_t from) {
  constexpr size_t kChunk = 64 << 10;
  std::string chunk, header;
  for (uint64_t base = from; base + 4 <= file_bytes_;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, file_bytes_ - base));
    if (absl::Status s = ReadAt(base, n, &chunk); !s.ok()) return s;
    for (size_t i = 0; i + 4 <= n; ++i) {
      if (chunk[i] != 'K') continue;
      uint64_t candidate = base + i;
      if (std::memcmp(chunk.data() + i, kBlockMagic, 4) == 0) {
        if (file_bytes_ - candidate < kBlockHeaderSize) continue;
        if (absl::Status s = ReadAt(candidate, kBlockHeaderSize, &header); !s.ok()) return s;
        BlockHeader h;
        if (CheckBlockHeader(candidate, header.data(), &h).empty()) return candidate;
      } else if (std::memcmp(chunk.data() + i, kFooterMagic, 4) == 0) {
        std::string reason;
        if (ParseFooter(candidate, &reason)) return candidate;
      }
    }
    if (n < kChunk) break;
    base += n - 3;  // a magic may straddle chunks
  }
  return file_bytes_;
}

absl::Status LogFileReader::Damaged(uint64_t offset, std::string_view reason, bool header_lost) {
  ++damaged_;
  // Blocks whose headers were lost hold events the next block's numbering steps over.
  if (header_lost) gap_explained_ = true;
  absl::StatusOr<uint64_t> next = Resync(offset + 1);
  if (!next.ok()) return next.status();
  pos_ = *next;
  if (damage_) {
    std::string message = pos_ < file_bytes_
                              ? fmt::format("{}; skipped {} bytes, resuming at offset {}", reason,
                                            pos_ - offset, pos_)
                              : fmt::format("{}; no intact block after it ({} bytes skipped)",
                                            reason, file_bytes_ - offset);
    damage_(path_, offset, message);
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> LogFileReader::NextBlock(BlockInfo* block) {
  has_current_ = false;
  while (pos_ < file_bytes_) {
    uint64_t remaining = file_bytes_ - pos_;
    if (remaining < 4) {
      if (absl::Status s =
              Damaged(pos_, fmt::format("{} stray bytes at the end of the file", remaining), true);
          !s.ok()) {
        return s;
      }
      continue;
    }
    if (absl::Status s = ReadAt(pos_, std::min<uint64_t>(remaining, kBlockHeaderSize), &buf_);
        !s.ok()) {
      return s;
    }
    if (std::memcmp(buf_.data(), kFooterMagic, 4) == 0) {
      std::string reason;
      if (ParseFooter(pos_, &reason)) {
        has_footer_ = true;
        CheckFooterCounts(pos_);
        pos_ = file_bytes_;
        return false;
      }
      if (absl::Status s = Damaged(pos_, reason, true); !s.ok()) return s;
      continue;
    }
    std::string reason;
    if (remaining < kBlockHeaderSize) {
      reason =
          std::memcmp(buf_.data(), kBlockMagic, 4) == 0
              ? fmt::format("block header truncated: the file ends {} bytes into it", remaining)
              : "no block header at this offset";
    } else {
      reason = CheckBlockHeader(pos_, buf_.data(), &current_.header);
    }
    if (!reason.empty()) {
      if (absl::Status s = Damaged(pos_, reason, true); !s.ok()) return s;
      continue;
    }
    current_.offset = pos_;
    pos_ += kBlockHeaderSize + current_.header.compressed_len;
    if (!InSequence(current_)) continue;  // a duplicate: reported, stepped over
    has_current_ = true;
    *block = current_;
    return true;
  }
  return false;
}

bool LogFileReader::InSequence(const BlockInfo& block) {
  const BlockHeader& h = block.header;
  if (h.first_event < next_event_) {
    // Its events were read already (or overlap them): delivering them again would repeat
    // alerts. The block is stepped over, the numbering stays where it was.
    ReportDamage(block.offset,
                 fmt::format("block out of sequence: it numbers its events from {}, but {} events "
                             "were read before it (a duplicated block); skipped",
                             h.first_event, next_event_));
    return false;
  }
  if (h.first_event > next_event_ && !gap_explained_) {
    ReportDamage(block.offset,
                 fmt::format("{} events (numbers {} to {}) are missing before this block: a block "
                             "was dropped",
                             h.first_event - next_event_, next_event_, h.first_event - 1));
  }
  gap_explained_ = false;
  next_event_ =
      h.first_event > UINT64_MAX - h.event_count ? UINT64_MAX : h.first_event + h.event_count;
  ++blocks_seen_;
  return true;
}

void LogFileReader::CheckFooterCounts(uint64_t offset) {
  // Blocks lost to damage already reported explain a footer that counts more than was found.
  bool events_off =
      footer_.events < next_event_ || (footer_.events > next_event_ && !gap_explained_);
  bool blocks_off = footer_.blocks != blocks_seen_ && damaged_ == 0;
  if (events_off || blocks_off) {
    ReportDamage(offset, fmt::format("the footer counts {} blocks and {} events, but the file "
                                     "holds {} blocks and {} events before it",
                                     footer_.blocks, footer_.events, blocks_seen_, next_event_));
  }
}

absl::StatusOr<std::optional<std::string_view>> LogFileReader::LoadPayload(bool decompress) {
  if (!has_current_) return absl::FailedPreconditionError("LoadPayload without a current block");
  has_current_ = false;
  const BlockHeader& h = current_.header;
  if (absl::Status s = ReadAt(current_.offset + kBlockHeaderSize, h.compressed_len, &compressed_);
      !s.ok()) {
    return s;
  }
  if (XXH64(compressed_.data(), compressed_.size(), 0) != h.payload_hash) {
    if (absl::Status s = Damaged(current_.offset, "block payload checksum mismatch"); !s.ok()) {
      return s;
    }
    return std::optional<std::string_view>();
  }
  if (!decompress) return std::optional<std::string_view>(std::string_view());
  if (h.codec == Codec::kNone) return std::optional<std::string_view>(compressed_);
  raw_.resize(h.raw_len);
  size_t n = ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(zstd_), raw_.data(), raw_.size(),
                                 compressed_.data(), compressed_.size());
  if (ZSTD_isError(n) || n != h.raw_len) {
    std::string reason =
        ZSTD_isError(n)
            ? fmt::format("block payload does not decompress: {}", ZSTD_getErrorName(n))
            : fmt::format("block payload decompresses to {} bytes, not the {} its header says", n,
                          h.raw_len);
    if (absl::Status s = Damaged(current_.offset, reason); !s.ok()) return s;
    return std::optional<std::string_view>();
  }
  return std::optional<std::string_view>(raw_);
}

void LogFileReader::ReportDamage(uint64_t offset, std::string_view reason) {
  ++damaged_;
  if (damage_) damage_(path_, offset, reason);
}

absl::StatusOr<LogInfo> InspectLog(const std::string& path, const DamageSink& damage) {
  auto reader = LogFileReader::Open(path, damage);
  if (!reader.ok()) return reader.status();
  LogFileReader& r = **reader;
  LogInfo info;
  info.path = path;
  info.file_bytes = r.file_bytes();
  info.format_version = r.header().format_version;
  info.min_reader_version = r.header().min_reader_version;
  info.meta = r.header().meta;
  info.catalogue_hash = r.header().catalogue_hash;
  info.same_catalogue = info.catalogue_hash == CatalogueHash();
  BlockInfo block;
  while (true) {
    absl::StatusOr<bool> more = r.NextBlock(&block);
    if (!more.ok()) return more.status();
    if (!*more) break;
    auto payload = r.LoadPayload(false);
    if (!payload.ok()) return payload.status();
    if (!payload->has_value()) continue;
    if (info.blocks.empty() || block.header.min_time_ns < info.min_time_ns) {
      info.min_time_ns = block.header.min_time_ns;
    }
    if (info.blocks.empty() || block.header.max_time_ns > info.max_time_ns) {
      info.max_time_ns = block.header.max_time_ns;
    }
    info.events += block.header.event_count;
    info.blocks.push_back(block);
  }
  info.damaged_blocks = r.damaged();
  info.has_footer = r.has_footer();
  info.footer = r.footer();
  return info;
}

}  // namespace kestrel::log
