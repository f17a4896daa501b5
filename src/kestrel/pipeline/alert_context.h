// What an alert says beyond its rule and evidence, built at alert time (never per event):
//  - RenderMessage: the one-line `message` from the rule's template over the last evidence
//    event ("{process.name} spawned a shell"), or the default message;
//  - ProcessTree: the processes seen so far (one slot per process and version, fixed count,
//    reused), for each evidence process's ancestry: names, executables, pids, command lines;
//  - ExecutableHashes: SHA-256 of executables for live runs, cached by (dev, inode, mtime,
//    size), bounded in file size and entries; ContainerIdOf: the container id of a live pid
//    from its cgroup path.
// Determinism: the tree answers "as of the alert's event time" (each slot keeps the event time
// it was seen at; later versions are skipped), so the ancestry does not depend on how far the
// reading thread is ahead of the workers. Hashes and container ids are live-only (absent in
// replay and NDJSON runs) and never part of the alert id.
// Cost on the reading thread: process events only, a few field lookups, a hash and a map probe;
// a new version is written into a reused slot (no allocation once the slots are warm).
// Thread safety: ProcessTree is internally locked (one writer: the reading thread; readers: the
// alert path). ExecutableHashes: one thread. Tested by alert_context_test.cc.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kestrel/engine/alert.h"
#include "kestrel/event/event.h"
#include "kestrel/rules/rule_spec.h"
#include "kestrel/schema/schema.h"

namespace kestrel::pipeline {

// Bounds of a rendered message: each value is cut to kMaxMessageValue bytes ("…" marks a cut),
// the message to kMaxMessage; control characters become spaces (one line). A field the event
// lacks renders as "<field.name?>".
inline constexpr size_t kMaxMessageValue = 256;
inline constexpr size_t kMaxMessage = 2048;
std::string RenderMessage(const rules::RuleSpec& rule, const engine::Alert& alert,
                          const schema::Schema& schema);

class ProcessTree {
 public:
  static constexpr int kMaxDepth = 16;  // ancestors listed per evidence process
  // `slots`: process versions remembered (oldest forgotten first); ~1-3 KB each when full. The
  // slots are allocated as processes arrive, up to `slots`.
  ProcessTree(const schema::Schema& schema, size_t slots = 16384);

  // Remembers the process of a process event (a no-op for other events).
  void Observe(const event::Event& event);
  // Fills alert->process_tree: one entry per distinct evidence process.
  void Describe(engine::Alert* alert) const;

  uint64_t forgotten() const { return forgotten_; }

 private:
  struct Fields {
    std::optional<schema::FieldId> entity, pid, parent_entity, parent_pid, name, executable,
        command_line, parent_name, parent_executable, parent_command_line, host;
  };
  struct Slot {
    uint64_t key = 0, parent_key = 0, serial = 0, prev_serial = 0;
    uint32_t prev = UINT32_MAX;
    int64_t time_ns = 0;
    bool used = false;
    engine::AlertProcess info;
  };
  // The process (or its parent) key of `e`: a hash of its host and entity id, else pid; 0: none.
  uint64_t KeyOf(const event::Event& e, bool parent) const;
  void Read(const event::Event& e, bool parent, engine::AlertProcess* out) const;
  // Whether `e`'s process is `p` as Read would fill it (string fields only; compared in place).
  bool Same(const event::Event& e, const engine::AlertProcess& p) const;
  const Slot* Find(uint64_t key, int64_t at_ns) const;  // REQUIRES: mu_ held

  std::vector<Fields> fields_;  // ECS, then Endgame
  size_t process_category_ = 0;
  mutable std::mutex mu_;
  size_t capacity_;                              // slots_ grows up to this
  std::vector<Slot> slots_;                      // guarded by mu_
  absl::flat_hash_map<uint64_t, uint32_t> map_;  // key -> newest slot; guarded by mu_
  size_t next_ = 0;                              // guarded by mu_
  uint64_t serial_ = 0, forgotten_ = 0;          // guarded by mu_
};

// SHA-256 (hex) of an executable file, cached by (dev, inode, mtime, size): files over
// `max_bytes` are not hashed (""), the cache holds `max_entries` (cleared when full).
class ExecutableHashes {
 public:
  explicit ExecutableHashes(uint64_t max_bytes = uint64_t{64} << 20, size_t max_entries = 4096)
      : max_bytes_(max_bytes), max_entries_(max_entries) {}
  std::string Sha256(const std::string& path);
  uint64_t computed() const { return computed_; }

 private:
  struct Key {
    uint64_t dev, ino;
    int64_t mtime_ns;
    uint64_t size;
    friend bool operator==(const Key&, const Key&) = default;
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.dev, k.ino, k.mtime_ns, k.size);
    }
  };
  uint64_t max_bytes_;
  size_t max_entries_;
  absl::flat_hash_map<Key, std::string> cache_;
  uint64_t computed_ = 0;
};

// The container id in a /proc/PID/cgroup text (docker, containerd, CRI-O, podman: a 64-hex
// component), "" when the process is not in a container.
std::string ContainerIdFromCgroup(std::string_view cgroup);
// ContainerIdFromCgroup of /proc/<pid>/cgroup ("" when unreadable).
std::string ContainerIdOf(int64_t pid);

}  // namespace kestrel::pipeline
