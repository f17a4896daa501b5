// Alert suppression through the whole pipeline (issue 22's acceptance, run exactly): 600
// identical triggers of one rule within a minute give 1 alert with kestrel.suppressed = 599 (and
// the counts in the summary and the Prometheus metrics); without `suppress`, 600 alerts. Also:
// windows by key and by time, the held alert written at the end of input, the config default,
// `suppress: off`, 1 and 2 workers byte-identical, and the Suppressor's bound.
#include "kestrel/pipeline/suppression.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kestrel/metrics/metrics.h"
#include "kestrel/pipeline/pipeline.h"

namespace kestrel::pipeline {
namespace {

namespace fs = std::filesystem;

class SuppressionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "kestrel_suppress.XXXXXX").string();
    dir_ = fs::path(::mkdtemp(tmpl.data()));
    fs::create_directories(dir_ / "rules");
  }
  void TearDown() override { fs::remove_all(dir_); }

  void Rule(const std::string& header) {
    std::ofstream(dir_ / "rules" / "shell.eql")
        << "// name: Shell started\n// severity: low\n"
        << header << "process where process.name in (\"sh\", \"bash\")\n";
  }
  // `n` exec events of `name`, `step_ms` apart from 2026-01-01T00:00:00Z.
  void Events(int n, int step_ms, const std::vector<std::string>& names = {"sh"}) {
    std::ofstream out(dir_ / "events.ndjson");
    for (int i = 0; i < n; ++i) {
      int64_t ms = int64_t{i} * step_ms;
      out << fmt::format(
                 R"({{"@timestamp":"2026-01-01T{:02}:{:02}:{:02}.{:03}Z","event":{{"category":"process","type":"start"}},"host":{{"name":"web-1"}},"process":{{"name":"{}","pid":{},"executable":"/bin/sh"}}}})",
                 ms / 3'600'000, ms / 60'000 % 60, ms / 1000 % 60, ms % 1000,
                 names[i % names.size()], 1000 + i)
          << "\n";
    }
  }
  // Runs the pipeline; returns the alert lines; the summary in *summary.
  std::vector<nlohmann::json> Run(size_t workers, std::string* summary = nullptr,
                                  std::string* raw = nullptr, std::string* metrics = nullptr) {
    RunConfig config = config_;
    config.rules_dir = (dir_ / "rules").string();
    config.source = "ndjson:" + (dir_ / "events.ndjson").string();
    fs::remove(dir_ / "alerts.jsonl");
    config.output = (dir_ / "alerts.jsonl").string();
    config.workers = workers;
    if (metrics != nullptr) config.metrics_addr = "127.0.0.1:0";
    testing::internal::CaptureStderr();
    auto p = Pipeline::Open(config);
    EXPECT_TRUE(p.ok()) << p.status();
    if (p.ok()) {
      EXPECT_TRUE((*p)->Run().ok());
      if (metrics != nullptr) {
        auto text = metrics::Scrape(fmt::format("127.0.0.1:{}", (*p)->metrics_port()));
        EXPECT_TRUE(text.ok()) << text.status();
        if (text.ok()) *metrics = *text;
      }
      if (summary != nullptr) *summary = (*p)->summary();
    }
    testing::internal::GetCapturedStderr();
    std::ifstream in(dir_ / "alerts.jsonl");
    std::stringstream all;
    all << in.rdbuf();
    if (raw != nullptr) *raw = all.str();
    std::vector<nlohmann::json> alerts;
    std::istringstream lines(all.str());
    for (std::string line; std::getline(lines, line);)
      alerts.push_back(nlohmann::json::parse(line));
    return alerts;
  }

  fs::path dir_;
  RunConfig config_;
};

TEST_F(SuppressionTest, SixHundredTriggersInAMinuteGiveOneAlertWith599Suppressed) {
  Rule("// suppress: {by: [process.name, host.name], for: 5m}\n");
  Events(600, 100);  // 600 triggers within 60 s
  std::string summary, metrics;
  auto alerts = Run(1, &summary, nullptr, &metrics);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["kestrel"]["suppressed"], 599);
  EXPECT_EQ(alerts[0]["kestrel"]["suppression"]["start"], "2026-01-01T00:00:00.000000000Z");
  EXPECT_EQ(alerts[0]["kestrel"]["suppression"]["end"], "2026-01-01T00:00:59.900000000Z");
  EXPECT_EQ(alerts[0]["kestrel"]["suppression"]["terms"][0]["field"], "process.name");
  EXPECT_EQ(alerts[0]["kestrel"]["suppression"]["terms"][0]["value"], "sh");
  EXPECT_EQ(alerts[0]["kestrel"]["suppression"]["terms"][1]["value"], "web-1");
  // The alert is the first trigger's (its id and time).
  EXPECT_EQ(alerts[0]["timestamp_ns"], int64_t{1767225600} * 1'000'000'000);
  EXPECT_NE(summary.find("alerts: 1,"), std::string::npos) << summary;
  EXPECT_NE(summary.find("alerts suppressed: 599 (shell 599)"), std::string::npos) << summary;
  EXPECT_NE(metrics.find("kestrel_rule_alerts_suppressed_total{rule=\"shell\"} 599\n"),
            std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("kestrel_rule_alerts_total{rule=\"shell\"} 1\n"), std::string::npos);
}

TEST_F(SuppressionTest, WithoutSuppressSixHundredAlerts) {
  Rule("");
  Events(600, 100);
  std::string summary;
  auto alerts = Run(1, &summary);
  ASSERT_EQ(alerts.size(), 600u);
  EXPECT_FALSE(alerts[0].contains("kestrel"));
  EXPECT_EQ(summary.find("suppressed"), std::string::npos) << summary;
}

TEST_F(SuppressionTest, OneGroupPerKeyAndPerWindow) {
  Rule("// suppress: {by: [process.name], for: 30s}\n");
  Events(900, 100, {"sh", "bash"});  // 90 s: sh and bash alternate
  auto alerts = Run(1);
  // Each name: windows [0, 30s], then from the first trigger after it, ... = 3 per name.
  ASSERT_EQ(alerts.size(), 6u);
  uint64_t total = 0;
  for (const auto& a : alerts) total += a["kestrel"]["suppressed"].get<uint64_t>() + 1;
  EXPECT_EQ(total, 900u);  // nothing lost: every trigger is an alert or counted on one
  EXPECT_EQ(alerts[0]["kestrel"]["suppression"]["terms"][0]["value"], "sh");
  EXPECT_EQ(alerts[1]["kestrel"]["suppression"]["terms"][0]["value"], "bash");
  // A window's alert is written once event time passes its end, before later alerts.
  EXPECT_LT(alerts[0]["timestamp_ns"].get<int64_t>(), alerts[2]["timestamp_ns"].get<int64_t>());
}

TEST_F(SuppressionTest, OneAndTwoWorkersWriteTheSameBytes) {
  Rule("// suppress: {by: [process.name], for: 10s}\n");
  Events(600, 100, {"sh", "bash", "sh"});
  std::string one, two;
  Run(1, nullptr, &one);
  Run(2, nullptr, &two);
  EXPECT_FALSE(one.empty());
  EXPECT_EQ(one, two);
}

TEST_F(SuppressionTest, ConfigDefaultAppliesAndRuleOffOverridesIt) {
  Rule("");
  Events(50, 100);
  config_.suppress = rules::Suppression{{}, int64_t{60} * 1'000'000'000};
  auto alerts = Run(1);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0]["kestrel"]["suppressed"], 49);
  Rule("// suppress: off\n");
  EXPECT_EQ(Run(1).size(), 50u);
}

TEST(SuppressorTest, BoundedGroupsReleaseTheOldestEarly) {
  schema::Schema schema;
  Suppressor s(schema, 2);
  std::vector<std::string> written;
  Suppressor::Deliver deliver = [&](engine::Alert& a, const rules::RuleSpec*) {
    written.push_back(a.suppression_terms.at(0).second);
  };
  rules::Suppression by_name{{"process.name"}, 1'000'000'000};
  for (std::string name : {"a", "b", "c"}) {
    engine::Alert a;
    a.rule_id = "r";
    a.events.push_back(std::make_shared<const event::Event>(
        event::EventBuilder(schema).Time(10).Str("process.name", name).Build()));
    a.timestamp_ns = 10;
    s.Release(10, deliver);
    s.Offer(std::move(a), nullptr, by_name, deliver);
  }
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(written[0], "\"a\"");
  EXPECT_EQ(s.early_releases(), 1u);
  s.ReleaseAll(deliver);
  EXPECT_EQ(written.size(), 3u);
  EXPECT_EQ(s.held(), 0u);
}

}  // namespace
}  // namespace kestrel::pipeline
