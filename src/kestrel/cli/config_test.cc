#include "kestrel/cli/config.h"

#include <sys/stat.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "kestrel/base/status.h"

namespace kestrel::cli {
namespace {

using ::testing::HasSubstr;

class ConfigTest : public ::testing::Test {
 protected:
  ConfigTest() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "kestrel_cfg.XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
  }
  ~ConfigTest() override { std::filesystem::remove_all(dir_); }
  std::string Write(const std::string& text) {
    std::string path = dir_ + "/kestrel.yaml";
    std::ofstream(path) << text;
    return path;
  }
  std::string dir_;
};

TEST_F(ConfigTest, BlockingKeys) {
  std::string path = Write(R"(run:
  enforce: on
  guard_mark: /srv
  guard_mark_type: mount
  guard_budget: 2ms
  guard_allow_path: [/opt/backup, /usr/lib/apt]
  guard_responders: 3
  guard_max_pending: 64
  guard_rt_priority: 20
)");
  pipeline::RunConfig run;
  GlobalConfig global;
  ASSERT_TRUE(LoadConfigFile(path, &run, &global).ok());
  EXPECT_EQ(run.enforce, "on");
  EXPECT_EQ(run.guard_mark, "/srv");
  EXPECT_EQ(run.guard_mark_type, "mount");
  EXPECT_EQ(run.guard_budget, "2ms");
  EXPECT_EQ(run.guard_allow_paths, (std::vector<std::string>{"/opt/backup", "/usr/lib/apt"}));
  EXPECT_EQ(run.guard_responders, 3u);
  EXPECT_EQ(run.guard_max_pending, 64u);
  EXPECT_EQ(run.guard_rt_priority, 20);
  for (const char* bad : {"run:\n  enforce: maybe\n", "run:\n  guard_mark_type: inode\n",
                          "run:\n  guard_budget: soon\n", "run:\n  guard_responders: 0\n",
                          "run:\n  guard_rt_priority: 100\n"}) {
    pipeline::RunConfig r;
    absl::Status s = LoadConfigFile(Write(bad), &r, &global);
    EXPECT_FALSE(s.ok()) << bad;
    EXPECT_THAT(std::string(base::Message(s)), HasSubstr(":2:")) << bad;
  }
}

TEST_F(ConfigTest, EveryKeyIsApplied) {
  std::string path = Write(R"(log_level: debug
run:
  rules: /etc/kestrel/rules
  source: ndjson:-
  output: /var/log/kestrel/alerts.jsonl
  dialect: endgame
  workers: 2
  queue_full: block
  reload: false
  reload_compile_budget: 20s
  reload_memory_budget_mb: 64
  metrics_addr: 127.0.0.1:9464
  duration: 10m
  ignore_comm: [cron, apt]
  ignore_path: /proc
  auditd_compat: false
  time_field: ts
  time_format: ms
  flight_recorder: 60s
  flight_recorder_dir: /var/lib/kestrel/fr
  predicate_runtime: lua
  max_partials_per_rule: 5000
  default_ttl: 1h
  env_vars: [LD_PRELOAD, HISTFILE, _X9]
  env_value_max: 1024
)");
  pipeline::RunConfig run;
  GlobalConfig global;
  ASSERT_TRUE(LoadConfigFile(path, &run, &global).ok());
  EXPECT_EQ(global.log_level, "debug");
  EXPECT_EQ(global.duration, "10m");
  EXPECT_EQ(run.rules_dir, "/etc/kestrel/rules");
  EXPECT_EQ(run.source, "ndjson:-");
  EXPECT_EQ(run.dialect, "endgame");
  EXPECT_EQ(run.workers, 2u);
  EXPECT_EQ(run.queue_full, "block");
  EXPECT_FALSE(run.reload);
  EXPECT_EQ(run.reload_compile_budget_ns, int64_t{20} * 1'000'000'000);
  EXPECT_EQ(run.reload_memory_budget_bytes, uint64_t{64} << 20);
  EXPECT_EQ(run.metrics_addr, "127.0.0.1:9464");
  EXPECT_THAT(run.ignore_comms, ::testing::ElementsAre("cron", "apt"));
  EXPECT_THAT(run.ignore_paths, ::testing::ElementsAre("/proc"));
  EXPECT_FALSE(run.auditd_compat);
  EXPECT_TRUE(pipeline::RunConfig{}.auditd_compat);  // on by default
  EXPECT_EQ(run.time_format, "ms");
  EXPECT_EQ(run.flight_recorder, "60s");
  EXPECT_EQ(run.predicate_runtime, "lua");
  EXPECT_EQ(run.max_partials_per_rule, 5000u);
  EXPECT_EQ(run.default_ttl_ns, int64_t{3600} * 1'000'000'000);
  EXPECT_THAT(RenderConfig(run, global), HasSubstr("workers: 2"));
  EXPECT_THAT(RenderConfig(run, global), HasSubstr("auditd_compat: false"));
  pipeline::RunConfig r;
  absl::Status bad = LoadConfigFile(Write("run:\n  auditd_compat: sometimes\n"), &r, &global);
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(std::string(base::Message(bad)), HasSubstr("auditd_compat"));
  EXPECT_THAT(run.env_vars, ::testing::ElementsAre("LD_PRELOAD", "HISTFILE", "_X9"));
  EXPECT_EQ(run.env_value_max, 1024u);
  std::string rendered = RenderConfig(run, global);
  EXPECT_THAT(rendered, HasSubstr("workers: 2"));
  EXPECT_THAT(rendered, HasSubstr("env_vars: [LD_PRELOAD, HISTFILE, _X9]"));
  EXPECT_THAT(rendered, HasSubstr("env_value_max: 1024"));
}

// run.env_vars replaces the default allow-list (shown by `config check` when unset); an empty
// list keeps none. Bad names, duplicates, too many names and value caps outside 1..4096 are
// refused at the offending item.
TEST_F(ConfigTest, EnvVarsAllowList) {
  pipeline::RunConfig defaults;
  GlobalConfig global;
  EXPECT_THAT(defaults.env_vars, ::testing::Contains("LD_PRELOAD"));
  EXPECT_THAT(defaults.env_vars, ::testing::Contains("SSH_CLIENT"));
  EXPECT_EQ(defaults.env_value_max, 256u);
  EXPECT_THAT(RenderConfig(defaults, global), HasSubstr("env_vars: [LD_PRELOAD, LD_LIBRARY_PATH"));
  EXPECT_THAT(RenderConfig(defaults, global), HasSubstr("env_value_max: 256"));

  pipeline::RunConfig run;
  ASSERT_TRUE(LoadConfigFile(Write("run:\n  env_vars: []\n"), &run, &global).ok());
  EXPECT_TRUE(run.env_vars.empty());
  ASSERT_TRUE(LoadConfigFile(Write("run:\n  env_vars:\n    - http_proxy\n"), &run, &global).ok());
  EXPECT_THAT(run.env_vars, ::testing::ElementsAre("http_proxy"));
  ASSERT_TRUE(LoadConfigFile(Write("run:\n  env_vars: HISTFILE\n"), &run, &global).ok());
  EXPECT_THAT(run.env_vars, ::testing::ElementsAre("HISTFILE"));

  std::string many = "run:\n  env_vars: [";
  for (int i = 0; i < 65; ++i) many += (i ? ", V" : "V") + std::to_string(i);
  many += "]\n";
  struct Bad {
    std::string text;
    const char* error;
  } bad[] = {
      {"run:\n  env_vars: [HISTFILE, 9LIVES]\n",
       "kestrel.yaml:2:24: 'env_vars': '9LIVES' is not a variable name"},
      {"run:\n  env_vars:\n    - OK\n    - \"A=B\"\n",
       "kestrel.yaml:4:7: 'env_vars': 'A=B' is not a variable name"},
      {"run:\n  env_vars: [\"\"]\n", "kestrel.yaml:2:14: 'env_vars': '' is not a variable name"},
      {"run:\n  env_vars: [\"LD PRELOAD\"]\n", "2:14: 'env_vars': 'LD PRELOAD' is not"},
      {"run:\n  env_vars: [HISTFILE, HISTFILE]\n", "2:24: 'env_vars': 'HISTFILE' is listed twice"},
      {"run:\n  env_vars:\n", "kestrel.yaml:3:1: 'env_vars' must be a list of environment"},
      {"run:\n  env_vars: [[A]]\n", "2:14: 'env_vars' must be a list of environment"},
      {many, "2:13: 'env_vars' lists 65 names; at most 64"},
      {"run:\n  env_value_max: 0\n", "2:18: 'env_value_max' must be 1 to 4096"},
      {"run:\n  env_value_max: 4097\n", "2:18: 'env_value_max' must be 1 to 4096"},
      {"run:\n  env_value_max: big\n", "2:18: 'env_value_max' must be a number of bytes"},
  };
  for (const Bad& b : bad) {
    pipeline::RunConfig r;
    absl::Status s = LoadConfigFile(Write(b.text), &r, &global);
    EXPECT_FALSE(s.ok()) << b.text;
    EXPECT_THAT(std::string(base::Message(s)), HasSubstr(b.error)) << b.text;
    EXPECT_EQ(r.env_vars, defaults.env_vars) << b.text;  // left as it was
    EXPECT_EQ(r.env_value_max, 256u) << b.text;
  }
}

TEST_F(ConfigTest, HostAndAgentOverrides) {
  std::string path = Write(R"(run:
  host:
    id: golden-7
    name: payments-1.example.com
    ip: [192.0.2.10, "2001:db8::10"]
    mac: 02:00:00:aa:bb:cc
    os:
      name: Debian GNU/Linux
      version: "12"
  agent:
    id: agent-42
)");
  pipeline::RunConfig run;
  GlobalConfig global;
  ASSERT_TRUE(LoadConfigFile(path, &run, &global).ok());
  EXPECT_EQ(run.host.id, "golden-7");
  EXPECT_EQ(run.host.name, "payments-1.example.com");
  EXPECT_FALSE(run.host.hostname.has_value());
  EXPECT_EQ(run.host.ip, (std::vector<std::string>{"192.0.2.10", "2001:db8::10"}));
  EXPECT_EQ(run.host.mac, (std::vector<std::string>{"02:00:00:aa:bb:cc"}));
  EXPECT_EQ(run.host.os_name, "Debian GNU/Linux");
  EXPECT_EQ(run.host.os_version, "12");
  EXPECT_EQ(run.host.agent_id, "agent-42");
  std::string rendered = RenderConfig(run, global);
  EXPECT_THAT(rendered, HasSubstr("id: golden-7"));
  EXPECT_THAT(rendered, HasSubstr("id: agent-42"));

  struct Bad {
    const char* text;
    const char* error;
  } bad[] = {
      {"run:\n  host:\n    ip: [not-an-ip]\n",
       "3:9: 'run.host.ip': host.ip 'not-an-ip' is not an IP"},
      {"run:\n  host:\n    mac: [00:11]\n", "'run.host.mac': host.mac '00:11'"},
      {"run:\n  host:\n    color: blue\n", "unknown key 'run.host.color'"},
      {"run:\n  host:\n    os: {codename: x}\n", "unknown key 'run.host.os.codename'"},
      {"run:\n  agent:\n    type: other\n", "unknown key 'run.agent.type' (known: id)"},
      {"run:\n  host:\n    id: \"\"\n", "'run.host.id' must not be empty"},
      {"run:\n  host: golden\n", "'run.host' must be a mapping"},
  };
  for (const Bad& b : bad) {
    pipeline::RunConfig r;
    absl::Status s = LoadConfigFile(Write(b.text), &r, &global);
    EXPECT_FALSE(s.ok()) << b.text;
    EXPECT_THAT(std::string(base::Message(s)), HasSubstr(b.error)) << b.text;
  }
}

TEST_F(ConfigTest, ErrorsNameFileLineAndColumn) {
  pipeline::RunConfig run;
  GlobalConfig global;
  absl::Status s = LoadConfigFile(Write("run:\n  workers: 2\n  wokers: 3\n"), &run, &global);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(base::Message(s), HasSubstr("kestrel.yaml:3:3: unknown key 'run.wokers'"));
  s = LoadConfigFile(Write("run:\n  workers: many\n"), &run, &global);
  EXPECT_THAT(base::Message(s),
              HasSubstr(":2:12: 'workers' must be a number of threads, not 'many'"));
  s = LoadConfigFile(Write("run:\n  queue_full: sometimes\n"), &run, &global);
  EXPECT_THAT(base::Message(s), HasSubstr("'queue_full' must be drop or block"));
  s = LoadConfigFile(Write("colour: blue\n"), &run, &global);
  EXPECT_THAT(base::Message(s), HasSubstr(":1:1: unknown key 'colour'"));
  s = LoadConfigFile(Write("run: [\n"), &run, &global);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(base::Message(s), HasSubstr("kestrel.yaml:"));
  EXPECT_EQ(LoadConfigFile(dir_ + "/missing.yaml", &run, &global).code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(LoadConfigFile(Write(""), &run, &global).ok());
}

// A FIFO (no writer) or a device as --config is refused at once, not waited on or read forever.
TEST_F(ConfigTest, OnlyARegularFileWithinTheCapIsRead) {
  pipeline::RunConfig run;
  GlobalConfig global;
  std::string fifo = dir_ + "/config.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  absl::Status s = LoadConfigFile(fifo, &run, &global);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(base::Message(s), HasSubstr("is not a regular file"));
  s = LoadConfigFile("/dev/zero", &run, &global);
  EXPECT_THAT(base::Message(s), HasSubstr("is not a regular file"));
  std::string big = Write(std::string(5 << 20, '#'));
  EXPECT_THAT(base::Message(LoadConfigFile(big, &run, &global)), HasSubstr("larger than"));
}

}  // namespace
}  // namespace kestrel::cli
