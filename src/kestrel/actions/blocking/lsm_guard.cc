// LsmGuard; see lsm_guard.h.
#include "kestrel/actions/blocking/lsm_guard.h"

#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include <fmt/format.h>

#include "kestrel/base/status.h"
#include "kestrel/sources/ebpf/file_key.h"

namespace kestrel::actions::blocking {
namespace {

using sources::LsmTable;

// A file as the kernel names it (kestrel_lsm_key), ordered for the tables.
struct FileKey {
  uint32_t dev = 0;
  uint64_t ino = 0;
  auto operator<=>(const FileKey&) const = default;
};

struct Entry {
  std::string path;
  uint32_t rule = 0;
};

using Table = std::map<FileKey, Entry>;

kestrel_lsm_key ToKernel(const FileKey& k) { return kestrel_lsm_key{k.ino, k.dev, 0}; }

int64_t ClockNs(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

// Resolves each file to the key the kernel's programs compute (file_key.h). The ones that
// cannot be resolved are appended to *unarmed. A file named twice keeps its first rule.
Table Resolve(const std::vector<RulePath>& files, std::vector<UnarmedPath>* unarmed) {
  Table table;
  sources::KernelFileKeys keys;
  for (const RulePath& file : files) {
    absl::StatusOr<sources::KernelFileKey> key = keys.Of(file.path);
    if (!key.ok()) {
      unarmed->push_back(UnarmedPath{file, std::string(base::Message(key.status()))});
      continue;
    }
    table.emplace(FileKey{key->dev, key->ino}, Entry{file.path, static_cast<uint32_t>(file.rule)});
  }
  return table;
}

constexpr std::string_view kLsmNames[] = {
    "capability", "selinux",  "smack", "tomoyo",   "apparmor", "yama", "loadpin",
    "safesetid",  "lockdown", "bpf",   "landlock", "ima",      "evm",  "ipe"};  // ids 100...

bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    if (list.substr(0, comma) == token) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::string ActiveLsmList() {
  std::ifstream in("/sys/kernel/security/lsm");
  std::string line;
  if (in && std::getline(in, line) && !line.empty()) return line;
  // securityfs not mounted: lsm_list_modules(2) (Linux 6.8; x86_64 and the generic table: 461).
  uint64_t ids[32];
  uint32_t size = sizeof ids;
  long n = ::syscall(461, ids, &size, 0);
  if (n <= 0) return "";
  std::string out;
  for (long i = 0; i < n && i < 32; ++i) {
    if (!out.empty()) out += ',';
    uint64_t id = ids[i];
    out += id >= 100 && id - 100 < std::size(kLsmNames) ? std::string(kLsmNames[id - 100])
                                                        : fmt::format("lsm#{}", id);
  }
  return out;
}

absl::Status ProbeBpfLsm() {
  std::string lsm = ActiveLsmList();
  bool listed = HasToken(lsm, "bpf");
  if (!lsm.empty() && !listed) {
    return absl::FailedPreconditionError(fmt::format(
        "bpf not in the active LSM list '{}': BPF LSM programs would never run (the kernel must "
        "boot with bpf in lsm=)",
        lsm));
  }
  std::string context = ::geteuid() != 0 ? "needs root (CAP_BPF, CAP_PERFMON and CAP_MAC_ADMIN)"
                        : lsm.empty()
                            ? "the active LSM list is unreadable"
                            : fmt::format(
                                  "bpf is in the active LSM list '{}', but this kernel refuses "
                                  "BPF LSM programs",
                                  lsm);
  auto with_context = [&](const absl::Status& s) {
    std::string_view message = base::Message(s);
    size_t eol = std::min(message.find('\n'), message.size());
    return absl::FailedPreconditionError(
        fmt::format("{} ({}){}", message.substr(0, eol), context, message.substr(eol)));
  };
  auto program = sources::LsmProgram::Load();
  if (!program.ok()) return with_context(program.status());
  if (absl::Status s = (*program)->Attach(); !s.ok()) return with_context(s);
  (*program)->Detach();
  return absl::OkStatus();
}

struct LsmGuard::Impl {
  // Constant after Start.
  std::unique_ptr<sources::LsmMaps> kernel;
  std::unique_ptr<GuardEvaluator> describer;  // builds the evidence events; drain thread only
  ReportFn report;
  int poll_ms = 10;
  int64_t boot_wall_ns = 0;  // CLOCK_REALTIME - CLOCK_BOOTTIME
  LsmCounters* counters = nullptr;

  // Written by Start/Rearm, read by the drain thread.
  std::mutex tables_mu;
  Table current[2];   // guarded by tables_mu; [LsmTable]
  Table previous[2];  // guarded by tables_mu; the set before the last Rearm (late decisions)

  std::mutex stop_mu;
  std::condition_variable stop_cv;
  bool stop = false;  // guarded by stop_mu
  std::thread thread;
  bool stopped = false;  // Stop() ran (owner thread)

  void Loop() {
    std::unique_lock<std::mutex> lock(stop_mu);
    while (!stop) {
      lock.unlock();
      DrainOnce();
      lock.lock();
      stop_cv.wait_for(lock, std::chrono::milliseconds(poll_ms), [this] { return stop; });
    }
    lock.unlock();
    DrainOnce();
  }

  void DrainOnce() {
    kernel->Drain([this](const kestrel_lsm_decision& d) { Report(d); });
    counters->lost.store(kernel->Lost(), std::memory_order_relaxed);
  }

  void Report(const kestrel_lsm_decision& d) {
    bool open = d.hook == KESTREL_LSM_OPEN;
    size_t t = static_cast<size_t>(open ? LsmTable::kOpen : LsmTable::kExec);
    Verdict v;
    {
      std::lock_guard<std::mutex> lock(tables_mu);
      FileKey key{d.dev, d.ino};
      auto it = current[t].find(key);
      if (it != current[t].end()) {
        v.path = it->second.path;
      } else if (auto old = previous[t].find(key); old != previous[t].end()) {
        v.path = old->second.path;
      }
    }
    v.action = d.denied ? VerdictAction::kDeny : VerdictAction::kWouldDeny;
    (d.denied ? counters->denied : counters->would_deny).fetch_add(1, std::memory_order_relaxed);
    // An executable mapping (the loader bypass) stands for an exec of the file.
    v.kind = open ? AccessKind::kOpen : AccessKind::kExec;
    v.pid = static_cast<int32_t>(d.tgid);
    v.time_ns = static_cast<int64_t>(d.boot_ns) + boot_wall_ns;
    AccessRequest request;
    request.kind = v.kind;
    request.pid = v.pid;
    request.path = v.path;
    request.time_ns = v.time_ns;
    std::string opener;
    if (open) {
      char link[64], exe[4096];
      std::snprintf(link, sizeof link, "/proc/%d/exe", v.pid);
      ssize_t n = ::readlink(link, exe, sizeof exe);
      if (n > 0) opener.assign(exe, static_cast<size_t>(n));
    }
    auto event = std::make_shared<event::Event>();
    describer->BuildEvent(request, opener, event.get());
    GuardMatch match;
    match.rule_id = d.rule;
    match.events.push_back(std::move(event));
    v.match = std::move(match);
    report(v);
  }
};

LsmGuard::LsmGuard(EnforceMode mode) : mode_(mode), impl_(std::make_unique<Impl>()) {}

LsmGuard::~LsmGuard() { Stop(); }

absl::StatusOr<std::unique_ptr<LsmGuard>> LsmGuard::Start(schema::Schema& schema, EnforceMode mode,
                                                          std::vector<RulePath> exec,
                                                          std::vector<RulePath> open,
                                                          std::vector<int32_t> allow_pids,
                                                          ReportFn report) {
  auto program = sources::LsmProgram::Load();
  if (!program.ok()) return program.status();
  return StartWith(std::move(*program), schema, mode, std::move(exec), std::move(open),
                   std::move(allow_pids), std::move(report));
}

absl::StatusOr<std::unique_ptr<LsmGuard>> LsmGuard::StartWith(
    std::unique_ptr<sources::LsmMaps> kernel, schema::Schema& schema, EnforceMode mode,
    std::vector<RulePath> exec, std::vector<RulePath> open, std::vector<int32_t> allow_pids,
    ReportFn report, int poll_interval_ms) {
  if (mode == EnforceMode::kOff) {
    return absl::InvalidArgumentError("the BPF LSM guard needs mode dry-run or on");
  }
  engine::EngineLimits limits;
  limits.streaming = true;
  auto describer = GuardEvaluator::Create(schema, {}, limits);
  if (!describer.ok()) return describer.status();
  std::unique_ptr<LsmGuard> guard(new LsmGuard(mode));
  Impl& m = *guard->impl_;
  m.kernel = std::move(kernel);
  m.describer = std::move(*describer);
  m.report = std::move(report);
  m.poll_ms = std::max(1, poll_interval_ms);
  m.boot_wall_ns = ClockNs(CLOCK_REALTIME) - ClockNs(CLOCK_BOOTTIME);
  m.counters = &guard->counters_;
  // Kestrel itself and PID 1 always; then the caller's (its ancestors).
  allow_pids.push_back(static_cast<int32_t>(::getpid()));
  allow_pids.push_back(1);
  std::sort(allow_pids.begin(), allow_pids.end());
  allow_pids.erase(std::unique(allow_pids.begin(), allow_pids.end()), allow_pids.end());
  for (int32_t pid : allow_pids) {
    if (pid <= 0) continue;
    if (absl::Status s = m.kernel->AllowTgid(static_cast<uint32_t>(pid)); !s.ok()) return s;
  }
  if (absl::Status s = m.kernel->SetEnforce(mode == EnforceMode::kOn); !s.ok()) return s;
  if (absl::Status s = guard->Rearm(std::move(exec), std::move(open)); !s.ok()) return s;
  if (absl::Status s = m.kernel->Attach(); !s.ok()) return s;
  Impl* p = guard->impl_.get();
  m.thread = std::thread([p] { p->Loop(); });
  return guard;
}

absl::Status LsmGuard::Rearm(std::vector<RulePath> exec, std::vector<RulePath> open) {
  Impl& m = *impl_;
  std::vector<UnarmedPath> unarmed;
  Table next[2] = {Resolve(exec, &unarmed), Resolve(open, &unarmed)};
  for (size_t t = 0; t < 2; ++t) {
    auto table = static_cast<LsmTable>(t);
    for (auto it = next[t].begin(); it != next[t].end();) {
      absl::Status s = m.kernel->Put(table, ToKernel(it->first), it->second.rule);
      if (s.ok()) {
        ++it;
        continue;
      }
      if (!absl::IsResourceExhausted(s)) return s;
      unarmed.push_back(
          UnarmedPath{RulePath{it->second.path, it->second.rule}, std::string(base::Message(s))});
      it = next[t].erase(it);
    }
    for (const auto& [key, entry] : m.current[t]) {
      if (next[t].contains(key)) continue;
      if (absl::Status s = m.kernel->Remove(table, ToKernel(key)); !s.ok()) return s;
    }
  }
  {
    std::lock_guard<std::mutex> lock(m.tables_mu);
    for (size_t t = 0; t < 2; ++t) {
      m.previous[t] = std::move(m.current[t]);
      m.current[t] = std::move(next[t]);
    }
    counters_.armed_exec.store(m.current[0].size(), std::memory_order_relaxed);
    counters_.armed_open.store(m.current[1].size(), std::memory_order_relaxed);
  }
  unarmed_ = std::move(unarmed);
  return absl::OkStatus();
}

std::vector<size_t> LsmGuard::UnarmedRules() const {
  std::vector<size_t> rules;
  for (const UnarmedPath& u : unarmed_) rules.push_back(u.file.rule);
  std::sort(rules.begin(), rules.end());
  rules.erase(std::unique(rules.begin(), rules.end()), rules.end());
  return rules;
}

void LsmGuard::Stop() {
  Impl& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  if (m.kernel) m.kernel->Detach();
  if (m.thread.joinable()) {
    {
      std::lock_guard<std::mutex> lock(m.stop_mu);
      m.stop = true;
    }
    m.stop_cv.notify_all();
    m.thread.join();  // the loop drains once more after the stop
  }
}

}  // namespace kestrel::actions::blocking
