// HttpSink against a real cpp-httplib server on loopback: single and batched POSTs with headers,
// 4xx rejection, TLS with a certificate made by the test, and the 10 s outage of the issue
// (the server stopped while alerts flow, restarted on the same port: all alerts arrive, in
// order, at least once).
#include "kestrel/actions/http_sink.h"

#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "httplib.h"
#include "kestrel/actions/delivery.h"
#include "kestrel/actions/sink_test_util.h"

namespace kestrel::actions {
namespace {

using namespace std::chrono_literals;
using testing::WaitFor;

SinkMessage HttpMsg(int n) {
  SinkMessage m;
  m.body = "{\"n\":" + std::to_string(n) + "}";
  return m;
}

// A webhook receiver: records each request's body and Authorization header.
class Receiver {
 public:
  explicit Receiver(int port = 0, httplib::Server* server = nullptr)
      : owned_(server == nullptr ? std::make_unique<httplib::Server>() : nullptr),
        server_(server != nullptr ? server : owned_.get()) {
    server_->set_socket_options([](socket_t sock) {
      int one = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    });
    server_->Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu_);
      bodies_.push_back(req.body);
      auth_.push_back(req.get_header_value("Authorization"));
      res.status = status_;
    });
    port_ = port == 0 ? server_->bind_to_any_port("127.0.0.1") : port;
    bool bound = port != 0 ? server_->bind_to_port("127.0.0.1", port) : port_ > 0;
    EXPECT_TRUE(bound);
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    EXPECT_TRUE(WaitFor([this] { return server_->is_running(); }));
  }
  ~Receiver() { Stop(); }
  void Stop() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> Bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }
  std::vector<std::string> Auth() {
    std::lock_guard<std::mutex> lock(mu_);
    return auth_;
  }
  void SetStatus(int s) { status_ = s; }

 private:
  std::unique_ptr<httplib::Server> owned_;
  httplib::Server* server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> bodies_, auth_;
  std::atomic<int> status_{200};
};

TEST(HttpSink, PostsOneAlertPerRequestWithHeaders) {
  Receiver r;
  HttpSinkOptions o;
  o.url = fmt::format("http://127.0.0.1:{}/hook", r.port());
  o.headers = {{"Authorization", "Bearer s3cret"}};
  auto sink = HttpSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.status();
  std::vector<SinkMessage> one = {HttpMsg(1)};
  size_t delivered = 0;
  ASSERT_TRUE((*sink)->Deliver(one, &delivered).ok());
  EXPECT_EQ(delivered, 1u);
  ASSERT_EQ(r.Bodies().size(), 1u);
  EXPECT_EQ(r.Bodies()[0], "{\"n\":1}");
  EXPECT_EQ(r.Auth()[0], "Bearer s3cret");
}

TEST(HttpSink, BatchIsAJsonArray) {
  Receiver r;
  HttpSinkOptions o;
  o.url = fmt::format("http://127.0.0.1:{}/hook", r.port());
  o.batch = 3;
  auto sink = HttpSink::Open(o);
  ASSERT_TRUE(sink.ok());
  EXPECT_EQ((*sink)->max_batch(), 3u);
  std::vector<SinkMessage> batch = {HttpMsg(1), HttpMsg(2), HttpMsg(3)};
  size_t delivered = 0;
  ASSERT_TRUE((*sink)->Deliver(batch, &delivered).ok());
  EXPECT_EQ(delivered, 3u);
  ASSERT_EQ(r.Bodies().size(), 1u);
  EXPECT_EQ(r.Bodies()[0], "[{\"n\":1},{\"n\":2},{\"n\":3}]");
}

TEST(HttpSink, ServerErrorsAreRetriedClientErrorsRejected) {
  Receiver r;
  HttpSinkOptions o;
  o.url = fmt::format("http://127.0.0.1:{}/hook", r.port());
  auto sink = HttpSink::Open(o);
  ASSERT_TRUE(sink.ok());
  std::vector<SinkMessage> one = {HttpMsg(1)};
  size_t delivered = 0;
  r.SetStatus(503);
  EXPECT_FALSE((*sink)->Deliver(one, &delivered).ok());
  EXPECT_EQ(delivered, 0u);
  r.SetStatus(400);
  EXPECT_TRUE((*sink)->Deliver(one, &delivered).ok());
  EXPECT_EQ((*sink)->rejected(), 1u);
}

TEST(HttpSink, BadUrlsAreErrors) {
  HttpSinkOptions o;
  o.url = "ftp://x/y";
  EXPECT_FALSE(HttpSink::Open(o).ok());
  o.url = "http:///path";
  EXPECT_FALSE(HttpSink::Open(o).ok());
}

TEST(HttpSink, TlsWithTheServersCertificate) {
  std::string dir = testing::TempDir("tls");
  ASSERT_TRUE(testing::MakeSelfSignedCert(dir + "/cert.pem", dir + "/key.pem"));
  httplib::SSLServer tls((dir + "/cert.pem").c_str(), (dir + "/key.pem").c_str());
  ASSERT_TRUE(tls.is_valid());
  Receiver r(0, &tls);
  HttpSinkOptions o;
  o.url = fmt::format("https://127.0.0.1:{}/hook", r.port());
  o.ca_file = dir + "/cert.pem";
  auto sink = HttpSink::Open(o);
  ASSERT_TRUE(sink.ok()) << sink.status();
  std::vector<SinkMessage> one = {HttpMsg(5)};
  size_t delivered = 0;
  absl::Status s = (*sink)->Deliver(one, &delivered);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(r.Bodies().size(), 1u);
  EXPECT_EQ(r.Bodies()[0], "{\"n\":5}");
  // Without the CA the certificate is refused (verification is on by default)...
  o.ca_file = dir + "/key.pem";  // not a CA certificate
  auto untrusting = HttpSink::Open(o);
  ASSERT_TRUE(untrusting.ok());
  EXPECT_FALSE((*untrusting)->Deliver(one, &delivered).ok());
  // ...unless told not to verify.
  o.ca_file.clear();
  o.insecure = true;
  auto insecure = HttpSink::Open(o);
  ASSERT_TRUE((*insecure)->Deliver(one, &delivered).ok());
  EXPECT_EQ(r.Bodies().size(), 2u);
}

// The outage of the issue: alerts flow (~100/s), the webhook is stopped for `outage`, then
// restarted on the same port.
void RunOutage(std::chrono::milliseconds outage, size_t batch) {
  auto r = std::make_unique<Receiver>();
  int port = r->port();
  HttpSinkOptions o;
  o.url = fmt::format("http://127.0.0.1:{}/hook", port);
  o.batch = batch;
  o.timeout = 1s;
  auto sink = HttpSink::Open(o);
  ASSERT_TRUE(sink.ok());
  DeliveryOptions d;
  d.spool_path = testing::TempDir(fmt::format("http-outage-{}", batch)) + "/spool";
  d.backoff_initial = 50ms;
  d.backoff_max = 500ms;
  auto p = SinkPipeline::Start(std::move(*sink), d);
  ASSERT_TRUE(p.ok());
  int n = 0;
  auto send_for = [&](std::chrono::milliseconds t) {
    ASSERT_TRUE(testing::OfferFor(
        **p, [](int i) { return HttpMsg(i); }, &n, t, 10ms));
  };
  send_for(500ms);
  r->Stop();  // the webhook goes away
  std::vector<std::string> before = r->Bodies();
  r.reset();
  send_for(outage);
  EXPECT_FALSE((*p)->stats().healthy);
  EXPECT_GT((*p)->stats().spool_pending, 0u);
  r = std::make_unique<Receiver>(port);
  send_for(500ms);
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }, 30s))
      << "spool_pending " << (*p)->stats().spool_pending << " delivered " << (*p)->stats().delivered
      << " failures " << (*p)->stats().failures << " sent " << n;
  std::vector<std::string> bodies = before;
  for (const std::string& b : r->Bodies()) bodies.push_back(b);
  // Split batches back into alerts.
  std::vector<std::string> alerts;
  for (const std::string& b : bodies) {
    for (size_t at = b.find("{\"n\":"); at != std::string::npos; at = b.find("{\"n\":", at + 1)) {
      alerts.push_back(b.substr(at, b.find('}', at) - at + 1));
    }
  }
  EXPECT_EQ(testing::CheckInOrderAtLeastOnce(alerts, n), "");
  EXPECT_EQ((*p)->stats().spool_dropped, 0u);
  EXPECT_EQ((*p)->stats().queue_dropped, 0u);
}

// The spool cap with the real webhook down: exactly the excess is dropped and counted, the rest
// arrives in order once it is back, followed by the notice naming the count.
TEST(HttpSink, SpoolCapDropsExactlyTheExcess) {
  auto r = std::make_unique<Receiver>();
  int port = r->port();
  r.reset();  // down from the start
  HttpSinkOptions o;
  o.url = fmt::format("http://127.0.0.1:{}/hook", port);
  o.timeout = 1s;
  auto sink = HttpSink::Open(o);
  ASSERT_TRUE(sink.ok());
  DeliveryOptions d;
  d.spool_path = testing::TempDir("http-cap") + "/spool";
  d.backoff_initial = 50ms;
  d.backoff_max = 200ms;
  d.spool_max_bytes = 10 * Spool::RecordSize(HttpMsg(100));  // ten alerts of this size
  d.drop_notice = [](uint64_t dropped) {
    SinkMessage m;
    m.body = fmt::format("{{\"dropped\":{}}}", dropped);
    return m;
  };
  auto p = SinkPipeline::Start(std::move(*sink), d);
  ASSERT_TRUE(p.ok());
  for (int i = 100; i < 125; ++i) ASSERT_TRUE((*p)->Offer(HttpMsg(i)));
  ASSERT_TRUE(WaitFor([&] {
    SinkStats s = (*p)->stats();
    return s.spooled + s.spool_dropped == 25;
  }));
  EXPECT_EQ((*p)->stats().spool_dropped, 15u);
  r = std::make_unique<Receiver>(port);
  ASSERT_TRUE(WaitFor([&] { return (*p)->Drained(); }, 20s));
  std::vector<std::string> got = r->Bodies();
  ASSERT_EQ(got.size(), 11u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(got[i], HttpMsg(100 + i).body);
  EXPECT_EQ(got[10], "{\"dropped\":15}");
  EXPECT_EQ((*p)->stats().spool_dropped, 15u);
  EXPECT_EQ((*p)->stats().delivered, 11u);
}

TEST(HttpSink, TenSecondOutageLosesNothing) { RunOutage(10s, 1); }

TEST(HttpSink, ShortOutageWithBatchesLosesNothing) { RunOutage(1500ms, 16); }

}  // namespace
}  // namespace kestrel::actions
