#include "kestrel/cli/run_command.h"

#ifdef KESTREL_HAVE_EBPF
#include "kestrel/sources/ebpf/ebpf_source.h"
#endif

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace kestrel::cli {
namespace {

namespace fs = std::filesystem;

TEST(ResolveRulesDirTest, ExplicitDirectoryMustExist) {
  std::string error;
  fs::path dir = fs::path(::testing::TempDir()) / "kestrel_rules_dir_test";
  fs::create_directories(dir);
  EXPECT_EQ(ResolveRulesDir(dir.string(), &error), dir);
  EXPECT_FALSE(ResolveRulesDir(std::string("/nonexistent/rules"), &error).has_value());
  EXPECT_NE(error.find("/nonexistent/rules"), std::string::npos);
}

TEST(ResolveRulesDirTest, DefaultsToRulesInTheWorkingDirectory) {
  fs::path old = fs::current_path();
  fs::path dir = fs::path(::testing::TempDir()) / "kestrel_cwd_test";
  fs::create_directories(dir / "rules");
  fs::current_path(dir);
  std::string error;
  auto found = ResolveRulesDir(std::nullopt, &error);
  fs::current_path(old);
  ASSERT_TRUE(found.has_value()) << error;
  EXPECT_EQ(*found, fs::path("rules"));
}

TEST(RunTest, CountsEventsAndMalformedLines) {
  fs::path dir = fs::path(::testing::TempDir()) / "kestrel_run_test";
  fs::create_directories(dir / "rules");
  std::ofstream(dir / "events.ndjson") << "{\"event\":{\"category\":\"process\"}}\nnope\n{}\n";
  RunOptions options;
  options.rules_dir = (dir / "rules").string();
  options.source = "ndjson:" + (dir / "events.ndjson").string();
  options.output = (dir / "alerts.jsonl").string();
  testing::internal::CaptureStderr();
  int code = cli::Run(options);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, kExitOk);
  EXPECT_NE(err.find("summary: events read: 2, malformed lines: 1, alerts: 0"), std::string::npos)
      << err;
}

TEST(RunTest, UsageAndFailureExitCodes) {
  RunOptions options;
  testing::internal::CaptureStderr();
  if (DefaultSource().empty()) {
    EXPECT_EQ(cli::Run(options), kExitUsage) << "no source";
  }
  options.source = "kafka:topic";
  EXPECT_EQ(cli::Run(options), kExitUsage) << "unknown source kind";
  options.source = "ndjson:/nonexistent/events.ndjson";
  EXPECT_EQ(cli::Run(options), kExitFailure) << "unreadable source";
  options.source = "ndjson:-";
  options.time_format = std::string("fortnights");
  EXPECT_EQ(cli::Run(options), kExitUsage) << "bad time format";
  testing::internal::GetCapturedStderr();
}

TEST(RunTest, ParseDuration) {
  EXPECT_EQ(*ParseDuration("30s"), 30'000'000'000);
  EXPECT_EQ(*ParseDuration("250ms"), 250'000'000);
  EXPECT_EQ(*ParseDuration("2m"), 120'000'000'000);
  EXPECT_EQ(*ParseDuration("1h"), 3'600'000'000'000);
  EXPECT_EQ(*ParseDuration("1.5"), 1'500'000'000);
  EXPECT_EQ(*ParseDuration("1d"), 86'400'000'000'000);
  for (const char* bad : {"", "s", "-1s", "ten", "5w", "1e30h"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

#ifdef KESTREL_HAVE_EBPF
TEST(RunTest, LiveSourceIsTheDefaultAndStopsAfterTheDuration) {
  ASSERT_EQ(DefaultSource(), "ebpf");
  std::vector<std::string> missing = sources::EbpfMissingRequirements();
  if (!missing.empty()) {
    std::printf("SKIPPED: live collection not possible here: %s\n", missing[0].c_str());
    GTEST_SKIP() << missing[0];
  }
  RunOptions options;  // no --source
  options.duration_ns = 300'000'000;
  options.rules_dir = std::string(KESTREL_SOURCE_DIR) + "/rules";
  testing::internal::CaptureStderr();
  int code = cli::Run(options);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(code, kExitOk) << err;
  EXPECT_NE(err.find("kernel drops: 0, user drops: 0, parse failures: 0"), std::string::npos)
      << err;
}
#endif

}  // namespace
}  // namespace kestrel::cli
