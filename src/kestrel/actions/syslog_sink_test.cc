// SyslogSink against a real listener on loopback: RFC 5424 framing over UDP, TCP (octet
// counting) and a unix datagram socket, and a TCP server outage while alerts flow (all arrive,
// in order, through the spool).
#include "kestrel/actions/syslog_sink.h"

#include <thread>

#include <gtest/gtest.h>

#include "kestrel/actions/delivery.h"
#include "kestrel/actions/sink_test_util.h"

namespace kestrel::actions {
namespace {

using namespace std::chrono_literals;
using testing::SyslogServer;
using testing::WaitFor;

SinkMessage SyslogMsg(int n, uint8_t severity = 2) {
  SinkMessage m;
  m.host = "web-1";
  m.rule_id = "r";
  m.severity = severity;
  m.time_ns = 1735732830400123456;
  m.body = "{\"n\":" + std::to_string(n) + "}";
  return m;
}

TEST(SyslogSink, FormatsRfc5424) {
  SyslogSinkOptions o;
  o.host = "127.0.0.1";
  auto sink = SyslogSink::Open(o);
  ASSERT_TRUE(sink.ok());
  std::string m = (*sink)->Format(SyslogMsg(7, /*high*/ 2));
  // local0 (16) * 8 + err (3) = 131
  EXPECT_EQ(m.rfind("<131>1 2025-01-01T12:00:30.400123Z web-1 kestrel ", 0), 0u) << m;
  EXPECT_NE(m.find(" alert - {\"n\":7}"), std::string::npos) << m;
  EXPECT_EQ((*sink)->Format(SyslogMsg(1, /*critical*/ 3)).substr(0, 5), "<130>");
  EXPECT_EQ((*sink)->Format(SyslogMsg(1, /*low*/ 0)).substr(0, 5), "<133>");
}

void DeliverTo(SyslogSinkOptions o, SyslogServer& server) {
  auto sink = SyslogSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.status();
  std::vector<SinkMessage> batch = {SyslogMsg(0), SyslogMsg(1), SyslogMsg(2)};
  size_t delivered = 0;
  ASSERT_TRUE((*sink)->Deliver(batch, &delivered).ok());
  EXPECT_EQ(delivered, 3u);
  ASSERT_TRUE(WaitFor([&] { return server.Messages().size() == 3; }));
  auto got = server.Messages();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(got[i], (*sink)->Format(SyslogMsg(i)));
  }
}

TEST(SyslogSink, Udp) {
  SyslogServer server(SyslogServer::Kind::kUdp);
  SyslogSinkOptions o;
  o.transport = SyslogSinkOptions::Transport::kUdp;
  o.host = "127.0.0.1";
  o.port = server.port();
  DeliverTo(o, server);
}

TEST(SyslogSink, TcpOctetCounting) {
  SyslogServer server(SyslogServer::Kind::kTcp);
  SyslogSinkOptions o;
  o.transport = SyslogSinkOptions::Transport::kTcp;
  o.host = "127.0.0.1";
  o.port = server.port();
  DeliverTo(o, server);
}

TEST(SyslogSink, UnixDatagram) {
  std::string path = testing::TempDir("syslog-unix") + "/log.sock";
  SyslogServer server(SyslogServer::Kind::kUnix, 0, path);
  SyslogSinkOptions o;
  o.transport = SyslogSinkOptions::Transport::kUnix;
  o.socket_path = path;
  DeliverTo(o, server);
}

TEST(SyslogSink, TcpServerDownIsAnError) {
  SyslogServer server(SyslogServer::Kind::kTcp);
  uint16_t port = server.port();
  server.Stop();
  SyslogSinkOptions o;
  o.transport = SyslogSinkOptions::Transport::kTcp;
  o.host = "127.0.0.1";
  o.port = port;
  auto sink = SyslogSink::Open(o);
  ASSERT_TRUE(sink.ok());
  std::vector<SinkMessage> batch = {SyslogMsg(0)};
  size_t delivered = 9;
  EXPECT_FALSE((*sink)->Deliver(batch, &delivered).ok());
  EXPECT_EQ(delivered, 0u);
}

// Alerts flow at ~200/s; the server is stopped for a while and restarted on the same port.
TEST(SyslogSink, TcpOutageLosesNothing) {
  SyslogServer server(SyslogServer::Kind::kTcp);
  SyslogSinkOptions o;
  o.transport = SyslogSinkOptions::Transport::kTcp;
  o.host = "127.0.0.1";
  o.port = server.port();
  auto sink = SyslogSink::Open(o);
  ASSERT_TRUE(sink.ok());
  DeliveryOptions d;
  d.spool_path = testing::TempDir("syslog-outage") + "/spool";
  d.backoff_initial = 20ms;
  d.backoff_max = 200ms;
  auto p = SinkPipeline::Start(std::move(*sink), d);
  ASSERT_TRUE(p.ok());
  int n = 0;
  auto send_for = [&](std::chrono::milliseconds t) {
    ASSERT_TRUE(testing::OfferFor(
        **p, [](int i) { return SyslogMsg(i); }, &n, t, 5ms));
  };
  send_for(300ms);
  server.Stop();
  send_for(1500ms);  // the outage
  server.Restart();
  send_for(300ms);
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }, 20s));
  EXPECT_GT((*p)->stats().spooled, 0u);
  ASSERT_TRUE(WaitFor([&] { return server.Messages().size() >= static_cast<size_t>(n); }, 5s));
  std::vector<std::string> bodies;
  for (const std::string& m : server.Messages()) bodies.push_back(m.substr(m.find(" - ") + 3));
  EXPECT_EQ(testing::CheckInOrderAtLeastOnce(bodies, n), "");
}

}  // namespace
}  // namespace kestrel::actions
