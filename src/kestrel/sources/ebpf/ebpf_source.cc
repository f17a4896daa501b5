// EbpfSource; see ebpf_source.h. The only file that includes libbpf (STYLE.md rule 1).
// Tested by ebpf_source_test.cc.
#include "kestrel/sources/ebpf/ebpf_source.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdarg>
#include <cstring>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "kestrel.skel.h"
#include "kestrel/sources/ebpf/account_events.h"
#include "kestrel/sources/ebpf/decoder.h"
#include "kestrel/sources/ebpf/file_key.h"
#include "kestrel/sources/ebpf/process_table.h"
#include "kestrel_records.h"

namespace kestrel::sources {
namespace {

constexpr const char* kFallbackHint =
    "to analyse events without live collection, run `kestrel run --source ndjson:FILE` (or "
    "ndjson:- for standard input)";

// libbpf's messages, kept (last few KiB) for the error of a failed load instead of printed.
std::mutex g_log_mu;
std::string g_log;
int LibbpfPrint(enum libbpf_print_level level, const char* format, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char buf[1024];
  int n = vsnprintf(buf, sizeof(buf), format, args);
  std::lock_guard<std::mutex> lock(g_log_mu);
  g_log.append(buf, n > 0 ? std::min<size_t>(static_cast<size_t>(n), sizeof(buf) - 1) : 0);
  if (g_log.size() > 8192) g_log.erase(0, g_log.size() - 8192);
  return 0;
}

std::string TakeLibbpfLog() {
  std::lock_guard<std::mutex> lock(g_log_mu);
  std::string out;
  out.swap(g_log);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

int64_t ClockNs(clockid_t clock) {
  struct timespec ts;
  clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

std::string ReadBootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(in, id);
  return id;
}

constexpr uint32_t kWantedSyscalls[] = {
    KSYS_OPEN, KSYS_OPENAT, KSYS_OPENAT2, KSYS_CREAT, KSYS_UNLINK, KSYS_UNLINKAT, KSYS_RENAME,
    KSYS_RENAMEAT, KSYS_RENAMEAT2, KSYS_CHMOD, KSYS_FCHMOD, KSYS_FCHMODAT, KSYS_FCHMODAT2,
    KSYS_CHOWN, KSYS_LCHOWN, KSYS_FCHOWN, KSYS_FCHOWNAT, KSYS_CONNECT, KSYS_ACCEPT, KSYS_ACCEPT4,
    KSYS_BIND, KSYS_PTRACE, KSYS_SETUID, KSYS_SETGID, KSYS_SETREUID, KSYS_SETREGID, KSYS_SETRESUID,
    KSYS_SETRESGID, KSYS_MEMFD_CREATE, KSYS_INIT_MODULE, KSYS_SETSID, KSYS_FINIT_MODULE,
    // DNS: filtered in sys_enter to UDP sends to port 53 (bpf/kestrel_dns.bpf.h dns_wanted).
    KSYS_SENDTO, KSYS_SENDMSG, KSYS_SENDMMSG};

}  // namespace

std::vector<std::string> EbpfMissingRequirements() {
  std::vector<std::string> missing;
#if !defined(__x86_64__)
  missing.push_back("this build's syscall table is for x86_64 only");
#endif
  if (geteuid() != 0) {
    missing.push_back(
        "root privileges (loading BPF programs needs CAP_BPF, CAP_PERFMON and CAP_SYS_ADMIN): "
        "run as root, e.g. with sudo");
  }
  if (access("/sys/kernel/btf/vmlinux", R_OK) != 0) {
    missing.push_back(
        "kernel BTF at /sys/kernel/btf/vmlinux (a kernel built with CONFIG_DEBUG_INFO_BTF=y)");
  }
  if (missing.empty()) {
    // bpf(BPF_PROG_LOAD) with no arguments fails with EINVAL/EFAULT when the syscall exists,
    // ENOSYS when the kernel has no BPF, EPERM when it is forbidden.
    long r = syscall(__NR_bpf, 5 /* BPF_PROG_LOAD */, nullptr, 0);
    if (r < 0 && errno == ENOSYS) {
      missing.push_back("the bpf() system call (a kernel built with CONFIG_BPF_SYSCALL=y)");
    } else if (r < 0 && errno == EPERM) {
      missing.push_back(
          "permission to use bpf() (kernel.unprivileged_bpf_disabled, a seccomp profile or a "
          "container without CAP_BPF forbids it)");
    }
  }
  return missing;
}

struct EbpfSource::Impl {
  Impl(schema::Schema* schema, EbpfOptions opts, DiagnosticSink diag)
      : options(std::move(opts)),
        diagnostics(std::move(diag)),
        table(ReadBootId(), options.max_processes),
        host(options.host_root, options.agent_version, options.host),
        decoder(*schema, &table,
                ebpf::DecoderOptions{ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_BOOTTIME),
                                     options.ignore_paths, true, host.Read(), options.env_vars,
                                     options.env_value_max}),
        accounts(ebpf::AccountWatcher::Options{options.host_root}) {
    table.SetEnvAllowList(options.env_vars, options.env_value_max);
  }

  // Reports account database reads refused since the last call (account_events.h).
  void ReportAccountRefusals() {
    const uint64_t n = accounts.watcher().stats().refusals;
    if (n == account_refusals_seen) return;
    account_refusals_seen = n;
    if (diagnostics) {
      diagnostics(
          SourceDiagnostic{"ebpf", fmt::format("account database not read ({} refusals so far): {}",
                                               n, accounts.watcher().last_error())});
    }
  }

  ~Impl() {
    StopReader();
    if (rb != nullptr) ring_buffer__free(rb);
    if (skel != nullptr) kestrel_bpf__destroy(skel);
  }

  void StopReader() {
    Wake(&stopping);
    if (reader.joinable()) reader.join();
  }

  // Sets `flag` and ends the reader's sleep.
  void Wake(std::atomic<bool>* flag) {
    {
      std::lock_guard<std::mutex> lock(wake_mu);
      if (flag != nullptr) flag->store(true);
    }
    wake_cv.notify_one();
  }

  static size_t Aligned(size_t n) { return (n + 7) & ~size_t{7}; }

  static int OnRecord(void* ctx, void* data, size_t size) {
    auto* self = static_cast<Impl*>(ctx);
    size = ebpf::CompactRecordSize({static_cast<const uint8_t*>(data), size});
    if (self->pending.size() + sizeof(uint64_t) + Aligned(size) > self->options.max_queue_bytes) {
      ++self->user_drops_pending;
      ++self->user_drops_total;
      int64_t t = 0;
      if (size >= sizeof(kestrel_header)) {
        t = self->boot_wall_ns +
            static_cast<int64_t>(static_cast<const kestrel_header*>(data)->boot_ns);
      }
      if (self->user_loss_begin == 0 || t < self->user_loss_begin) self->user_loss_begin = t;
      if (t > self->user_loss_end) self->user_loss_end = t;
      return 0;
    }
    // [u64 size][record][padding to 8]: records stay 8-byte aligned, as their structs need.
    uint64_t n = size;
    const auto* p = reinterpret_cast<const uint8_t*>(&n);
    self->pending.insert(self->pending.end(), p, p + sizeof(n));
    const auto* d = static_cast<const uint8_t*>(data);
    self->pending.insert(self->pending.end(), d, d + size);
    self->pending.resize(self->pending.size() + (Aligned(size) - size), 0);
    return 0;
  }

  uint64_t ReadKernelDrops() {
    int ncpu = libbpf_num_possible_cpus();
    if (ncpu <= 0) return 0;
    std::vector<uint64_t> values(static_cast<size_t>(ncpu));
    uint32_t key = 0;
    if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.counters), &key, values.data()) != 0) return 0;
    uint64_t sum = 0;
    for (uint64_t v : values) sum += v;
    return sum;
  }

  // A flush marker in `pending`: [kFlushMarker][ticket] (no record has that size).
  static constexpr uint64_t kFlushMarker = UINT64_MAX;

  void ReaderLoop() {
    int64_t last_drain = ClockNs(CLOCK_REALTIME);
    uint64_t seen_kernel = ReadKernelDrops();
    constexpr size_t kBusyDrain = 1024;  // records in one drain that mean "busy"
    size_t drained = 0;
    while (true) {
      bool last = stopping.load() || (options.stop != nullptr && options.stop->load());
      // Read before draining: what was in the ring buffer when the flush was asked for is in
      // this drain.
      uint64_t ticket = flush_requested.load();
      bool flush = ticket > flush_done;
      {
        std::lock_guard<std::mutex> lock(mu);
        int n = ring_buffer__consume(rb);
        drained = n > 0 ? static_cast<size_t>(n) : 0;
        int64_t now = ClockNs(CLOCK_REALTIME);
        uint64_t k = ReadKernelDrops();
        if (k > seen_kernel) {
          losses.push_back(SourceLoss{last_drain, now, k - seen_kernel, true});
          kernel_drops_total = k;
          seen_kernel = k;
        }
        if (user_drops_pending > 0) {
          losses.push_back(SourceLoss{user_loss_begin, user_loss_end, user_drops_pending, false});
          user_drops_pending = 0;
          user_loss_begin = user_loss_end = 0;
        }
        if (flush) {
          const uint64_t marker[2] = {kFlushMarker, ticket};
          const auto* m = reinterpret_cast<const uint8_t*>(marker);
          pending.insert(pending.end(), m, m + sizeof marker);
          flush_done = ticket;
        }
        last_drain = now;
        if (last) reader_done = true;
      }
      if (drained > 0 || flush || last) cv.notify_one();
      if (last) return;
      // Busy: drain again soon, so the ring buffer never fills; idle: sleep the full interval
      // (fewer wake-ups: the CPU cost at low rates is mostly these). A flush request ends the
      // sleep at once.
      std::unique_lock<std::mutex> lock(wake_mu);
      wake_cv.wait_for(
          lock, std::chrono::milliseconds(drained > kBusyDrain ? 1 : options.poll_interval_ms),
          [&] { return flush_requested.load() > flush_done || stopping.load(); });
    }
  }

  // Constant after Open().
  EbpfOptions options;
  DiagnosticSink diagnostics;
  kestrel_bpf* skel = nullptr;
  ring_buffer* rb = nullptr;
  std::string mechanism;
  size_t processes_at_start = 0;
  int64_t boot_wall_ns = 0;

  // The puller's (Next()).
  ebpf::ProcessTable table;
  ebpf::HostWatcher host;
  int64_t last_host_refresh_ns = 0;
  ebpf::RecordDecoder decoder;
  ebpf::AccountEvents accounts;
  uint64_t account_refusals_seen = 0;
  int64_t last_event_ns = 0;
  bool accounts_flushed = false;
  std::vector<uint8_t> batch;  // records taken from `pending`
  size_t batch_pos = 0;
  std::vector<SourceLoss> taken_losses;
  SourceStats stats;
  int64_t last_expire_ns = 0;

  // Shared with the reader thread.
  std::mutex mu;
  std::condition_variable cv;
  std::vector<uint8_t> pending;     // guarded by mu: [u64 size][record][pad to 8] ...
  std::vector<SourceLoss> losses;   // guarded by mu
  uint64_t user_drops_pending = 0;  // guarded by mu
  int64_t user_loss_begin = 0, user_loss_end = 0;  // guarded by mu
  std::atomic<uint64_t> user_drops_total{0};
  std::atomic<uint64_t> kernel_drops_total{0};
  bool reader_done = false;  // guarded by mu
  std::atomic<bool> stopping{false};
  std::mutex wake_mu;  // the reader's sleep
  std::condition_variable wake_cv;
  std::atomic<uint64_t> flush_requested{0};  // the highest ticket asked for
  uint64_t flush_done = 0;                   // the reader's: the highest ticket queued
  std::function<void(uint64_t)> on_flushed;  // the puller's

  // kill_inodes' key (bpf/kestrel.bpf.c), and what ArmKill() armed.
  struct InodeKey {
    uint64_t ino;
    uint32_t dev;  // the kernel's encoding: major << 20 | minor
    uint32_t pad;
    bool operator==(const InodeKey&) const = default;
  };
  std::vector<InodeKey> armed_kill;
  std::thread reader;
};

absl::StatusOr<std::unique_ptr<EbpfSource>> EbpfSource::Open(schema::Schema* schema,
                                                             EbpfOptions options,
                                                             DiagnosticSink diagnostics) {
  std::vector<std::string> missing = EbpfMissingRequirements();
  if (!missing.empty()) {
    std::string msg = "live eBPF collection is not possible here; missing:";
    for (const std::string& m : missing) msg += "\n  - " + m;
    msg += fmt::format("\n{}", kFallbackHint);
    return absl::FailedPreconditionError(msg);
  }
  libbpf_set_print(LibbpfPrint);
  auto impl = std::make_unique<Impl>(schema, std::move(options), std::move(diagnostics));
  impl->boot_wall_ns = ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_BOOTTIME);

  // --ignore-path prefixes that name directories are also filtered in the kernel, by inode
  // (all of them are filtered in user space too, which covers the others).
  struct DirKey {
    uint64_t ino;
    uint32_t dev;
    uint32_t pad;
  };
  std::vector<DirKey> ignored_dirs;
  // The kernel's keys: the superblock's device, not stat's st_dev (they differ on overlayfs and
  // btrfs; file_key.h).
  KernelFileKeys file_keys;
  for (const std::string& prefix : impl->options.ignore_paths) {
    struct stat st;
    if (stat(prefix.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    auto key = file_keys.Of(prefix);
    if (key.ok()) ignored_dirs.push_back(DirKey{key->ino, key->dev, 0});
  }

  // tp_btf first (direct BTF-typed access, cheaper), raw_tp when the kernel refuses it.
  std::string btf_error;
  for (bool btf : {true, false}) {
    if (btf && !impl->options.try_tp_btf) continue;
    TakeLibbpfLog();
    kestrel_bpf* skel = kestrel_bpf__open();
    if (skel == nullptr) {
      return absl::InternalError(
          fmt::format("cannot open the BPF object: {}\n{}", strerror(errno), TakeLibbpfLog()));
    }
    skel->rodata->self_tgid = static_cast<uint32_t>(getpid());
    skel->rodata->have_ignored_dirs = ignored_dirs.empty() ? 0 : 1;
    skel->rodata->env_max = impl->options.env_vars.empty() ? 0 : KESTREL_ENV_MAX;
    bpf_program__set_autoload(skel->progs.exec_btf, btf);
    bpf_program__set_autoload(skel->progs.fork_btf, btf);
    bpf_program__set_autoload(skel->progs.exit_btf, btf);
    bpf_program__set_autoload(skel->progs.exec_raw, !btf);
    bpf_program__set_autoload(skel->progs.fork_raw, !btf);
    bpf_program__set_autoload(skel->progs.exit_raw, !btf);
    int err = kestrel_bpf__load(skel);
    if (err == 0) {
      impl->skel = skel;
      impl->mechanism = fmt::format(
          "{} sched_process_exec/fork/exit, raw_tp sys_enter/sys_exit (x86_64 syscall table)",
          btf ? "tp_btf" : "raw_tp");
      break;
    }
    std::string log = TakeLibbpfLog();
    kestrel_bpf__destroy(skel);
    if (btf) {
      btf_error = log;
      continue;
    }
    return absl::InternalError(
        fmt::format("cannot load the BPF programs ({}); tp_btf attempt: {}\nraw_tp attempt: {}\n{}",
                    strerror(-err), btf_error, log, kFallbackHint));
  }
  kestrel_bpf* skel = impl->skel;

  // The Defend-shaped events' syscalls (the DNS sends included: their DNS filter runs in
  // sys_enter for calls wanted with this bit).
  const uint8_t defend = KESTREL_WANT_DEFEND;
  for (uint32_t id : kWantedSyscalls) {
    bpf_map_update_elem(bpf_map__fd(skel->maps.wanted), &id, &defend, BPF_ANY);
  }
  if (impl->options.auditd_compat) {  // KESTREL_WANT_AUDITD beside what is already wanted
    for (const ebpf::AuditdSyscall& call : ebpf::AuditdSyscalls()) {
      uint32_t id = call.number;
      uint8_t want = 0;
      bpf_map_lookup_elem(bpf_map__fd(skel->maps.wanted), &id, &want);
      want |= KESTREL_WANT_AUDITD;
      bpf_map_update_elem(bpf_map__fd(skel->maps.wanted), &id, &want, BPF_ANY);
    }
  }
  uint8_t one = 1;
  for (const std::string& comm : impl->options.ignore_comms) {
    char key[KESTREL_COMM_LEN] = {};
    std::memcpy(key, comm.data(), std::min(comm.size(), sizeof(key) - 1));
    if (bpf_map_update_elem(bpf_map__fd(skel->maps.ignore_comm), key, &one, BPF_ANY) != 0) {
      return absl::InvalidArgumentError(
          fmt::format("too many ignored process names (at most {})", KESTREL_IGNORE_COMM_MAX));
    }
  }
  for (const DirKey& k : ignored_dirs) {
    bpf_map_update_elem(bpf_map__fd(skel->maps.ignored_dirs), &k, &one, BPF_ANY);
  }
  for (const std::string& name : impl->options.sensitive_names) {
    char key[32] = {};
    std::memcpy(key, name.data(), std::min(name.size(), sizeof(key) - 1));
    bpf_map_update_elem(bpf_map__fd(skel->maps.sensitive_names), key, &one, BPF_ANY);
  }

  impl->rb = ring_buffer__new(bpf_map__fd(skel->maps.events), &Impl::OnRecord, impl.get(), nullptr);
  if (impl->rb == nullptr) {
    return absl::InternalError(fmt::format("cannot map the BPF ring buffer: {}", strerror(errno)));
  }
  if (int err = kestrel_bpf__attach(skel); err != 0) {
    return absl::InternalError(fmt::format("cannot attach the BPF programs: {}\n{}\n{}",
                                           strerror(-err), TakeLibbpfLog(), kFallbackHint));
  }
  // After attach: a process that starts meanwhile is seen by both, and the record wins.
  if (absl::Status s = impl->table.LoadFromProc(impl->options.proc_root, impl->boot_wall_ns);
      !s.ok()) {
    return s;
  }
  impl->processes_at_start = impl->table.size();
  if (impl->options.account_events) {
    impl->accounts.Start();  // the snapshots changes are measured against
    impl->ReportAccountRefusals();
  }
  if (impl->options.already_running_events) {
    // One bare KESTREL_ALREADY_RUNNING header per process, queued before any kernel record:
    // the decoder fills it from the table. Time: now, on the kernel's boot clock.
    const uint64_t boot_now = static_cast<uint64_t>(ClockNs(CLOCK_BOOTTIME));
    std::lock_guard<std::mutex> lock(impl->mu);
    for (uint32_t pid : impl->table.loaded_from_proc()) {
      const ebpf::ProcessInfo* p = impl->table.Find(pid);
      if (p == nullptr || pid == static_cast<uint32_t>(getpid())) continue;  // not Kestrel
      kestrel_header h{};
      h.kind = KESTREL_ALREADY_RUNNING;
      h.boot_ns = boot_now;
      h.tgid = pid;
      h.start_boottime = p->start_ticks * ebpf::kNsPerClockTick;
      Impl::OnRecord(impl.get(), &h, sizeof(h));
    }
  }
  Impl* raw = impl.get();
  impl->reader = std::thread([raw] { raw->ReaderLoop(); });
  return std::unique_ptr<EbpfSource>(new EbpfSource(std::move(impl)));
}

EbpfSource::EbpfSource(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
EbpfSource::~EbpfSource() = default;

void EbpfSource::Stop() { impl_->stopping.store(true); }

void EbpfSource::RequestFlush(uint64_t ticket) {
  uint64_t seen = impl_->flush_requested.load();
  while (seen < ticket && !impl_->flush_requested.compare_exchange_weak(seen, ticket)) {
  }
  impl_->Wake(nullptr);
}

void EbpfSource::OnFlushed(std::function<void(uint64_t ticket)> fn) {
  impl_->on_flushed = std::move(fn);
}

std::vector<std::string> EbpfSource::ArmKill(const std::vector<std::string>& paths) {
  std::vector<std::string> errors;
  std::vector<Impl::InodeKey> keys;
  KernelFileKeys file_keys;  // the kernel's (device, inode), not stat's st_dev
  for (const std::string& path : paths) {
    auto key = file_keys.Of(path);
    if (!key.ok()) {
      errors.push_back(fmt::format("{}: {}", path, std::string(key.status().message())));
      continue;
    }
    keys.push_back(Impl::InodeKey{key->ino, key->dev, 0});
  }
  int fd = bpf_map__fd(impl_->skel->maps.kill_inodes);
  // Files no longer named are disarmed first, then the set is armed (a file in both stays).
  for (const Impl::InodeKey& old : impl_->armed_kill) {
    if (std::find(keys.begin(), keys.end(), old) == keys.end()) bpf_map_delete_elem(fd, &old);
  }
  impl_->armed_kill.clear();
  uint8_t one = 1;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (bpf_map_update_elem(fd, &keys[i], &one, BPF_ANY) != 0) {
      errors.push_back(fmt::format("inode {}: kill map: {}", keys[i].ino, strerror(errno)));
      continue;
    }
    impl_->armed_kill.push_back(keys[i]);
  }
  return errors;
}

const std::string& EbpfSource::mechanism() const { return impl_->mechanism; }
size_t EbpfSource::processes_at_start() const { return impl_->processes_at_start; }

absl::StatusOr<bool> EbpfSource::Next(event::Event* event) {
  Impl& m = *impl_;
  std::string why;
  while (true) {
    // iam events made from the last event's account database change come right after it.
    if (m.accounts.Next(m.decoder, event)) {
      ++m.stats.events;
      return true;
    }
    if (m.batch_pos >= m.batch.size()) {
      m.batch.clear();
      m.batch_pos = 0;
      std::unique_lock<std::mutex> lock(m.mu);
      while (m.pending.empty() && !m.reader_done) {
        m.cv.wait_for(lock, std::chrono::milliseconds(50));
      }
      m.batch.swap(m.pending);
      for (SourceLoss& l : m.losses) m.taken_losses.push_back(l);
      m.losses.clear();
      if (m.batch.empty() && m.reader_done) {
        if (!m.accounts_flushed) {  // edits whose writer has not exited yet
          m.accounts_flushed = true;
          m.accounts.Flush(m.last_event_ns);
          continue;
        }
        return false;
      }
      continue;
    }
    uint64_t size;
    std::memcpy(&size, m.batch.data() + m.batch_pos, sizeof(size));
    if (size == Impl::kFlushMarker) {
      // Every record drained before the flush was asked for has been returned (and handled by
      // the caller, which called Next() again).
      uint64_t ticket;
      std::memcpy(&ticket, m.batch.data() + m.batch_pos + sizeof(size), sizeof(ticket));
      m.batch_pos += 2 * sizeof(uint64_t);
      if (m.on_flushed) m.on_flushed(ticket);
      continue;
    }
    std::span<const uint8_t> record(m.batch.data() + m.batch_pos + sizeof(size), size);
    m.batch_pos += sizeof(size) + Impl::Aligned(size);
    m.stats.bytes += size;
    auto outcome = m.decoder.Decode(record, event, &why);
    if (outcome == ebpf::RecordDecoder::Outcome::kMalformed) {
      ++m.stats.malformed;
      if (m.diagnostics) m.diagnostics(SourceDiagnostic{"ebpf", why});
      continue;
    }
    if (outcome == ebpf::RecordDecoder::Outcome::kSkipped) continue;
    ++m.stats.events;
    m.last_event_ns = event->time_ns();
    if (m.options.account_events) {
      uint32_t kind;
      std::memcpy(&kind, record.data(), sizeof(kind));
      if (kind == KESTREL_FILE || kind == KESTREL_EXIT || m.accounts.dirty()) {
        kestrel_header h;
        std::memcpy(&h, record.data(), sizeof(h));  // a decoded record has its header
        m.accounts.Observe(h, *event);
        m.ReportAccountRefusals();
      }
    }
    // Exited processes leave the table after their grace period (checked once a second).
    if (event->time_ns() - m.last_expire_ns > 1'000'000'000) {
      m.table.Expire(event->time_ns());
      m.last_expire_ns = event->time_ns();
    }
    // The host's name and addresses may change (host fields are data, not decisions); the new
    // values apply from the next event.
    if (event->time_ns() - m.last_host_refresh_ns > ebpf::kHostRefreshIntervalNs) {
      if (m.last_host_refresh_ns != 0 && m.host.Refresh()) m.decoder.SetHost(m.host.identity());
      m.last_host_refresh_ns = event->time_ns();
    }
    return true;
  }
}

SourceStats EbpfSource::stats() const {
  SourceStats s = impl_->stats;
  s.kernel_drops = impl_->kernel_drops_total.load();
  s.user_drops = impl_->user_drops_total.load();
  return s;
}

void EbpfSource::TakeLosses(std::vector<SourceLoss>* out) {
  if (impl_->taken_losses.empty()) return;
  out->insert(out->end(), impl_->taken_losses.begin(), impl_->taken_losses.end());
  impl_->taken_losses.clear();
}

}  // namespace kestrel::sources
