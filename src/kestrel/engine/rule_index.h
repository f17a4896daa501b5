// RuleIndex: which rules (and which of their stages) can possibly match an event, found without
// evaluating them, so that an event meets only the rules that may care about it.
//
// Every stage of every rule (positive stages, missing-event stages `![..]` and `until`) gets a
// slot. Building the index picks, for each stage, an *anchor*: a condition that must hold for the
// stage's predicate to be true — a top-level conjunct (or a disjunction of such conditions) of
// one of these forms over a plain field:
//   field == "s", field in ("a", "b")      -> hashed equality (exact, or ASCII case-folded)
//   field == 4, field in (22, 2222)         -> hashed numeric equality
//   field : "a*b", wildcard(field, ...), like, Endgame `==` with `*`
//                                          -> one multi-literal scan (vectorscan) per field
//   startsWith / endsWith / stringContains(field, "s")
//                                          -> the same scan: s at the start, end, anywhere
// Every pattern is indexed as one literal and where it must occur: `a*`, `*a`, `*a*` exactly;
// a glob with a metacharacter between literal text (`/home/*/.ssh/*`) by its longest literal
// segment alone (a superset the evaluator narrows), so the databases are literal sets, which
// compile in milliseconds where `.*` inside expressions took most of a large rule set's start.
// Of several conjuncts that could anchor a stage, the index takes the cheapest: each atom costs
// the square of the number of stages of the whole rule set that share it, summed over the
// conjunct's atoms (an atom many rules repeat, like `host.os.type == "linux"`, is true of most
// events and would open every stage; a list of values no other rule names beats it even when long).
// Stages without an anchor (no such conjunct, `where true`, regexes only, ...) are *unanchored*:
// they are candidates for every event of their category.
//
// Per event, RuleMatcher::Prepare() reads each anchored field of the event's categories once,
// looks its value up in the field's hash tables and scans it once with the field's pattern
// database; each hit opens the stages behind it. The result is the list of rules to run, in
// load order, and a per-stage gate the engine consults before evaluating a stage.
//
// Guarantee: the index is a pre-filter only. A closed stage's predicate cannot be true (its
// anchor is a necessary condition, and a value the index cannot judge — an IP, which may equal
// a string constant — opens every stage it might satisfy), so running only
// the candidates gives exactly the results of running every rule. The engine still evaluates
// the full predicate of every open stage with the reference semantics. Checked by
// rule_index_test.cc, which runs every conformance query through the index and without it.
//
// Rules that need every event — process relations (`descendant of`, which keep a process
// table) and trailing missing-event stages (which complete as time passes) — are always run.
//
// Cost per event: one Find() per anchored field of the event's categories, one hash lookup per
// table, one vectorscan pass per field with patterns (linear in the value's length, no
// backtracking), plus the marks.
// Build cost: one vectorscan compile per database (a pattern it refuses is found from the
// error and left out, its stages unanchored, and the rest compiled again). No allocation in steady
// state. Thread safety: a RuleIndex is immutable after Build() and may be shared by threads; each
// thread uses its own RuleMatcher. Tested by rule_index_test.cc.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "kestrel/eql/ir.h"
#include "kestrel/event/event.h"

namespace kestrel::engine {

struct RuleIndexStats {
  size_t rules = 0;
  size_t stages = 0;             // slots
  size_t anchored_stages = 0;    // stages with an anchor
  size_t always_rules = 0;       // rules run on every event
  size_t hashed_values = 0;      // distinct equality keys over all fields
  size_t patterns = 0;           // vectorscan patterns over all fields
  size_t pattern_fallbacks = 0;  // patterns left out (vectorscan refused it, or over the budget
                                 // of RuleIndexLimits): their stages are unanchored
  size_t database_bytes = 0;     // the pattern databases' size (hs_database_size)
};

// The compile budget of one pattern database (one field of one category): vectorscan's compile
// time grows with the patterns (milliseconds each for wildcards), so past these the remaining
// patterns are not added and their stages are left unanchored (counted in pattern_fallbacks):
// still exact, only not pre-filtered. A rule's own patterns are capped by sema
// (eql::kMaxQueryPatterns).
struct RuleIndexLimits {
  size_t max_database_patterns = 4096;
  size_t max_database_pattern_bytes = size_t{256} << 10;
};

class RuleIndex {
 public:
  // programs[i] is rule i; every program must outlive the index.
  static absl::StatusOr<std::unique_ptr<const RuleIndex>> Build(
      std::span<const eql::IrProgram* const> programs, const RuleIndexLimits& limits = {});
  ~RuleIndex();
  RuleIndex(const RuleIndex&) = delete;
  RuleIndex& operator=(const RuleIndex&) = delete;

  // The slot of one of the indexed programs' stages (positive, missing or until).
  std::optional<uint32_t> SlotOf(const eql::IrStage* stage) const;

  size_t rule_count() const { return rule_count_; }
  size_t slot_count() const { return slot_rule_.size(); }
  const RuleIndexStats& stats() const { return stats_; }

  // Internal layout, public for RuleMatcher (rule_index.cc).
  struct FieldProbe;
  struct Group;  // one per category, plus one for `any`

 private:
  RuleIndex();
  friend class RuleMatcher;

  size_t rule_count_ = 0;
  std::vector<uint32_t> slot_rule_;  // slot -> rule
  absl::flat_hash_map<const eql::IrStage*, uint32_t> slots_;
  std::vector<Group> groups_;  // [category] ..., [kAnyGroup]
  std::vector<uint32_t> always_rules_;
  RuleIndexStats stats_;
};

// Per-thread evaluation state over a RuleIndex: the candidates of the current event.
class RuleMatcher {
 public:
  // REQUIRES: `index` outlives the matcher.
  explicit RuleMatcher(const RuleIndex& index);
  ~RuleMatcher();
  RuleMatcher(const RuleMatcher&) = delete;
  RuleMatcher& operator=(const RuleMatcher&) = delete;

  // Computes the candidates of `event`. REQUIRES: event.Finish() was called.
  void Prepare(const event::Event& event);

  // The rules that may match the prepared event, ascending (load order).
  std::span<const uint32_t> rules() const { return rules_; }

  // Whether the stage in `slot` may match the prepared event.
  bool StageOpen(uint32_t slot) const { return stage_epoch_[slot] == epoch_; }

 private:
  void OpenStage(uint32_t slot);
  void OpenStages(std::span<const uint32_t> slots) {
    for (uint32_t s : slots) OpenStage(s);
  }
  void ProbeString(const RuleIndex::FieldProbe& probe, std::string_view text);
  void ProbeScalar(const RuleIndex::FieldProbe& probe, const event::Value& v);
  void Probe(const RuleIndex::FieldProbe& probe, const event::Event& event);

  const RuleIndex& index_;
  uint32_t epoch_ = 0;
  std::vector<uint32_t> stage_epoch_;  // slot -> epoch in which it was opened
  std::vector<uint32_t> rule_epoch_;   // rule -> epoch in which it became a candidate
  std::vector<uint32_t> rules_;
  std::string folded_;  // scratch: an ASCII-lowercased value
  struct Scratch;
  std::unique_ptr<Scratch> scratch_;  // vectorscan scratch space
};

}  // namespace kestrel::engine
