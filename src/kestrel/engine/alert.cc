// Alert id and JSON line; see alert.h. Tested by alert_test.cc.
#include "kestrel/engine/alert.h"

#include <algorithm>
#include <cctype>

#include "kestrel/base/fingerprint.h"
#include "kestrel/base/time.h"
#include "kestrel/event/json_encoder.h"
#include "kestrel/event/json_writer.h"

namespace kestrel::engine {

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kLow:
      return "low";
    case Severity::kMedium:
      return "medium";
    case Severity::kHigh:
      return "high";
    case Severity::kCritical:
      return "critical";
  }
  return "medium";
}

std::optional<Severity> ParseSeverity(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (Severity s : {Severity::kLow, Severity::kMedium, Severity::kHigh, Severity::kCritical}) {
    if (lower == SeverityName(s)) return s;
  }
  return std::nullopt;
}

void FinalizeAlert(const schema::Schema& schema, Alert* alert) {
  if (alert->timestamp_ns == 0 && !alert->events.empty()) {
    alert->timestamp_ns = alert->events.back()->wall_ns();
  }
  if (alert->title.empty()) alert->title = alert->rule_name;
  base::Fingerprint fp;
  fp.Add(alert->rule_id).Add(static_cast<uint64_t>(alert->events.size()));
  alert->encoded_fields.resize(alert->events.size());
  for (size_t i = 0; i < alert->events.size(); ++i) {
    const event::Event& e = *alert->events[i];
    std::string& fields = alert->encoded_fields[i];
    fields.clear();
    event::AppendEventJson(e, schema, &fields);
    fp.Add(e.time_ns()).Add(e.wall_ns()).Add(fields);
  }
  fp.Add(alert->entity_key);
  alert->id = fp.Hex();
}

void AppendProcessTreeJson(const Alert& alert, std::string* out);
void AppendSuppressionJson(const Alert& alert, std::string* out);

void AppendAlertJson(const schema::Schema& schema, const Alert& alert, std::string* out) {
  using event::AppendJsonInt;
  using event::AppendJsonString;
  out->append("{\"id\":");
  AppendJsonString(out, alert.id);
  out->append(",\"rule_id\":");
  AppendJsonString(out, alert.rule_id);
  out->append(",\"rule_name\":");
  AppendJsonString(out, alert.rule_name);
  out->append(",\"severity\":");
  AppendJsonString(out, SeverityName(alert.severity));
  out->append(",\"title\":");
  AppendJsonString(out, alert.title);
  out->append(",\"timestamp_ns\":");
  AppendJsonInt(out, alert.timestamp_ns);
  out->append(",\"events\":[");
  for (size_t i = 0; i < alert.events.size(); ++i) {
    const event::Event& e = *alert.events[i];
    if (i > 0) out->push_back(',');
    out->append("{\"event_type_id\":");
    AppendJsonInt(out, e.primary_category());
    out->append(",\"timestamp_ns\":");
    AppendJsonInt(out, e.wall_ns());
    out->append(",\"fields\":");
    if (alert.encoded_fields.size() == alert.events.size()) {
      out->append(alert.encoded_fields[i]);
    } else {
      event::AppendEventJson(e, schema, out);
    }
    out->append(",\"@timestamp\":");
    AppendJsonString(out, base::FormatTimestamp(e.wall_ns(), 9));
    out->push_back('}');
  }
  out->append("],\"context\":{\"entity_key\":");
  AppendJsonString(out, alert.entity_key);
  if (alert.degraded > 0) {
    out->append(",\"degraded\":");
    AppendJsonInt(out, static_cast<int64_t>(alert.degraded));
  }
  if (!alert.flight_recording.empty()) {
    out->append(",\"flight_recording\":");
    AppendJsonString(out, alert.flight_recording);
  }
  out->push_back('}');
  if (!alert.action.empty()) {
    out->append(",\"event\":{\"action\":");
    AppendJsonString(out, alert.action);
    out->append(",\"outcome\":");
    AppendJsonString(out, alert.outcome.empty() ? std::string_view("unknown") : alert.outcome);
    out->push_back('}');
  }
  out->append(",\"@timestamp\":");
  AppendJsonString(out, base::FormatTimestamp(alert.timestamp_ns, 9));
  if (!alert.message.empty()) {
    out->append(",\"message\":");
    AppendJsonString(out, alert.message);
  }
  if (!alert.process_tree.empty()) {
    out->append(",\"process_tree\":");
    AppendProcessTreeJson(alert, out);
  }
  if (alert.suppressing) {
    out->append(",\"kestrel\":");
    AppendSuppressionJson(alert, out);
  }
  out->push_back('}');
}

namespace {
void AppendProcessJson(const AlertProcess& p, std::string* out) {
  out->push_back('{');
  bool first = true;
  auto key = [&](std::string_view k) {
    if (!first) out->push_back(',');
    first = false;
    event::AppendJsonString(out, k);
    out->push_back(':');
  };
  if (!p.command_line.empty()) {
    key("command_line");
    event::AppendJsonString(out, p.command_line);
  }
  if (!p.entity_id.empty()) {
    key("entity_id");
    event::AppendJsonString(out, p.entity_id);
  }
  if (!p.executable.empty()) {
    key("executable");
    event::AppendJsonString(out, p.executable);
  }
  if (!p.name.empty()) {
    key("name");
    event::AppendJsonString(out, p.name);
  }
  if (p.pid >= 0) {
    key("pid");
    event::AppendJsonInt(out, p.pid);
  }
  out->push_back('}');
}
}  // namespace

void AppendProcessTreeJson(const Alert& alert, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < alert.process_tree.size(); ++i) {
    const AlertProcessTree& t = alert.process_tree[i];
    if (i > 0) out->push_back(',');
    out->append("{\"event\":");
    event::AppendJsonInt(out, t.event);
    out->append(",\"process\":");
    AppendProcessJson(t.process, out);
    out->append(",\"ancestors\":[");
    for (size_t a = 0; a < t.ancestors.size(); ++a) {
      if (a > 0) out->push_back(',');
      AppendProcessJson(t.ancestors[a], out);
    }
    out->push_back(']');
    if (!t.sha256.empty()) {
      out->append(",\"sha256\":");
      event::AppendJsonString(out, t.sha256);
    }
    if (!t.container_id.empty()) {
      out->append(",\"container_id\":");
      event::AppendJsonString(out, t.container_id);
    }
    out->push_back('}');
  }
  out->push_back(']');
}

void AppendSuppressionJson(const Alert& alert, std::string* out) {
  out->append("{\"suppressed\":");
  event::AppendJsonInt(out, static_cast<int64_t>(alert.suppressed));
  out->append(",\"suppression\":{\"start\":");
  event::AppendJsonString(out, base::FormatTimestamp(alert.suppression_start_ns, 9));
  out->append(",\"end\":");
  event::AppendJsonString(out, base::FormatTimestamp(alert.suppression_end_ns, 9));
  out->append(",\"terms\":[");
  for (size_t i = 0; i < alert.suppression_terms.size(); ++i) {
    if (i > 0) out->push_back(',');
    out->append("{\"field\":");
    event::AppendJsonString(out, alert.suppression_terms[i].first);
    out->append(",\"value\":");
    out->append(alert.suppression_terms[i].second);
    out->push_back('}');
  }
  out->append("]}}");
}

void LossLedger::Record(int64_t begin_ns, int64_t end_ns, uint64_t count) {
  if (count == 0) return;
  if (end_ns < begin_ns) std::swap(begin_ns, end_ns);
  total_ += count;
  if (spans_.size() >= max_spans_) {
    // Merge the two oldest spans: coarser, but no loss is forgotten.
    Span& a = spans_[0];
    const Span& b = spans_[1];
    a.begin_ns = std::min(a.begin_ns, b.begin_ns);
    a.end_ns = std::max(a.end_ns, b.end_ns);
    a.count += b.count;
    spans_.erase(spans_.begin() + 1);
  }
  spans_.push_back(Span{begin_ns, end_ns, count});
}

uint64_t LossLedger::Lost(int64_t begin_ns, int64_t end_ns) const {
  uint64_t lost = 0;
  for (const Span& s : spans_) {
    if (s.begin_ns <= end_ns && begin_ns <= s.end_ns) lost += s.count;
  }
  return lost;
}

void LossLedger::Mark(Alert* alert) const {
  if (spans_.empty() || alert->events.empty()) return;
  int64_t first = alert->events.front()->time_ns(), last = first;
  for (const auto& e : alert->events) {
    first = std::min(first, e->time_ns());
    last = std::max(last, e->time_ns());
  }
  alert->degraded = Lost(first, last);
}

}  // namespace kestrel::engine
