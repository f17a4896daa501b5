#include "kestrel/actions/flight_recorder.h"

#include <filesystem>

#include <gtest/gtest.h>

#include "kestrel/sources/replay/replay_source.h"

namespace kestrel::actions {
namespace {

using event::EventBuilder;

constexpr int64_t kSecond = 1'000'000'000;

class FlightRecorderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("kestrel_flight_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  event::Event Ev(int64_t n, int64_t seconds, std::string_view host, std::string_view entity,
                  std::string_view parent = "") {
    EventBuilder b(schema_);
    b.Time(seconds * kSecond).Category("process").Int("n", n).Str("host.name", host);
    b.Str("process.entity_id", entity);
    if (!parent.empty()) b.Str("process.parent.entity_id", parent);
    return b.Build();
  }

  // The `n` of each event in a recording.
  std::string Read(const std::string& path) {
    schema::Schema schema;
    sources::ReplayOptions options;
    options.paths = {path};
    auto source = sources::ReplaySource::Open(&schema, options, nullptr);
    EXPECT_TRUE(source.ok()) << source.status();
    if (!source.ok()) return "";
    std::string out;
    event::Event e;
    while (true) {
      auto more = (*source)->Next(&e);
      if (!more.ok() || !*more) break;
      out += (out.empty() ? "" : ",") + std::to_string(e.Find(*schema.Find("n"))->as_int());
    }
    return out;
  }

  schema::Schema schema_;
  std::filesystem::path dir_;
};

TEST_F(FlightRecorderTest, WritesTheAlertEntitiesWindow) {
  FlightRecorderOptions options;
  options.window_ns = 10 * kSecond;
  options.directory = dir_.string();
  FlightRecorder recorder(schema_, options, {});
  std::vector<event::Event> events = {Ev(1, 0, "h1", "a"),       // too old for the window at t=15
                                      Ev(2, 6, "h1", "a"),       // the alert's process
                                      Ev(3, 7, "h1", "b"),       // another process: left out
                                      Ev(4, 8, "h1", "c", "a"),  // a child of the alert's process
                                      Ev(5, 9, "h2", "a"),       // another host
                                      Ev(6, 15, "h1", "a")};     // the alert's event
  for (const auto& e : events) recorder.Observe(e);
  engine::Alert alert;
  alert.rule_id = "r";
  alert.events.push_back(std::make_shared<event::Event>(events[5]));
  engine::FinalizeAlert(schema_, &alert);
  auto path = recorder.Dump(alert);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(*path, (dir_ / (alert.id + ".klog")).string());
  EXPECT_EQ(Read(*path), "2,4,6");
  EXPECT_EQ(recorder.recordings(), 1u);
}

TEST_F(FlightRecorderTest, RingIsBoundedPerHost) {
  FlightRecorderOptions options;
  options.window_ns = 1000 * kSecond;
  options.max_events_per_host = 3;
  options.directory = dir_.string();
  FlightRecorder recorder(schema_, options, {});
  for (int i = 1; i <= 10; ++i) recorder.Observe(Ev(i, i, "h1", "a"));
  engine::Alert alert;
  alert.rule_id = "r";
  alert.events.push_back(std::make_shared<event::Event>(Ev(10, 10, "h1", "a")));
  engine::FinalizeAlert(schema_, &alert);
  auto path = recorder.Dump(alert);
  ASSERT_TRUE(path.ok()) << path.status();
  EXPECT_EQ(Read(*path), "8,9,10");
}

}  // namespace
}  // namespace kestrel::actions
