#include "kestrel/cli/doctor_command.h"

#include <fcntl.h>
#include <sys/fanotify.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#ifdef KESTREL_HAVE_EBPF
#include "kestrel/actions/blocking/lsm_guard.h"
#include "kestrel/base/status.h"
#include "kestrel/sources/ebpf/feature_probe.h"
#endif

namespace kestrel::cli {
namespace {

bool Readable(const char* path) { return ::access(path, R_OK) == 0; }

[[maybe_unused]] std::string ReadFirstLine(const char* path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

// Effective capability bits of this process (/proc/self/status CapEff).
uint64_t EffectiveCaps() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) == 0) return std::stoull(line.substr(7), nullptr, 16);
  }
  return 0;
}

#ifdef KESTREL_HAVE_EBPF
// A program type's line: it loads, the kernel does not support it, or the probe failed.
Probe ProgType(const char* name, const sources::BpfFeature& f, const char* use) {
  if (f.supported) return {name, true, fmt::format("loads ({})", use)};
  return {name, false,
          f.error == 0
              ? fmt::format("not supported by this kernel ({} unavailable)", use)
              : fmt::format("probe failed: {} ({} unavailable)", std::strerror(f.error), use)};
}
#endif

}  // namespace

std::vector<Probe> RunProbes() {
  std::vector<Probe> out;
  utsname u{};
  ::uname(&u);
  out.push_back({"kernel", true, fmt::format("{} {} ({})", u.sysname, u.release, u.machine)});

  uint64_t caps = EffectiveCaps();
  bool root = ::geteuid() == 0;
  bool cap_bpf = (caps >> 39) & 1, cap_perfmon = (caps >> 38) & 1, cap_admin = (caps >> 21) & 1;
  out.push_back(
      {"privileges", root || (cap_bpf && cap_perfmon && cap_admin),
       fmt::format("euid {}; CAP_BPF {}, CAP_PERFMON {}, CAP_SYS_ADMIN {}", ::geteuid(),
                   cap_bpf ? "yes" : "no", cap_perfmon ? "yes" : "no", cap_admin ? "yes" : "no")});
  bool btf = Readable("/sys/kernel/btf/vmlinux");
  out.push_back({"kernel BTF", btf,
                 btf ? "/sys/kernel/btf/vmlinux (CO-RE programs can load)"
                     : "no /sys/kernel/btf/vmlinux: the kernel lacks CONFIG_DEBUG_INFO_BTF"});
  long r = ::syscall(__NR_bpf, 5 /* BPF_PROG_LOAD */, nullptr, 0);
  int err = errno;
  bool bpf_ok = !(r < 0 && (err == ENOSYS || err == EPERM));
  out.push_back({"bpf() system call", bpf_ok,
                 r < 0 && err == ENOSYS  ? "absent (CONFIG_BPF_SYSCALL off)"
                 : r < 0 && err == EPERM ? "forbidden (no privilege, or a seccomp/container policy)"
                                         : "available"});
#ifdef KESTREL_HAVE_EBPF
  if (bpf_ok && (root || cap_bpf)) {
    sources::BpfFeatures bpf = sources::ProbeBpfFeatures();
    out.push_back(ProgType("raw tracepoints", bpf.raw_tracepoint,
                           "process exec/fork/exit and syscall hooks"));
    bool rb = bpf.ring_buffer.supported;
    out.push_back({"BPF ring buffer", rb,
                   rb ? "available (one ring buffer carries every event)"
                      : "unavailable: kernel older than 5.8"});
    bool sig = bpf.send_signal_in_raw_tp.supported;
    out.push_back({"bpf_send_signal", sig,
                   sig ? "available (kill a process from its exec hook)"
                       : "unavailable: no kill-on-exec blocking"});
    out.push_back(
        ProgType("cgroup socket hooks", bpf.cgroup_sock_addr, "denying connect() per cgroup"));
  } else {
    out.push_back({"BPF program types", false, "not probed: needs root and the bpf() call"});
  }
#else
  out.push_back(
      {"BPF program types", false, "not probed: this build has no eBPF (KESTREL_EBPF=OFF)"});
#endif
  bool kprobe_pmu = std::filesystem::exists("/sys/bus/event_source/devices/kprobe");
  out.push_back(
      {"kprobes", kprobe_pmu,
       kprobe_pmu ? "kprobe PMU present" : "no kprobe PMU (CONFIG_KPROBES off): not used"});
#ifdef KESTREL_HAVE_EBPF
  // Loads and attaches the real programs (then detaches them): the LSM list alone does not say
  // whether this kernel runs them (this kind of machine lists bpf and refuses them, EPERM).
  absl::Status lsm_probe = actions::blocking::ProbeBpfLsm();
  out.push_back({"BPF LSM", lsm_probe.ok(),
                 lsm_probe.ok()
                     ? fmt::format("programs load and attach (active LSMs: {}): exact-path block "
                                   "rules are denied in the kernel",
                                   actions::blocking::ActiveLsmList())
                     : fmt::format("{} — blocking uses fanotify", base::Message(lsm_probe))});
#else
  std::string lsm = ReadFirstLine("/sys/kernel/security/lsm");
  out.push_back({"BPF LSM", false,
                 fmt::format("not probed: this build has no eBPF (KESTREL_EBPF=OFF); active LSMs "
                             "'{}'",
                             lsm.empty() ? "unreadable" : lsm)});
#endif
  bool tracefs = std::filesystem::exists("/sys/kernel/tracing/events");
  out.push_back({"tracefs", tracefs,
                 tracefs
                     ? "mounted at /sys/kernel/tracing"
                     : "not mounted: classic tracepoints unavailable (raw tracepoints are used)"});
  int fan = ::fanotify_init(FAN_CLASS_CONTENT | FAN_CLOEXEC, O_RDONLY);
  if (fan >= 0) {
    // A mark on a file of our own: permission events for exec are accepted by this kernel.
    char tmpl[] = "/tmp/kestrel-doctor.XXXXXX";
    int tmp = ::mkstemp(tmpl);
    int m = tmp >= 0 ? ::fanotify_mark(fan, FAN_MARK_ADD, FAN_OPEN_EXEC_PERM, AT_FDCWD, tmpl) : -1;
    int mark_err = errno;
    if (tmp >= 0) {
      ::close(tmp);
      ::unlink(tmpl);
    }
    ::close(fan);
    out.push_back(
        {"fanotify permission events", m == 0,
         m == 0 ? "available (exec and open can be denied)"
                : fmt::format("exec permission events refused: {}", std::strerror(mark_err))});
  } else {
    out.push_back({"fanotify permission events", false,
                   fmt::format("fanotify_init: {}", std::strerror(errno))});
  }
  bool cgroup2 = std::filesystem::exists("/sys/fs/cgroup/cgroup.controllers") ||
                 std::filesystem::exists("/sys/fs/cgroup/unified/cgroup.controllers");
  out.push_back({"cgroup v2", cgroup2, cgroup2 ? "mounted" : "not mounted"});
  return out;
}

int DoctorCommand() {
  std::vector<Probe> probes = RunProbes();
  auto ok = [&](const char* name) {
    for (const Probe& p : probes) {
      if (p.name == name) return p.ok;
    }
    return false;
  };
  for (const Probe& p : probes) {
    fmt::print("{:<4} {:<28} {}\n", p.ok ? "ok" : "no", p.name, p.detail);
  }
  bool live = ok("privileges") && ok("kernel BTF") && ok("bpf() system call") &&
              ok("raw tracepoints") && ok("BPF ring buffer");
  fmt::print("\nWhat Kestrel can do here:\n");
  fmt::print("  live collection (kestrel run):   {}\n",
             live ? "yes (eBPF raw tracepoints + ring buffer)"
                  : "no; use --source ndjson:FILE or kestrel replay LOG");
  fmt::print("  deny exec/open (fanotify):       {}\n",
             ok("fanotify permission events") ? "yes" : "no");
  fmt::print("  deny exec/open in the kernel:    {}\n",
             ok("BPF LSM") ? "yes (BPF LSM, exact-path block rules)" : "no (see BPF LSM above)");
  fmt::print("  kill at exec (bpf_send_signal):  {}\n", ok("bpf_send_signal") ? "yes" : "no");
  fmt::print("  replay, rules, offline analysis: yes\n");
  return 0;
}

}  // namespace kestrel::cli
