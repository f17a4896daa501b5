// The two alert formats a sink can send (docs/alerts.md is the contract):
//  - kKestrel: Kestrel's alert shape, the JSON line of engine::AppendAlertJson;
//  - kEcs: an ECS alert document, indexable as is by Elastic, OpenSearch and other ECS-aware
//    SIEMs: `@timestamp`, `event.kind: "signal"`, `kibana.alert.*` and `rule.*` rule fields,
//    `threat.*` (MITRE ATT&CK) from the rule's metadata, `host.name`, and the evidence events
//    nested under `kestrel.evidence`.
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

  const schema::Schema* schema_;
  std::optional<schema::FieldId> host_name_;
};

}  // namespace kestrel::actions
