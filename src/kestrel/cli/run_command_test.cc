#include "kestrel/cli/run_command.h"

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
  EXPECT_EQ(cli::Run(options), kExitUsage) << "no source";
  options.source = "kafka:topic";
  EXPECT_EQ(cli::Run(options), kExitUsage) << "unknown source kind";
  options.source = "ndjson:/nonexistent/events.ndjson";
  EXPECT_EQ(cli::Run(options), kExitFailure) << "unreadable source";
  options.source = "ndjson:-";
  options.time_format = std::string("fortnights");
  EXPECT_EQ(cli::Run(options), kExitUsage) << "bad time format";
  testing::internal::GetCapturedStderr();
}

}  // namespace
}  // namespace kestrel::cli
