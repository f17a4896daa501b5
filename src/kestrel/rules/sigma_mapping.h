// SigmaMapping: how Sigma's Linux taxonomy becomes ECS (docs/sigma.md, "The mapping"). Per
// logsource (process_creation, file_event, network_connection, auditd, ...): the EQL head a rule's
// condition is ANDed to, the field keyword searches look in, and Sigma field -> ECS field (with an
// optional value mapping and numeric type).
//
// The default mapping is the data file src/kestrel/rules/sigma/mapping.yaml, embedded in the
// binary at build time (Default()). Users extend or override it with a file in the same format
// (`kestrel import sigma --sigma-mapping FILE`): Extend() merges a file into a mapping. Parsing
// reuses the YAML reader of rule files (typed scalars, depth and node budgets), so no input makes
// it recurse or allocate without bound; every error names file:line:col.
// Thread safety: a SigmaMapping is immutable once built; Default() is safe to call from any thread.
// Tested by sigma_test.cc.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kestrel::rules {

struct SigmaField {
  std::string ecs;       // the ECS field name
  bool numeric = false;  // values compare as numbers (`field == 5`)
  bool ip = false;       // an IP address: values compare with `==` (or `cidr`), no wildcards
  // Sigma value -> ECS value, compared without case (e.g. Initiated "true" -> "egress").
  std::vector<std::pair<std::string, std::string>> values;
};

// A record type of a logsource (auditd's EXECVE): a detection map with `type: NAME` is that
// record, which `condition` says in EQL, and its fields map first through `fields`.
struct SigmaRecord {
  std::string name;  // compared without case
  std::string condition;
  std::map<std::string, SigmaField, std::less<>> fields;
};

struct SigmaLogsource {
  std::string name;  // the mapping's key, e.g. "process_creation"
  std::string category, product, service;
  // `CATEGORY where FILTER` or `CATEGORY`; the rule's condition is ANDed to it.
  std::string query;
  std::string keywords;  // ECS field of keyword (field-less) searches; "" refuses them
  std::map<std::string, SigmaField, std::less<>> fields;
  std::vector<SigmaRecord> records;
};

class SigmaMapping {
 public:
  // The built-in mapping (sigma/mapping.yaml), and that file's text.
  static const SigmaMapping& Default();
  static std::string_view DefaultText();

  // Merges the mapping text of `file` into this one: an entry of an existing name replaces its
  // category/product/service/query/keywords where given and adds or replaces fields; a new name
  // is appended. Returns the errors ("file:line:col: message"); on errors nothing is merged.
  std::vector<std::string> Extend(std::string_view file, std::string_view text);

  // The first logsource whose category (if the rule gives one) or service (else) matches the
  // rule's, and whose product, when both name one, is the rule's. nullptr: none serves it.
  const SigmaLogsource* Find(std::string_view category, std::string_view product,
                             std::string_view service) const;

  const std::vector<SigmaLogsource>& logsources() const { return logsources_; }

 private:
  std::vector<SigmaLogsource> logsources_;
};

// Default() extended by the file at `path` (read bounded like a rule file). Errors as Extend().
std::vector<std::string> LoadSigmaMapping(const std::string& path, SigmaMapping* out);

}  // namespace kestrel::rules
