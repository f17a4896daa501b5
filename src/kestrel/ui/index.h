// The investigation index of `kestrel ui` (issue 25): built once at start from the events of the
// given logs and the lines of the given alert files, then read by the server's threads.
//
// Processes: every event that names a process (below) adds or completes a node: the first
// process-category event describing it sets its name, executable, command line, user and start
// (as it started); other events, and later descriptions, only fill what is still unknown.
// A process's key, the same for events and for alert evidence (ProcessKeyOf):
//   - `process.entity_id` when present (ECS; globally unique);
//   - else `<host>:<unique_pid>` (Endgame data: `unique_pid` is unique per host);
//   - else `<host>:pid:<pid>@<process.start>` (pid plus start time; without a start, the pid).
// Its parent: `process.parent.entity_id`, `<host>:<unique_ppid>`, else the latest process of that
// host with pid `process.parent.pid`/`ppid` seen before it. A parent named by a child but never
// seen itself becomes a node of its own (name from `process.parent.name`/`parent_process_name`).
// Events: one 24-byte record each (time, process, category, input), sorted by time: the timeline
// and the per-process event counts; their contents are read again from the logs on demand (the
// server's event-window callback, bounded by time so that only the log blocks of that window are
// read).
// Alerts: one per line of the alert files (NDJSON as Kestrel writes them, docs/alerts.md), kept
// as their raw text plus what the filters need; evidence processes are keyed as above and added
// as nodes when the logs do not hold them (from the evidence and the alert's `process_tree`).
//
// Bounds (IndexLimits): events, processes and alerts held, an alert line's size, and the bytes of
// a node's strings; what is past a bound is counted (IndexCounters) and reported, never held.
// Thread safety: Add*/Finish from one thread before readers start; afterwards AppendAlertLine
// (the alert-file tail) may run beside readers: alerts are guarded by a shared mutex, processes
// and events are immutable after Finish(). Tested by ui_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/container/flat_hash_map.h"

#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"

namespace kestrel::ui {

struct IndexLimits {
  uint64_t max_events = 20'000'000;    // event records (24 bytes each: 480 MB at most)
  uint64_t max_processes = 2'000'000;  // process nodes
  uint64_t max_alerts = 200'000;
  size_t max_alert_line = 4 << 20;  // bytes; a longer line is counted as malformed
  size_t max_string = 4096;         // bytes of a node's name, command line, ... (cut with "…")
};

struct IndexCounters {
  uint64_t events_seen = 0;
  uint64_t events_held = 0;
  uint64_t events_dropped = 0;  // past max_events
  uint64_t processes = 0;
  uint64_t processes_dropped = 0;  // past max_processes
  uint64_t alerts = 0;
  uint64_t alerts_dropped = 0;    // past max_alerts
  uint64_t alerts_malformed = 0;  // not JSON, too long, without id/rule
};

// What names a process in an event or an evidence object (any field may be absent).
// Views into the event or JSON object they were read from (valid as long as it is).
struct ProcessFields {
  std::string_view entity_id, parent_entity_id, host, start, name, executable, command_line, user,
      parent_name;
  std::optional<int64_t> pid, ppid, unique_pid, unique_ppid;
  std::string start_text;  // storage for a numeric start
};
// The process key (see above) into `out`; empty when the fields name no process.
void ProcessKeyOf(const ProcessFields& f, std::string* out);
// The parent's key when it is named by an entity id; empty otherwise (resolved by pid).
void ParentKeyOf(const ProcessFields& f, std::string* out);
// The process fields of an evidence event's `fields` object (nested ECS or flat Endgame names).
// `fields` must outlive the result.
ProcessFields ProcessFieldsOfJson(const nlohmann::json& fields);

// The fields EventProcessReader reads, interned in `schema` (Endgame's flat names as dynamic
// fields: keywords, and longs for the pids), for an input that decodes only them.
std::vector<schema::FieldId> InternProcessFields(schema::Schema* schema);

// Reads the ProcessFields of events of one schema (field ids resolved as the schema grows).
// Not thread-safe: one reader per thread.
class EventProcessReader {
 public:
  explicit EventProcessReader(const schema::Schema* schema);
  ~EventProcessReader();
  // The fields of `e` (views into it); `*is_process`: it is a process-category event.
  void Read(const event::Event& e, ProcessFields* f, bool* is_process);

 private:
  struct FieldIds;
  void Resolve();
  const schema::Schema* schema_;
  std::unique_ptr<FieldIds> ids_;
  size_t resolved_fields_ = 0;
  // FieldId value -> 1 + the slot it fills (ECS names first, Endgame's second), 0: not read.
  std::vector<uint8_t> slot_of_;
};

struct ProcessNode {
  std::string key, entity_id, host, name, executable, command_line, user, start;
  int64_t pid = -1;
  int64_t ppid = -1;
  int64_t first_ns = 0;    // first event time naming it
  std::string parent_key;  // as named; resolved into `parent`
  int64_t parent = -1;     // index into processes, -1: none known
  std::vector<uint32_t> children;
  uint64_t events = 0;
  bool seen_start = false;  // a process-category event described it
  bool complete = false;    // ... and every field is known: later events change nothing
};

struct EventRecord {
  int64_t time_ns;
  uint32_t process;  // index, UINT32_MAX: none
  uint16_t category;
  uint16_t input;
  uint64_t ordinal;  // within its input
};

struct AlertEntry {
  std::string id, rule_id, rule_name, severity, host, title, message;
  std::vector<std::string> tactics;
  int64_t time_ns = 0;
  std::vector<std::string> evidence;  // process keys of the evidence events (distinct)
  uint32_t file = 0;                  // index of the alert file
  uint64_t line = 0;                  // 1-based
  std::string raw;                    // the alert line
  uint64_t seq = 0;                   // order of arrival, from 1
};

struct AlertFilter {
  std::string rule, severity, host, tactic;
  int64_t from_ns = INT64_MIN;
  int64_t to_ns = INT64_MAX;
  size_t limit = 1000;
};

class Index {
 public:
  Index(schema::Schema* schema, IndexLimits limits = {});

  // Building (one thread). `input` numbers the log inputs (for the record), ordinal the event.
  void AddEvent(const event::Event& e, uint16_t input, uint64_t ordinal);
  // One alert line of alert file `file`; false (counted) when it is malformed or past the cap.
  bool AppendAlertLine(std::string_view line, uint32_t file, uint64_t line_no);
  // Sorts events by time and resolves parent links. Call once after the last AddEvent.
  void Finish();

  IndexCounters counters() const;
  const std::vector<ProcessNode>& processes() const { return processes_; }
  const std::vector<EventRecord>& events() const { return events_; }
  std::optional<uint32_t> FindProcess(std::string_view key) const;
  int64_t min_time_ns() const { return events_.empty() ? 0 : events_.front().time_ns; }
  int64_t max_time_ns() const { return events_.empty() ? 0 : events_.back().time_ns; }

  // JSON views (docs/ui.md, "API"). Alerts newest first.
  nlohmann::json AlertsJson(const AlertFilter& filter, int buckets) const;
  // nullopt: no alert with that id.
  std::optional<AlertEntry> FindAlert(std::string_view id) const;
  // The alerts that arrived after `seq` (at most `max`), and the newest seq.
  std::vector<AlertEntry> AlertsAfter(uint64_t seq, size_t max, uint64_t* newest) const;
  // The tree around `key`: ancestors (up to `depth`) and descendants (down to `depth` levels, at
  // most `width` children a node, the rest counted), `evidence` keys flagged. nullopt: unknown.
  std::optional<nlohmann::json> TreeJson(std::string_view key, int depth, int width,
                                         const std::vector<std::string>& evidence) const;
  // The times of the events held of `keys`' processes in [from_ns, to_ns), newest `max` of them.
  std::vector<int64_t> EventTimesOf(const std::vector<uint32_t>& processes, int64_t from_ns,
                                    int64_t to_ns, size_t max) const;
  // The node as JSON {key, entity_id, name, pid, ppid, user, host, executable, command_line,
  // start, parent, events, children}.
  nlohmann::json NodeJson(uint32_t index) const;

 private:
  uint32_t NodeFor(const ProcessFields& f, int64_t time_ns, bool describes);
  void Cut(std::string* s) const;

  schema::Schema* schema_;
  IndexLimits limits_;
  EventProcessReader reader_;
  std::vector<ProcessNode> processes_;
  absl::flat_hash_map<std::string, uint32_t> by_key_;
  std::vector<EventRecord> events_;
  IndexCounters counters_;
  mutable std::shared_mutex alerts_mu_;
  std::vector<AlertEntry> alerts_;
  std::unordered_map<std::string, size_t> alert_by_id_;
  uint64_t alert_seq_ = 0;
  bool finished_ = false;  // no more process nodes (readers may run)
};

// An alert's summary as the alerts list shows it.
nlohmann::json AlertSummaryJson(const AlertEntry& a);

}  // namespace kestrel::ui
