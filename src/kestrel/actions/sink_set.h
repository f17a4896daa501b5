// SinkSet: every alert output of a run — `--output` and the `--sink URL`s (the config's
// `sinks:`) — behind one delivery path.
//
// Two kinds of entry share the Sink interface (sink.h) and Submit():
//  - queued sinks (AddQueued): a SinkPipeline (delivery.h) with its own filter, format, queue,
//    spool and delivery thread; Submit() formats the alert (once per format) and queues it, and
//    never waits for a transport;
//  - direct outputs (AddDirect; `--output`): delivered inline by Submit(), one write per alert
//    and nothing buffered in user space, so a reader tailing the file sees each alert at once
//    and the file holds exactly the alerts counted as written. A failed write loses that alert
//    (counted, and returned by Submit for the caller to report); there is no spool.
// Everything else of a queued sink happens on its delivery thread.
// Thread safety: Submit() from one thread at a time (the run's alert lock); stats() from any.
// Tested by sink_set_test.cc.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "kestrel/actions/alert_document.h"
#include "kestrel/actions/delivery.h"
#include "kestrel/engine/alert.h"
#include "kestrel/rules/rule_spec.h"
#include "kestrel/schema/schema.h"

namespace kestrel::actions {

// Which alerts a sink takes: severity at least min_severity and, when `tags` is not empty, rules
// carrying at least one of those tags.
struct SinkFilter {
  engine::Severity min_severity = engine::Severity::kLow;
  std::vector<std::string> tags;
  bool Accepts(engine::Severity severity, const rules::RuleSpec* rule) const;
};

struct SinkReport {
  std::string name;
  SinkStats stats;
  uint64_t filtered = 0;  // alerts this sink's filter did not take
};

// The id of the built-in rule whose alerts report spool drops.
inline constexpr const char* kSpoolOverflowRuleId = "kestrel-sink-spool-overflow";

class SinkSet {
 public:
  // `schema` must outlive the set.
  explicit SinkSet(const schema::Schema* schema);
  ~SinkSet();

  // The drop notice of a sink named `sink_name` in `format`: an alert of the built-in rule
  // kSpoolOverflowRuleId, severity high, naming the count (for DeliveryOptions::drop_notice).
  std::function<SinkMessage(uint64_t)> DropNotice(AlertFormat format, std::string sink_name) const;

  void Add(std::unique_ptr<SinkPipeline> pipeline, SinkFilter filter, AlertFormat format);
  // An output written inline by Submit() (every alert, no filter).
  void AddDirect(std::unique_ptr<Sink> sink, AlertFormat format);
  size_t size() const { return sinks_.size(); }  // queued sinks

  struct SubmitResult {
    size_t refused = 0;   // queued sinks whose queue was full (counted there)
    absl::Status direct;  // the first direct output that failed to write the alert
  };
  // Formats `alert` (made by `rule`, which may be null) for every sink that accepts it: writes
  // it to the direct outputs and queues it for the others.
  SubmitResult Submit(const engine::Alert& alert, const rules::RuleSpec* rule);
  // Alerts the direct outputs wrote, and lost to a failed write (summed over them).
  uint64_t direct_written() const { return direct_written_.load(std::memory_order_relaxed); }
  uint64_t direct_lost() const { return direct_lost_.load(std::memory_order_relaxed); }

  // Closes every sink: delivers until `deadline` (shared), the rest stays spooled.
  void Close(std::chrono::milliseconds deadline);
  std::vector<SinkReport> Reports() const;

 private:
  struct Entry {
    std::unique_ptr<SinkPipeline> pipeline;
    SinkFilter filter;
    AlertFormat format;
    uint64_t filtered = 0;
  };
  struct Direct {
    std::unique_ptr<Sink> sink;
    AlertFormat format;
  };
  AlertFormatter formatter_;
  std::vector<Entry> sinks_;
  std::vector<Direct> direct_;
  SinkMessage direct_message_;  // reused for the direct outputs: no allocation per alert
  std::atomic<uint64_t> direct_written_{0};  // read by the metrics thread
  std::atomic<uint64_t> direct_lost_{0};
  std::string formatted_[2];  // reused, by AlertFormat
};

}  // namespace kestrel::actions
