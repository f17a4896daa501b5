// RecordDecoder: turns one ring-buffer record (bpf/kestrel_records.h) into an ECS event, and
// keeps the ProcessTable up to date from the process records (fork, exec, exit).
//
// Every event gets event.category/type/action and the constant fields of its kind as the
// declaration says (emitted.h: the decoder picks a kind per record and takes those values from
// it), host.* and agent.* (host_identity.h; precomputed, SetHost() replaces them), process.* of
// the acting process (pid, entity_id, name, executable, args, args_count, command_line,
// working_directory, user/group ids and names, capabilities), process.parent.* in full and the
// session, group and entry leaders' pid and entity_id, user.*, user.effective.* and group.*.
// Kinds whose declaration includes kProcessFullFields (the process events) also get
// process.env_vars and the leaders with the parent's sub-fields (process_identity.h),
// entry_meta included. KESTREL_AUDITD records become auditd-compatible events (auditd_compat.h);
// KESTREL_DNS records `dns lookup` events, and account database changes `iam` events
// (decoder_events.cc).
// KESTREL_ALREADY_RUNNING records (made by the source for each process
// found in /proc at start) become `already_running` events. docs/collection.md lists the
// fields of each kind (generated from emitted.cc). Times: the record's boot-clock time plus
// `boot_wall_ns` (the wall-clock time of boot) is both the event's time_ns and wall_ns, so events
// are ordered by the kernel's own clock.
//
// Field ids are ECS catalogue constants (no name lookups per event). User names come from a
// uid cache filled by getpwuid_r on first sight of a uid.
// Thread safety: none. Tested by decoder_test.cc (records built by hand, no kernel needed).
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/ebpf/account_db.h"
#include "kestrel/sources/ebpf/auditd_compat.h"
#include "kestrel/sources/ebpf/emitted.h"
#include "kestrel/sources/ebpf/host_identity.h"
#include "kestrel/sources/ebpf/kernel_path.h"
#include "kestrel/sources/ebpf/process_identity.h"
#include "kestrel/sources/ebpf/process_table.h"
#include "kestrel_records.h"

namespace kestrel::sources::ebpf {

// The address in a record's 16-byte address field: the first 4 bytes for AF_INET (family 2,
// as an IPv4-mapped address), all 16 otherwise.
event::IpAddress KernelAddress(uint16_t family, const uint8_t* bytes);

// The bytes of `record` worth keeping: records may be longer than what they use (a file's paths
// rarely fill their arrays), so the reader thread queues only the prefix up to the last byte
// used (Decode() reads an exec record's parts in place, cut at its end, and zero-pads a copy of
// a file record).
size_t CompactRecordSize(std::span<const uint8_t> record);

// The packed parts of an exec record (bpf/kestrel_records.h), in place: each at its offset
// (the sum of the clamped lengths before it), cut at the record's end; `end` is the offset
// where the last part ends (may be past the record when it was cut). All empty when the record
// is shorter than its fixed part.
struct ExecParts {
  std::string_view filename, cwd, exe, args, env;
  size_t end = 0;
};
ExecParts ExecPartsOf(std::span<const uint8_t> record);

struct DecoderOptions {
  int64_t boot_wall_ns = 0;               // wall-clock ns at boot (CLOCK_REALTIME - CLOCK_BOOTTIME)
  std::vector<std::string> ignore_paths;  // file events under these prefixes are not returned
  bool resolve_user_names = true;
  HostIdentity host;  // host.* and agent.* of every event (empty values are left out)
  // process.env_vars: the variables kept from an exec's environment, values cut to
  // env_value_max bytes (process_identity.h).
  std::vector<std::string> env_allow = DefaultEnvAllowList();
  size_t env_value_max = kDefaultEnvValueMax;
};

class RecordDecoder {
 public:
  RecordDecoder(schema::Schema& schema, ProcessTable* table, DecoderOptions options);

  enum class Outcome : uint8_t { kEvent, kSkipped, kMalformed };

  // Decodes `record` into `*out` (Clear()ed first, Finish()ed on kEvent). kSkipped: a record
  // that updates the table but is filtered out (ignored path); kMalformed: too short or of an
  // unknown kind (`*why` says which).
  Outcome Decode(std::span<const uint8_t> record, event::Event* out, std::string* why);

  // Replaces the host.* and agent.* values of the events decoded from now on (a refresh).
  void SetHost(const HostIdentity& host);

  // An `iam` event (decoder_events.cc) for `change` of an account database (account_db.h), at
  // `time_ns`, acted by the process of `h` (the header of the file record that changed the file;
  // process.* only: user.*/group.* name the account). `group_name`: the name of a user's primary
  // group ("" when unknown).
  void DecodeAccountChange(const kestrel_header& h, int64_t time_ns, const AccountChange& change,
                           std::string_view group_name, event::Event* out);

  // DNS lookups that failed to parse (KESTREL_DNS records; each is also kMalformed).
  uint64_t dns_parse_failures() const { return dns_parse_failures_; }
  // Relatives' snapshots built so far (ProcessInfo::Snapshots; tests and benchmarks).
  uint64_t snapshots_built() const { return snapshots_built_; }

 private:
  void SetProcess(const kestrel_header& h, const ProcessInfo& p, event::Event* out);
  // The relative's fields: its snapshot for the role of `f` (built when the entry has none),
  // shared by `out`; same_as_process (when self_pid != 0) is the event's own.
  void SetRelative(const RelativeFields& f, const ProcessInfo& r, uint32_t self_pid,
                   event::Event* out);
  void BuildRelative(const RelativeFields& f, const ProcessInfo& r, event::Event* out);
  static constexpr size_t kSnapshotArenaBlock = 256;  // bytes: a snapshot's strings
  void SetEntryLeader(const ProcessInfo& p, event::Event* out);
  // KESTREL_DNS (decoder_events.cc): the query's first question, or kMalformed.
  Outcome DecodeDns(const kestrel_header& h, std::span<const uint8_t> record, int64_t time_ns,
                    event::Event* out, std::string* why);
  Outcome DecodeSyscall(const kestrel_header& h, std::span<const uint8_t> record, int64_t time_ns,
                        event::Event* out, std::string* why);
  // KESTREL_AUDITD records (auditd_compat.h; defined in auditd_compat.cc).
  Outcome DecodeAuditd(const kestrel_header& h, std::span<const uint8_t> record, int64_t time_ns,
                       event::Event* out, std::string* why);
  const std::string& GroupName(uint32_t gid);
  // A process's start (unix ns): the table's wall time, else its start ticks; 0 when unknown.
  int64_t StartNs(const ProcessInfo& p) const;
  // process.start / *.start as RFC 3339 with milliseconds (nothing when unix_ns is 0).
  void SetStart(schema::FieldId id, int64_t unix_ns, event::Event* out);
  // event.*, the kind's category bit, its constant fields and the host's; remembers whether
  // the kind carries the process fields in full (for SetProcess).
  void SetCommon(EmittedKindId kind, int64_t time_ns, event::Event* out);
  // The names of the capabilities in `mask` (static strings) as an array in `out`'s arena.
  event::Value CapabilityArray(uint64_t mask, event::Event* out);
  void SetFile(std::string_view path, event::Event* out, bool original);
  const std::string& UserName(uint32_t uid);

  schema::Schema& schema_;
  ProcessTable* table_;
  DecoderOptions options_;
  std::array<schema::CategoryId, static_cast<size_t>(EmittedKindId::kCount)> kind_category_{};
  std::array<bool, static_cast<size_t>(EmittedKindId::kCount)> kind_full_{};   // declares them
  std::array<bool, static_cast<size_t>(EmittedKindId::kCount)> kind_actor_{};  // actor's user.*
  bool full_ = false;  // the current event's kind: kind_full_
  bool actor_ = true;  // the current event's kind: kind_actor_
  uint64_t dns_parse_failures_ = 0;
  uint64_t snapshots_built_ = 0;
  std::vector<schema::FieldId> constant_ids_;  // kConstantFields' ids
  // Each kind's own constant fields (EmittedKind::constants), ids resolved once.
  std::array<std::vector<std::pair<schema::FieldId, std::string_view>>,
             static_cast<size_t>(EmittedKindId::kCount)>
      kind_constants_;
  AuditdFields auditd_;
  // Host values, precomputed by SetHost: strings (owned here, copied into each event's arena).
  // Host values kept for the program's life (borrowed by every event), and the rest (copied).
  std::vector<std::pair<schema::FieldId, event::Value>> host_values_;
  std::vector<std::pair<schema::FieldId, std::string>> host_strings_;
  std::vector<std::string> host_macs_;
  std::vector<event::Value> host_ip_values_, host_mac_values_;
  schema::FieldId ptrace_request_, target_pid_, ptrace_child_pid_, ptrace_addr_, ptrace_data_;
  schema::FieldId memfd_name_, memfd_flags_, memfd_cloexec_, memfd_allow_seal_, memfd_hugetlb_,
      memfd_noexec_seal_, memfd_exec_, module_name_, entry_parent_pid_, entry_parent_entity_id_;
  RelativeFields parent_, session_leader_, group_leader_, entry_leader_;
  absl::flat_hash_map<uint32_t, std::string> user_names_, group_names_;
  std::vector<event::Value> values_;  // array scratch, reused
  std::vector<uint8_t> file_buf_;     // zero-padded copies of compacted file records
  // Finish()es the event of the kind SetCommon last set, by that kind's field order
  // (event::FinishPlan: no sort while a kind's events keep one order).
  void FinishEvent(event::Event* out) { out->Finish(&finish_plans_[kind_]); }
  size_t kind_ = 0;  // of the event being built (SetCommon)
  std::array<event::FinishPlan, static_cast<size_t>(EmittedKindId::kCount)> finish_plans_;
  std::array<event::FinishPlan, 4> relative_plans_;  // per role (RelativeFields::role)
};

}  // namespace kestrel::sources::ebpf
