// NdjsonSource; see ndjson_source.h. Tested by ndjson_source_test.cc.
#include "kestrel/sources/ndjson/ndjson_source.h"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace kestrel::sources {
namespace {

constexpr size_t kPadding = event::JsonDecoder::kPadding;

bool IsBlank(const char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r') return false;
  }
  return true;
}

absl::Status ErrnoStatus(int err, std::string_view what) {
  std::string msg = fmt::format("{}: {}", what, std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<NdjsonSource>> NdjsonSource::Open(schema::Schema* schema,
                                                                 NdjsonOptions options,
                                                                 DiagnosticSink diagnostics) {
  int fd = 0;
  if (options.path != "-") {
    fd = ::open(options.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoStatus(errno, fmt::format("cannot open '{}'", options.path));
  }
  return std::unique_ptr<NdjsonSource>(
      new NdjsonSource(schema, std::move(options), std::move(diagnostics), fd));
}

NdjsonSource::NdjsonSource(schema::Schema* schema, NdjsonOptions options,
                           DiagnosticSink diagnostics, int fd)
    : options_(std::move(options)),
      diagnostics_(std::move(diagnostics)),
      name_(fmt::format("ndjson:{}", options_.path)),
      display_path_(options_.path == "-" ? "<stdin>" : options_.path),
      fd_(fd),
      owns_fd_(options_.path != "-"),
      decoder_(schema, options_.decoder) {
  options_.read_chunk_bytes = std::max<size_t>(options_.read_chunk_bytes, 4096);
  capacity_ = 2 * options_.read_chunk_bytes;
  // Not zero-filled: an idle source touches none of its pages (the bytes past the data that the
  // decoder may read are the padding, zeroed, or earlier input, as after any refill).
  buffer_ = std::make_unique_for_overwrite<char[]>(capacity_ + kPadding);
  std::memset(buffer_.get() + capacity_, 0, kPadding);
}

NdjsonSource::~NdjsonSource() {
  if (owns_fd_) ::close(fd_);
}

SourceStats NdjsonSource::stats() const {
  SourceStats s = stats_;
  s.dropped_fields = decoder_.stats().dropped_fields;
  s.missing_time = decoder_.stats().missing_time;
  return s;
}

void NdjsonSource::Report(std::string location, std::string reason) {
  ++stats_.malformed;
  if (diagnostics_) diagnostics_(SourceDiagnostic{std::move(location), std::move(reason)});
}

absl::StatusOr<bool> NdjsonSource::Fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buffer_.get(), buffer_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < options_.read_chunk_bytes) {
    size_t grown = std::max(capacity_ * 2, end_ + options_.read_chunk_bytes);
    auto bigger = std::make_unique_for_overwrite<char[]>(grown + kPadding);
    std::memcpy(bigger.get(), buffer_.get(), end_);
    std::memset(bigger.get() + grown, 0, kPadding);
    buffer_ = std::move(bigger);
    capacity_ = grown;
  }
  while (true) {
    if (options_.stop_fd >= 0) {
      pollfd fds[2] = {{fd_, POLLIN, 0}, {options_.stop_fd, POLLIN, 0}};
      if (::poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        return ErrnoStatus(errno, fmt::format("cannot wait for '{}'", display_path_));
      }
      if (fds[1].revents & POLLIN) {
        eof_ = true;  // stopped: the stream ends here
        return false;
      }
    }
    ssize_t n = ::read(fd_, buffer_.get() + end_, capacity_ - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus(errno, fmt::format("cannot read '{}'", display_path_));
    if (n == 0) {
      eof_ = true;
      return false;
    }
    end_ += static_cast<size_t>(n);
    stats_.bytes += static_cast<uint64_t>(n);
    return true;
  }
}

absl::Status NdjsonSource::LoadArray() {
  while (true) {
    auto more = Fill();
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  std::string_view json(buffer_.get() + begin_, end_ - begin_);
  event::Event scratch;
  // The array form has no line structure; errors name the element.
  absl::Status s = decoder_.DecodeArray(
      json, capacity_ + kPadding - begin_, &scratch,
      [&](event::Event& e) { array_events_.push_back(e); },
      [&](size_t index, const absl::Status& st) {
        Report(fmt::format("{}: array element {}", display_path_, index),
               std::string(st.message()));
      });
  (void)s;  // already reported; events decoded before a syntax error are still delivered
  begin_ = end_;
  return absl::OkStatus();
}

absl::StatusOr<bool> NdjsonSource::Next(event::Event* event) {
  if (!format_known_) {
    // Peek at the first non-blank byte (after an optional UTF-8 byte order mark).
    while (true) {
      size_t i = begin_;
      if (end_ - i >= 3 && std::memcmp(buffer_.get() + i, "\xEF\xBB\xBF", 3) == 0) begin_ = i += 3;
      while (i < end_ && std::strchr(" \t\r\n", buffer_.get()[i]) != nullptr) ++i;
      if (i < end_) {
        array_mode_ = buffer_[i] == '[';
        break;
      }
      auto more = Fill();
      if (!more.ok()) return more.status();
      if (!*more) break;
    }
    format_known_ = true;
    if (array_mode_) {
      absl::Status s = LoadArray();
      if (!s.ok()) return s;
    }
  }
  if (array_mode_) {
    if (array_events_.empty()) return false;
    *event = std::move(array_events_.front());
    array_events_.pop_front();
    ++stats_.events;
    return true;
  }

  while (true) {
    char* start = buffer_.get() + begin_;
    char* nl = static_cast<char*>(std::memchr(start, '\n', end_ - begin_));
    size_t len;
    if (nl != nullptr) {
      len = static_cast<size_t>(nl - start);
      begin_ += len + 1;
    } else if (eof_) {
      if (begin_ == end_) return false;
      len = end_ - begin_;  // last line without a newline
      begin_ = end_;
    } else {
      if (skipping_long_line_) {
        begin_ = end_;  // discard the rest of the over-long line read so far
      } else if (end_ - begin_ > options_.max_line_bytes) {
        Report(fmt::format("{}:{}", display_path_, line_ + 1),
               fmt::format("line longer than {} bytes", options_.max_line_bytes));
        skipping_long_line_ = true;
        begin_ = end_;
      }
      auto more = Fill();
      if (!more.ok()) return more.status();
      continue;
    }
    ++line_;
    if (skipping_long_line_) {
      skipping_long_line_ = false;
      continue;
    }
    if (len > options_.max_line_bytes) {
      Report(fmt::format("{}:{}", display_path_, line_),
             fmt::format("line longer than {} bytes", options_.max_line_bytes));
      continue;
    }
    if (IsBlank(start, len)) continue;
    if (start[len - 1] == '\r') --len;
    size_t allocated = capacity_ + kPadding - static_cast<size_t>(start - buffer_.get());
    absl::Status s = decoder_.Decode(std::string_view(start, len), allocated, event);
    if (s.ok()) {
      ++stats_.events;
      return true;
    }
    Report(fmt::format("{}:{}", display_path_, line_), std::string(s.message()));
  }
}

}  // namespace kestrel::sources
