// SinkSet; see sink_set.h. Tested by sink_set_test.cc.
#include "kestrel/actions/sink_set.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include <fmt/format.h>
#include <xxhash.h>

namespace kestrel::actions {

bool SinkFilter::Accepts(engine::Severity severity, const rules::RuleSpec* rule) const {
  if (severity < min_severity) return false;
  if (tags.empty()) return true;
  if (rule == nullptr) return false;
  for (const std::string& t : rule->tags) {
    if (std::find(tags.begin(), tags.end(), t) != tags.end()) return true;
  }
  return false;
}

SinkSet::SinkSet(const schema::Schema* schema) : formatter_(schema) {}

SinkSet::~SinkSet() { Close(std::chrono::milliseconds(0)); }

std::function<SinkMessage(uint64_t)> SinkSet::DropNotice(AlertFormat format,
                                                         std::string sink_name) const {
  return [this, format, sink_name](uint64_t dropped) {
    engine::Alert alert;
    alert.rule_id = kSpoolOverflowRuleId;
    alert.rule_name = "Kestrel alerts dropped: sink spool full";
    alert.severity = engine::Severity::kHigh;
    alert.title =
        fmt::format("{} alerts for {} were dropped: its spool was full", dropped, sink_name);
    alert.entity_key = fmt::format("sink={}", sink_name);
    // A notice is about this process's delivery, not about events: wall clock time.
    alert.timestamp_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    std::string seed = fmt::format("{}\n{}\n{}", sink_name, dropped, alert.timestamp_ns);
    XXH128_hash_t h = XXH3_128bits(seed.data(), seed.size());
    alert.id = fmt::format("{:016x}{:016x}", h.high64, h.low64);
    rules::RuleSpec rule;
    rule.id = alert.rule_id;
    rule.name = alert.rule_name;
    rule.description = "A sink could not deliver for long enough that its spool filled up.";
    rule.severity = alert.severity;
    rule.risk_score = rules::DefaultRiskScore(alert.severity);
    rule.tags = {"kestrel", "health"};
    SinkMessage m;
    m.rule_id = alert.rule_id;
    m.severity = static_cast<uint8_t>(alert.severity);
    m.time_ns = alert.timestamp_ns;
    formatter_.Append(format, alert, &rule, &m.body);
    return m;
  };
}

void SinkSet::Add(std::unique_ptr<SinkPipeline> pipeline, SinkFilter filter, AlertFormat format) {
  sinks_.push_back(Entry{std::move(pipeline), std::move(filter), format, 0});
}

void SinkSet::AddDirect(std::unique_ptr<Sink> sink, AlertFormat format) {
  direct_.push_back(Direct{std::move(sink), format});
}

SinkSet::SubmitResult SinkSet::Submit(const engine::Alert& alert, const rules::RuleSpec* rule) {
  bool done[2] = {false, false};
  SubmitResult result;
  std::string_view host;
  bool host_known = false;
  for (Direct& d : direct_) {
    auto f = static_cast<size_t>(d.format);
    if (!done[f]) {
      formatted_[f].clear();
      formatter_.Append(d.format, alert, rule, &formatted_[f]);
      done[f] = true;
    }
    // The formatted text is lent to the message (no copy), and taken back for the other sinks.
    direct_message_.body.swap(formatted_[f]);
    direct_message_.rule_id.assign(alert.rule_id);
    direct_message_.severity = static_cast<uint8_t>(alert.severity);
    direct_message_.time_ns = alert.timestamp_ns;
    size_t delivered = 0;
    absl::Status s = d.sink->Deliver(std::span<const SinkMessage>(&direct_message_, 1), &delivered);
    direct_message_.body.swap(formatted_[f]);
    if (s.ok() && delivered == 1) {
      direct_written_.fetch_add(1, std::memory_order_relaxed);
    } else {
      direct_lost_.fetch_add(1, std::memory_order_relaxed);
      if (result.direct.ok()) result.direct = s.ok() ? absl::DataLossError("short write") : s;
    }
  }
  for (Entry& e : sinks_) {
    if (!e.filter.Accepts(alert.severity, rule)) {
      ++e.filtered;
      continue;
    }
    auto f = static_cast<size_t>(e.format);
    if (!done[f]) {
      formatted_[f].clear();
      formatter_.Append(e.format, alert, rule, &formatted_[f]);
      done[f] = true;
    }
    if (!host_known) {
      host = formatter_.HostName(alert);
      host_known = true;
    }
    SinkMessage m;
    m.host.assign(host);
    m.rule_id = alert.rule_id;
    m.body = formatted_[f];
    m.severity = static_cast<uint8_t>(alert.severity);
    m.time_ns = alert.timestamp_ns;
    if (!e.pipeline->Offer(std::move(m))) ++result.refused;
  }
  return result;
}

void SinkSet::Close(std::chrono::milliseconds deadline) {
  // In parallel: one sink that cannot deliver must not use up the others' time.
  std::vector<std::thread> closers;
  for (Entry& e : sinks_) {
    closers.emplace_back([&e, deadline] { e.pipeline->Close(deadline); });
  }
  for (std::thread& t : closers) t.join();
}

std::vector<SinkReport> SinkSet::Reports() const {
  std::vector<SinkReport> out;
  for (const Entry& e : sinks_) {
    out.push_back(SinkReport{e.pipeline->name(), e.pipeline->stats(), e.filtered});
  }
  return out;
}

}  // namespace kestrel::actions
