// Internal to the Sigma reader (sigma_reader.cc, sigma_detection.cc, sigma_condition.cc): EQL
// fragments with their source anchors, and the problems a conversion reports.
// Tested by sigma_test.cc.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kestrel/rules/document.h"
#include "kestrel/rules/sigma_mapping.h"

namespace kestrel::rules::sigma {

// Why a Sigma rule does not become a Kestrel rule: kUnsupported (a well-formed rule Kestrel
// cannot express; reported as skipped) or kError (a malformed rule, or a field the mapping does
// not know; reported as an error).
struct Problem {
  enum class Kind : uint8_t { kUnsupported, kError };
  Kind kind = Kind::kError;
  SourcePosition pos;
  std::string message;
};

// A piece of EQL and where its parts come from. `prec`: how tightly it binds, so combining
// fragments adds only the parentheses needed (0 atom, 1 `not`, 2 `and`, 3 `or`).
struct Fragment {
  std::string text;
  std::vector<QueryAnchor> anchors;
  int prec = 0;

  void Mark(SourcePosition pos) {
    if (pos.line != 0) anchors.push_back({static_cast<uint32_t>(text.size()), pos});
  }
  // Appends `other`, in parentheses when it binds more loosely than `max_prec` allows.
  void Append(const Fragment& other, int max_prec = 3) {
    bool paren = other.prec > max_prec;
    if (paren) text += '(';
    for (const QueryAnchor& a : other.anchors) {
      anchors.push_back({static_cast<uint32_t>(text.size() + a.offset), a.position});
    }
    text += other.text;
    if (paren) text += ')';
  }
};

// `parts` joined by " and " (prec 2) or " or " (prec 3); one part is returned as is.
Fragment Join(const std::vector<Fragment>& parts, bool conjunction);

// An EQL double-quoted string literal holding `value`.
std::string QuoteEql(std::string_view value);

// Compiles the named items of a `detection` map to EQL conditions.
class DetectionCompiler {
 public:
  DetectionCompiler(const SigmaLogsource& logsource, Problem* problem)
      : logsource_(logsource), problem_(problem) {}

  // One detection item (a map, a list of maps, a list of keywords). nullopt: *problem is set.
  std::optional<Fragment> Item(const DocNode& node);

  // The ECS field a Sigma field maps to, or nullptr with *problem set.
  const SigmaField* Field(std::string_view name, SourcePosition pos);

 private:
  std::optional<Fragment> Map(const DocNode& node);
  std::optional<Fragment> FieldCondition(const DocNode::Entry& entry);
  std::optional<Fragment> Keywords(const std::vector<const DocNode*>& values, SourcePosition pos);
  bool Fail(Problem::Kind kind, SourcePosition pos, std::string message);

  const SigmaLogsource& logsource_;
  const SigmaRecord* record_ = nullptr;  // of the map being compiled (`type: EXECVE`)
  Problem* problem_;
};

// The `condition` (a string, or a list of them: any may hold) over the named items, in file
// order. nullopt: *problem is set.
std::optional<Fragment> CompileCondition(const DocNode& condition,
                                         const std::vector<std::pair<std::string, Fragment>>& items,
                                         Problem* problem);

// Standard base64 with padding (RFC 4648).
std::string Base64(std::string_view bytes);
// The three base64 encodings of `bytes` at offsets 0, 1, 2 of a longer text, trimmed to the
// characters that do not depend on the surrounding bytes (Sigma's base64offset).
std::vector<std::string> Base64Offsets(std::string_view bytes);

}  // namespace kestrel::rules::sigma
