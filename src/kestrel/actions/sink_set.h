// SinkSet: the configured alert outputs of a run (`--sink URL`, the config's `sinks:`), each a
// SinkPipeline (delivery.h) with its own filter and format.
//
// Submit() runs on the thread that makes alerts (never on a bus worker): for each sink whose
// filter accepts the alert it formats the alert (once per format) and queues it; it never waits
// for a transport. Everything else happens on each sink's delivery thread.
// Thread safety: Submit() from one thread at a time (the run's alert lock); stats() from any.
// Tested by sink_set_test.cc.
#pragma once

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
  size_t size() const { return sinks_.size(); }

  // Formats `alert` (made by `rule`, which may be null) for every sink that accepts it and
  // queues it. Returns the number of sinks that refused it (queue full; counted there).
  size_t Submit(const engine::Alert& alert, const rules::RuleSpec* rule);

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
  AlertFormatter formatter_;
  std::vector<Entry> sinks_;
  std::string formatted_[2];  // reused, by AlertFormat
};

}  // namespace kestrel::actions
