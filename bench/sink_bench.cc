// Alert sinks (issue 11):
//   BM_SinkDelivery/<sink>  alerts/s one sink delivers end to end (SinkPipeline: queue, delivery
//                           thread, transport) to a real receiver on loopback: file (to
//                           /dev/null), syslog UDP and TCP (a draining listener), HTTP webhook
//                           (cpp-httplib server; batch 1 and 100), Kafka (librdkafka's mock
//                           cluster). Each iteration offers 5,000 alerts of ~1 KB and waits
//                           until all are delivered.
//   BM_HotPath/<mode>       events/s through engine::Detector with alerts made as `kestrel run`
//                           makes them: mode 0 no sink, 1 a file sink enabled (SinkSet::Submit
//                           on the detection thread; delivery on the sink's own thread). The
//                           difference is what an enabled sink costs the hot path.
//
// Run: build/release/bench/sink_bench --benchmark_repetitions=3
//        --benchmark_report_aggregates_only=true
#include <arpa/inet.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <random>
#include <thread>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "httplib.h"
#include "kestrel/actions/delivery.h"
#include "kestrel/actions/file_sink.h"
#include "kestrel/actions/http_sink.h"
#include "kestrel/actions/kafka_sink.h"
#include "kestrel/actions/sink_set.h"
#include "kestrel/actions/syslog_sink.h"
#include "kestrel/engine/detector.h"
#include "kestrel/eql/sema.h"

namespace {

using namespace std::chrono_literals;
using kestrel::actions::SinkMessage;

std::string SpoolPath(const std::string& name) {
  auto dir =
      std::filesystem::temp_directory_path() / fmt::format("kestrel-sink-bench-{}", ::getpid());
  std::filesystem::create_directories(dir);
  std::filesystem::remove(dir / name);
  return (dir / name).string();
}

// A TCP or UDP listener on 127.0.0.1 that reads and discards everything.
class Drain {
 public:
  explicit Drain(bool tcp) : tcp_(tcp) {
    fd_ = ::socket(AF_INET, tcp ? SOCK_STREAM : SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    if (tcp) ::listen(fd_, 4);
    int big = 8 << 20;
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    thread_ = std::thread([this] { Run(); });
  }
  ~Drain() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }

 private:
  void Run() {
    std::vector<char> buf(1 << 16);
    int conn = -1;
    while (!stop_) {
      pollfd p{conn >= 0 ? conn : fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      if (tcp_ && conn < 0) {
        conn = ::accept(fd_, nullptr, nullptr);
        continue;
      }
      if (::recv(p.fd, buf.data(), buf.size(), 0) == 0 && conn >= 0) {
        ::close(conn);
        conn = -1;
      }
    }
    if (conn >= 0) ::close(conn);
  }
  bool tcp_;
  int fd_;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::vector<SinkMessage> Alerts(size_t n) {
  std::vector<SinkMessage> v;
  for (size_t i = 0; i < n; ++i) {
    SinkMessage m;
    m.host = fmt::format("host-{}", i % 16);
    m.rule_id = "linux-shell-reads-passwd";
    m.severity = 2;
    m.time_ns = 1735732830400000000 + static_cast<int64_t>(i);
    m.body = fmt::format(
        "{{\"id\":\"{:032x}\",\"rule_id\":\"linux-shell-reads-passwd\",\"events\":[{{\"fields\":{{"
        "\"p\":\"{}\"}}}}]}}",
        i, std::string(900, 'x'));
    v.push_back(std::move(m));
  }
  return v;
}

void Deliver(benchmark::State& state, std::unique_ptr<kestrel::actions::Sink> sink,
             const std::string& name) {
  kestrel::actions::DeliveryOptions o;
  o.spool_path = SpoolPath(name);
  auto p = kestrel::actions::SinkPipeline::Start(std::move(sink), o);
  if (!p.ok()) {
    state.SkipWithError("sink did not start");
    return;
  }
  const size_t kPerIteration = 5000;
  std::vector<SinkMessage> alerts = Alerts(kPerIteration);
  for (auto _ : state) {
    for (const SinkMessage& m : alerts) (*p)->Offer(m);
    while (!(*p)->Drained()) std::this_thread::sleep_for(100us);
  }
  auto s = (*p)->stats();
  if (s.spooled > 0 || s.failures > 0) state.counters["spooled"] = static_cast<double>(s.spooled);
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kPerIteration));
}

void BM_SinkDelivery_File(benchmark::State& state) {
  kestrel::actions::FileSinkOptions f;
  f.path = "/dev/null";
  Deliver(state, std::move(*kestrel::actions::FileSink::Open(f)), "file");
}

void BM_SinkDelivery_SyslogUdp(benchmark::State& state) {
  Drain drain(false);
  kestrel::actions::SyslogSinkOptions s;
  s.host = "127.0.0.1";
  s.port = drain.port();
  Deliver(state, std::move(*kestrel::actions::SyslogSink::Open(s)), "udp");
}

void BM_SinkDelivery_SyslogTcp(benchmark::State& state) {
  Drain drain(true);
  kestrel::actions::SyslogSinkOptions s;
  s.transport = kestrel::actions::SyslogSinkOptions::Transport::kTcp;
  s.host = "127.0.0.1";
  s.port = drain.port();
  Deliver(state, std::move(*kestrel::actions::SyslogSink::Open(s)), "tcp");
}

void BM_SinkDelivery_Http(benchmark::State& state) {
  httplib::Server server;
  server.Post("/hook", [](const httplib::Request&, httplib::Response& res) { res.status = 204; });
  int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  while (!server.is_running()) std::this_thread::sleep_for(1ms);
  kestrel::actions::HttpSinkOptions h;
  h.url = fmt::format("http://127.0.0.1:{}/hook", port);
  h.batch = static_cast<size_t>(state.range(0));
  Deliver(state, std::move(*kestrel::actions::HttpSink::Open(h)), "http");
  server.stop();
  t.join();
}

void BM_SinkDelivery_Kafka(benchmark::State& state) {
  char err[256];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "0", err, sizeof(err));
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(rk, 1);
  rd_kafka_mock_topic_create(cluster, "alerts", 4, 1);
  kestrel::actions::KafkaSinkOptions k;
  k.brokers = rd_kafka_mock_cluster_bootstraps(cluster);
  k.topic = "alerts";
  k.properties = {{"log_level", "0"}};
  Deliver(state, std::move(*kestrel::actions::KafkaSink::Open(k)), "kafka");
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(rk);
}

const char* kNames[] = {"bash", "sh",   "curl", "wget", "python3", "sshd", "cron",   "systemd",
                        "nc",   "perl", "git",  "tar",  "sudo",    "id",   "whoami", "apt"};

void BM_HotPath(benchmark::State& state) {
  bool with_sink = state.range(0) == 1;
  kestrel::schema::Schema schema;
  std::mt19937_64 rng(7);
  std::vector<kestrel::event::Event> events;
  for (size_t i = 0; i < 100'000; ++i) {
    kestrel::event::EventBuilder b(schema);
    b.Time(static_cast<int64_t>(i) * 1'000'000)
        .Category(i % 10 < 6 ? "process" : "file")
        .Str("host.name", fmt::format("host-{}", i % 16))
        .Str("process.name", kNames[rng() % std::size(kNames)])
        .Str("process.parent.name", kNames[rng() % std::size(kNames)])
        .Str("process.entity_id", fmt::format("e{}", rng() % 1000))
        .Str("process.command_line", fmt::format("x -c echo {}", i % 97))
        .Str("file.path", fmt::format("/tmp/f{}.sh", i % 50));
    events.push_back(b.Build());
  }
  // One rule alerts on ~0.2% of events (a busy host's rate is far lower); 19 never do.
  std::vector<std::string> queries = {
      "process where process.name == \"nc\" and process.parent.name == \"perl\""};
  for (int i = 0; i < 19; ++i) {
    queries.push_back(fmt::format("process where process.name == \"absent{}\"", i));
  }
  std::vector<std::unique_ptr<kestrel::eql::IrProgram>> programs;
  kestrel::engine::EngineLimits limits;
  limits.streaming = true;
  kestrel::engine::Detector detector(schema, limits);
  for (const std::string& q : queries) {
    auto r = kestrel::eql::Compile(q, schema);
    if (!r.ok()) {
      state.SkipWithError("rule did not compile");
      return;
    }
    programs.push_back(std::move(r.program));
    (void)detector.AddRule(programs.back().get());
  }
  (void)detector.Seal();
  std::unique_ptr<kestrel::actions::SinkSet> sinks;
  if (with_sink) {
    sinks = std::make_unique<kestrel::actions::SinkSet>(&schema);
    kestrel::actions::FileSinkOptions f;
    f.path = "/dev/null";
    kestrel::actions::DeliveryOptions o;
    o.spool_path = SpoolPath("hot");
    sinks->Add(std::move(*kestrel::actions::SinkPipeline::Start(
                   std::move(*kestrel::actions::FileSink::Open(f)), o)),
               {}, kestrel::actions::AlertFormat::kKestrel);
  }
  kestrel::rules::RuleSpec spec;
  spec.id = "nc";
  spec.name = "Netcat from perl";
  uint64_t alerts = 0, index = 0;
  auto on_match = [&](size_t, kestrel::engine::QueryMatch& m) {
    kestrel::engine::Alert a;
    a.rule_id = spec.id;
    a.rule_name = spec.name;
    a.entity_key = std::move(m.entity_key);
    a.events = std::move(m.events);
    kestrel::engine::FinalizeAlert(schema, &a);
    if (sinks) sinks->Submit(a, &spec);
    ++alerts;
  };
  for (auto _ : state) {
    for (const kestrel::event::Event& e : events) detector.Process(e, index++, on_match);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * events.size()));
  state.counters["alerts_per_pass"] =
      static_cast<double>(alerts) / static_cast<double>(state.iterations());
  if (sinks) sinks->Close(5s);
}

BENCHMARK(BM_SinkDelivery_File)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SinkDelivery_SyslogUdp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SinkDelivery_SyslogTcp)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SinkDelivery_Http)->Arg(1)->Arg(100)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SinkDelivery_Kafka)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_HotPath)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
