// LsmProgram: the BPF-LSM blocking programs (bpf/kestrel_lsm.bpf.c, docs/blocking.md "BPF-LSM
// path") as user space drives them: load, fill the deny maps (files by device and inode), the
// allow-listed processes and the mode, attach, and drain the decisions ring buffer. Its own BPF
// object, separate from the collector's (ebpf_source.h): a kernel that refuses LSM programs
// leaves collection untouched.
//
// LsmMaps is the interface the blocking guard (actions/blocking/lsm_guard.h) uses, so its map
// filling and decision handling are tested with a fake where the kernel refuses LSM programs.
//
// Thread safety: Drain() and Lost() from one thread (the guard's drain thread), the others from
// another; each map update is atomic per entry in the kernel. Load() and VerifyLsmCode() swap
// libbpf's (process-wide) print callback while they load, to keep its messages for the error:
// do not load another BPF object (EbpfSource::Open) on another thread at the same time.
// Tested by actions/blocking/lsm_guard_test.cc (the kernel's programs where they load; the
// load/attach failure reason everywhere).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kestrel_lsm_records.h"

namespace kestrel::sources {

// Which deny map: exec (bprm_check_security, and mmap_file with PROT_EXEC) or open (file_open).
enum class LsmTable : uint8_t { kExec, kOpen };

class LsmMaps {
 public:
  virtual ~LsmMaps() = default;
  // Denies `key` (from the next access on) on behalf of rule `rule`; replaces an entry.
  // Errors: the map is full (KESTREL_LSM_MAX_INODES), or the kernel's error.
  virtual absl::Status Put(LsmTable table, const kestrel_lsm_key& key, uint32_t rule) = 0;
  // Stops denying `key`. Not an error when it is absent.
  virtual absl::Status Remove(LsmTable table, const kestrel_lsm_key& key) = 0;
  // Never deny process `tgid`. At most KESTREL_LSM_MAX_PIDS.
  virtual absl::Status AllowTgid(uint32_t tgid) = 0;
  // true: deny (EPERM); false: dry run (record would-deny, allow).
  virtual absl::Status SetEnforce(bool enforce) = 0;
  // Attaches the programs: from here on the maps are enforced. Errors: the kernel's reason.
  virtual absl::Status Attach() = 0;
  // Detaches them (nothing is denied any more); the maps and decisions stay readable.
  virtual void Detach() = 0;
  // Calls `fn` for every decision recorded since the last call, in order; returns how many.
  virtual size_t Drain(const std::function<void(const kestrel_lsm_decision&)>& fn) = 0;
  // Decisions the kernel could not report so far (ring buffer full), summed over CPUs.
  virtual uint64_t Lost() = 0;
};

// Loads (never attaches) the same programs built as raw tracepoints, so the kernel's verifier
// checks their code where LSM programs are refused before verification (this kind of machine),
// then frees them. OK, or the verifier's reason with the end of its log. For tests and CI.
absl::Status VerifyLsmCode();

class LsmProgram final : public LsmMaps {
 public:
  // Opens and loads the programs, not attached, in dry run, with empty maps. Errors
  // (FAILED_PRECONDITION): the kernel's reason, e.g. "BPF LSM program refused at load:
  // Operation not permitted", followed by the verifier's last lines when it refused the code.
  static absl::StatusOr<std::unique_ptr<LsmProgram>> Load();
  // The same code built as raw tracepoint programs (bpf/CMakeLists.txt): loaded and verified,
  // with the same maps, but Attach() always fails. For tests of the maps where the kernel
  // refuses LSM programs, and VerifyLsmCode().
  static absl::StatusOr<std::unique_ptr<LsmProgram>> LoadAsRawTracepoints();
  ~LsmProgram() override;  // detaches and frees the programs and maps

  absl::Status Put(LsmTable table, const kestrel_lsm_key& key, uint32_t rule) override;
  absl::Status Remove(LsmTable table, const kestrel_lsm_key& key) override;
  absl::Status AllowTgid(uint32_t tgid) override;
  absl::Status SetEnforce(bool enforce) override;
  absl::Status Attach() override;
  void Detach() override;
  size_t Drain(const std::function<void(const kestrel_lsm_decision&)>& fn) override;
  uint64_t Lost() override;

  // The raw tracepoint build only (else FAILED_PRECONDITION): runs the programs' judgement of
  // the file `key` as hook `hook` (enum kestrel_lsm_hook) would, from the map lookup on, in this
  // process (BPF_PROG_TEST_RUN): the program's return value, 0 (allow) or -EPERM (deny). Its
  // decision is drained like the hooks' are. For tests where LSM programs cannot be attached.
  absl::StatusOr<int> JudgeForTest(uint8_t hook, const kestrel_lsm_key& key);

  // What the kernel's deny map holds for `key`: the rule, or nullopt when it is absent.
  std::optional<uint32_t> Lookup(LsmTable table, const kestrel_lsm_key& key) const;

 private:
  struct Impl;
  explicit LsmProgram(std::unique_ptr<Impl> impl);
  static absl::StatusOr<std::unique_ptr<LsmProgram>> Finish(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kestrel::sources
