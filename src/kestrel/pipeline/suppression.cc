// Suppressor; see suppression.h. Tested by suppression_test.cc.
#include "kestrel/pipeline/suppression.h"

#include <algorithm>

#include "kestrel/event/json_writer.h"

namespace kestrel::pipeline {
namespace {

int64_t EventTime(const engine::Alert& a) {
  return a.events.empty() ? a.timestamp_ns : a.events.back()->time_ns();
}

}  // namespace

void Suppressor::Emit(Group& g, const Deliver& deliver) { deliver(g.alert, g.rule); }

void Suppressor::Release(int64_t now_ns, const Deliver& deliver) {
  if (groups_.empty() || now_ns <= min_deadline_) return;
  std::vector<Group> keep;
  int64_t min_deadline = INT64_MAX;
  for (Group& g : groups_) {
    if (g.deadline_ns < now_ns) {
      Emit(g, deliver);
    } else {
      min_deadline = std::min(min_deadline, g.deadline_ns);
      keep.push_back(std::move(g));
    }
  }
  groups_ = std::move(keep);
  min_deadline_ = min_deadline;
}

void Suppressor::ReleaseAll(const Deliver& deliver) {
  for (Group& g : groups_) Emit(g, deliver);
  groups_.clear();
  min_deadline_ = INT64_MAX;
}

std::string Suppressor::KeyOf(const engine::Alert& alert, const rules::Suppression& s,
                              std::vector<std::pair<std::string, std::string>>* terms) const {
  // The group: rule id, then each `by` field's value in the last event as JSON ("null" when
  // missing), separated by a byte that JSON text never holds.
  std::string key = alert.rule_id;
  for (const std::string& field : s.by) {
    std::string value = "null";
    if (!alert.events.empty()) {
      if (auto id = schema_.Find(field)) {
        if (const event::Value* v = alert.events.back()->Find(*id)) {
          value.clear();
          event::AppendJsonValue(&value, *v);
        }
      }
    }
    key.push_back('\x01');
    key += value;
    if (terms != nullptr) terms->emplace_back(field, std::move(value));
  }
  return key;
}

bool Suppressor::Counts(const engine::Alert& alert, const rules::Suppression& s) const {
  std::string key = KeyOf(alert, s, nullptr);
  int64_t t = EventTime(alert);
  for (const Group& g : groups_) {
    if (g.key == key) return t <= g.deadline_ns;
  }
  return false;
}

void Suppressor::Offer(engine::Alert&& alert, const rules::RuleSpec* rule,
                       const rules::Suppression& s, const Deliver& deliver) {
  std::vector<std::pair<std::string, std::string>> terms;
  std::string key = KeyOf(alert, s, &terms);
  int64_t t = EventTime(alert);
  for (Group& g : groups_) {
    if (g.key != key) continue;
    if (t <= g.deadline_ns) {
      ++g.alert.suppressed;
      g.alert.suppression_end_ns = std::max(g.alert.suppression_end_ns, alert.timestamp_ns);
      ++per_rule_[alert.rule_id];
      return;
    }
    break;  // (Release ran first, so this is only reached with out-of-order time)
  }
  if (auto it = std::find_if(groups_.begin(), groups_.end(),
                             [&](const Group& g) { return g.key == key; });
      it != groups_.end()) {
    Emit(*it, deliver);
    groups_.erase(it);
  }
  if (groups_.size() >= max_groups_) {
    Emit(groups_.front(), deliver);
    groups_.erase(groups_.begin());
    ++early_;
  }
  alert.suppressing = true;
  alert.suppressed = 0;
  alert.suppression_start_ns = alert.timestamp_ns;
  alert.suppression_end_ns = alert.timestamp_ns;
  alert.suppression_terms = std::move(terms);
  int64_t deadline = t > INT64_MAX - s.for_ns ? INT64_MAX : t + s.for_ns;
  min_deadline_ = std::min(min_deadline_, deadline);
  groups_.push_back(Group{std::move(key), opened_++, deadline, std::move(alert), rule});
}

}  // namespace kestrel::pipeline
