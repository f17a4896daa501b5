// The user-space cost of one fork+exec+exit on the live source's reading thread, without a
// kernel: RecordDecoder over hand-built records (a shell in an ssh session forks and execs
// /usr/bin/true, which exits), and the copy of each event into a queue slot as the bus makes
// it. Deterministic, so it can guide cuts on a loaded machine where bench/ebpf_ab.sh is noisy.
//   BM_ForkExecExit        decode the three records
//   BM_ForkExecExitCopied  and copy each event once (the bus's slot copy / evidence copy)
//   BM_ForkExecExitPublished  and hand each event to a ring of 1024 queue slots as
//                          ParallelDetector::Publish(Event&&) does (swap, ReleaseIfLarge)
//   BM_ForkExecExitBus     and publish each event to a real ParallelDetector (2 workers, one
//                          entity-local and one global rule, neither matching): the reading
//                          thread's CPU (the workers' is not counted), routing included
// Counters: fields of the exec event, bytes an Event copy of it holds.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "kestrel/bus/parallel_detector.h"
#include "kestrel/eql/sema.h"
#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/ebpf/decoder.h"
#include "kestrel/sources/ebpf/process_table.h"

namespace {

using kestrel::event::Event;
namespace ebpf = kestrel::sources::ebpf;

constexpr uint32_t kSshd = 50, kShell = 100;

void Header(kestrel_header* h, uint32_t kind, uint32_t pid, uint32_t ppid, uint64_t boot_ns) {
  std::memset(h, 0, sizeof(*h));
  h->kind = kind;
  h->tgid = h->tid = pid;
  h->ppid = ppid;
  h->uid = h->euid = 1000;
  h->gid = h->egid = 1000;
  h->sid = kShell;
  h->pgid = pid;
  h->tty = (136u << 20) | 1;
  h->boot_ns = boot_ns;
  h->start_boottime = uint64_t{pid} * ebpf::kNsPerClockTick;
  std::strncpy(h->comm, "bash", sizeof(h->comm) - 1);
}

// Leaf-first path components, as the BPF side writes them.
std::string Components(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (std::string_view p : parts) {
    out += p;
    out += '\0';
  }
  return out;
}

// An exec record packed as the BPF side writes it (kestrel_records.h).
std::vector<uint8_t> PackExec(const kestrel_header& h, const std::string& filename,
                              const std::string& cwd, const std::string& exe,
                              const std::string& args, const std::string& env, uint32_t argc) {
  kestrel_exec fixed;
  std::memset(&fixed, 0, offsetof(kestrel_exec, data));
  fixed.h = h;
  fixed.filename_len = static_cast<uint32_t>(filename.size());
  fixed.cwd_len = static_cast<uint32_t>(cwd.size());
  fixed.exe_len = static_cast<uint32_t>(exe.size());
  fixed.args_len = static_cast<uint32_t>(args.size());
  fixed.env_len = static_cast<uint32_t>(env.size());
  fixed.args_count = fixed.argc = argc;
  std::vector<uint8_t> out(reinterpret_cast<const uint8_t*>(&fixed),
                           reinterpret_cast<const uint8_t*>(&fixed) + offsetof(kestrel_exec, data));
  for (const std::string* part : {&filename, &cwd, &exe, &args, &env}) {
    out.insert(out.end(), part->begin(), part->end());
  }
  return out;
}

struct Workload {
  Workload() : table("boot"), decoder(schema, &table, Options()) {
    auto add = [&](uint32_t pid, uint32_t ppid, std::string exe, std::vector<std::string> args) {
      ebpf::ProcessInfo& p = table.Touch(pid, pid);
      p.pid = pid;
      p.ppid = ppid;
      p.executable = exe;
      p.name = std::string(ebpf::BaseName(exe));
      p.args = args;
      p.command_line = ebpf::JoinCommandLine(args);
      p.working_directory = "/home/user";
      p.sid = kShell;
      p.pgid = pid;
      p.uid = p.euid = p.gid = p.egid = pid == kShell ? 1000 : 0;
      p.tty = pid == kShell ? (136u << 20) | 1 : 0;
    };
    add(1, 0, "/usr/lib/systemd/systemd", {"/sbin/init"});
    add(kSshd, 1, "/usr/sbin/sshd", {"sshd: user [priv]"});
    add(kShell, kSshd, "/usr/bin/bash", {"-bash"});
    table.FindMutable(kShell)->ssh_client = "192.0.2.10 50000 22";
    table.AssignEntryLeader(*table.FindMutable(kShell));
    Header(&fork.h, KESTREL_FORK, kShell, kSshd, 1'000'000'000);
    fork.child_start_boottime = 0;
    Header(&exec_h, KESTREL_EXEC, 0, kShell, 1'000'100'000);
    static const char kArgs[] = "true\0--flag\0value";
    std::string env =
        std::string("HOME=/home/user\0PATH=/usr/local/bin:/usr/bin:/bin\0LANG=C.UTF-8\0", 64) +
        std::string("SSH_CLIENT=192.0.2.10 50000 22\0TERM=xterm-256color\0USER=user\0", 60);
    exec = PackExec(exec_h, "/usr/bin/true", Components({"user", "home"}),
                    Components({"true", "bin", "usr"}), std::string(kArgs, sizeof(kArgs)), env, 3);
    Header(&exit.h, KESTREL_EXIT, 0, kShell, 1'000'200'000);
  }
  static ebpf::DecoderOptions Options() {
    ebpf::DecoderOptions o;
    o.boot_wall_ns = 1'700'000'000'000'000'000;
    o.resolve_user_names = false;
    o.host.id = "0123456789abcdef0123456789abcdef";
    o.host.name = o.host.hostname = "host.example.com";
    return o;
  }
  // One fork+exec+exit of a new pid (a new child each time, as on a real machine).
  template <typename Fn>
  void Run(uint32_t pid, Fn&& each) {
    const uint64_t ticks = pid;
    fork.child_tgid = pid;
    fork.child_start_boottime = ticks * ebpf::kNsPerClockTick;
    for (auto* h : {&exec_h, &exit.h}) {
      h->tgid = h->tid = pid;
      h->pgid = kShell;
      h->start_boottime = ticks * ebpf::kNsPerClockTick;
    }
    auto one = [&](std::span<const uint8_t> bytes) {
      if (decoder.Decode(bytes, &event, &why) == ebpf::RecordDecoder::Outcome::kEvent) each(event);
    };
    one({reinterpret_cast<const uint8_t*>(&fork), sizeof(fork)});
    std::memcpy(exec.data(), &exec_h, sizeof(exec_h));
    one({exec.data(), ebpf::CompactRecordSize(exec)});
    one({reinterpret_cast<const uint8_t*>(&exit), sizeof(exit)});
    table.Expire(int64_t{1} << 62);
  }

  kestrel::schema::Schema schema;
  ebpf::ProcessTable table;
  ebpf::RecordDecoder decoder;
  kestrel_fork fork{};
  kestrel_header exec_h{};
  std::vector<uint8_t> exec;  // packed (PackExec); its header rewritten from exec_h per run
  kestrel_exit exit{};
  Event event;
  std::string why;
};

void BM_ForkExecExit(benchmark::State& state) {
  Workload w;
  uint32_t pid = 1000;
  size_t fields = 0;
  for (auto _ : state) {
    w.Run(pid, [&](const Event& e) { benchmark::DoNotOptimize(e.size()); });
    if (++pid > 400'000) pid = 1000;
  }
  w.Run(999, [&](const Event& e) { fields = std::max(fields, e.size()); });
  state.counters["fields"] = static_cast<double>(fields);
}
BENCHMARK(BM_ForkExecExit);

void BM_ForkExecExitCopied(benchmark::State& state) {
  Workload w;
  uint32_t pid = 1000;
  size_t bytes = 0;
  for (auto _ : state) {
    w.Run(pid, [&](const Event& e) {
      Event copy(e);
      benchmark::DoNotOptimize(copy.size());
    });
    if (++pid > 400'000) pid = 1000;
  }
  w.Run(999, [&](const Event& e) { bytes = std::max(bytes, Event(e).MemoryBytes()); });
  state.counters["copy_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ForkExecExitCopied);

void BM_ForkExecExitPublished(benchmark::State& state) {
  Workload w;
  std::vector<Event> slots;
  for (int i = 0; i < 1024; ++i) slots.emplace_back(kestrel::bus::kSlotArenaBlock);
  size_t next = 0;
  uint32_t pid = 1000;
  for (auto _ : state) {
    w.Run(pid, [&](const Event&) {
      std::swap(slots[next], w.event);
      kestrel::bus::ReleaseIfLarge(&w.event);
      next = (next + 1) % slots.size();
    });
    if (++pid > 400'000) pid = 1000;
  }
  size_t bytes = 0;
  for (const Event& e : slots) bytes = std::max(bytes, e.MemoryBytes());
  state.counters["slot_bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_ForkExecExitPublished);

void BM_ForkExecExitBus(benchmark::State& state) {
  Workload w;
  std::vector<std::unique_ptr<kestrel::eql::IrProgram>> rules;
  std::vector<const kestrel::eql::IrProgram*> programs;
  for (const char* text : {R"(process where process.name == "no-such-name")",
                           R"(sequence by host.name [process where process.name == "no-a"]
                                                    [process where process.name == "no-b"])"}) {
    kestrel::eql::CompileResult r = kestrel::eql::Compile(text, w.schema, {});
    if (!r.ok()) {
      state.SkipWithError("rule refused");
      return;
    }
    programs.push_back(r.program.get());
    rules.push_back(std::move(r.program));
  }
  kestrel::bus::ParallelOptions options;
  options.workers = 2;
  options.limits.streaming = true;
  auto d = kestrel::bus::ParallelDetector::Create(w.schema, programs, options,
                                                  [](size_t, kestrel::engine::QueryMatch&) {});
  if (!d.ok()) {
    state.SkipWithError("no detector");
    return;
  }
  uint32_t pid = 1000;
  for (auto _ : state) {
    w.Run(pid, [&](const Event&) { (*d)->Publish(std::move(w.event)); });
    if (++pid > 400'000) pid = 1000;
  }
  (*d)->Finish();
}
BENCHMARK(BM_ForkExecExitBus);

}  // namespace

BENCHMARK_MAIN();
