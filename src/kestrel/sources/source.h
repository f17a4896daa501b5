// Source: where events come from (the eBPF collector, a recorded log, NDJSON input).
//
// A source is pulled by one thread: Next() fills the caller's Event. Bad input inside a source
// (a malformed line, a truncated record) is never an error of Next(): it is counted in stats(),
// reported through the DiagnosticSink given at construction, and skipped. Next() returns an
// error status only when the source as a whole cannot go on (a file that cannot be read).
//
// Ownership: the Event passed to Next() belongs to the caller; the source overwrites it on every
// call, so the caller copies what it keeps. Thread safety: none (one puller).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/event/event.h"

namespace kestrel::sources {

struct SourceStats {
  uint64_t events = 0;          // events returned by Next()
  uint64_t malformed = 0;       // inputs skipped as malformed (each reported)
  uint64_t bytes = 0;           // input bytes consumed
  uint64_t dropped_fields = 0;  // fields dropped past the schema's budget
  uint64_t missing_time = 0;    // events without a usable time (took the previous event's)
  // Live sources: events lost before they reached Next().
  uint64_t kernel_drops = 0;  // in the kernel (e.g. the BPF ring buffer was full)
  uint64_t user_drops = 0;    // in user space (the source's queue was full)
};

// Events lost by a live source in a span of event time ([begin_ns, end_ns], the clock of the
// events' time_ns()): what was dropped there is unknown, so detections over it may be missing
// or incomplete.
struct SourceLoss {
  int64_t begin_ns = 0;
  int64_t end_ns = 0;
  uint64_t count = 0;
  bool kernel = true;  // false: dropped in user space
};

// Where a malformed input was (e.g. "events.ndjson:12") and why it was skipped.
struct SourceDiagnostic {
  std::string location;
  std::string reason;
};
using DiagnosticSink = std::function<void(const SourceDiagnostic&)>;

class Source {
 public:
  virtual ~Source() = default;

  // Outcomes: true — `*event` holds the next event (Finish()ed); false — end of input;
  // an error status — the source failed and cannot continue.
  [[nodiscard]] virtual absl::StatusOr<bool> Next(event::Event* event) = 0;

  virtual SourceStats stats() const = 0;

  // A name for logs and summaries, e.g. "ndjson:events.json".
  virtual std::string_view name() const = 0;

  // Appends the losses noticed since the last call (in the order noticed) to `*out`. Cheap when
  // there are none; call it after Next(). Sources that cannot lose events add nothing.
  virtual void TakeLosses(std::vector<SourceLoss>* out) { (void)out; }
};

}  // namespace kestrel::sources
