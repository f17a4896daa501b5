// The stop flag, its pipe and the signal handlers; see stop.h.
#include "kestrel/pipeline/stop.h"

#include <fcntl.h>
#include <unistd.h>

#include <time.h>

#include <chrono>
#include <csignal>
#include <cstdint>

namespace kestrel::pipeline {
namespace {

std::atomic<int> g_pipe_read{-1};
std::atomic<int> g_pipe_write{-1};
std::atomic<int> g_signal{0};

void Wake() {
  int fd = g_pipe_write.load();
  if (fd >= 0) {
    char one = 1;
    [[maybe_unused]] ssize_t n = ::write(fd, &one, 1);  // non-blocking; full means readable
  }
}

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // async-signal-safe
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::atomic<int64_t> g_first_signal_ns{0};

void OnStopSignal(int sig) {
  int expected = 0;
  if (!g_signal.compare_exchange_strong(expected, sig)) {
    // Another stop signal while the first is handled. Within a second it is the same request
    // delivered twice (`timeout` and a process group both pass a Ctrl-C on); later, someone
    // wants out now: the default action, at once.
    if (MonotonicNs() - g_first_signal_ns.load() < 1'000'000'000) return;
    std::signal(sig, SIG_DFL);
    std::raise(sig);
    return;
  }
  g_first_signal_ns.store(MonotonicNs());
  StopFlag().store(true);
  Wake();
}

}  // namespace

std::atomic<bool>& StopFlag() {
  static std::atomic<bool> stop{false};
  return stop;
}

int StopSignalNumber() { return g_signal.load(); }

int StopFd() { return g_pipe_read.load(); }

void InstallStopSignals() {
  if (g_pipe_read.load() < 0) {
    int fds[2];
    if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
      g_pipe_write.store(fds[1]);
      g_pipe_read.store(fds[0]);
    }
  } else {
    char buf[64];
    while (::read(g_pipe_read.load(), buf, sizeof buf) > 0) {
    }
  }
  g_signal.store(0);
  StopFlag().store(false);
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;  // reads are woken through StopFd(), not by EINTR
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
}

void RequestStop() {
  StopFlag().store(true);
  Wake();
}

DurationTimer::DurationTimer(int64_t duration_ns) {
  if (duration_ns <= 0) return;
  thread_ = std::thread([this, duration_ns] {
    auto end = std::chrono::steady_clock::now() + std::chrono::nanoseconds(duration_ns);
    while (!done_.load() && !StopFlag().load()) {
      if (std::chrono::steady_clock::now() >= end) {
        RequestStop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));  // few wake-ups: CPU at idle
    }
  });
}

DurationTimer::~DurationTimer() {
  done_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace kestrel::pipeline
