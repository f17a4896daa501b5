// Alert: what a rule match produces, and its JSON line (docs/alerts.md is the contract).
//
//   {"id":"…","rule_id":"…","rule_name":"…","severity":"high","title":"…","timestamp_ns":N,
//    "events":[{"event_type_id":N,"timestamp_ns":N,"fields":{…}}],"context":{"entity_key":"…"}}
//
// The id is derived, never random: a 128-bit XXH3 digest (base/fingerprint.h) of the rule id and
// the evidence (each event's time and encoded fields), so the same input and rules give the same
// ids on every run, which replay's byte-for-byte promise depends on.
// Tested by alert_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kestrel/event/event.h"
#include "kestrel/schema/schema.h"

namespace kestrel::engine {

enum class Severity : uint8_t { kLow, kMedium, kHigh, kCritical };

std::string_view SeverityName(Severity s);
// Accepts low, medium, high, critical (any case).
std::optional<Severity> ParseSeverity(std::string_view name);

// A process of an alert's process tree (docs/alerts.md, `process_tree`); pid -1: unknown.
struct AlertProcess {
  int64_t pid = -1;
  std::string entity_id, name, executable, command_line;
};
// The process of one evidence event and its ancestors (parent first; bounded depth), with what
// a live run learns at alert time: the executable's SHA-256 and the container id ("" unknown).
struct AlertProcessTree {
  uint32_t event = 0;  // index into Alert::events
  AlertProcess process;
  std::vector<AlertProcess> ancestors;
  std::string sha256;
  std::string container_id;
};

struct Alert {
  std::string id;  // set by FinalizeAlert()
  std::string rule_id;
  std::string rule_name;
  Severity severity = Severity::kMedium;
  std::string title;
  int64_t timestamp_ns = 0;  // event time of the detection (the last event's time)
  // The evidence, in match order. Immutable and shared with the engine that found it (no copy).
  std::vector<std::shared_ptr<const event::Event>> events;
  std::string entity_key;  // the partition / `by` key the match was made under
  // `kestrel run --flight-recorder`: the log holding the events that led up to the alert
  // (context.flight_recording; omitted when empty). Not part of the id.
  std::string flight_recording;
  // Events the source lost (e.g. kernel ring buffer full) within the alert's time window, from
  // its first to its last event: the evidence may be incomplete. 0: no known loss. Written as
  // context.degraded; not part of the id (the same detection keeps its id).
  uint64_t degraded = 0;
  // A blocking verdict (actions/blocking): what was done, ECS `event.action` (deny, would-deny,
  // allow-timeout, allow-overload, allow-error, kill, would-kill) and `event.outcome` (success,
  // failure, unknown). Written as "event":{"action":…,"outcome":…} when `action` is set; not
  // part of the id.
  std::string action;
  std::string outcome;
  // The one-line message (the rule's `message` template over the last event, or the default).
  // Not part of the id; written as "message" when set.
  std::string message;
  // The process tree around each evidence process (process_tree); not part of the id.
  std::vector<AlertProcessTree> process_tree;
  // Suppression (docs/alerts.md): duplicates of this alert (same rule and group) within its
  // window that were not written, the window's first and last event time, and the group's
  // terms (field name, value as JSON text). Written as "kestrel":{"suppressed":N,...} when the
  // rule suppresses; not part of the id.
  bool suppressing = false;
  uint64_t suppressed = 0;
  int64_t suppression_start_ns = 0, suppression_end_ns = 0;
  std::vector<std::pair<std::string, std::string>> suppression_terms;
  // Each event's fields as JSON, filled by FinalizeAlert() (which needs them for the id) and
  // reused by AppendAlertJson(), so an alert's events are encoded once.
  std::vector<std::string> encoded_fields;
};

// LossLedger: spans of event time in which a live source lost events, so that alerts whose
// window overlaps one can say so (Alert::degraded). Bounded: past `max_spans` the oldest spans
// are merged into one (coarser, never forgotten). Record() and Lost() are O(max_spans).
// Thread safety: none. Tested by alert_test.cc.
class LossLedger {
 public:
  explicit LossLedger(size_t max_spans = 1024) : max_spans_(max_spans < 2 ? 2 : max_spans) {}

  // `count` events lost between begin_ns and end_ns (inclusive; event time).
  void Record(int64_t begin_ns, int64_t end_ns, uint64_t count);

  // Events lost in spans that overlap [begin_ns, end_ns].
  uint64_t Lost(int64_t begin_ns, int64_t end_ns) const;

  // Sets alert->degraded from the span of its events' times.
  void Mark(Alert* alert) const;

  uint64_t total() const { return total_; }

 private:
  struct Span {
    int64_t begin_ns, end_ns;
    uint64_t count;
  };
  size_t max_spans_;
  std::vector<Span> spans_;
  uint64_t total_ = 0;
};

// Sets alert->id from the rule id and the evidence; sets timestamp_ns to the last event's wall
// time and title to the rule name when they are unset. Call once the alert is complete.
void FinalizeAlert(const schema::Schema& schema, Alert* alert);

// Appends the alert as one line of JSON (without the newline). After the keys above come
// "@timestamp" (RFC 3339 UTC of timestamp_ns), "message" (when set), "process_tree" (when not
// empty) and "kestrel" (when suppressing); each event also gets "@timestamp" after "fields".
// `event_type_id` of each event is its primary category id (schema::CategoryId; the standard ids
// are listed in docs/alerts.md).
void AppendAlertJson(const schema::Schema& schema, const Alert& alert, std::string* out);
// The "process_tree" array, and the "kestrel" suppression object ({"suppressed":N,
// "suppression":{"start","end","terms":[{"field","value"}]}}), as AppendAlertJson writes them.
void AppendProcessTreeJson(const Alert& alert, std::string* out);
void AppendSuppressionJson(const Alert& alert, std::string* out);

}  // namespace kestrel::engine
