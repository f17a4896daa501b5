// Tests SinkPipeline with an in-process sink that can be switched off: direct delivery, spooling
// during an outage, in-order redelivery after it, the spool cap's exact drop count and its
// notice, partial batches, and a spool left for the next process.
#include "kestrel/actions/delivery.h"
#include "kestrel/actions/sink_test_util.h"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include "kestrel/testing/captured_log.h"

namespace kestrel::actions {
namespace {

using namespace std::chrono_literals;
using testing::WaitFor;

// Accepts messages while `up`; with `partial`, takes only the first message of a batch and
// fails the rest.
class FakeSink final : public Sink {
 public:
  const std::string& name() const override { return name_; }
  size_t max_batch() const override { return 8; }
  absl::Status Deliver(std::span<const SinkMessage> batch, size_t* delivered) override {
    std::lock_guard<std::mutex> lock(mu);
    *delivered = 0;
    if (!up) return absl::UnavailableError("down");
    for (const SinkMessage& m : batch) {
      got.push_back(m.body);
      ++*delivered;
      if (partial && *delivered == 1 && batch.size() > 1) {
        partial = false;
        return absl::UnavailableError("half");
      }
    }
    return absl::OkStatus();
  }
  std::vector<std::string> Got() {
    std::lock_guard<std::mutex> lock(mu);
    return got;
  }
  void SetUp(bool v) {
    std::lock_guard<std::mutex> lock(mu);
    up = v;
  }
  std::mutex mu;
  bool up = true;
  bool partial = false;
  std::vector<std::string> got;
  std::string name_ = "fake";
};

std::string SpoolPath(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() /
             ("kestrel-delivery-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::filesystem::remove(dir / name);
  return (dir / name).string();
}

SinkMessage Msg(int i) {
  SinkMessage m;
  m.body = "a" + std::to_string(1000 + i);  // all the same size
  return m;
}

DeliveryOptions Options(const std::string& name) {
  DeliveryOptions o;
  o.spool_path = SpoolPath(name);
  o.backoff_initial = 10ms;
  o.backoff_max = 50ms;
  return o;
}

TEST(SinkPipeline, DeliversInOrder) {
  auto sink = std::make_unique<FakeSink>();
  FakeSink* fake = sink.get();
  auto p = SinkPipeline::Start(std::move(sink), Options("inorder"));
  ASSERT_TRUE(p.ok()) << p.status();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE((*p)->Offer(Msg(i)));
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }));
  auto got = fake->Got();
  ASSERT_EQ(got.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(got[i], Msg(i).body);
  EXPECT_EQ((*p)->stats().delivered, 100u);
  EXPECT_EQ((*p)->stats().spooled, 0u);
}

TEST(SinkPipeline, OutageSpoolsThenDeliversEverythingInOrder) {
  auto sink = std::make_unique<FakeSink>();
  FakeSink* fake = sink.get();
  auto p = SinkPipeline::Start(std::move(sink), Options("outage"));
  ASSERT_TRUE(p.ok());
  int n = 0;
  for (; n < 20; ++n) (*p)->Offer(Msg(n));
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }));
  fake->SetUp(false);
  for (; n < 300; ++n) {
    (*p)->Offer(Msg(n));
    if (n % 50 == 0) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(WaitFor([&] { return (*p)->stats().spooled == 280; }));
  EXPECT_FALSE((*p)->stats().healthy);
  EXPECT_GT((*p)->stats().failures, 0u);
  fake->SetUp(true);
  for (; n < 320; ++n) (*p)->Offer(Msg(n));
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }));
  auto got = fake->Got();
  ASSERT_EQ(got.size(), 320u);
  for (int i = 0; i < 320; ++i) ASSERT_EQ(got[i], Msg(i).body) << i;
  EXPECT_EQ((*p)->stats().spool_dropped, 0u);
}

TEST(SinkPipeline, PartialBatchResumesAfterTheDeliveredPrefix) {
  auto sink = std::make_unique<FakeSink>();
  FakeSink* fake = sink.get();
  fake->SetUp(false);
  auto p = SinkPipeline::Start(std::move(sink), Options("partial"));
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 10; ++i) (*p)->Offer(Msg(i));
  ASSERT_TRUE(WaitFor([&] { return (*p)->stats().spool_pending == 10; }));
  {
    std::lock_guard<std::mutex> lock(fake->mu);
    fake->partial = true;
    fake->up = true;
  }
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }));
  auto got = fake->Got();
  ASSERT_EQ(got.size(), 10u);  // the delivered prefix is not sent again
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], Msg(i).body);
}

TEST(SinkPipeline, SpoolCapDropsExactlyTheExcessAndSendsANotice) {
  auto sink = std::make_unique<FakeSink>();
  FakeSink* fake = sink.get();
  fake->SetUp(false);
  DeliveryOptions o = Options("cap");
  o.spool_max_bytes = 10 * Spool::RecordSize(Msg(0));
  uint64_t noticed = 0;
  o.drop_notice = [&noticed](uint64_t dropped) {
    noticed = dropped;
    SinkMessage m;
    m.body = "dropped " + std::to_string(dropped);
    return m;
  };
  auto p = SinkPipeline::Start(std::move(sink), o);
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 25; ++i) ASSERT_TRUE((*p)->Offer(Msg(i)));
  ASSERT_TRUE(WaitFor([&] {
    SinkStats s = (*p)->stats();
    return s.spooled + s.spool_dropped == 25;
  }));
  EXPECT_EQ((*p)->stats().spool_dropped, 15u);
  EXPECT_EQ((*p)->stats().spooled, 10u);
  fake->SetUp(true);
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }));
  auto got = fake->Got();
  ASSERT_EQ(got.size(), 11u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], Msg(i).body);
  EXPECT_EQ(got[10], "dropped 15");
  EXPECT_EQ(noticed, 15u);
  EXPECT_EQ((*p)->stats().spool_dropped, 15u);
}

TEST(SinkPipeline, ASpoolDamagedUnderItLosesOnlyWhatFollowsTheDamageAndCountsIt) {
  auto sink = std::make_unique<FakeSink>();
  FakeSink* fake = sink.get();
  fake->SetUp(false);
  DeliveryOptions o = Options("damaged");
  auto p = SinkPipeline::Start(std::move(sink), o);
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 5; ++i) (*p)->Offer(Msg(i));
  ASSERT_TRUE(WaitFor([&] { return (*p)->stats().spool_pending == 5; }));
  {
    // Flip a byte in the body of the third record.
    std::fstream f(o.spool_path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(kSpoolHeaderSize + 2 * Spool::RecordSize(Msg(0)) +
                                        Spool::RecordSize(Msg(0)) - 1));
    f.put('#');
  }
  fake->SetUp(true);
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }));
  auto got = fake->Got();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[1], Msg(1).body);
  EXPECT_EQ((*p)->stats().spool_dropped, 3u);
}

TEST(SinkPipeline, QueueFullIsCountedNotBlocking) {
  auto sink = std::make_unique<FakeSink>();
  DeliveryOptions o = Options("queue");
  o.queue_capacity = 0;
  auto p = SinkPipeline::Start(std::move(sink), o);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE((*p)->Offer(Msg(1)));
  EXPECT_EQ((*p)->stats().queue_dropped, 1u);
}

TEST(SinkPipeline, WhatIsNotDeliveredAtCloseWaitsInTheSpoolForTheNextRun) {
  DeliveryOptions o = Options("restart");
  {
    auto sink = std::make_unique<FakeSink>();
    sink->SetUp(false);
    auto p = SinkPipeline::Start(std::move(sink), o);
    ASSERT_TRUE(p.ok());
    for (int i = 0; i < 5; ++i) (*p)->Offer(Msg(i));
    (*p)->Close(50ms);
    EXPECT_EQ((*p)->stats().spool_pending, 5u);
  }
  auto sink = std::make_unique<FakeSink>();
  FakeSink* fake = sink.get();
  auto p = SinkPipeline::Start(std::move(sink), o);
  ASSERT_TRUE(p.ok());
  (*p)->Offer(Msg(5));
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }));
  auto got = fake->Got();
  ASSERT_EQ(got.size(), 6u);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got[i], Msg(i).body);
}

// A spool writer that fails with `g_write_errno` while it is not 0 (a full disk on demand).
std::atomic<int> g_write_errno{0};
ssize_t FailingWrite(int fd, const void* buf, size_t n, off_t off) {
  if (int e = g_write_errno.load(); e != 0) {
    errno = e;
    return -1;
  }
  return ::pwrite(fd, buf, n, off);
}

using kestrel::testing::CapturedLog;

// Options whose spool writes fail while g_write_errno is set, with a "dropped N" notice.
DeliveryOptions FailingSpoolOptions(const std::string& name) {
  DeliveryOptions o = Options(name);
  o.spool_write = FailingWrite;
  o.drop_notice = [](uint64_t dropped) {
    SinkMessage m;
    m.body = "dropped " + std::to_string(dropped);
    return m;
  };
  return o;
}

TEST(SinkPipeline, ASpoolWriteErrorIsReportedOncePerEpisodeWithItsCause) {
  CapturedLog log;
  auto sink = std::make_unique<FakeSink>();
  FakeSink* fake = sink.get();
  fake->SetUp(false);
  DeliveryOptions o = FailingSpoolOptions("enospc");
  auto p = SinkPipeline::Start(std::move(sink), o);
  ASSERT_TRUE(p.ok()) << p.status();
  g_write_errno = ENOSPC;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE((*p)->Offer(Msg(i)));
    if (i % 10 == 0) std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(WaitFor([&] { return (*p)->stats().spool_dropped == 50; }));
  std::this_thread::sleep_for(50ms);  // retries of the notice meanwhile stay silent
  EXPECT_EQ(log.Count(std::strerror(ENOSPC)), 1u);
  EXPECT_EQ(log.Count("spool"), 2u);    // the outage ("spooled to ...") and the write error
  EXPECT_EQ(log.Count("is full"), 0u);  // not a full spool: a failing disk
  g_write_errno = 0;
  for (int i = 50; i < 55; ++i) ASSERT_TRUE((*p)->Offer(Msg(i)));
  ASSERT_TRUE(WaitFor([&] { return (*p)->stats().spooled == 6; }));  // the notice and 5
  EXPECT_EQ(log.Count("writable again"), 1u);
  EXPECT_EQ(log.Count("50 alerts were dropped while it was not"), 1u);
  fake->SetUp(true);
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }));
  auto got = fake->Got();
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0], "dropped 50");
  for (int i = 0; i < 5; ++i) EXPECT_EQ(got[1 + i], Msg(50 + i).body);
  EXPECT_EQ(log.Count(std::strerror(ENOSPC)), 1u);
}

TEST(SinkPipeline, AnUnwritableSpoolDoesNotHoldUpAHealthySink) {
  CapturedLog log;
  auto sink = std::make_unique<FakeSink>();
  FakeSink* fake = sink.get();
  fake->SetUp(false);
  DeliveryOptions o = FailingSpoolOptions("enospc-up");
  o.idle_interval = 20ms;
  auto p = SinkPipeline::Start(std::move(sink), o);
  ASSERT_TRUE(p.ok()) << p.status();
  g_write_errno = EIO;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE((*p)->Offer(Msg(i)));
  ASSERT_TRUE(WaitFor([&] { return (*p)->stats().spool_dropped == 3; }));
  fake->SetUp(true);
  ASSERT_TRUE(WaitFor([&] { return fake->Got().size() == 1; }));  // the notice, directly
  for (int i = 3; i < 6; ++i) ASSERT_TRUE((*p)->Offer(Msg(i)));
  ASSERT_TRUE(WaitFor([&] { return fake->Got().size() == 4; }));
  g_write_errno = 0;
  auto got = fake->Got();
  EXPECT_EQ(got[0], "dropped 3");
  EXPECT_EQ(got[3], Msg(5).body);
  EXPECT_EQ(log.Count(std::strerror(EIO)), 1u);
}

}  // namespace
}  // namespace kestrel::actions
