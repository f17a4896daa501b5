// Tests of the `kestrel ui` index and server (issue 25): process trees from ECS and Endgame
// events, bounds, alert lines, and the server's safety rules through a real server on a loopback
// port (cpp-httplib's client). The browser and end-to-end tests are cli/ui_test.sh and
// cli/ui_browser_test.sh.
#include <httplib.h>

#include <gtest/gtest.h>

#include "kestrel/event/event.h"
#include "kestrel/ui/assets.h"
#include "kestrel/ui/index.h"
#include "kestrel/ui/server.h"

namespace kestrel::ui {
namespace {

event::Event Proc(schema::Schema& s, int64_t t, std::string_view id, std::string_view parent,
                  std::string_view name, int64_t pid) {
  event::EventBuilder b(s);
  b.Time(t).Category("process").Str("process.entity_id", id).Str("process.name", name);
  b.Int("process.pid", pid).Str("user.name", "alice").Str("host.name", "h1");
  b.Str("process.command_line", std::string(name) + " -x");
  if (!parent.empty()) b.Str("process.parent.entity_id", parent);
  return b.Build();
}

constexpr const char* kAlert =
    R"({"id":"a1","rule_id":"r1","rule_name":"Rule one","severity":"high","timestamp_ns":300,)"
    R"("events":[{"event_type_id":0,"timestamp_ns":300,"fields":{"process":{"entity_id":"c",)"
    R"("name":"sh","pid":3}}}],"host":{"name":"h1"},"rule":{"threat":[{"tactic":{"name":"Execution"}}]}})";

TEST(UiIndex, BuildsTreesWithParentsAndEvidence) {
  schema::Schema s;
  Index index(&s);
  index.AddEvent(Proc(s, 100, "a", "", "init", 1), 0, 0);
  index.AddEvent(Proc(s, 200, "b", "a", "bash", 2), 0, 1);
  index.AddEvent(Proc(s, 300, "c", "b", "sh", 3), 0, 2);
  index.AddEvent(Proc(s, 250, "d", "b", "ls", 4), 0, 3);
  ASSERT_TRUE(index.AppendAlertLine(kAlert, 0, 1));
  index.Finish();
  EXPECT_EQ(index.events().front().time_ns, 100);  // sorted by time
  auto tree = index.TreeJson("b", 4, 10, {"c"});
  ASSERT_TRUE(tree.has_value());
  EXPECT_EQ((*tree)["root"]["name"], "bash");
  EXPECT_EQ((*tree)["root"]["parent"], "a");
  ASSERT_EQ((*tree)["root"]["children"].size(), 2u);
  EXPECT_EQ((*tree)["root"]["children"][0]["key"], "c") << "evidence first";
  EXPECT_EQ((*tree)["root"]["children"][0]["evidence"], true);
  EXPECT_EQ((*tree)["root"]["children"][1]["evidence"], false);
  ASSERT_EQ((*tree)["ancestors"].size(), 1u);
  EXPECT_EQ((*tree)["ancestors"][0]["name"], "init");
  auto narrow = index.TreeJson("b", 4, 1, {});
  EXPECT_EQ((*narrow)["root"]["children"].size(), 1u);
  EXPECT_EQ((*narrow)["root"]["children_hidden"], 1);
  EXPECT_FALSE(index.TreeJson("nope", 4, 10, {}).has_value());
  auto a = index.FindAlert("a1");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->evidence, std::vector<std::string>{"c"});
  EXPECT_EQ(a->tactics, std::vector<std::string>{"Execution"});
  auto times = index.EventTimesOf({*index.FindProcess("c"), *index.FindProcess("b")}, 0, 301, 10);
  EXPECT_EQ(times, (std::vector<int64_t>{200, 300}));
}

TEST(UiIndex, EndgameUniquePidsAndPidFallback) {
  schema::Schema s;
  Index index(&s);
  index.AddEvent(event::EventBuilder(s)
                     .Time(1)
                     .Category("process")
                     .Int("unique_pid", 10)
                     .Str("hostname", "w1")
                     .Str("process_name", "explorer.exe")
                     .Int("pid", 500)
                     .Build(),
                 0, 0);
  index.AddEvent(event::EventBuilder(s)
                     .Time(2)
                     .Category("process")
                     .Int("unique_pid", 11)
                     .Int("unique_ppid", 10)
                     .Str("hostname", "w1")
                     .Str("process_name", "cmd.exe")
                     .Build(),
                 0, 1);
  // No entity ids: pid plus start, the parent by pid.
  index.AddEvent(event::EventBuilder(s)
                     .Time(3)
                     .Category("process")
                     .Str("host.name", "h")
                     .Int("process.pid", 7)
                     .Str("process.name", "p")
                     .Build(),
                 0, 2);
  index.AddEvent(event::EventBuilder(s)
                     .Time(4)
                     .Category("process")
                     .Str("host.name", "h")
                     .Int("process.pid", 8)
                     .Int("process.parent.pid", 7)
                     .Str("process.name", "q")
                     .Build(),
                 0, 3);
  index.Finish();
  auto tree = index.TreeJson("w1:11", 2, 5, {});
  ASSERT_TRUE(tree.has_value());
  EXPECT_EQ((*tree)["root"]["name"], "cmd.exe");
  EXPECT_EQ((*tree)["ancestors"][0]["name"], "explorer.exe");
  auto byPid = index.TreeJson("h:pid:8", 2, 5, {});
  ASSERT_TRUE(byPid.has_value());
  EXPECT_EQ((*byPid)["ancestors"][0]["key"], "h:pid:7");
}

TEST(UiIndex, BoundsAreCountedNotHeld) {
  schema::Schema s;
  IndexLimits limits;
  limits.max_events = 2;
  limits.max_processes = 2;
  limits.max_alerts = 1;
  limits.max_alert_line = 2000;
  Index index(&s, limits);
  for (int i = 0; i < 5; ++i) {
    index.AddEvent(Proc(s, i, "p" + std::to_string(i), "", "x", i), 0, i);
  }
  EXPECT_TRUE(index.AppendAlertLine(kAlert, 0, 1));
  EXPECT_FALSE(index.AppendAlertLine(kAlert, 0, 2));                  // past max_alerts
  EXPECT_FALSE(index.AppendAlertLine("not json", 0, 3));              // malformed
  EXPECT_FALSE(index.AppendAlertLine(std::string(3000, ' '), 0, 4));  // too long
  index.Finish();
  IndexCounters c = index.counters();
  EXPECT_EQ(c.events_seen, 5u);
  EXPECT_EQ(c.events_held, 2u);
  EXPECT_EQ(c.events_dropped, 3u);
  EXPECT_EQ(c.processes, 2u);
  EXPECT_EQ(c.processes_dropped, 3u);
  EXPECT_EQ(c.alerts, 1u);
  EXPECT_EQ(c.alerts_dropped, 1u);
  EXPECT_EQ(c.alerts_malformed, 2u);
}

TEST(UiIndex, AlertFiltersAndHistogram) {
  schema::Schema s;
  Index index(&s);
  ASSERT_TRUE(index.AppendAlertLine(kAlert, 0, 1));
  ASSERT_TRUE(index.AppendAlertLine(
      R"({"id":"a2","rule_id":"r2","severity":"low","timestamp_ns":900,"events":[]})", 0, 2));
  index.Finish();
  AlertFilter all;
  nlohmann::json j = index.AlertsJson(all, 4);
  EXPECT_EQ(j["total"], 2);
  EXPECT_EQ(j["alerts"][0]["id"], "a2") << "newest first";
  EXPECT_EQ(j["histogram"]["rules"].size(), 2u);
  AlertFilter high;
  high.severity = "high";
  EXPECT_EQ(index.AlertsJson(high, 4)["total"], 1);
  AlertFilter tactic;
  tactic.tactic = "Execution";
  EXPECT_EQ(index.AlertsJson(tactic, 4)["alerts"][0]["id"], "a1");
  AlertFilter late;
  late.from_ns = 500;
  EXPECT_EQ(index.AlertsJson(late, 4)["total"], 1);
  uint64_t newest = 0;
  EXPECT_EQ(index.AlertsAfter(1, 10, &newest).size(), 1u);
  EXPECT_EQ(newest, 2u);
}

TEST(UiServer, ParsesMetricsAndComparesTokens) {
  nlohmann::json j = ParseMetrics(
      "# HELP kestrel_rule_eval_seconds Time (sampled: 1 event in 16 is timed).\n"
      "kestrel_events_total{source=\"x\",category=\"process\"} 10\n"
      "kestrel_alerts_total 3\n"
      "kestrel_rule_alerts_total{rule=\"r1\"} 3\n"
      "kestrel_rule_eval_seconds_count{rule=\"r1\"} 4\n"
      "kestrel_rule_eval_seconds_sum{rule=\"r1\"} 0.000004\n");
  EXPECT_EQ(j["events"], 10);
  EXPECT_EQ(j["sample_interval"], 16);
  ASSERT_EQ(j["rules"].size(), 1u);
  EXPECT_EQ(j["rules"][0]["rule_id"], "r1");
  EXPECT_EQ(j["rules"][0]["alerts"], 3);
  EXPECT_EQ(j["rules"][0]["evaluations"], 64);
  // Hostile figures (an attached address may answer anything): no undefined conversion.
  nlohmann::json odd = ParseMetrics(
      "# HELP kestrel_rule_eval_seconds (sampled: 1 event in 99999999999999999999 is timed).\n"
      "kestrel_alerts_total -5\n"
      "kestrel_rule_alerts_total{rule=\"r\"} 1e300\n"
      "kestrel_rule_eval_seconds_count{rule=\"r\"} nan\n");
  EXPECT_EQ(odd["alerts"], 0);
  EXPECT_EQ(odd["sample_interval"], 1);
  EXPECT_EQ(odd["rules"][0]["alerts"], 0);
  EXPECT_TRUE(ConstantTimeEquals("secret-token", "secret-token"));
  EXPECT_FALSE(ConstantTimeEquals("secret-token", "secret-tokeN"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret-token"));
  EXPECT_TRUE(FindAsset("app.js").has_value());
  EXPECT_FALSE(FindAsset("../etc/passwd").has_value());
}

class UiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_.AddEvent(Proc(schema_, 100, "a", "", "init", 1), 0, 0);
    index_.AddEvent(Proc(schema_, 300, "c", "a", "sh", 3), 0, 1);
    ASSERT_TRUE(index_.AppendAlertLine(kAlert, 0, 1));
    index_.Finish();
  }
  std::unique_ptr<Server> Start(std::optional<std::string> token) {
    ServerOptions o;
    o.listen = "127.0.0.1:0";
    o.token = std::move(token);
    auto s = Server::Start(&index_, o, nullptr, nullptr, nullptr);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  schema::Schema schema_;
  Index index_{&schema_};
};

void ExpectSafetyHeaders(const httplib::Result& r) {
  ASSERT_TRUE(r) << "no answer";
  EXPECT_EQ(r->get_header_value("Content-Security-Policy"), kContentSecurityPolicy)
      << "status " << r->status;
  EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(r->get_header_value("Referrer-Policy"), "no-referrer");
}

TEST_F(UiServerTest, ServesTheApiWithSafetyHeadersOnEveryAnswer) {
  auto server = Start(std::nullopt);
  ASSERT_NE(server, nullptr);
  httplib::Client c("127.0.0.1", server->port());
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  ExpectSafetyHeaders(page);
  EXPECT_EQ(page->body.find("{{Q}}"), std::string::npos);
  auto alerts = c.Get("/api/alerts");
  ExpectSafetyHeaders(alerts);
  // Time bounds far out of range are ignored, not overflowed.
  EXPECT_EQ(c.Get("/api/alerts?from=99999-01-01T00:00:00Z&to=-99999999999999999999")->status, 200);
  EXPECT_EQ(nlohmann::json::parse(alerts->body)["alerts"][0]["id"], "a1");
  auto alert = c.Get("/api/alert/a1");
  ExpectSafetyHeaders(alert);
  EXPECT_EQ(nlohmann::json::parse(alert->body)["alert"]["rule_name"], "Rule one");
  auto tree = c.Get("/api/tree?key=c&alert=a1");
  ExpectSafetyHeaders(tree);
  auto t = nlohmann::json::parse(tree->body);
  EXPECT_EQ(t["root"]["evidence"], true);
  EXPECT_EQ(t["ancestors"][0]["name"], "init");
  for (const char* path : {"/api/nope", "/api/alert/zz", "/api/tree?key=zz", "/etc/passwd",
                           "/api/hunt?q=process%20where%20true"}) {
    auto r = c.Get(path);
    ExpectSafetyHeaders(r);
    EXPECT_GE(r->status, 400) << path;
  }
  EXPECT_EQ(c.Get("/api/rules")->status, 503) << "not attached";
}

TEST_F(UiServerTest, RefusesPathsMethodsForeignHostsAndRemoteWithoutToken) {
  auto server = Start(std::nullopt);
  ASSERT_NE(server, nullptr);
  httplib::Client c("127.0.0.1", server->port());
  for (const char* path :
       {"/api/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/api/alert/..%2f..%2fetc%2fpasswd",
        "/api/tree?key=/etc/passwd", "//etc/passwd", "/app.js/..%5c..%5cx"}) {
    auto r = c.Get(path);
    ExpectSafetyHeaders(r);
    EXPECT_TRUE(r->status == 400 || r->status == 404) << path << " gave " << r->status;
    EXPECT_EQ(r->body.find("root:"), std::string::npos);
  }
  auto post = c.Post("/api/alerts", "x", "text/plain");
  ExpectSafetyHeaders(post);
  EXPECT_EQ(post->status, 405);
  EXPECT_EQ(c.Delete("/api/alert/a1")->status, 405);
  httplib::Headers rebinding{{"Host", "attacker.example.com:" + std::to_string(server->port())}};
  auto r = c.Get("/api/alerts", rebinding);
  ExpectSafetyHeaders(r);
  EXPECT_EQ(r->status, 421);
  ServerOptions remote;
  remote.listen = "0.0.0.0:0";
  auto refused = Server::Start(&index_, remote, nullptr, nullptr, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("--token-file"), std::string::npos);
}

TEST_F(UiServerTest, TokenIsRequiredOnEveryRequest) {
  auto server = Start("s3cret-token-0123456789");
  ASSERT_NE(server, nullptr);
  httplib::Client c("127.0.0.1", server->port());
  for (const char* path : {"/", "/app.js", "/api/alerts", "/api/alert/a1"}) {
    auto r = c.Get(path);
    ExpectSafetyHeaders(r);
    EXPECT_EQ(r->status, 401) << path;
  }
  EXPECT_EQ(c.Get("/api/alerts?token=wrong")->status, 401);
  EXPECT_EQ(c.Get("/api/alerts?token=s3cret-token-0123456789")->status, 200);
  httplib::Headers bearer{{"Authorization", "Bearer s3cret-token-0123456789"}};
  EXPECT_EQ(c.Get("/api/alerts", bearer)->status, 200);
  auto page = c.Get("/?token=s3cret-token-0123456789");
  EXPECT_NE(page->body.find("app.js?token=s3cret-token-0123456789"), std::string::npos);
  EXPECT_NE(server->Url().find("?token="), std::string::npos);
}

}  // namespace
}  // namespace kestrel::ui
