// RuleSpec: one rule as read from a rule file (metadata + raw query text), before any EQL parsing,
// and the diagnostics of loading rule files (docs/rules.md describes the file formats).
//
// Query positions: a RuleSpec keeps the query exactly as the EQL compiler must see it (the decoded
// string of the file) plus a query map, a sorted list of anchors "query byte offset -> file
// line:column". PositionOf() takes the last anchor at or before an offset and walks forward
// through the query text: columns advance by one per byte and a newline moves to column 1 of the
// next line. Readers add an anchor wherever that walk would be wrong (the first character of
// each indented continuation line of a YAML block scalar, after an escape sequence, ...), so a
// compiler error inside a multi-line query is reported at the FILE's line and column. Lines and
// columns are 1-based; columns count bytes (as EQL spans do), not code points.
//
// Tested by rule_file_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kestrel/engine/alert.h"

namespace kestrel::rules {

struct SourcePosition {
  uint32_t line = 0;    // 1-based; 0 means "no position" (a whole-file diagnostic)
  uint32_t column = 0;  // 1-based, counts bytes
  friend bool operator==(const SourcePosition&, const SourcePosition&) = default;
};

// Maps query[offset] to a file position (see the file comment).
struct QueryAnchor {
  uint32_t offset = 0;
  SourcePosition position;
  friend bool operator==(const QueryAnchor&, const QueryAnchor&) = default;
};

// One MITRE ATT&CK (or other framework) mapping of a rule.
struct ThreatMapping {
  std::string framework = "MITRE ATT&CK";
  std::string tactic_id;
  std::string tactic_name;
  // Techniques in file order, each followed by its sub-techniques (e.g. T1059, T1059.004).
  std::vector<std::string> technique_ids;
  // Parallel to technique_ids (same size); "" where the file gives no name.
  std::vector<std::string> technique_names;
};

enum class RuleAction : uint8_t { kAlert, kBlock, kKill };
enum class RuleDialect : uint8_t { kElasticsearch, kEndgame };
// kSigma: a .yml/.yaml file of Sigma rules (docs/sigma.md), converted to EQL when read.
enum class RuleFormat : uint8_t { kEql, kJson, kYaml, kToml, kSigma };

std::string_view RuleActionName(RuleAction action);
std::string_view RuleDialectName(RuleDialect dialect);
std::string_view RuleFormatName(RuleFormat format);
// Accept the lower-case names (alert|block|kill, elasticsearch|endgame), any case.
std::optional<RuleAction> ParseRuleAction(std::string_view name);
std::optional<RuleDialect> ParseRuleDialect(std::string_view name);

// The risk score of a rule that gives none: low 21, medium 47, high 73, critical 99 (Elastic's
// convention).
int DefaultRiskScore(engine::Severity severity);

// `suppress: {by: [fields], for: 5m}`: at most one alert per rule, group (the values of `by`) and
// window of `for` event time; the duplicates are counted on it (docs/alerts.md, "Suppression").
struct Suppression {
  std::vector<std::string> by;  // field names; empty: one group per rule
  int64_t for_ns = 0;           // > 0; 0 only for `suppress: off`
};
// `message` templates: "{field.name}" is replaced by the field's value, "{{" and "}}" are
// literal braces. Returns "" when `text` is a valid template, else why not (the byte offset of
// the mistake in *offset).
std::string CheckMessageTemplate(std::string_view text, size_t* offset);
// "500ms", "30s", "5m", "2h", "1d" to nanoseconds; nullopt for anything else (a unit is required).
std::optional<int64_t> ParseRuleDuration(std::string_view text);

struct RuleSpec {
  std::string file;  // the path as given to the loader
  RuleFormat format = RuleFormat::kEql;
  SourcePosition position;  // where the rule is defined (its id, else its first line)
  std::string id;
  std::string name;  // defaults to the id
  std::string description;
  engine::Severity severity = engine::Severity::kMedium;
  int risk_score = 47;  // 0..100
  std::vector<std::string> tags;
  std::vector<ThreatMapping> threat;
  std::vector<std::string> references;       // URLs or citations, in file order
  std::vector<std::string> false_positives;  // notes on benign activity that may match
  std::string version;                       // the rule's version ("" when the file gives none)
  // The one-line alert message template (CheckMessageTemplate); "": the default message.
  std::string message;
  // `suppress`; unset: the run's default (`run.suppress`); for_ns == 0: `suppress: off`.
  std::optional<Suppression> suppress;
  RuleAction action = RuleAction::kAlert;
  RuleDialect dialect = RuleDialect::kElasticsearch;
  bool dialect_set = false;  // the file named a dialect (else the loader's default applies)
  std::string language = "eql";
  std::string query;                   // exactly as the EQL compiler must see it
  SourcePosition query_start;          // == PositionOf(0)
  std::vector<QueryAnchor> query_map;  // sorted by offset, first anchor at the first query byte

  // The file position of query[query_offset]; offsets past the end map to just after the last
  // byte. Linear in the distance to the previous anchor (a line at most, for all readers).
  SourcePosition PositionOf(size_t query_offset) const;
};

struct LoadDiagnostic {
  enum class Kind : uint8_t {
    kError,    // the rule (or the whole file) was not loaded
    kWarning,  // loaded; something was ignored
    kSkipped,  // a well-formed rule Kestrel does not run (e.g. a KQL rule); not a failure
  };
  std::string file;
  SourcePosition pos;  // line 0: the diagnostic is about the whole file
  Kind kind = Kind::kError;
  std::string message;  // lower case, no trailing period
};

std::string_view DiagnosticKindName(LoadDiagnostic::Kind kind);  // "error", "warning", "skipped"

// "file:line:col: error: message" (or "file: error: message" without a position).
std::string FormatLoadDiagnostic(const LoadDiagnostic& diagnostic);

struct LoadResult {
  std::vector<RuleSpec> rules;  // in file order, files in load order
  std::vector<LoadDiagnostic> diagnostics;
  size_t files = 0;    // rule files read (including those that failed)
  size_t skipped = 0;  // rules reported as kSkipped
  size_t failed = 0;   // rules and whole files rejected with an error

  bool ok() const { return failed == 0; }
};

}  // namespace kestrel::rules
