// The stop flag and its pipe: a signal or RequestStop() wakes a poll on StopFd() at once.
#include "kestrel/pipeline/stop.h"

#include <poll.h>

#include <chrono>
#include <csignal>

#include <gtest/gtest.h>

namespace kestrel::pipeline {
namespace {

bool Readable(int fd, int timeout_ms) {
  pollfd p = {fd, POLLIN, 0};
  return ::poll(&p, 1, timeout_ms) == 1 && (p.revents & POLLIN);
}

TEST(StopTest, SignalsSetTheFlagAndWakeThePipe) {
  for (int sig : {SIGINT, SIGTERM}) {
    InstallStopSignals();
    ASSERT_GE(StopFd(), 0);
    EXPECT_FALSE(StopFlag().load());
    EXPECT_FALSE(Readable(StopFd(), 0));
    std::raise(sig);
    EXPECT_TRUE(StopFlag().load());
    EXPECT_EQ(StopSignalNumber(), sig);
    EXPECT_TRUE(Readable(StopFd(), 1000));
  }
  // The same request delivered twice at once (a process group and `timeout`): still running.
  std::raise(SIGTERM);
  EXPECT_EQ(StopSignalNumber(), SIGTERM);
  InstallStopSignals();  // clears the flag and drains the pipe
  EXPECT_FALSE(StopFlag().load());
  EXPECT_FALSE(Readable(StopFd(), 0));
  RequestStop();
  EXPECT_TRUE(StopFlag().load());
  EXPECT_TRUE(Readable(StopFd(), 0));
  EXPECT_EQ(StopSignalNumber(), 0);
}

TEST(StopTest, DurationTimerStops) {
  InstallStopSignals();
  auto start = std::chrono::steady_clock::now();
  {
    DurationTimer timer(150'000'000);
    EXPECT_TRUE(Readable(StopFd(), 2000));
  }
  EXPECT_TRUE(StopFlag().load());
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(140));
  InstallStopSignals();
}

}  // namespace
}  // namespace kestrel::pipeline
