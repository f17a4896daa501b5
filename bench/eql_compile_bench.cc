// EQL front-end throughput: parse + analyse + lower to IR of typical Linux detection rules
// (issue 3's target: >= 20,000 rules/s, i.e. a 500-rule pack in under 25 ms).
//
//   BM_CompileRule   one rule at a time, cycling through a 500-rule pack
//   BM_CompilePack   the whole 500-rule pack into one schema (what loading a rule directory costs)
//
// Run: build/release/bench/eql_compile_bench --benchmark_repetitions=5
//        --benchmark_report_aggregates_only=true
#include <benchmark/benchmark.h>

#include <fmt/format.h>

#include <string>
#include <vector>

#include "kestrel/eql/sema.h"

namespace {

// Shapes of real Elastic rules for Linux (single events with wildcards and lists, sequences with
// maxspan and runs, sample, missing events); each is instantiated with varying literals.
const char* kTemplates[] = {
    R"(process where host.os.type == "linux" and event.type == "start" and event.action in ("exec", "exec_event") and process.name in ("bash", "dash", "sh", "tcsh", "zsh") and process.args : ("-c", "-cl", "-lc") and process.command_line like~ "*{0}*")",
    R"(process where host.os.type == "linux" and event.type == "start" and process.parent.name in ("nginx", "apache2", "httpd", "php-fpm{0}") and process.name : ("bash", "sh", "python*", "perl*") and not process.args : "/usr/lib/{0}/*")",
    R"(sequence by host.id, process.entity_id with maxspan=1m [process where host.os.type == "linux" and event.type == "start" and process.name == "curl{0}"] [network where host.os.type == "linux" and event.type == "start" and not cidrMatch(destination.ip, "10.0.0.0/8", "127.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")])",
    R"(file where host.os.type == "linux" and event.type == "creation" and file.path : ("/etc/cron.d/*", "/etc/cron.daily/*", "/var/spool/cron/crontabs/{0}*") and not process.executable : ("/usr/bin/dpkg", "/usr/bin/rpm", "/usr/sbin/anacron"))",
    R"(sequence by host.id with maxspan=5s [process where event.type == "start" and process.name == "sudo" and process.args_count >= {1}] with runs=3)",
    R"(process where event.type == "start" and startsWith~(process.executable, "/dev/shm/{0}") and length(process.args) > {1} and ?process.parent.executable != null)",
    R"(sequence by process.entity_id [process where event.type == "start" and process.executable == "/bin/bash"] [file where file.path == "/etc/passwd{0}"] [process where process.executable == "wc"] with maxspan=5s)",
    R"(network where host.os.type == "linux" and event.action == "connection_attempted" and destination.port in (4444, 1337, {1}, 31337) and process.name regex~ "[a-z]{{2,8}}{0}")",
    R"(sample by host.id [process where process.name == "whoami{0}"] [process where process.name == "id"] [process where process.name == "uname"])",
    R"(sequence by host.id, process.parent.entity_id with maxspan=30s [process where process.name == "tar{0}"] ![file where file.extension == "gz"] [network where destination.port == {1}])",
};

std::vector<std::string> MakePack(size_t n) {
  std::vector<std::string> rules;
  for (size_t i = 0; i < n; ++i) {
    rules.push_back(fmt::format(fmt::runtime(kTemplates[i % std::size(kTemplates)]),
                                fmt::format("v{}", i), 2 + i % 7));
  }
  return rules;
}

void BM_CompileRule(benchmark::State& state) {
  std::vector<std::string> pack = MakePack(500);
  kestrel::schema::Schema schema;
  size_t i = 0;
  for (auto _ : state) {
    kestrel::eql::CompileResult r = kestrel::eql::Compile(pack[i], schema);
    if (!r.ok()) state.SkipWithError("rule did not compile");
    benchmark::DoNotOptimize(r.program.get());
    if (++i == pack.size()) i = 0;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_CompileRule);

void BM_CompilePack(benchmark::State& state) {
  std::vector<std::string> pack = MakePack(500);
  for (auto _ : state) {
    kestrel::schema::Schema schema;
    for (const std::string& rule : pack) {
      kestrel::eql::CompileResult r = kestrel::eql::Compile(rule, schema);
      if (!r.ok()) state.SkipWithError("rule did not compile");
      benchmark::DoNotOptimize(r.program.get());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * pack.size()));
}
BENCHMARK(BM_CompilePack)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
