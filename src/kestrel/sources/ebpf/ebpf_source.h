// EbpfSource: live events of this machine from the kernel (bpf/kestrel.bpf.c), decoded into ECS
// events with a process table (decoder.h, process_table.h). docs/collection.md is the contract.
//
// Start-up: Open() checks what the kernel offers (root, BTF at /sys/kernel/btf/vmlinux, the
// bpf() syscall), loads the programs, attaching the sched tracepoints as tp_btf when the kernel
// allows and as raw_tp otherwise (mechanism() says which), attaches raw_tp sys_enter/sys_exit,
// then fills the process table from /proc, so that processes started before Kestrel have
// parents and entity ids. Errors say what is missing and how to read from a file instead.
//
// Threads: a reader thread drains the ring buffer every `poll_interval_ms`, 1 ms when busy (records
// are submitted without wake-ups: waking the reader per record costs 30-100 µs) into a bounded
// queue of raw records; Next(), on the caller's thread, takes them in batches and decodes them.
// Next() waits for records while running and returns false once Stop() was called (or the stop
// flag set) and the queue is empty.
//
// Loss: reservations that fail in the kernel (ring buffer full) are counted per CPU by the
// programs and read after each drain; records that do not fit the queue are dropped and
// counted. Each loss is reported once through TakeLosses() with the span of event time it
// falls in, and summed in stats().kernel_drops / user_drops.
//
// Thread safety: Next(), stats(), TakeLosses() from one thread; Stop() from any thread or a
// signal handler through the `stop` flag.
// Tested by ebpf_source_test.cc (as root).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/ebpf/host_identity.h"
#include "kestrel/sources/source.h"

namespace kestrel::sources {

struct EbpfOptions {
  std::vector<std::string> ignore_comms;  // process names (comm, 15 bytes) filtered in the kernel
  // File events under these path prefixes are dropped (in user space; for prefixes naming a
  // directory, also in the kernel for paths walked from dentries: docs/collection.md).
  std::vector<std::string> ignore_paths;
  // Leaf names whose read-only opens are reported (all opens for writing are).
  std::vector<std::string> sensitive_names = {
      "passwd", "shadow", "gshadow", "sudoers", "authorized_keys", "id_rsa", "id_ecdsa",
      "id_ed25519", "id_dsa", "known_hosts", ".bash_history", "master.passwd", "krb5.keytab",
      "credentials", "config.json", "kubeconfig", "admin.conf",
      // Browser credential and cookie stores (Firefox, Chromium): the default rule pack's
      // browser_credential_store_access rule needs their reads.
      "logins.json", "key4.db", "key3.db", "signons.sqlite", "cookies.sqlite", "Login Data",
      "Cookies", "Web Data", "id_ecdsa_sk", "id_ed25519_sk", ".zsh_history"};
  // process.env_vars: the environment variables kept from each exec (values cut to
  // env_value_max bytes); empty: the kernel reads no environment at all.
  std::vector<std::string> env_vars = {"LD_PRELOAD",     "LD_LIBRARY_PATH", "HISTFILE",
                                       "HISTSIZE",       "HISTFILESIZE",    "GLIBC_TUNABLES",
                                       "PROMPT_COMMAND", "SSH_CLIENT"};
  size_t env_value_max = 256;
  // One `already_running` event per process found in /proc at start (Elastic Defend's).
  bool already_running_events = true;
  // `iam` events from changes of HOST_ROOT/etc/passwd and /etc/group (ebpf/account_events.h);
  // false: none (the files are not read).
  bool account_events = true;
  // auditd-compatible syscall events (ebpf/auditd_compat.h: prctl PR_SET_NAME, real-time
  // signals, mprotect W+X, open with mode 0666, module loads) beside the Defend-shaped ones.
  bool auditd_compat = true;
  bool try_tp_btf = true;     // false: attach the sched programs as raw_tp without trying tp_btf
  int poll_interval_ms = 25;  // 1 ms after a drain of more than 1,024 records
  size_t max_queue_bytes = size_t{64} << 20;
  size_t max_processes = 65'536;
  std::string proc_root = "/proc";
  // host.* and agent.* of every event (ebpf/host_identity.h): read from `host_root` at Open(),
  // refreshed every kHostRefreshIntervalNs of event time, with the config's overrides.
  std::string host_root = "/";
  ebpf::HostOverrides host;
  std::string agent_version;
  const std::atomic<bool>* stop = nullptr;  // optional: set to end the stream
};

// What the running kernel and process allow. Empty when all is there; else one line per
// missing piece, each saying what to do.
std::vector<std::string> EbpfMissingRequirements();

class EbpfSource final : public Source {
 public:
  // Errors: FAILED_PRECONDITION when a requirement is missing (the message lists them),
  // INTERNAL when loading or attaching fails.
  static absl::StatusOr<std::unique_ptr<EbpfSource>> Open(schema::Schema* schema,
                                                          EbpfOptions options,
                                                          DiagnosticSink diagnostics);
  ~EbpfSource() override;

  absl::StatusOr<bool> Next(event::Event* event) override;
  SourceStats stats() const override;
  std::string_view name() const override { return "ebpf"; }
  void TakeLosses(std::vector<SourceLoss>* out) override;

  // Ends the stream: Next() returns the queued events, then false. Safe from any thread.
  void Stop();

  // Catching up (sequence-aware blocking, cli/blocking.h): asks the reader to drain the ring
  // buffer now instead of at its next poll; once Next() has returned every record that was in
  // it when asked, and is called again, it calls the OnFlushed() function with `ticket` (on the
  // caller's thread, before the next event). Tickets only grow; a request for a lower ticket
  // than one already asked for is covered by it. RequestFlush is safe from any thread; set
  // OnFlushed before reading.
  void RequestFlush(uint64_t ticket);
  void OnFlushed(std::function<void(uint64_t ticket)> fn);

  // E.g. "tp_btf sched_process_{exec,fork,exit}, raw_tp sys_enter/sys_exit".
  const std::string& mechanism() const;
  size_t processes_at_start() const;

  // `kill` rules (--enforce on): every later exec of one of these files (by device and inode, as
  // they are now) is killed in the kernel before its first instruction (bpf_send_signal(SIGKILL)
  // from sched_process_exec; exec events carry KESTREL_F_KILLED). A path that cannot be stat'ed
  // is reported in the result and skipped. At most 1,024 files. Each call replaces the set: the
  // files of an earlier call that are not named again are disarmed (hot reload).
  std::vector<std::string> ArmKill(const std::vector<std::string>& paths);

 private:
  struct Impl;
  explicit EbpfSource(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kestrel::sources
