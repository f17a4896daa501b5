// Suppressor: alert suppression per rule (`suppress: {by: [fields], for: 5m}` in a rule, or the
// run's default `run.suppress`; docs/alerts.md, "Suppression"), as Elastic's alert suppression
// and Falco's rate limiting do it: one alert per rule, group and window.
//
// A match whose rule suppresses opens a group (the rule id and the values of the `by` fields in
// its last event, a missing field counting as null) unless one is open: its alert is held, and
// the group's window runs from that match's event time for `for`. Later matches of the group
// within the window are counted on the held alert (kestrel.suppressed; the window's last time),
// not written. The held alert is released — written once — when event time passes the end of
// its window: checked on every later match (Release before Offer), by the live pipeline's timer
// against the newest event's time, and at the end of input / stop (ReleaseAll). Decisions use
// event time only, so the same input gives the same alerts for any number of workers (the
// matches arrive in the same order); the price is that a suppressing rule's alert is written up
// to `for` later than its match. Alert ids are unchanged (the first match's).
// Bounds: at most `max_groups` open groups; past that the one that opened first is released
// early (counted in early_releases()). Thread safety: none (AlertBuilder's lock).
// Tested by suppression_test.cc.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "kestrel/engine/alert.h"
#include "kestrel/rules/rule_spec.h"
#include "kestrel/schema/schema.h"

namespace kestrel::pipeline {

class Suppressor {
 public:
  using Deliver = std::function<void(engine::Alert&, const rules::RuleSpec*)>;
  explicit Suppressor(const schema::Schema& schema, size_t max_groups = 10'000)
      : schema_(schema), max_groups_(max_groups < 1 ? 1 : max_groups) {}

  // Writes (through `deliver`) every held alert whose window ended before `now_ns` (event
  // time), in the order their groups opened.
  void Release(int64_t now_ns, const Deliver& deliver);
  // Writes every held alert (end of input, stop, reload).
  void ReleaseAll(const Deliver& deliver);
  // Takes `alert` of `rule` under `s`: holds it (a new group) or counts it (an open group).
  // Call Release(alert time) first.
  void Offer(engine::Alert&& alert, const rules::RuleSpec* rule, const rules::Suppression& s,
             const Deliver& deliver);

  // Whether `alert` falls in an open group (Offer would only count it).
  bool Counts(const engine::Alert& alert, const rules::Suppression& s) const;

  size_t held() const { return groups_.size(); }
  uint64_t early_releases() const { return early_; }
  // Alerts suppressed per rule id so far.
  const absl::flat_hash_map<std::string, uint64_t>& per_rule() const { return per_rule_; }

 private:
  struct Group {
    std::string key;
    uint64_t opened;  // order
    int64_t deadline_ns;
    engine::Alert alert;
    const rules::RuleSpec* rule;
  };
  void Emit(Group& g, const Deliver& deliver);
  std::string KeyOf(const engine::Alert& alert, const rules::Suppression& s,
                    std::vector<std::pair<std::string, std::string>>* terms) const;

  const schema::Schema& schema_;
  size_t max_groups_;
  std::vector<Group> groups_;  // in the order they opened
  uint64_t opened_ = 0, early_ = 0;
  int64_t min_deadline_ = INT64_MAX;
  absl::flat_hash_map<std::string, uint64_t> per_rule_;
};

}  // namespace kestrel::pipeline
