// ProcessLineage: the process tree seen so far, for Endgame's `descendant of [q]`, `child of
// [q]` and `event of [q]`.
//
// Entities are keyed by `unique_pid` / `unique_ppid` (Endgame schema) or `process.entity_id` /
// `process.parent.entity_id` (ECS), falling back to `pid` / `ppid` (`process.pid` /
// `process.parent.pid`) when the unique ids are absent; the first pair an event has is used. A
// relation node marks the processes whose events matched its sub-query; an event then asks whether
// its own process (event of), its parent (child of) or any ancestor (descendant of) is marked.
//
// Bounds: at most `max_processes` entities; past that the oldest-seen are forgotten (counted),
// with their marks. A relation's marks never exceed `max_processes` either (past it they are
// dropped, counted in forgotten()). Entries do not expire by time: a process may be the ancestor
// of activity days after it started, so the count bound is the only one (1,048,576 by default,
// ~150 bytes each).
// Ancestor walks stop after kMaxDepth steps (cycles in bad data cannot loop forever).
// Thread safety: none (one per engine instance). Tested by query_engine_test.cc.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "kestrel/eql/ir.h"
#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"

namespace kestrel::engine {

// The process an event belongs to (or its parent), as a key: the JSON text of the first of
// `unique_pid`/`process.entity_id` (their parent fields for `parent`), else `pid`/`process.pid`,
// the event has; the dialect decides which schema is tried first. Shared by the lineage and the
// flight recorder (actions/flight_recorder.h).
class ProcessKeys {
 public:
  ProcessKeys(schema::Schema& schema, eql::Dialect dialect);
  std::optional<std::string> Key(const event::Event& e, bool parent) const;

 private:
  // (self, parent) field pairs in order of preference: unique ids, then pids.
  std::vector<std::pair<schema::FieldId, schema::FieldId>> candidates_;
};

class ProcessLineage {
 public:
  static constexpr int kMaxDepth = 256;

  ProcessLineage(schema::Schema& schema, eql::Dialect dialect, size_t max_processes = 1 << 20);

  // Records the parent of the event's process (if the event names both).
  void Observe(const event::Event& e);
  // Marks the event's process as matching relation node `node` (identity: its address).
  void Mark(const eql::IrNode* node, const event::Event& e);
  // Whether the event stands in `node.relation` to a process marked for `node`.
  bool Related(const eql::IrNode& node, const event::Event& e) const;

  uint64_t forgotten() const { return forgotten_; }

 private:
  std::optional<std::string> Key(const event::Event& e, bool parent) const {
    return keys_.Key(e, parent);
  }
  std::optional<std::string> ParentOf(const event::Event& e) const;

  ProcessKeys keys_;
  size_t max_processes_;
  absl::flat_hash_map<std::string, std::string> parent_;
  std::deque<std::string> order_;  // insertion order of parent_, for forgetting the oldest
  absl::flat_hash_map<const eql::IrNode*, absl::flat_hash_set<std::string>> marked_;
  uint64_t forgotten_ = 0;
};

}  // namespace kestrel::engine
