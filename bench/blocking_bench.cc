// Latency the blocking guard adds to an exec and to an open (docs/benchmarks.md, issue 9).
//
// Root. A tmpfs of its own is mounted in a private mount namespace and marked (never `/`); the
// guard runs 100 block rules (50 on execs, 50 on opens, none matching what is measured: the
// common case, an allowed access, pays the whole judging path: read, /proc lookups, rule index,
// answer). Each benchmark times every iteration and reports p50/p99 (µs) as counters; the
// `guard:0` variants are the same accesses without a guard, so the added latency is the
// difference. Nothing is allow-listed but PID 1.
//
// The accesses are made, and timed, by a load-generator process forked at set-up, before any
// guard exists: as on a real machine, the processes that exec are not the guard's. (Forking
// from the process the guard runs in measures something else: its threads write to pages the
// child still shares, and every such copy-on-write fault slows the child's exec.)
//
//   sudo build/release/bench/blocking_bench --benchmark_min_time=2
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "kestrel/actions/blocking/fanotify_guard.h"
#include "kestrel/eql/sema.h"

namespace {

namespace fs = std::filesystem;
namespace blocking = kestrel::actions::blocking;

void ExecOnce(const std::string& program);
double ExecCallOnce(const std::string& probe);
void OpenOnce(const std::string& file);

// The load generator: a process of its own that makes one access per request and answers with
// the microseconds it took. Requests: 'x' fork + exec + wait of `program`, 'c' execve() -> main
// of `probe`, 'o' open + close of `file`, 'q' quit.
void GeneratorLoop(int in, int out, const std::string& program, const std::string& probe,
                   const std::string& file) {
  char op;
  while (::read(in, &op, 1) == 1 && op != 'q') {
    double us = 0;
    if (op == 'c') {
      us = ExecCallOnce(probe);
    } else {
      auto start = std::chrono::steady_clock::now();
      if (op == 'x') ExecOnce(program);
      if (op == 'o') OpenOnce(file);
      us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
               .count();
    }
    if (::write(out, &us, sizeof us) != sizeof us) break;
  }
}

struct Setup {
  std::string dir;
  std::string program;  // /bin/true copied to the marked tmpfs
  std::string probe;    // exec_probe.cc's program copied there
  std::string file;     // a file on it
  std::string error;    // why the benchmark cannot run
  int to_generator = -1, from_generator = -1;
  pid_t generator = -1;

  // One access by the generator: its time in µs (0 when it failed).
  double Ask(char op) const {
    double us = 0;
    if (::write(to_generator, &op, 1) != 1 || ::read(from_generator, &us, sizeof us) != sizeof us) {
      return 0;
    }
    return us;
  }
};

Setup& TheSetup() {
  static Setup s = [] {
    Setup s;
    if (absl::Status probe = blocking::ProbeFanotifyPermissionEvents(); !probe.ok()) {
      s.error = std::string(probe.message());
      return s;
    }
    if (::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
      s.error = "cannot make a private mount namespace";
      return s;
    }
    char tmpl[] = "/tmp/kestrel-blocking-bench.XXXXXX";
    if (::mkdtemp(tmpl) == nullptr ||
        ::mount("tmpfs", tmpl, "tmpfs", 0, "size=16m,mode=0755") != 0) {
      s.error = "cannot mount a tmpfs";
      return s;
    }
    s.dir = tmpl;
    static char mount_point[sizeof tmpl];  // outlives `s` (destroyed before atexit runs this)
    std::memcpy(mount_point, tmpl, sizeof tmpl);
    std::atexit([] {
      ::umount2(mount_point, MNT_DETACH);
      ::rmdir(mount_point);
    });
    s.program = s.dir + "/prog";
    s.file = s.dir + "/data.txt";
    fs::copy_file("/bin/true", s.program);
    fs::permissions(s.program, fs::perms(0755));
    s.probe = s.dir + "/probe";
    fs::copy_file(KESTREL_EXEC_PROBE, s.probe);
    fs::permissions(s.probe, fs::perms(0755));
    std::ofstream(s.file) << "data\n";
    // Forked now, before any guard thread exists.
    int req[2], res[2];
    if (::pipe(req) != 0 || ::pipe(res) != 0) {
      s.error = "pipe";
      return s;
    }
    s.generator = ::fork();
    if (s.generator == 0) {
      ::close(req[1]);
      ::close(res[0]);
      GeneratorLoop(req[0], res[1], s.program, s.probe, s.file);
      ::_exit(0);
    }
    ::close(req[0]);
    ::close(res[1]);
    s.to_generator = req[1];
    s.from_generator = res[0];
    static pid_t generator = s.generator;
    static int to_generator = s.to_generator;
    std::atexit([] {
      char q = 'q';
      if (::write(to_generator, &q, 1) == 1) ::waitpid(generator, nullptr, 0);
    });
    return s;
  }();
  return s;
}

class Guard {
 public:
  // loader_check false: FAN_OPEN_EXEC_PERM only for exec rules (no FAN_OPEN_PERM round trip).
  // allow_all: the marked directory is allow-listed (answered without judging).
  Guard(const Setup& s, bool loader_check = true, bool open_rules = true, bool allow_all = false) {
    for (int i = 0; i < 50; ++i) {
      Add(fmt::format("process where process.executable == \"/opt/blocked/bin{}\"", i));
      if (open_rules) Add(fmt::format("file where file.path == \"/opt/blocked/secret{}.txt\"", i));
    }
    kestrel::engine::EngineLimits limits;
    limits.streaming = true;
    std::vector<std::unique_ptr<blocking::GuardEvaluator>> evaluators;
    evaluators.push_back(std::move(*blocking::GuardEvaluator::Create(schema_, rules_, limits)));
    blocking::FanotifyGuardOptions o;
    o.mode = blocking::EnforceMode::kOn;
    o.mark_path = s.dir;
    o.allow = blocking::AllowList(
        {1}, allow_all ? std::vector<std::string>{s.dir} : std::vector<std::string>{});
    o.loader_check = loader_check;
    o.rt_priority = 10;  // as `kestrel run` (--guard-rt-priority)
    auto started = blocking::FanotifyGuard::Start(std::move(o), std::move(evaluators), nullptr);
    if (started.ok()) guard_ = std::move(*started);
  }
  bool ok() const { return guard_ != nullptr; }
  const blocking::GuardCounters& counters() const { return guard_->counters(); }

 private:
  void Add(const std::string& query) {
    programs_.push_back(kestrel::eql::Compile(query, schema_).program);
    rules_.push_back(blocking::GuardRule{programs_.back().get(), rules_.size()});
  }
  kestrel::schema::Schema schema_;
  std::vector<std::unique_ptr<kestrel::eql::IrProgram>> programs_;
  std::vector<blocking::GuardRule> rules_;
  std::unique_ptr<blocking::FanotifyGuard> guard_;
};

void Report(benchmark::State& state, std::vector<double>& us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  state.counters["p50_us"] = us[us.size() / 2];
  state.counters["p99_us"] = us[std::min(us.size() - 1, us.size() * 99 / 100)];
}

void ExecOnce(const std::string& program) {
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close_range(3, ~0U, 0);
    char* argv[] = {const_cast<char*>(program.c_str()), nullptr};
    ::execv(argv[0], argv);
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
}

// Microseconds from the execve() call to the probe's main (the exec alone: no fork, no wait).
double ExecCallOnce(const std::string& probe) {
  int fds[2];
  if (::pipe(fds) != 0) return 0;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(fds[1], 3);
    ::close_range(4, ~0U, 0);
    char* argv[] = {const_cast<char*>(probe.c_str()), nullptr};
    int64_t t0 = std::chrono::steady_clock::now().time_since_epoch().count();
    if (::write(3, &t0, sizeof t0) == sizeof t0) ::execv(argv[0], argv);
    ::_exit(127);
  }
  ::close(fds[1]);
  int64_t t[2] = {0, 0};
  size_t got = 0;
  while (got < sizeof t) {
    ssize_t n = ::read(fds[0], reinterpret_cast<char*>(t) + got, sizeof t - got);
    if (n <= 0) break;
    got += static_cast<size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return got == sizeof t ? static_cast<double>(t[1] - t[0]) / 1e3 : 0;
}

void OpenOnce(const std::string& file) {
  int fd = ::open(file.c_str(), O_RDONLY);
  if (fd >= 0) ::close(fd);
}

// guard: 0 off; 1 100 block rules (50 exec, 50 open: FAN_OPEN_EXEC_PERM and FAN_OPEN_PERM);
// 2 50 exec rules, no loader-bypass check (one permission event per exec); 3 as 2 but the
// marked directory allow-listed, so the guard answers without judging: what the kernel's
// permission round trip costs by itself.
const char* ExecLabel(int64_t guard) {
  switch (guard) {
    case 0:
      return "guard off";
    case 1:
      return "guard on, 100 block rules";
    case 2:
      return "guard on, 50 exec rules, no loader check";
    default:
      return "guard on, answers unjudged (allow-listed path)";
  }
}

// An exec benchmark: `op` ('x' or 'c') made by the generator, under guard variant range(0).
void ExecBench(benchmark::State& state, char op) {
  Setup& s = TheSetup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  std::unique_ptr<Guard> guard;
  if (state.range(0) != 0) {
    // 2, 3: exec rules only, no loader-bypass check: one permission event per exec, not two.
    bool one_event = state.range(0) >= 2;
    guard = std::make_unique<Guard>(s, !one_event, !one_event, state.range(0) == 3);
    if (!guard->ok()) return state.SkipWithError("the guard did not start");
  }
  std::vector<double> us;
  for (auto _ : state) us.push_back(s.Ask(op));
  Report(state, us);
  state.SetLabel(ExecLabel(state.range(0)));
}

void BM_Exec(benchmark::State& state) { ExecBench(state, 'x'); }

void BM_Open(benchmark::State& state) {
  Setup& s = TheSetup();
  if (!s.error.empty()) return state.SkipWithError(s.error.c_str());
  std::unique_ptr<Guard> guard;
  if (state.range(0) != 0) {
    guard = std::make_unique<Guard>(s);
    if (!guard->ok()) return state.SkipWithError("the guard did not start");
  }
  std::vector<double> us;
  for (auto _ : state) us.push_back(s.Ask('o'));
  Report(state, us);
  state.SetLabel(state.range(0) != 0 ? "guard on, 100 block rules" : "guard off");
}

// The exec alone, timed from execve() to the new program's main by the programs themselves;
// p50/p99 of that span (the benchmark's own time includes fork and wait).
void BM_ExecCall(benchmark::State& state) { ExecBench(state, 'c'); }

BENCHMARK(BM_Exec)
    ->ArgName("guard")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_ExecCall)
    ->ArgName("guard")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Arg(3)
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();
BENCHMARK(BM_Open)->ArgName("guard")->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
