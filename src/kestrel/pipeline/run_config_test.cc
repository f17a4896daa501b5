#include "kestrel/pipeline/run_config.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace kestrel::pipeline {
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

TEST(RunConfigTest, ParseByteSize) {
  EXPECT_EQ(*ParseByteSize("64MB"), size_t{64} << 20);
  EXPECT_EQ(*ParseByteSize("64mib"), size_t{64} << 20);
  EXPECT_EQ(*ParseByteSize("512K"), size_t{512} << 10);
  EXPECT_EQ(*ParseByteSize("1.5GB"), size_t{3} << 29);
  EXPECT_EQ(*ParseByteSize("100B"), 100u);
  EXPECT_EQ(*ParseByteSize("0"), 0u);
  EXPECT_NE(ParseByteSize("64").status().message().find("Did you mean 64MB?"), std::string::npos);
  for (const char* bad : {"", "MB", "-1MB", "64 MB", "64TB", "2048GB", "1e3MB", "x64MB"}) {
    EXPECT_FALSE(ParseByteSize(bad).ok()) << bad;
  }
}

TEST(RunConfigTest, ParseDuration) {
  EXPECT_EQ(*ParseDuration("30s"), 30'000'000'000);
  EXPECT_EQ(*ParseDuration("250ms"), 250'000'000);
  EXPECT_EQ(*ParseDuration("2m"), 120'000'000'000);
  EXPECT_EQ(*ParseDuration("1h"), 3'600'000'000'000);
  EXPECT_EQ(*ParseDuration("1.5s"), 1'500'000'000);
  EXPECT_EQ(*ParseDuration("0"), 0);  // zero needs no unit
  // A bare number is refused with a suggestion, as EQL's maxspan is.
  EXPECT_EQ(ParseDuration("10").status().message(),
            "Missing time unit. Did you mean 10s? (units: ms, s, m, h, d)");
  EXPECT_FALSE(ParseDuration("1.5").ok());
  EXPECT_EQ(*ParseDuration("1d"), 86'400'000'000'000);
  for (const char* bad : {"", "s", "-1s", "ten", "5w", "1e30h"}) {
    EXPECT_FALSE(ParseDuration(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace kestrel::pipeline
