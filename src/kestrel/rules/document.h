// Document: the format-neutral tree every rule file reader converts its parser's output to
// (nlohmann-json, yaml-cpp and toml++ trees all become DocNodes), with the source position of
// every value and key, and the per-file state shared by the readers (FileContext).
//
// Readers convert recursively but under a depth limit (kMaxDocumentDepth) and a node budget
// (kMaxDocumentNodes, which also stops YAML alias expansion from growing exponentially), both
// kept by one DocumentBudget per conversion, so no input makes the conversion recurse without
// bound or allocate without bound. The parsers are bounded before they run: the JSON reader
// checks depth and value count in its offset pass, YAML and TOML run a pre-scan (below).
// Internal to kestrel_rules. Tested through rule_file_test.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kestrel/rules/rule_spec.h"
#include "kestrel/rules/source_text.h"

namespace kestrel::rules {

class SigmaMapping;

inline constexpr int kMaxDocumentDepth = 64;
inline constexpr size_t kMaxDocumentNodes = 200'000;

struct DocNode {
  enum class Kind : uint8_t { kNull, kBool, kInt, kFloat, kString, kList, kMap };
  struct Entry;

  Kind kind = Kind::kNull;
  SourcePosition position;  // of the value's first source byte
  // Strings: byte offset of the first content byte (after the opening delimiter; for a YAML
  // block scalar, the start of the line after the indicator) and whether the syntax the string
  // is written in has backslash escapes. Used to align the query (source_text.h).
  size_t content_offset = 0;
  bool escapes = false;
  std::string text;  // scalars: the string value, or the source spelling of a number / bool
  int64_t int_value = 0;
  bool bool_value = false;
  std::vector<DocNode> items;  // kList
  std::vector<Entry> entries;  // kMap, in file order (toml++: key order)

  bool is_scalar() const { return kind != Kind::kList && kind != Kind::kMap; }
  const DocNode* Find(std::string_view key) const;
  // Scalars as a string (numbers and bools by their source spelling); nullopt otherwise.
  std::optional<std::string> AsString() const;
  // kInt, or a string holding a decimal integer.
  std::optional<int64_t> AsInt() const;
  std::string_view KindName() const;
};

struct DocNode::Entry {
  std::string key;
  SourcePosition key_position;
  DocNode value;
};

// State of one file being read: its name, text, line index, and where results go.
class FileContext {
 public:
  // Borrows `text` and `result`, which must outlive the context.
  FileContext(std::string file, RuleFormat format, std::string_view text, LoadResult* result)
      : file_(std::move(file)), format_(format), lines_(text), result_(result) {}

  const std::string& file() const { return file_; }
  RuleFormat format() const { return format_; }
  const LineIndex& lines() const { return lines_; }
  LoadResult* result() { return result_; }
  // The Sigma mapping for Sigma files; null: SigmaMapping::Default(). Borrowed.
  const SigmaMapping* sigma_mapping() const { return sigma_mapping_; }
  void set_sigma_mapping(const SigmaMapping* mapping) { sigma_mapping_ = mapping; }

  void Error(SourcePosition pos, std::string message) {
    Add(LoadDiagnostic::Kind::kError, pos, std::move(message));
  }
  void Warning(SourcePosition pos, std::string message) {
    Add(LoadDiagnostic::Kind::kWarning, pos, std::move(message));
  }
  void Skipped(SourcePosition pos, std::string message) {
    Add(LoadDiagnostic::Kind::kSkipped, pos, std::move(message));
  }

 private:
  void Add(LoadDiagnostic::Kind kind, SourcePosition pos, std::string message) {
    result_->diagnostics.push_back({file_, pos, kind, std::move(message)});
  }

  std::string file_;
  RuleFormat format_;
  LineIndex lines_;
  LoadResult* result_;
  const SigmaMapping* sigma_mapping_ = nullptr;
};

// The depth limit and node budget of one conversion to DocNodes (every reader's converter holds
// one and asks it before converting each value).
class DocumentBudget {
 public:
  // `excess_note` is appended to the error about too many values (a literal; YAML says why).
  explicit DocumentBudget(std::string_view excess_note = {}) : excess_note_(excess_note) {}

  // Counts one value at `depth` (the root is 0). Past kMaxDocumentDepth or kMaxDocumentNodes,
  // reports an error at `position` on `ctx` and returns false: the conversion stops.
  bool Admit(int depth, SourcePosition position, FileContext* ctx);

 private:
  std::string_view excess_note_;
  size_t nodes_ = 0;
};

// Pre-scans run on a file's text before its parser builds anything (the parsers' own trees cost
// far more than a DocNode: yaml-cpp several hundred bytes a node, and toml++ recurses once per
// dotted-key segment). Each returns the offset where the text first goes over the budget, with
// the reason, or nullopt. Linear in the text; they never read past its end.
struct BudgetOverrun {
  size_t offset;
  std::string reason;
};
// YAML: each non-blank, non-comment line and each ',' may be a value; more than
// kMaxDocumentNodes of them is refused (an over-estimate only for text that is not YAML
// structure, which no rule file holds 200,000 lines of).
std::optional<BudgetOverrun> PrescanYaml(std::string_view text);
// TOML: the open brackets and braces plus the segments of the dotted key being read, outside
// strings and comments, must stay within kMaxDocumentDepth.
std::optional<BudgetOverrun> PrescanToml(std::string_view text);

struct RuleDefaults {
  std::string id;                 // used when the map has no `id`; empty: `id` is required
  bool warn_unknown_keys = true;  // TOML maps are pre-filtered
};

// Builds one RuleSpec from `rule`, a map in the canonical shape of docs/rules.md (the JSON/YAML
// keys; the EQL and TOML readers build such a map). On success appends it to the result; on an
// error adds diagnostics and counts the rule as failed; a non-EQL language counts as skipped.
void BuildRule(const DocNode& rule, const RuleDefaults& defaults, FileContext* ctx);

// Builds the rules of a JSON or YAML document: one rule map, a map with a `rules` list, or a
// list of rule maps.
void BuildRulesFromDocument(const DocNode& root, FileContext* ctx);

}  // namespace kestrel::rules
