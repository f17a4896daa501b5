// The two alert formats a sink can send (docs/alerts.md is the contract):
//  - kKestrel: Kestrel's alert shape, the JSON line of engine::AppendAlertJson followed by
//    "host" and "agent" (of the last evidence event that has them) and "rule" (the rule's
//    metadata: description, risk score, version, file, tags, references, ATT&CK threat);
//  - kEcs: an ECS alert document in Elastic's alerts-as-data shape, indexable as is by
//    Elastic, OpenSearch and other ECS-aware SIEMs: `@timestamp`, `message`, `event.kind:
//    "signal"`, the last evidence event's `process`, `user`, `host`, `file`, `destination`,
//    `agent`, `container`, ... at the top level, `rule.*`, `threat.*` (MITRE ATT&CK),
//    `kibana.alert.*` (rule, severity, risk score, reason, ancestors, suppression), and
//    `kestrel.*` (entity key, suppressed count, process tree, the evidence events).
// Both are deterministic: the same alert and rule give the same bytes (no clock is read).
// Tested by alert_document_test.cc.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "kestrel/actions/sink.h"
#include "kestrel/engine/alert.h"
#include "kestrel/rules/rule_spec.h"
#include "kestrel/schema/schema.h"

namespace kestrel::actions {

enum class AlertFormat : uint8_t { kKestrel, kEcs };
std::optional<AlertFormat> ParseAlertFormat(std::string_view name);  // "kestrel", "ecs"

class AlertFormatter {
 public:
  // `schema` must outlive the formatter.
  explicit AlertFormatter(const schema::Schema* schema);

  // Appends `alert` in `format`. `rule` (may be null: its metadata is then omitted) is the
  // rule that made it.
  void Append(AlertFormat format, const engine::Alert& alert, const rules::RuleSpec* rule,
              std::string* out) const;
  // host.name of the alert's last event that has one, else "".
  std::string_view HostName(const engine::Alert& alert) const;

 private:
  void AppendEcs(const engine::Alert& alert, const rules::RuleSpec* rule, std::string* out) const;
  void AppendKestrel(const engine::Alert& alert, const rules::RuleSpec* rule,
                     std::string* out) const;
  // The value of top-level object `key` ("host") of the last evidence event that has one.
  std::string_view LastObject(const engine::Alert& alert, std::string_view key,
                              std::string* scratch) const;

  const schema::Schema* schema_;
  std::optional<schema::FieldId> host_name_;
};

}  // namespace kestrel::actions
