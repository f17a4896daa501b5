// ProcessTable; see process_table.h. Lookups and updates are O(1) hash operations; Expire() is
// amortised O(1) per exited process (a FIFO of exits in event-time order).
// Tested by process_table_test.cc.
#include "kestrel/sources/ebpf/process_table.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include <charconv>
#include <fstream>
#include <iterator>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "kestrel/base/fingerprint.h"
#include "kestrel/sources/ebpf/process_identity.h"

namespace kestrel::sources::ebpf {
namespace {

constexpr size_t kEnvironMax = 64 * 1024;  // bytes of /proc/PID/environ read

// At most `max` bytes of `path` (a longer file is cut).
std::optional<std::string> ReadFile(const std::string& path, size_t max = size_t{1} << 20) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string text(max, '\0');
  in.read(text.data(), static_cast<std::streamsize>(max));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

template <typename T>
bool ParseNumber(std::string_view s, T* out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  // "pid (comm) state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime
  //  stime cutime cstime priority nice num_threads itrealvalue starttime ..."; comm may hold
  // spaces and parentheses, so it ends at the last ')'.
  size_t open = text.find('(');
  size_t close = text.rfind(')');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) {
    return std::nullopt;
  }
  ProcStat st;
  std::string_view pid_text = text.substr(0, open);
  while (!pid_text.empty() && pid_text.back() == ' ') pid_text.remove_suffix(1);
  if (!ParseNumber(pid_text, &st.pid)) return std::nullopt;
  st.comm = std::string(text.substr(open + 1, close - open - 1));
  std::vector<std::string_view> fields;  // from field 3 (state) on
  std::string_view rest = text.substr(close + 1);
  size_t i = 0;
  while (i < rest.size() && fields.size() < 20) {
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\n')) ++i;
    size_t j = i;
    while (j < rest.size() && rest[j] != ' ' && rest[j] != '\n') ++j;
    if (j > i) fields.push_back(rest.substr(i, j - i));
    i = j;
  }
  // fields[0] is field 3 (state): ppid is field 4, pgrp 5, session 6, starttime 22.
  if (fields.size() < 20) return std::nullopt;
  if (!ParseNumber(fields[1], &st.ppid) || !ParseNumber(fields[2], &st.pgid) ||
      !ParseNumber(fields[3], &st.sid) || !ParseNumber(fields[19], &st.start_ticks)) {
    return std::nullopt;
  }
  // tty_nr: minor bits 0-7 and 20-31, major bits 8-19 (the kernel's new_encode_dev).
  int64_t tty_nr = 0;
  if (ParseNumber(fields[4], &tty_nr) && tty_nr > 0) {
    uint32_t nr = static_cast<uint32_t>(tty_nr);
    uint32_t major = (nr >> 8) & 0xfff, minor = (nr & 0xff) | ((nr >> 12) & 0xfff00);
    st.tty = (major << 20) | minor;
  }
  return st;
}

std::vector<std::string> SplitNulSeparated(std::string_view bytes) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < bytes.size()) {
    size_t end = bytes.find('\0', i);
    if (end == std::string_view::npos) end = bytes.size();
    out.emplace_back(bytes.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

std::string JoinCommandLine(const std::vector<std::string>& args) {
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    if (i > 0) out.push_back(' ');
    out += args[i];
  }
  return out;
}

std::string_view BaseName(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

ProcessTable::ProcessTable(std::string boot_id, size_t max_processes, int64_t exit_grace_ns)
    : boot_id_(std::move(boot_id)),
      max_processes_(max_processes == 0 ? 1 : max_processes),
      exit_grace_ns_(exit_grace_ns) {}

std::string ProcessTable::EntityId(uint32_t pid, uint64_t start_ticks) const {
  base::Fingerprint fp;
  fp.Add(boot_id_).Add(uint64_t{pid}).Add(start_ticks);
  return fp.Hex();
}

absl::Status ProcessTable::LoadFromProc(const std::string& proc_root, int64_t boot_wall_ns) {
  DIR* dir = opendir(proc_root.c_str());
  if (dir == nullptr) {
    return absl::UnavailableError("cannot list " + proc_root + ": " +
                                  std::error_code(errno, std::generic_category()).message());
  }
  while (struct dirent* ent = readdir(dir)) {
    uint32_t pid = 0;
    if (!ParseNumber(std::string_view(ent->d_name), &pid)) continue;
    std::string base = proc_root + "/" + ent->d_name;
    auto stat_text = ReadFile(base + "/stat");
    if (!stat_text) continue;
    auto st = ParseProcStat(*stat_text);
    if (!st) continue;
    ProcessInfo& p = Insert(pid, st->start_ticks);
    p.ppid = st->ppid;
    p.pgid = st->pgid;
    p.sid = st->sid;
    p.tty = st->tty;
    p.start_wall_ns = boot_wall_ns + static_cast<int64_t>(st->start_ticks * kNsPerClockTick);
    std::error_code ec;
    char link[4096];
    ssize_t n = readlink((base + "/exe").c_str(), link, sizeof(link));
    if (n > 0) p.executable.assign(link, static_cast<size_t>(n));
    if (p.executable.size() > 10 && p.executable.ends_with(" (deleted)")) {
      p.executable.resize(p.executable.size() - 10);
    }
    if (p.executable.starts_with("/memfd:")) p.executable.erase(0, 1);  // the kernel's name
    n = readlink((base + "/cwd").c_str(), link, sizeof(link));
    if (n > 0) p.working_directory.assign(link, static_cast<size_t>(n));
    if (auto cmdline = ReadFile(base + "/cmdline")) p.args = SplitNulSeparated(*cmdline);
    p.command_line = JoinCommandLine(p.args);
    p.name = p.executable.empty() ? st->comm : std::string(BaseName(p.executable));
    if (auto status = ReadFile(base + "/status")) {
      std::istringstream lines(*status);
      std::string line;
      while (std::getline(lines, line)) {
        unsigned real = 0, eff = 0;
        if (sscanf(line.c_str(), "Uid: %u %u", &real, &eff) == 2) {
          p.uid = real;
          p.euid = eff;
        } else if (sscanf(line.c_str(), "Gid: %u %u", &real, &eff) == 2) {
          p.gid = real;
          p.egid = eff;
        } else {
          unsigned long long mask = 0;
          if (sscanf(line.c_str(), "CapEff: %llx", &mask) == 1) p.cap_effective = mask;
          if (sscanf(line.c_str(), "CapPrm: %llx", &mask) == 1) p.cap_permitted = mask;
        }
      }
    }
    if (auto env = ReadFile(base + "/environ", kEnvironMax)) {
      p.env_vars = FilterEnv(*env, env_allow_, env_value_max_, &p.ssh_client);
    }
    loaded_.push_back(pid);
  }
  closedir(dir);
  // Entry leaders: parents before children (start order), so a child inherits a settled one.
  std::sort(loaded_.begin(), loaded_.end(), [&](uint32_t a, uint32_t b) {
    const ProcessInfo* pa = Find(a);
    const ProcessInfo* pb = Find(b);
    uint64_t ta = pa ? pa->start_ticks : 0, tb = pb ? pb->start_ticks : 0;
    return ta != tb ? ta < tb : a < b;
  });
  for (uint32_t pid : loaded_) {
    if (ProcessInfo* p = FindMutable(pid)) AssignEntryLeader(*p);
  }
  return absl::OkStatus();
}

void ProcessTable::AssignEntryLeader(ProcessInfo& p) const {
  auto self = [&](std::string_view type) {
    p.entry_pid = p.pid;
    p.entry_entity_id = p.entity_id;
    p.entry_type = std::string(type);
    p.entry_source_ip.clear();
    if (type == "sshd") p.entry_source_ip = std::string(SshClientAddress(p.ssh_client));
  };
  if (p.pid == 1) return self("init");
  if (p.pid == 2 || p.ppid == 2) return self("kthread");
  const ProcessInfo* parent = p.ppid != p.pid ? Find(p.ppid) : nullptr;
  if (p.sid == p.pid) {
    std::string_view type =
        EntryTypeForParent(p.ppid, parent != nullptr ? std::string_view(parent->name) : "");
    if (!type.empty()) return self(type);
  }
  if (!p.entry_entity_id.empty()) return;  // inherited at fork
  if (parent != nullptr && !parent->entry_entity_id.empty()) {
    p.entry_pid = parent->entry_pid;
    p.entry_entity_id = parent->entry_entity_id;
    p.entry_type = parent->entry_type;
    p.entry_source_ip = parent->entry_source_ip;
    return;
  }
  self("unknown");
}

const ProcessInfo* ProcessTable::Find(uint32_t pid) const {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

ProcessInfo* ProcessTable::FindMutable(uint32_t pid) {
  auto it = processes_.find(pid);
  return it == processes_.end() ? nullptr : &it->second;
}

ProcessInfo& ProcessTable::Insert(uint32_t pid, uint64_t start_ticks) {
  auto it = processes_.find(pid);
  if (it == processes_.end()) {
    if (processes_.size() >= max_processes_) MakeRoom();
    it = processes_.emplace(pid, ProcessInfo{}).first;
  } else {
    it->second = ProcessInfo{};
  }
  ProcessInfo& p = it->second;
  p.pid = pid;
  p.start_ticks = start_ticks;
  p.entity_id = EntityId(pid, start_ticks);
  return p;
}

void ProcessTable::MakeRoom() {
  // Exited processes first (oldest exit first), else the live process with the oldest start.
  while (!exited_.empty()) {
    auto [t, pid] = exited_.front();
    exited_.erase(exited_.begin());
    auto it = processes_.find(pid);
    if (it != processes_.end() && it->second.exit_time_ns == t) {
      processes_.erase(it);
      ++evicted_;
      return;
    }
  }
  auto oldest = processes_.begin();
  for (auto it = processes_.begin(); it != processes_.end(); ++it) {
    if (it->second.start_ticks < oldest->second.start_ticks) oldest = it;
  }
  if (oldest != processes_.end()) {
    processes_.erase(oldest);
    ++evicted_;
  }
}

ProcessInfo& ProcessTable::OnFork(uint32_t parent, uint32_t child, uint64_t child_start_ticks,
                                  int64_t start_wall_ns) {
  const ProcessInfo* pp = Find(parent);
  ProcessInfo copy;
  if (pp != nullptr) copy = *pp;
  ProcessInfo& c = Insert(child, child_start_ticks);
  std::string entity_id = std::move(c.entity_id);
  if (pp != nullptr) c = std::move(copy);
  c.pid = child;
  c.ppid = parent;
  c.start_ticks = child_start_ticks;
  c.entity_id = std::move(entity_id);
  c.start_wall_ns = start_wall_ns;
  c.exit_time_ns = 0;
  return c;
}

ProcessInfo& ProcessTable::OnExec(uint32_t pid, uint64_t start_ticks) {
  return Touch(pid, start_ticks);
}

ProcessInfo& ProcessTable::Touch(uint32_t pid, uint64_t start_ticks) {
  if (ProcessInfo* p = FindMutable(pid); p != nullptr && p->start_ticks == start_ticks) return *p;
  return Insert(pid, start_ticks);
}

void ProcessTable::OnExit(uint32_t pid, int64_t time_ns) {
  ProcessInfo* p = FindMutable(pid);
  if (p == nullptr) return;
  p->exit_time_ns = time_ns == 0 ? 1 : time_ns;
  exited_.emplace_back(p->exit_time_ns, pid);
}

void ProcessTable::Expire(int64_t now_ns) {
  size_t n = 0;
  while (n < exited_.size() && exited_[n].first + exit_grace_ns_ < now_ns) {
    auto it = processes_.find(exited_[n].second);
    if (it != processes_.end() && it->second.exit_time_ns == exited_[n].first) {
      processes_.erase(it);
    }
    ++n;
  }
  if (n > 0) exited_.erase(exited_.begin(), exited_.begin() + static_cast<ptrdiff_t>(n));
}

}  // namespace kestrel::sources::ebpf
