// FileSink; see file_sink.h. Tested by file_sink_test.cc.
#include "kestrel/actions/file_sink.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <zstd.h>

#include "kestrel/base/files.h"
#include "kestrel/base/status.h"

namespace kestrel::actions {
namespace fs = std::filesystem;

namespace {

bool WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

}  // namespace

absl::Status CompressFile(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) return absl::UnavailableError(fmt::format("cannot read '{}'", from));
  std::string tmp = to + ".tmp";
  auto opened = base::OpenPrivateFile(tmp, O_WRONLY | O_TRUNC);
  if (!opened.ok()) {
    return absl::UnavailableError(
        fmt::format("cannot create the rotated file: {}", base::Message(opened.status())));
  }
  int fd = *opened;
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
  std::vector<char> inbuf(ZSTD_CStreamInSize()), outbuf(ZSTD_CStreamOutSize());
  bool ok = true;
  while (ok) {
    in.read(inbuf.data(), static_cast<std::streamsize>(inbuf.size()));
    size_t got = static_cast<size_t>(in.gcount());
    bool last = got < inbuf.size();
    ZSTD_EndDirective mode = last ? ZSTD_e_end : ZSTD_e_continue;
    ZSTD_inBuffer input{inbuf.data(), got, 0};
    bool finished = false;
    while (!finished) {
      ZSTD_outBuffer output{outbuf.data(), outbuf.size(), 0};
      size_t remaining = ZSTD_compressStream2(cctx, &output, &input, mode);
      if (ZSTD_isError(remaining) || !WriteAll(fd, outbuf.data(), output.pos)) {
        ok = false;
        break;
      }
      finished = last ? remaining == 0 : input.pos == input.size;
    }
    if (last) break;
  }
  ZSTD_freeCCtx(cctx);
  if (::close(fd) != 0) ok = false;
  if (!ok) {
    ::unlink(tmp.c_str());
    return absl::UnavailableError(fmt::format("cannot compress '{}' to '{}'", from, to));
  }
  if (::rename(tmp.c_str(), to.c_str()) != 0) {
    return absl::UnavailableError(fmt::format("cannot rename '{}': {}", tmp, std::strerror(errno)));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileSink>> FileSink::Open(FileSinkOptions options) {
  std::unique_ptr<FileSink> sink(new FileSink(std::move(options)));
  if (absl::Status s = sink->OpenFile(); !s.ok()) return s;
  return sink;
}

FileSink::FileSink(FileSinkOptions options)
    : options_(std::move(options)), name_("file:" + options_.path) {}

FileSink::~FileSink() {
  if (fd_ >= 0 && fd_ != STDOUT_FILENO) ::close(fd_);
}

absl::Status FileSink::OpenFile() {
  if (options_.path == "-") {
    fd_ = STDOUT_FILENO;
    return absl::OkStatus();
  }
  fs::path parent = fs::path(options_.path).parent_path();
  if (!parent.empty()) (void)base::CreatePrivateDirectories(parent.string());  // open says why
  // Alerts hold command lines and more: readable by the owner only, and never through a
  // symbolic link someone else planted at the path (it could point at any file root can write).
  // An existing file must be a regular file of ours with one link (base::OpenPrivateFile).
  auto opened = base::OpenPrivateFile(options_.path, O_WRONLY | O_APPEND, /*allow_devices=*/true);
  if (!opened.ok()) {
    return absl::UnavailableError(
        fmt::format("cannot open the alert file: {}", base::Message(opened.status())));
  }
  fd_ = *opened;
  struct stat st;
  size_ = ::fstat(fd_, &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  // A file kept from an earlier run ages from its modification time... approximately: from now.
  opened_at_ = std::chrono::system_clock::now();
  return absl::OkStatus();
}

absl::Status FileSink::Rotate() {
  ::close(fd_);
  fd_ = -1;
  std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", &tm);
  // PATH.YYYYMMDDTHHMMSS.NNN: names sort in rotation order.
  std::string rotated;
  std::error_code ec;
  for (int n = 0;; ++n) {
    rotated = fmt::format("{}.{}.{:03d}", options_.path, stamp, n);
    if (!fs::exists(rotated, ec) && !fs::exists(rotated + ".zst", ec)) break;
  }
  if (::rename(options_.path.c_str(), rotated.c_str()) != 0) {
    absl::Status s = absl::UnavailableError(
        fmt::format("cannot rotate '{}': {}", options_.path, std::strerror(errno)));
    if (absl::Status o = OpenFile(); !o.ok()) return o;
    return s;
  }
  ++rotations_;
  if (absl::Status s = OpenFile(); !s.ok()) return s;
  if (options_.compress) {
    if (absl::Status s = CompressFile(rotated, rotated + ".zst"); !s.ok()) return s;
    ::unlink(rotated.c_str());
  }
  if (options_.max_files > 0) {
    // Rotated files sort by name = by time.
    std::vector<fs::path> rotated_files;
    fs::path dir = fs::path(options_.path).parent_path();
    if (dir.empty()) dir = ".";
    std::string prefix = fs::path(options_.path).filename().string() + ".";
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0 && !name.ends_with(".tmp")) {
        rotated_files.push_back(entry.path());
      }
    }
    std::sort(rotated_files.begin(), rotated_files.end());
    while (rotated_files.size() > options_.max_files) {
      fs::remove(rotated_files.front(), ec);
      rotated_files.erase(rotated_files.begin());
    }
  }
  return absl::OkStatus();
}

absl::Status FileSink::Idle() {
  if (fd_ != STDOUT_FILENO && options_.rotate_age.count() > 0 && size_ > 0 &&
      std::chrono::system_clock::now() - opened_at_ >= options_.rotate_age) {
    return Rotate();
  }
  return absl::OkStatus();
}

absl::Status FileSink::Deliver(std::span<const SinkMessage> batch, size_t* delivered) {
  *delivered = 0;
  if (fd_ < 0) {
    if (absl::Status s = OpenFile(); !s.ok()) return s;
  }
  if (absl::Status s = Idle(); !s.ok()) return s;
  bool rotating = fd_ != STDOUT_FILENO && options_.rotate_bytes > 0;
  size_t i = 0;
  while (i < batch.size()) {
    // Lines up to the size limit go in one write.
    buf_.clear();
    size_t j = i;
    for (; j < batch.size(); ++j) {
      uint64_t line = batch[j].body.size() + 1;
      if (rotating && size_ + buf_.size() + line > options_.rotate_bytes &&
          (size_ + buf_.size() > 0)) {
        break;
      }
      buf_.append(batch[j].body);
      buf_.push_back('\n');
    }
    if (j == i) {  // the file is full: rotate, then the line starts the new file
      if (absl::Status s = Rotate(); !s.ok()) return s;
      continue;
    }
    if (!WriteAll(fd_, buf_.data(), buf_.size())) {
      return absl::UnavailableError(
          fmt::format("cannot write to '{}': {}", options_.path, std::strerror(errno)));
    }
    size_ += buf_.size();
    *delivered = j;
    i = j;
  }
  return absl::OkStatus();
}

}  // namespace kestrel::actions
