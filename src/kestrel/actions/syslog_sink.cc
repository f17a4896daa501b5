// SyslogSink; see syslog_sink.h. Tested by syslog_sink_test.cc.
#include "kestrel/actions/syslog_sink.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "kestrel/actions/redact.h"
#include "kestrel/base/time.h"

namespace kestrel::actions {
namespace {

int Level(uint8_t severity) {
  switch (severity) {
    case 3:
      return 2;  // critical
    case 2:
      return 3;  // high
    case 1:
      return 4;  // medium
    default:
      return 5;  // low
  }
}

// RFC 5424 HOSTNAME: printable US-ASCII without spaces, at most 255 bytes; "-" if empty.
std::string HostField(std::string_view h) {
  std::string out;
  for (char c : h.substr(0, 255)) {
    if (c > 32 && c < 127) out.push_back(c);
  }
  return out.empty() ? "-" : out;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SyslogSink>> SyslogSink::Open(SyslogSinkOptions options) {
  if (options.transport == SyslogSinkOptions::Transport::kUnix) {
    if (options.socket_path.empty() ||
        options.socket_path.size() >= sizeof(sockaddr_un::sun_path)) {
      return absl::InvalidArgumentError(
          fmt::format("syslog: bad unix socket path '{}'", options.socket_path));
    }
  } else if (options.host.empty()) {
    return absl::InvalidArgumentError("syslog: no host");
  }
  if (options.facility < 0 || options.facility > 23) {
    return absl::InvalidArgumentError("syslog: facility must be 0 to 23");
  }
  return std::unique_ptr<SyslogSink>(new SyslogSink(std::move(options)));
}

SyslogSink::SyslogSink(SyslogSinkOptions options)
    : options_(std::move(options)),
      name_(RedactUrl(options_.transport == SyslogSinkOptions::Transport::kUnix
                          ? fmt::format("syslog+unix://{}", options_.socket_path)
                          : fmt::format("syslog+{}://{}:{}",
                                        options_.transport == SyslogSinkOptions::Transport::kTcp
                                            ? "tcp"
                                            : "udp",
                                        options_.host, options_.port))) {
  char host[256] = {};
  if (::gethostname(host, sizeof(host) - 1) == 0) local_host_ = host;
  pid_ = static_cast<int>(::getpid());
}

SyslogSink::~SyslogSink() { Disconnect(); }

void SyslogSink::Disconnect() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

absl::Status SyslogSink::Connect() {
  if (options_.transport == SyslogSinkOptions::Transport::kUnix) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, options_.socket_path.data(), options_.socket_path.size());
    for (int type : {SOCK_DGRAM, SOCK_STREAM}) {
      int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
        fd_ = fd;
        stream_ = type == SOCK_STREAM;
        return absl::OkStatus();
      }
      int err = errno;
      ::close(fd);
      if (err != EPROTOTYPE) {
        return absl::UnavailableError(
            fmt::format("cannot connect to {}: {}", options_.socket_path, std::strerror(err)));
      }
    }
    return absl::UnavailableError(fmt::format("cannot connect to {}", options_.socket_path));
  }
  bool tcp = options_.transport == SyslogSinkOptions::Transport::kTcp;
  addrinfo hints{};
  hints.ai_socktype = tcp ? SOCK_STREAM : SOCK_DGRAM;
  addrinfo* res = nullptr;
  std::string port = std::to_string(options_.port);
  if (int rc = ::getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    return absl::UnavailableError(fmt::format("cannot resolve {}: {}", name_, ::gai_strerror(rc)));
  }
  int last_errno = 0;
  for (addrinfo* ai = res; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0) continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      fd_ = fd;
      stream_ = tcp;
      break;
    }
    last_errno = errno;
    ::close(fd);
  }
  ::freeaddrinfo(res);
  if (fd_ < 0) {
    return absl::UnavailableError(
        fmt::format("cannot connect to {}: {}", name_, std::strerror(last_errno)));
  }
  return absl::OkStatus();
}

bool SyslogSink::PeerClosed() const {
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLERR | POLLHUP | POLLRDHUP)) return true;
  char c;
  ssize_t r = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

std::string SyslogSink::Format(const SinkMessage& m) const {
  // RFC 5424 allows at most microseconds.
  return fmt::format("<{}>1 {} {} {} {} alert - {}", options_.facility * 8 + Level(m.severity),
                     base::FormatTimestamp(m.time_ns, 6),
                     HostField(m.host.empty() ? local_host_ : m.host), options_.app_name, pid_,
                     m.body);
}

absl::Status SyslogSink::Deliver(std::span<const SinkMessage> batch, size_t* delivered) {
  *delivered = 0;
  if (fd_ >= 0 && stream_ && PeerClosed()) Disconnect();
  if (fd_ < 0) {
    if (absl::Status s = Connect(); !s.ok()) return s;
  }
  for (const SinkMessage& m : batch) {
    std::string msg = Format(m);
    if (!stream_ && msg.size() > options_.max_message) msg.resize(options_.max_message);
    if (stream_) {
      buf_ = fmt::format("{} ", msg.size());
      buf_.append(msg);
    } else {
      buf_ = std::move(msg);
    }
    const char* p = buf_.data();
    size_t n = buf_.size();
    while (n > 0) {
      ssize_t w = ::send(fd_, p, n, MSG_NOSIGNAL);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) {
        int err = errno;
        Disconnect();
        return absl::UnavailableError(
            fmt::format("cannot send to {}: {}", name_, std::strerror(err)));
      }
      if (!stream_) break;
      p += w;
      n -= static_cast<size_t>(w);
    }
    ++*delivered;
  }
  return absl::OkStatus();
}

}  // namespace kestrel::actions
