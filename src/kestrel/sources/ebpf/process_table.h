// ProcessTable: what the eBPF source knows about each live process, so that every event can
// carry its process's identity and its parent's (process.entity_id, process.parent.*), even for
// processes that started before Kestrel.
//
// Entity ids: process.entity_id is a stable id of one process instance, the same for every event
// of that process and different from any other process on any boot: 32 hex digits of XXH3-128
// over (boot id, pid, start time in clock ticks since boot). Clock ticks (USER_HZ, 100/s) are
// what /proc/PID/stat gives, so an id computed from /proc at start and one computed from a
// kernel record (task->start_boottime) agree. Forks and execs keep the id of the process; an
// exec replaces its executable, args and name.
//
// Bounds: at most `max_processes` entries (past it, exited entries go first, then the oldest
// live ones: counted in evicted()); an exited process is kept `exit_grace_ns` of event time so
// late events of its children still find their parent, then Expire() forgets it. An entry holds
// at most Snapshots::kRoles snapshots, each about the size of the entry's own strings (bounded by
// the record's arrays), so the table's memory stays proportional to max_processes.
//
// Thread safety: none (owned by the source's puller thread).
// Tested by process_table_test.cc.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "kestrel/event/event.h"

namespace kestrel::sources::ebpf {

inline constexpr uint64_t kNsPerClockTick = 10'000'000;  // USER_HZ = 100

struct ProcessInfo {
  uint32_t pid = 0;
  uint32_t ppid = 0;
  uint64_t start_ticks = 0;   // clock ticks since boot (/proc/PID/stat field 22)
  int64_t start_wall_ns = 0;  // 0: unknown
  std::string entity_id;
  std::string executable;
  std::string name;
  std::vector<std::string> args;
  std::string command_line;  // args joined by spaces
  std::string working_directory;
  uint32_t uid = 0, gid = 0, euid = 0, egid = 0;
  uint32_t sid = 0, pgid = 0;
  uint32_t tty = 0;          // controlling terminal, major << 20 | minor; 0: none
  int64_t exit_time_ns = 0;  // 0: alive
  uint64_t cap_effective = 0, cap_permitted = 0;  // capability bit masks
  std::vector<std::string> env_vars;  // allow-listed "NAME=value" of the last exec's environment
  std::string ssh_client;             // SSH_CLIENT of that environment ("" when absent)
  // The entry leader (process_identity.h): the process that started this one's session from
  // outside. Inherited at fork; set anew at exec or setsid of a session leader whose parent is
  // an entry point. entry_pid 0: unknown.
  uint32_t entry_pid = 0;
  std::string entry_entity_id;
  std::string entry_type;       // "init", "sshd", "console", "terminal", "container", ...
  std::string entry_source_ip;  // sshd: the client's address (SSH_CLIENT)
  // The decoder's snapshots of this process as a relative of other processes (decoder.h: one
  // shared block of fields per role, parent / session leader / group leader / entry leader),
  // built on first use and shared by the events that name it. A copy (a forked child's entry)
  // starts without them; whoever changes the entry's identity, user, terminal, image or
  // arguments calls ForgetSnapshots() (events already holding a snapshot keep the old one).
  struct Snapshots {
    static constexpr size_t kRoles = 4;
    Snapshots() = default;
    Snapshots(const Snapshots&) {}
    Snapshots& operator=(const Snapshots&) {
      blocks = {};
      return *this;
    }
    Snapshots(Snapshots&&) noexcept = default;
    Snapshots& operator=(Snapshots&&) noexcept = default;
    std::array<std::shared_ptr<const event::Event>, kRoles> blocks;
  };
  mutable Snapshots snapshots;
  void ForgetSnapshots() const { snapshots.blocks = {}; }
};

// Parsed /proc/PID/stat: the fields the table needs. nullopt when the text is malformed.
struct ProcStat {
  uint32_t pid = 0;
  std::string comm;
  uint32_t ppid = 0, pgid = 0, sid = 0;
  uint32_t tty = 0;  // field 7 (tty_nr) as major << 20 | minor; 0: none
  uint64_t start_ticks = 0;
};
std::optional<ProcStat> ParseProcStat(std::string_view text);

// Splits NUL-separated strings (/proc/PID/cmdline, the exec record's argv). A last string
// without its NUL (a truncated argv) is kept.
std::vector<std::string> SplitNulSeparated(std::string_view bytes);

// The arguments joined by single spaces (ECS process.command_line).
std::string JoinCommandLine(const std::vector<std::string>& args);

// "/usr/bin/bash" -> "bash".
std::string_view BaseName(std::string_view path);

class ProcessTable {
 public:
  ProcessTable(std::string boot_id, size_t max_processes = 65'536,
               int64_t exit_grace_ns = int64_t{30} * 1'000'000'000);

  std::string EntityId(uint32_t pid, uint64_t start_ticks) const;

  // Reads every /proc/PID under `proc_root` ("/proc"). `boot_wall_ns` converts start ticks to
  // wall time. Processes that vanish while being read are skipped. Errors: `proc_root` cannot
  // be listed.
  absl::Status LoadFromProc(const std::string& proc_root, int64_t boot_wall_ns);

  // The entry of `pid`, or nullptr.
  const ProcessInfo* Find(uint32_t pid) const;
  ProcessInfo* FindMutable(uint32_t pid);

  // A new process `child` forked by `parent` (copied from the parent's entry when known).
  // Returns the child's entry.
  ProcessInfo& OnFork(uint32_t parent, uint32_t child, uint64_t child_start_ticks,
                      int64_t start_wall_ns);
  // The entry of `pid` after exec: an existing entry keeps its identity; a new one is made when
  // the process was not known (or was a reused pid: another start time).
  ProcessInfo& OnExec(uint32_t pid, uint64_t start_ticks);
  // The entry of `pid`, made from what a record's header says when unknown.
  ProcessInfo& Touch(uint32_t pid, uint64_t start_ticks);
  void OnExit(uint32_t pid, int64_t time_ns);

  // Sets p's entry leader (see ProcessInfo::entry_pid): itself when it is pid 1, a kernel
  // thread, or a session leader whose parent is an entry point; else its parent's.
  void AssignEntryLeader(ProcessInfo& p) const;

  // Which environment variables LoadFromProc keeps (FilterEnv, process_identity.h).
  void SetEnvAllowList(std::vector<std::string> names, size_t value_max) {
    env_allow_ = std::move(names);
    env_value_max_ = value_max;
  }
  const std::vector<std::string>& env_allow() const { return env_allow_; }
  size_t env_value_max() const { return env_value_max_; }

  // Pids read by the last LoadFromProc, in start order (already_running events).
  const std::vector<uint32_t>& loaded_from_proc() const { return loaded_; }

  // Forgets processes that exited more than the grace period before `now_ns`.
  void Expire(int64_t now_ns);

  size_t size() const { return processes_.size(); }
  uint64_t evicted() const { return evicted_; }
  const std::string& boot_id() const { return boot_id_; }

 private:
  ProcessInfo& Insert(uint32_t pid, uint64_t start_ticks);
  void MakeRoom();

  // Constant after construction.
  std::string boot_id_;
  size_t max_processes_;
  int64_t exit_grace_ns_;

  std::vector<std::string> env_allow_;
  size_t env_value_max_ = 256;
  std::vector<uint32_t> loaded_;

  absl::flat_hash_map<uint32_t, ProcessInfo> processes_;
  std::vector<std::pair<int64_t, uint32_t>> exited_;  // (exit time, pid), in exit order
  uint64_t evicted_ = 0;
};

}  // namespace kestrel::sources::ebpf
