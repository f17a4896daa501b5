// Test helpers for the sink tests: a syslog listener (UDP, TCP with octet counting, unix
// datagram) that can be stopped and restarted on the same address, a self-signed TLS
// certificate, the outage check (every message arrived, in order, duplicates allowed), and
// polling helpers shared by the delivery and sink tests.
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "kestrel/actions/delivery.h"

namespace kestrel::actions::testing {

class SyslogServer {
 public:
  enum class Kind { kUdp, kTcp, kUnix };
  // Listens on 127.0.0.1 (port 0: any free port) or at `unix_path`.
  SyslogServer(Kind kind, uint16_t port = 0, std::string unix_path = "");
  ~SyslogServer();
  uint16_t port() const { return port_; }
  void Stop();     // closes the listener and every connection
  void Restart();  // listens again on the same address
  std::vector<std::string> Messages();

 private:
  void Listen();
  void Run();
  Kind kind_;
  uint16_t port_;
  std::string unix_path_;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> messages_;
};

// Writes a self-signed certificate for CN=localhost / IP 127.0.0.1 and its key (PEM).
bool MakeSelfSignedCert(const std::string& cert_path, const std::string& key_path);

// The numbers in `bodies` (each "...\"n\":N..."), then checked: after dropping repeats of
// numbers already seen, exactly 0..expected-1 in order. Returns "" or what is wrong.
std::string CheckInOrderAtLeastOnce(const std::vector<std::string>& bodies, int expected);

std::string TempDir(const std::string& name);

// Polls `done` every 2 ms until it holds (true) or `limit` has passed (false).
template <typename F>
bool WaitFor(F done, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

// Offers make(*n), make(*n + 1), ... to `pipeline`, one every `every`, for `duration` (an alert
// stream during an outage); false as soon as one is refused.
template <typename Make>
bool OfferFor(SinkPipeline& pipeline, Make make, int* n, std::chrono::milliseconds duration,
              std::chrono::milliseconds every) {
  auto end = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < end) {
    if (!pipeline.Offer(make((*n)++))) return false;
    std::this_thread::sleep_for(every);
  }
  return true;
}

}  // namespace kestrel::actions::testing
