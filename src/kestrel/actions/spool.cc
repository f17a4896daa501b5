// Spool; see spool.h for the format and its guarantees. Tested by spool_test.cc.
#include "kestrel/actions/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>
#include <xxhash.h>

#include "kestrel/base/files.h"
#include "kestrel/base/status.h"

namespace kestrel::actions {
namespace {

constexpr char kMagic[8] = {'K', 'S', 'P', 'O', 'O', 'L', '0', '1'};
constexpr uint32_t kMaxBody = 64u << 20;

void PutU16(std::string* s, uint16_t v) {
  s->push_back(static_cast<char>(v & 0xff));
  s->push_back(static_cast<char>(v >> 8));
}
void PutU32(std::string* s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void PutU64(std::string* s, uint64_t v) {
  for (int i = 0; i < 8; ++i) s->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
uint64_t GetLE(const char* p, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::UnavailableError(
      fmt::format("spool '{}': {}: {}", path, what, std::strerror(errno)));
}

// pread/pwrite of all `n` bytes at `off`, through EINTR and short transfers; false on an error
// or end of file.
template <typename Buf, typename Io>
bool TransferAll(Io io, int fd, Buf* buf, size_t n, uint64_t off) {
  while (n > 0) {
    ssize_t r = io(fd, buf, n, static_cast<off_t>(off));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    buf += r;
    n -= static_cast<size_t>(r);
    off += static_cast<uint64_t>(r);
  }
  return true;
}

bool PreadAll(int fd, char* buf, size_t n, uint64_t off) {
  return TransferAll(::pread, fd, buf, n, off);
}

// Decodes a record body; false if malformed.
bool DecodeBody(std::string_view b, SinkMessage* m) {
  if (b.size() < 2) return false;
  size_t hl = GetLE(b.data(), 2);
  if (b.size() < 2 + hl + 2) return false;
  m->host.assign(b.substr(2, hl));
  size_t p = 2 + hl;
  size_t rl = GetLE(b.data() + p, 2);
  p += 2;
  if (b.size() < p + rl + 9) return false;
  m->rule_id.assign(b.substr(p, rl));
  p += rl;
  m->severity = static_cast<uint8_t>(b[p]);
  m->time_ns = static_cast<int64_t>(GetLE(b.data() + p + 1, 8));
  p += 9;
  m->body.assign(b.substr(p));
  return true;
}

}  // namespace

uint64_t Spool::RecordSize(const SinkMessage& m) {
  return kSpoolRecordOverhead + std::min<size_t>(m.host.size(), 0xffff) +
         std::min<size_t>(m.rule_id.size(), 0xffff) + m.body.size();
}

absl::StatusOr<std::unique_ptr<Spool>> Spool::Open(const std::string& path, uint64_t max_bytes,
                                                   SpoolWriteFn write) {
  std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) (void)base::CreatePrivateDirectories(parent.string());  // open says why
  // A regular file of ours with one link, never through a link (base::OpenPrivateFile).
  auto opened = base::OpenPrivateFile(path, O_RDWR);
  if (!opened.ok()) {
    return absl::UnavailableError(
        fmt::format("cannot open the spool: {}", base::Message(opened.status())));
  }
  int fd = *opened;
  std::unique_ptr<Spool> s(new Spool(path, fd, max_bytes, write != nullptr ? write : ::pwrite));
  if (absl::Status st = s->Recover(); !st.ok()) return st;
  return s;
}

Spool::Spool(std::string path, int fd, uint64_t max_bytes, SpoolWriteFn write)
    : path_(std::move(path)), fd_(fd), max_bytes_(max_bytes), write_fn_(write) {}

bool Spool::WriteAll(const char* buf, size_t n, uint64_t off) {
  return TransferAll(write_fn_, fd_, buf, n, off);
}

Spool::~Spool() { ::close(fd_); }

absl::Status Spool::WriteHeader(uint64_t read_offset) {
  std::string h(kMagic, sizeof(kMagic));
  PutU64(&h, read_offset);
  PutU64(&h, XXH64(h.data(), 16, 0));
  if (!WriteAll(h.data(), h.size(), 0)) return Errno("cannot write header", path_);
  return absl::OkStatus();
}

absl::Status Spool::Recover() {
  struct stat st;
  if (::fstat(fd_, &st) != 0) return Errno("cannot stat", path_);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  char h[kSpoolHeaderSize];
  bool header_ok = size >= kSpoolHeaderSize && PreadAll(fd_, h, sizeof(h), 0) &&
                   std::memcmp(h, kMagic, sizeof(kMagic)) == 0 &&
                   XXH64(h, 16, 0) == GetLE(h + 16, 8);
  if (!header_ok) {
    // New, or a header we cannot trust: nothing in it can be delivered in order.
    damaged_ = size;
    return Reset();
  }
  uint64_t off = GetLE(h + 8, 8);
  if (off < kSpoolHeaderSize || off > size) {
    damaged_ = size;
    return Reset();
  }
  read_ = off;
  // Walk the records after the read offset; the first bad one ends the spool.
  char frame[12];
  while (off + 12 <= size && PreadAll(fd_, frame, 12, off)) {
    uint64_t len = GetLE(frame, 4);
    if (len > kMaxBody || off + 12 + len > size) break;
    buf_.resize(len);
    if (!PreadAll(fd_, buf_.data(), len, off + 12)) break;
    if (XXH64(buf_.data(), len, 0) != GetLE(frame + 4, 8)) break;
    off += 12 + len;
    ++pending_;
  }
  write_ = off;
  recovered_records_ = pending_;
  damaged_ = size - off;
  if (damaged_ > 0 && ::ftruncate(fd_, static_cast<off_t>(off)) != 0) {
    return Errno("cannot truncate damaged tail", path_);
  }
  if (pending_ == 0) return Reset();
  return absl::OkStatus();
}

absl::Status Spool::Reset() {
  if (::ftruncate(fd_, static_cast<off_t>(kSpoolHeaderSize)) != 0) {
    return Errno("cannot truncate", path_);
  }
  read_ = write_ = kSpoolHeaderSize;
  pending_ = 0;
  peek_ends_.clear();
  return WriteHeader(read_);
}

absl::StatusOr<bool> Spool::Append(const SinkMessage& m, bool force) {
  uint64_t size = RecordSize(m);
  if (!force && live_bytes() + size > max_bytes_) return false;
  // Only when the live records cannot overlap their new place (a crash mid-way loses nothing).
  if (read_ > max_bytes_ && read_ - kSpoolHeaderSize >= live_bytes()) {
    if (absl::Status s = Compact(); !s.ok()) return s;
  }
  buf_.clear();
  std::string_view host = std::string_view(m.host).substr(0, 0xffff);
  std::string_view rule = std::string_view(m.rule_id).substr(0, 0xffff);
  size_t body_len = size - 12;
  PutU32(&buf_, static_cast<uint32_t>(body_len));
  PutU64(&buf_, 0);  // checksum, below
  PutU16(&buf_, static_cast<uint16_t>(host.size()));
  buf_.append(host);
  PutU16(&buf_, static_cast<uint16_t>(rule.size()));
  buf_.append(rule);
  buf_.push_back(static_cast<char>(m.severity));
  PutU64(&buf_, static_cast<uint64_t>(m.time_ns));
  buf_.append(m.body);
  uint64_t sum = XXH64(buf_.data() + 12, body_len, 0);
  for (int i = 0; i < 8; ++i) buf_[4 + i] = static_cast<char>((sum >> (8 * i)) & 0xff);
  if (!WriteAll(buf_.data(), buf_.size(), write_)) {
    absl::Status s = Errno("cannot append", path_);
    if (::ftruncate(fd_, static_cast<off_t>(write_)) != 0) {
      // The partial record is caught by the checksum on the next Open().
    }
    return s;
  }
  write_ += buf_.size();
  ++pending_;
  return true;
}

absl::Status Spool::Peek(size_t n, std::vector<SinkMessage>* out) {
  out->clear();
  peek_ends_.clear();
  uint64_t off = read_;
  char frame[12];
  while (out->size() < n && off < write_) {
    if (!PreadAll(fd_, frame, 12, off)) return Errno("cannot read", path_);
    uint64_t len = GetLE(frame, 4);
    if (len > kMaxBody || off + 12 + len > write_) {
      return absl::DataLossError(fmt::format("spool '{}': damaged record at {}", path_, off));
    }
    buf_.resize(len);
    if (!PreadAll(fd_, buf_.data(), len, off + 12)) return Errno("cannot read", path_);
    SinkMessage m;
    if (XXH64(buf_.data(), len, 0) != GetLE(frame + 4, 8) || !DecodeBody(buf_, &m)) {
      return absl::DataLossError(fmt::format("spool '{}': damaged record at {}", path_, off));
    }
    off += 12 + len;
    out->push_back(std::move(m));
    peek_ends_.push_back(off);
  }
  return absl::OkStatus();
}

absl::Status Spool::Consume(size_t n) {
  if (n == 0) return absl::OkStatus();
  if (n > peek_ends_.size()) return absl::InternalError("Spool::Consume past the last Peek");
  read_ = peek_ends_[n - 1];
  pending_ -= n;
  peek_ends_.erase(peek_ends_.begin(), peek_ends_.begin() + static_cast<ptrdiff_t>(n));
  if (pending_ == 0) return Reset();
  return WriteHeader(read_);
}

absl::Status Spool::Compact() {
  // Copy [read_, write_) to the front in chunks (the regions may overlap: copy forward).
  uint64_t live = write_ - read_;
  std::string chunk;
  for (uint64_t done = 0; done < live;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(live - done, 1 << 20));
    chunk.resize(n);
    if (!PreadAll(fd_, chunk.data(), n, read_ + done) ||
        !WriteAll(chunk.data(), n, kSpoolHeaderSize + done)) {
      return Errno("cannot compact", path_);
    }
    done += n;
  }
  // Commit the new read offset only after the records are in place.
  if (absl::Status s = WriteHeader(kSpoolHeaderSize); !s.ok()) return s;
  for (uint64_t& e : peek_ends_) e -= read_ - kSpoolHeaderSize;
  read_ = kSpoolHeaderSize;
  write_ = kSpoolHeaderSize + live;
  if (::ftruncate(fd_, static_cast<off_t>(write_)) != 0) return Errno("cannot truncate", path_);
  return absl::OkStatus();
}

}  // namespace kestrel::actions
