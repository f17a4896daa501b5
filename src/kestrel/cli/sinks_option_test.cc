// --sink URLs and run.sinks: options after '#', YAML items with their lines, unknown options and
// kinds as errors naming where they were given, and a built set that delivers with its filter.
#include "kestrel/pipeline/sinks_option.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <spdlog/spdlog.h>
#include <yaml-cpp/yaml.h>
#include "kestrel/testing/captured_log.h"

#include "httplib.h"
#include "kestrel/cli/config.h"
#include "kestrel/event/event.h"
#include "kestrel/metrics/metrics.h"

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;

TEST(SinksOption, FlagOptionsFollowTheHash) {
  auto c =
      pipeline::ParseSinkFlag("http://h:8080/hook?token=1#batch=10&header=X-Key: v&format=ecs");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->url, "http://h:8080/hook?token=1");  // the webhook's own query stays
  ASSERT_EQ(c->options.size(), 3u);
  EXPECT_EQ(c->options[1].second, "X-Key: v");
  EXPECT_TRUE(pipeline::CheckSinkConfig(*c).ok());
  EXPECT_FALSE(pipeline::ParseSinkFlag("file:/x#novalue").ok());
}

TEST(SinksOption, UnknownKindsAndOptionsAreErrors) {
  auto c = pipeline::ParseSinkFlag("kafka://k/t#rotate_size=1M");
  ASSERT_TRUE(c.ok());
  absl::Status s = pipeline::CheckSinkConfig(*c);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown option 'rotate_size'"), absl::string_view::npos);
  EXPECT_FALSE(pipeline::CheckSinkConfig(*pipeline::ParseSinkFlag("smtp://x")).ok());
  EXPECT_TRUE(
      pipeline::CheckSinkConfig(*pipeline::ParseSinkFlag("kafka://k/t#kafka.linger.ms=1&key=rule"))
          .ok());
}

TEST(SinksOption, BadValuesAreErrorsAtBuild) {
  schema::Schema schema;
  for (const char* flag :
       {"syslog+udp://nohost", "kafka://k", "file:/tmp/x#rotate_size=big", "file:/tmp/x#format=xml",
        "http://h/x#batch=0", "syslog+tcp://h:1#facility=local9", "file:/tmp/x#min_severity=huge",
        "kafka://k/t#key=pid"}) {
    auto c = pipeline::ParseSinkFlag(flag);
    ASSERT_TRUE(c.ok()) << flag;
    auto built = pipeline::BuildSinks({*c}, &schema);
    EXPECT_FALSE(built.ok()) << flag;
    if (!built.ok()) {
      EXPECT_EQ(built.status().code(), absl::StatusCode::kInvalidArgument) << flag;
    }
  }
}

TEST(SinksOption, ConfigSinksWithFilterAndLines) {
  std::string dir =
      (fs::temp_directory_path() / ("kestrel-sinks-opt-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string config = dir + "/kestrel.yaml";
  std::ofstream(config) << "run:\n"
                        << "  sinks:\n"
                        << "    - url: file:" << dir << "/high.jsonl\n"
                        << "      min_severity: high\n"
                        << "      spool_dir: " << dir << "/spool\n"
                        << "    - url: file:" << dir << "/tagged.jsonl\n"
                        << "      format: ecs\n"
                        << "      tags: [linux]\n"
                        << "      spool_dir: " << dir << "/spool\n";
  pipeline::RunConfig run;
  GlobalConfig global;
  ASSERT_TRUE(LoadConfigFile(config, &run, &global).ok());
  ASSERT_EQ(run.sinks.size(), 2u);
  EXPECT_EQ(run.sinks[0].origin, config + ":3:7");
  schema::Schema schema;
  auto sinks = pipeline::BuildSinks(run.sinks, &schema);
  ASSERT_TRUE(sinks.ok()) << sinks.status();
  rules::RuleSpec tagged, plain;
  tagged.id = "t";
  tagged.tags = {"linux"};
  plain.id = "p";
  auto alert = [&](const char* rule, engine::Severity sev) {
    engine::Alert a;
    a.rule_id = rule;
    a.rule_name = rule;
    a.severity = sev;
    a.events.push_back(std::make_shared<const event::Event>(
        event::EventBuilder(schema).Time(5).Str("process.name", "sh").Build()));
    engine::FinalizeAlert(schema, &a);
    return a;
  };
  (*sinks)->Submit(alert("t", engine::Severity::kLow), &tagged);       // tagged only
  (*sinks)->Submit(alert("p", engine::Severity::kHigh), &plain);       // high only
  (*sinks)->Submit(alert("t", engine::Severity::kCritical), &tagged);  // both
  (*sinks)->Close(std::chrono::seconds(5));
  auto lines = [](const std::string& p) {
    std::ifstream in(p);
    std::vector<std::string> v;
    for (std::string l; std::getline(in, l);) v.push_back(l);
    return v;
  };
  auto high = lines(dir + "/high.jsonl");
  auto ecs = lines(dir + "/tagged.jsonl");
  ASSERT_EQ(high.size(), 2u);
  EXPECT_NE(high[0].find("\"rule_id\":\"p\""), std::string::npos);
  ASSERT_EQ(ecs.size(), 2u);
  EXPECT_NE(ecs[0].find("\"kind\":\"signal\""), std::string::npos);
  EXPECT_NE(ecs[1].find("\"severity\":\"critical\""), std::string::npos);
}

TEST(SinksOption, UnknownSinkKeyInConfigNamesItsLine) {
  std::string config =
      (fs::temp_directory_path() / ("kestrel-sinks-bad-" + std::to_string(::getpid()) + ".yaml"))
          .string();
  std::ofstream(config) << "run:\n  sinks:\n    - url: kafka://k/t\n      rotate_size: 1M\n";
  pipeline::RunConfig run;
  GlobalConfig global;
  absl::Status s = LoadConfigFile(config, &run, &global);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find(config + ":4:7"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("unknown option 'rotate_size'"), absl::string_view::npos) << s;
}

using kestrel::testing::CapturedLog;

engine::Alert OneAlert(schema::Schema& schema) {
  engine::Alert a;
  a.rule_id = "r";
  a.rule_name = "r";
  a.severity = engine::Severity::kHigh;
  a.events.push_back(std::make_shared<const event::Event>(
      event::EventBuilder(schema).Time(5).Str("host.name", "h1").Build()));
  engine::FinalizeAlert(schema, &a);
  return a;
}

std::string FreshDir(const std::string& name) {
  std::string dir =
      (fs::temp_directory_path() / ("kestrel-" + name + "-" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

// The secrets of a sink's URL (userinfo, a token query parameter), of a header and of a Kafka
// property appear in no log line, error, summary, metric label, spool file name or `config
// check` output.
TEST(SinksOption, SecretsNeverAppearInMessagesLabelsSpoolNamesOrConfigCheck) {
  const std::vector<std::string> secrets = {"pw-in-url", "tok-in-query", "bearer-in-header",
                                            "kafka-pw"};
  auto leaks = [&](const std::string& text) {
    std::string found;
    for (const std::string& s : secrets) {
      if (text.find(s) != std::string::npos) found += s + " ";
    }
    return found;
  };
  std::string dir = FreshDir("sinks-secrets");
  std::string config = dir + "/kestrel.yaml";
  std::ofstream(config) << "run:\n"
                        << "  sinks:\n"
                        << "    - url: http://alice:pw-in-url@127.0.0.1:1/hook?token=tok-in-query\n"
                        << "      headers: {Authorization: Bearer bearer-in-header, X-Team: blue}\n"
                        << "      spool_dir: " << dir << "/spool\n"
                        << "      backoff: 10ms\n"
                        << "    - url: kafka://127.0.0.1:1/alerts\n"
                        << "      kafka: {sasl.password: kafka-pw, sasl.username: kestrel}\n";
  pipeline::RunConfig run;
  GlobalConfig global;
  ASSERT_TRUE(LoadConfigFile(config, &run, &global).ok());
  ASSERT_EQ(run.sinks.size(), 2u);

  // `kestrel config check`
  std::string rendered = RenderConfig(run, global);
  EXPECT_EQ(leaks(rendered), "") << rendered;
  EXPECT_NE(rendered.find("http://***@127.0.0.1:1/hook?token=***"), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("Authorization: \"***\""), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("X-Team: blue"), std::string::npos) << rendered;
  EXPECT_NE(rendered.find("sasl.username: kestrel"), std::string::npos) << rendered;

  // Errors that name the sink.
  schema::Schema schema;
  for (std::string flag :
       {std::string("http://alice:pw-in-url@127.0.0.1:1/hook?token=tok-in-query#batch=0"),
        std::string("http://alice:pw-in-url@127.0.0.1:1/hook?token=tok-in-query#nope=1"),
        std::string("http://127.0.0.1:1/h?token=tok-in-query#header=Authorization: Bearer "
                    "bearer-in-header&pw-in-url"),
        std::string("http://127.0.0.1:1/h#header=bearer-in-header")}) {
    auto c = pipeline::ParseSinkFlag(flag);
    absl::Status s = c.status();
    if (c.ok()) s = pipeline::CheckSinkConfig(*c);
    if (c.ok() && s.ok()) s = pipeline::BuildSinks({*c}, &schema).status();
    ASSERT_FALSE(s.ok()) << flag;
    EXPECT_EQ(leaks(std::string(s.message())), "") << s;
  }

  // A run: the webhook is down (nothing listens on port 1), so the sink logs the outage, spools,
  // and reports itself in the summary and the metrics.
  CapturedLog log;
  auto sinks = pipeline::BuildSinks({run.sinks[0]}, &schema);
  ASSERT_TRUE(sinks.ok()) << sinks.status();
  rules::RuleSpec rule;
  rule.id = "r";
  (*sinks)->Submit(OneAlert(schema), &rule);
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((*sinks)->Reports()[0].stats.spooled == 0 && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ((*sinks)->Reports()[0].stats.spooled, 1u);
  metrics::Snapshot snapshot;
  pipeline::AddSinkMetrics(**sinks, &snapshot);
  std::string exposition = metrics::RenderText(snapshot);
  EXPECT_EQ(leaks(exposition), "") << exposition;
  EXPECT_NE(exposition.find("sink=\"http://***@127.0.0.1:1/hook?token=***\""), std::string::npos)
      << exposition;
  std::string summary = pipeline::SinkSummary(**sinks);
  EXPECT_EQ(leaks(summary), "") << summary;
  (*sinks)->Close(std::chrono::milliseconds(0));
  std::string logged = log.Text();
  EXPECT_NE(logged.find("spooled"), std::string::npos) << logged;  // the outage was logged
  EXPECT_EQ(leaks(logged), "") << logged;
  size_t spools = 0;
  for (const auto& entry : fs::directory_iterator(dir + "/spool")) {
    ++spools;
    EXPECT_EQ(leaks(entry.path().filename().string()), "") << entry.path();
  }
  EXPECT_EQ(spools, 1u);
}

// password_file= and header_file= keep a webhook's credentials out of the command line and the
// config file: read (trailing newline stripped) and sent; a missing file is an error.
TEST(SinksOption, PasswordAndHeaderFilesAreReadForTheWebhook) {
  std::string dir = FreshDir("sinks-secret-files");
  httplib::Server receiver;
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> got;  // Authorization, X-Hook-Token
  receiver.Post("/hook", [&](const httplib::Request& req, httplib::Response& res) {
    std::lock_guard<std::mutex> lock(mu);
    got.emplace_back(req.get_header_value("Authorization"), req.get_header_value("X-Hook-Token"));
    res.status = 200;
  });
  int port = receiver.bind_to_any_port("127.0.0.1");
  ASSERT_GT(port, 0);
  std::thread server([&] { receiver.listen_after_bind(); });
  std::ofstream(dir + "/pw") << "file-pw\n";
  std::ofstream(dir + "/hdr") << "X-Hook-Token: from-file\r\n";
  std::string url = fmt::format("http://alice@127.0.0.1:{}/hook", port);
  auto c = pipeline::ParseSinkFlag(
      fmt::format("{}#password_file={}/pw&header_file={}/hdr&spool_dir={}", url, dir, dir, dir));
  ASSERT_TRUE(c.ok()) << c.status();
  ASSERT_TRUE(pipeline::CheckSinkConfig(*c).ok());
  schema::Schema schema;
  auto sinks = pipeline::BuildSinks({*c}, &schema);
  ASSERT_TRUE(sinks.ok()) << sinks.status();
  rules::RuleSpec rule;
  rule.id = "r";
  (*sinks)->Submit(OneAlert(schema), &rule);
  (*sinks)->Close(std::chrono::seconds(5));
  receiver.stop();
  server.join();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].first, "Basic YWxpY2U6ZmlsZS1wdw==");  // alice:file-pw
  EXPECT_EQ(got[0].second, "from-file");

  for (std::string option :
       {"password_file=" + dir + "/missing", "header_file=" + dir + "/missing"}) {
    auto bad = pipeline::ParseSinkFlag(url + "#" + option + "&spool_dir=" + dir);
    ASSERT_TRUE(bad.ok());
    auto built = pipeline::BuildSinks({*bad}, &schema);
    ASSERT_FALSE(built.ok()) << option;
    EXPECT_EQ(built.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(built.status().message().find(dir + "/missing"), absl::string_view::npos)
        << built.status();
  }
  // A password without a user to go with it.
  auto nouser = pipeline::ParseSinkFlag(
      fmt::format("http://127.0.0.1:{}/hook#password_file={}/pw&spool_dir={}", port, dir, dir));
  EXPECT_FALSE(pipeline::BuildSinks({*nouser}, &schema).ok());
}

}  // namespace
}  // namespace kestrel::cli
