// FlightRecorder: keeps the recent past in memory so that an alert can come with the events that
// led up to it (`kestrel run --flight-recorder DURATION`).
//
// Every event is copied into a ring for its host (`host.name`, else Endgame's `hostname`): a
// ring holds at most `max_events_per_host` events and forgets those older than `window` (event
// time) as new ones arrive; slots are reused, so after warm-up recording allocates nothing.
// When an alert fires, Dump() writes to `<directory>/<alert id>.klog` (docs/log-format.md) every
// recorded event of the alert's hosts within `window` before the alert that belongs to one of
// the alert's processes (engine::ProcessKeys: `process.entity_id`, else Endgame `unique_pid`,
// else the pid), or a child of one. The path goes into the alert's
// context.flight_recording; `kestrel replay` and `kestrel log cat` read it.
//
// Bounds: at most kMaxHosts rings (events of further hosts share the last one); memory is about
// max_events_per_host x hosts x the size of an event (~1 KB for ECS process events).
// Thread safety: one thread. Tested by flight_recorder_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/base/string_map.h"
#include "kestrel/engine/alert.h"
#include "kestrel/engine/lineage.h"
#include "kestrel/event/event.h"
#include "kestrel/log/log_writer.h"
#include "kestrel/schema/schema.h"

namespace kestrel::actions {

struct FlightRecorderOptions {
  int64_t window_ns = 60'000'000'000;  // how far back an alert's recording reaches
  size_t max_events_per_host = 100'000;
  std::string directory = ".";  // where recordings are written (created if missing)
};

class FlightRecorder {
 public:
  static constexpr size_t kMaxHosts = 256;

  // `schema` must outlive the recorder (the host and entity fields are interned in it).
  FlightRecorder(schema::Schema& schema, const FlightRecorderOptions& options,
                 const log::LogMetadata& metadata);
  ~FlightRecorder();

  // Remembers `event` (a copy).
  void Observe(const event::Event& event);

  // Writes the alert's recording; returns its path. Errors: the directory or file cannot be
  // written (the alert is still delivered, without a recording).
  absl::StatusOr<std::string> Dump(const engine::Alert& alert);

  uint64_t recordings() const { return recordings_; }

 private:
  struct Ring {
    std::vector<event::Event> slots;
    size_t start = 0;  // oldest
    size_t size = 0;
  };
  Ring& RingFor(const event::Event& e);
  std::string_view Host(const event::Event& e) const;
  std::string Entity(const event::Event& e, bool parent) const {
    return keys_.Key(e, parent).value_or("");
  }

  const schema::Schema& schema_;
  FlightRecorderOptions options_;
  log::LogMetadata metadata_;
  base::StringMap<size_t> host_ring_;  // host -> index in rings_
  std::vector<std::unique_ptr<Ring>> rings_;
  engine::ProcessKeys keys_;
  std::vector<schema::FieldId> host_fields_;
  uint64_t recordings_ = 0;
};

}  // namespace kestrel::actions
