// --sink URLs and run.sinks: options after '#', YAML items with their lines, unknown options and
// kinds as errors naming where they were given, and a built set that delivers with its filter.
#include "kestrel/pipeline/sinks_option.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include "kestrel/cli/config.h"
#include "kestrel/event/event.h"

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

}  // namespace
}  // namespace kestrel::cli
