// Test helpers; see sink_test_util.h.
#include "kestrel/actions/sink_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <set>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace kestrel::actions::testing {

SyslogServer::SyslogServer(Kind kind, uint16_t port, std::string unix_path)
    : kind_(kind), port_(port), unix_path_(std::move(unix_path)) {
  Listen();
}

SyslogServer::~SyslogServer() { Stop(); }

void SyslogServer::Listen() {
  if (::pipe(wake_) != 0) return;
  if (kind_ == Kind::kUnix) {
    ::unlink(unix_path_.c_str());
    listen_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, unix_path_.c_str(), sizeof(addr.sun_path) - 1);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  } else {
    listen_fd_ =
        ::socket(AF_INET, (kind_ == Kind::kTcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port_);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      std::perror("bind");
    }
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    if (kind_ == Kind::kTcp) ::listen(listen_fd_, 16);
  }
  thread_ = std::thread([this] { Run(); });
}

void SyslogServer::Run() {
  std::vector<int> conns;
  std::vector<std::string> pending;  // per connection: bytes not yet framed
  std::vector<char> buf(1 << 16);
  while (true) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (int c : conns) fds.push_back({c, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents) break;
    const size_t polled = fds.size() - 2;  // connections that were polled (accept adds one)
    if (fds[1].revents & POLLIN) {
      if (kind_ == Kind::kTcp) {
        int c = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (c >= 0) {
          conns.push_back(c);
          pending.emplace_back();
        }
      } else {
        ssize_t n = ::recv(listen_fd_, buf.data(), buf.size(), 0);
        if (n > 0) {
          std::lock_guard<std::mutex> lock(mu_);
          messages_.emplace_back(buf.data(), static_cast<size_t>(n));
        }
      }
    }
    for (size_t i = polled; i-- > 0;) {
      if (!(fds[2 + i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::recv(conns[i], buf.data(), buf.size(), 0);
      if (n <= 0) {
        ::close(conns[i]);
        conns.erase(conns.begin() + static_cast<ptrdiff_t>(i));
        pending.erase(pending.begin() + static_cast<ptrdiff_t>(i));
        continue;
      }
      std::string& p = pending[i];
      p.append(buf.data(), static_cast<size_t>(n));
      // Octet counting: "LEN SP MSG".
      while (true) {
        size_t sp = p.find(' ');
        if (sp == std::string::npos) break;
        size_t len = std::stoul(p.substr(0, sp));
        if (p.size() < sp + 1 + len) break;
        std::lock_guard<std::mutex> lock(mu_);
        messages_.push_back(p.substr(sp + 1, len));
        p.erase(0, sp + 1 + len);
      }
    }
  }
  ::close(listen_fd_);  // refuse new connections first
  listen_fd_ = -1;
  // An orderly shutdown, as a real server does it: say goodbye (FIN), let the client notice,
  // read what it sent meanwhile, then close.
  for (int c : conns) ::shutdown(c, SHUT_WR);
  if (!conns.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (size_t i = 0; i < conns.size(); ++i) {
    ssize_t n;
    while ((n = ::recv(conns[i], buf.data(), buf.size(), MSG_DONTWAIT)) > 0) {
      std::string& p = pending[i];
      p.append(buf.data(), static_cast<size_t>(n));
      size_t sp;
      while ((sp = p.find(' ')) != std::string::npos) {
        size_t len = std::stoul(p.substr(0, sp));
        if (p.size() < sp + 1 + len) break;
        std::lock_guard<std::mutex> lock(mu_);
        messages_.push_back(p.substr(sp + 1, len));
        p.erase(0, sp + 1 + len);
      }
    }
    ::close(conns[i]);
  }
}

void SyslogServer::Stop() {
  if (!thread_.joinable()) return;
  char c = 0;
  if (::write(wake_[1], &c, 1) != 1) std::perror("write");
  thread_.join();
  ::close(wake_[0]);
  ::close(wake_[1]);
  listen_fd_ = -1;
}

void SyslogServer::Restart() { Listen(); }

std::vector<std::string> SyslogServer::Messages() {
  std::lock_guard<std::mutex> lock(mu_);
  return messages_;
}

bool MakeSelfSignedCert(const std::string& cert_path, const std::string& key_path) {
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (key == nullptr) return false;
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600L * 24);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("localhost"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  bool ok = false;
  if (FILE* f = std::fopen(cert_path.c_str(), "w")) {
    ok = PEM_write_X509(f, x) == 1;
    std::fclose(f);
  }
  if (FILE* f = std::fopen(key_path.c_str(), "w")) {
    ok = ok && PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(f);
  }
  X509_free(x);
  EVP_PKEY_free(key);
  return ok;
}

std::string CheckInOrderAtLeastOnce(const std::vector<std::string>& bodies, int expected) {
  std::set<int> seen;
  int next = 0;
  for (const std::string& b : bodies) {
    size_t at = b.find("\"n\":");
    if (at == std::string::npos) return "a message without \"n\": " + b;
    int n = std::stoi(b.substr(at + 4));
    if (seen.count(n)) continue;  // a redelivery: allowed
    if (n != next) {
      return "out of order or lost: expected " + std::to_string(next) + ", got " +
             std::to_string(n);
    }
    seen.insert(n);
    ++next;
  }
  if (next != expected) {
    return "lost: " + std::to_string(expected - next) + " of " + std::to_string(expected) +
           " never arrived (first missing: " + std::to_string(next) + ")";
  }
  return "";
}

std::string TempDir(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("kestrel-sinks-test-" + std::to_string(::getpid())) / name;
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir.string();
}

}  // namespace kestrel::actions::testing
