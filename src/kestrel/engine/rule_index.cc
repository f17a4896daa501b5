// RuleIndex and RuleMatcher; see rule_index.h for what the index guarantees.
//
// Build: each stage's predicate is searched (top-level `and`/`or` only) for an anchor, a list of
// atoms any of which must hold. Atoms are grouped by the stage's category and their field into
// FieldProbes: two hash tables (exact and ASCII-folded keys) for equality atoms, and one
// vectorscan block-mode database for the pattern atoms. Identical patterns share one id.
#include "kestrel/engine/rule_index.h"

#include <hs/hs.h>

#include <algorithm>
#include <cstdio>

#include <fmt/format.h>

#include "kestrel/base/string_map.h"
#include "kestrel/schema/schema.h"

namespace kestrel::engine {
namespace {

using eql::IrNode;
using eql::IrOp;

constexpr size_t kAnyGroup = schema::Schema::kMaxCategories;

enum class AtomKind : uint8_t { kEquals, kNumber, kGlob, kPrefix, kSuffix, kContains };

// One necessary-condition candidate: `field` relates to `text` as `kind` says.
struct Atom {
  schema::FieldId field;
  AtomKind kind;
  std::string_view text;
  bool case_insensitive;
  bool question_mark;  // kGlob: `?` matches one byte
  double number = 0;   // kNumber
};

bool IsString(const event::Value& v) { return v.kind() == event::ValueKind::kString; }

bool IsNumber(const event::Value& v) {
  return v.kind() == event::ValueKind::kInt || v.kind() == event::ValueKind::kUint ||
         v.kind() == event::ValueKind::kDouble;
}

// Numbers compare numerically across int/uint/double; as a hash key each becomes the double
// nearest to it. Two distinct large integers may share a key: a superset, which a pre-filter may
// be; equal numbers always share one.
double NumberKey(const event::Value& v) {
  double d = v.kind() == event::ValueKind::kInt    ? static_cast<double>(v.as_int())
             : v.kind() == event::ValueKind::kUint ? static_cast<double>(v.as_uint())
                                                   : v.as_double();
  return d == 0 ? 0.0 : d;  // -0.0 == 0.0
}

// A constant an equality can be anchored on: a string, or a number that is not NaN.
std::optional<Atom> EqualityAtom(schema::FieldId field, const event::Value& v, bool ci) {
  if (IsString(v)) return Atom{field, AtomKind::kEquals, v.as_string(), ci, false};
  if (IsNumber(v)) {
    double key = NumberKey(v);
    if (key != key) return std::nullopt;
    return Atom{field, AtomKind::kNumber, {}, false, false, key};
  }
  return std::nullopt;
}

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

bool PlainField(const IrNode& n) { return n.op == IrOp::kField && !n.index && !n.event_index; }

bool HasMeta(std::string_view pattern, bool question_mark) {
  for (char c : pattern) {
    if (c == '*' || (question_mark && c == '?')) return true;
  }
  return false;
}

// A glob pattern as an atom: without metacharacters it is an equality; a pattern that can match
// the empty string (only `*`s) constrains nothing and cannot anchor. A glob with a metacharacter
// between literal text (`/home/*/.ssh/*`, `*curl*http*`) anchors on its longest literal segment
// alone: a prefix when that segment starts the pattern, a suffix when it ends it, else a
// substring — a necessary condition (a superset, which a pre-filter may be) that vectorscan
// compiles as a literal, where `.*` inside an expression made most of the rule index's compile
// time (issue 23 item 7: ~90 % of Elastic's rules' start-up).
std::optional<Atom> GlobAtom(schema::FieldId field, std::string_view pattern, bool ci, bool qm) {
  if (!HasMeta(pattern, qm)) return Atom{field, AtomKind::kEquals, pattern, ci, qm};
  if (pattern.find_first_not_of('*') == std::string_view::npos) return std::nullopt;
  std::string_view metas = qm ? "*?" : "*";
  size_t begin = pattern.find_first_not_of('*');
  size_t end = pattern.find_last_not_of('*') + 1;
  std::string_view inner = pattern.substr(begin, end - begin);
  if (inner.find_first_of(metas) == std::string_view::npos) {
    return Atom{field, AtomKind::kGlob, pattern, ci, qm};  // `a*`, `*a`, `*a*`: one literal
  }
  std::string_view best;
  size_t best_at = 0;
  for (size_t at = 0; at <= pattern.size();) {
    size_t next = pattern.find_first_of(metas, at);
    if (next == std::string_view::npos) next = pattern.size();
    if (next - at > best.size()) {
      best = pattern.substr(at, next - at);
      best_at = at;
    }
    at = next + 1;
  }
  if (best.empty()) return std::nullopt;  // metacharacters only (`?*?`)
  AtomKind kind = best_at == 0                              ? AtomKind::kPrefix
                  : best_at + best.size() == pattern.size() ? AtomKind::kSuffix
                                                            : AtomKind::kContains;
  return Atom{field, kind, best, ci, false};
}

// How many stages' predicates mention each atom (field, kind, text or number): an atom that many
// rules share (`host.os.type == "linux"`, `event.type == "start"`) is likely true of many events
// and a poor anchor; a rare one (`process.name == "nc"`) is likely selective.
using AtomCounts = base::StringMap<uint32_t>;

std::string AtomKey(const Atom& a) {
  std::string text(a.text);
  if (a.case_insensitive) {
    for (char& c : text) c = Lower(c);
  }
  return fmt::format("{}|{}|{}|{}|{}", a.field.value, static_cast<int>(a.kind), text, a.number,
                     a.question_mark);
}

bool ExtractAnchor(const IrNode& n, const AtomCounts& counts, std::vector<Atom>* out);

// The expected cost of an anchor: the stages sharing its atoms; a pattern costs a little more
// than an equality (a scan against a hash lookup).
double AnchorCost(const std::vector<Atom>& atoms, const AtomCounts& counts) {
  double cost = 0;
  for (const Atom& a : atoms) {
    auto it = counts.find(AtomKey(a));
    double shared = it == counts.end() ? 1 : it->second;
    bool equality = a.kind == AtomKind::kEquals || a.kind == AtomKind::kNumber;
    cost += (equality ? 1 : 1.5) * shared * shared;
  }
  return cost;
}

// `and`: any one conjunct that anchors will do; the best is the cheapest (AnchorCost).
bool AndAnchor(const IrNode& n, const AtomCounts& counts, std::vector<Atom>* out) {
  std::vector<Atom> best;
  double best_cost = -1;
  for (const eql::IrNodePtr& c : n.children) {
    std::vector<Atom> atoms;
    if (!ExtractAnchor(*c, counts, &atoms)) continue;
    double cost = AnchorCost(atoms, counts);
    if (best_cost < 0 || cost < best_cost) {
      best_cost = cost;
      best = std::move(atoms);
    }
  }
  if (best_cost < 0) return false;
  out->insert(out->end(), best.begin(), best.end());
  return true;
}

// Counts every atom that could anchor `n` or one of its `and`/`or` operands.
void CountAtoms(const IrNode& n, AtomCounts* counts) {
  if (n.op == IrOp::kAnd || n.op == IrOp::kOr) {
    for (const eql::IrNodePtr& c : n.children) CountAtoms(*c, counts);
    return;
  }
  std::vector<Atom> atoms;
  if (!ExtractAnchor(n, *counts, &atoms)) return;
  for (const Atom& a : atoms) ++(*counts)[AtomKey(a)];
}

// Appends to `out` atoms one of which holds whenever `n` is true; false if there are none.
bool ExtractAnchor(const IrNode& n, const AtomCounts& counts, std::vector<Atom>* out) {
  switch (n.op) {
    case IrOp::kAnd:
      return AndAnchor(n, counts, out);
    case IrOp::kOr:
      for (const eql::IrNodePtr& c : n.children) {
        if (!ExtractAnchor(*c, counts, out)) return false;
      }
      return true;
    case IrOp::kCompare: {
      if (n.compare != eql::CompareOp::kEq) return false;
      const IrNode* field = n.children[0].get();
      const IrNode* value = n.children[1].get();
      if (!PlainField(*field)) std::swap(field, value);
      if (!PlainField(*field) || !value->is_const()) return false;
      auto atom = EqualityAtom(field->field, value->value, n.case_insensitive);
      if (!atom) return false;
      out->push_back(*atom);
      return true;
    }
    case IrOp::kIn:
      if (n.negated || !PlainField(*n.children[0]) || n.set.empty()) return false;
      for (const event::Value& v : n.set) {
        auto atom = EqualityAtom(n.children[0]->field, v, n.case_insensitive);
        if (!atom) return false;
        out->push_back(*atom);
      }
      return true;
    case IrOp::kWildcard:
      if (n.negated || !PlainField(*n.children[0]) || n.set.empty()) return false;
      for (const event::Value& p : n.set) {
        if (!IsString(p)) return false;
        auto atom =
            GlobAtom(n.children[0]->field, p.as_string(), n.case_insensitive, n.question_mark);
        if (!atom) return false;
        out->push_back(*atom);
      }
      return true;
    case IrOp::kCall: {
      AtomKind kind;
      switch (n.builtin) {
        case eql::Builtin::kStartsWith:
          kind = AtomKind::kPrefix;
          break;
        case eql::Builtin::kEndsWith:
          kind = AtomKind::kSuffix;
          break;
        case eql::Builtin::kStringContains:
          kind = AtomKind::kContains;
          break;
        default:
          return false;
      }
      if (n.children.size() != 2 || !PlainField(*n.children[0]) || !n.children[1]->is_const() ||
          !IsString(n.children[1]->value) || n.children[1]->value.as_string().empty()) {
        return false;
      }
      out->push_back(Atom{n.children[0]->field, kind, n.children[1]->value.as_string(),
                          n.case_insensitive, false});
      return true;
    }
    default:
      return false;
  }
}

bool HasRelation(const IrNode& n) {
  if (n.op == IrOp::kRelation) return true;
  return std::any_of(n.children.begin(), n.children.end(),
                     [](const eql::IrNodePtr& c) { return HasRelation(*c); });
}

// A rule that must see every event: process relations keep a process table fed by all events;
// a trailing `![..]` completes matches as time passes.
bool NeedsEveryEvent(const eql::IrProgram& p) {
  if (!p.stages.empty() && p.stages.back().missing) return true;
  for (const eql::IrStage& s : p.stages) {
    if (HasRelation(*s.predicate)) return true;
  }
  if (p.until && HasRelation(*p.until->predicate)) return true;
  for (const eql::IrPipe& pipe : p.pipes) {
    for (const eql::IrNodePtr& a : pipe.args) {
      if (HasRelation(*a)) return true;
    }
  }
  return false;
}

// Where a pattern atom's literal must occur in the value. Every pattern atom is a literal: a
// glob keeps one literal segment (GlobAtom), so the databases are literal sets, which vectorscan
// compiles in milliseconds (`hs_compile_lit_multi`); the anchor is checked on each match.
enum class Anchor : uint8_t { kAnywhere, kStart, kEnd };

struct PatternLiteral {
  std::string_view text;
  Anchor anchor;
};

PatternLiteral Literal(const Atom& a) {
  switch (a.kind) {
    case AtomKind::kPrefix:
      return {a.text, Anchor::kStart};
    case AtomKind::kSuffix:
      return {a.text, Anchor::kEnd};
    case AtomKind::kGlob: {  // `a*`, `*a` or `*a*` (GlobAtom)
      size_t begin = a.text.find_first_not_of('*');
      size_t end = a.text.find_last_not_of('*') + 1;
      std::string_view text = a.text.substr(begin, end - begin);
      if (begin == 0) return {text, Anchor::kStart};
      if (end == a.text.size()) return {text, Anchor::kEnd};
      return {text, Anchor::kAnywhere};
    }
    default:
      return {a.text, Anchor::kAnywhere};
  }
}

struct DatabaseDeleter {
  void operator()(hs_database_t* db) const { hs_free_database(db); }
};

}  // namespace

struct RuleIndex::FieldProbe {
  schema::FieldId field;
  base::StringMap<std::vector<uint32_t>> exact;   // value -> slots
  base::StringMap<std::vector<uint32_t>> folded;  // ASCII-lowercased value -> slots
  // The longest key of each table: a longer value (a command line) is not hashed to find out.
  size_t exact_max = 0;
  size_t folded_max = 0;
  std::vector<uint32_t> ip_slots;  // string equalities, opened by an IP (it equals its text)
  absl::flat_hash_map<double, std::vector<uint32_t>> numbers;  // NumberKey -> slots
  std::unique_ptr<hs_database_t, DatabaseDeleter> patterns;    // literals (Literal())
  std::vector<std::vector<uint32_t>> pattern_slots;            // pattern id -> slots
  struct PatternAnchor {
    uint32_t length;
    Anchor anchor;
  };
  std::vector<PatternAnchor> pattern_anchors;  // pattern id -> where it must occur
};

struct RuleIndex::Group {
  std::vector<uint32_t> unanchored;
  std::vector<FieldProbe> probes;
};

RuleIndex::RuleIndex() = default;
RuleIndex::~RuleIndex() = default;

namespace {

void AddUnique(std::vector<uint32_t>* slots, uint32_t slot) {
  if (slots->empty() || slots->back() != slot) slots->push_back(slot);
}

struct PendingPattern {
  std::string expression;  // the literal
  unsigned flags;
  Anchor anchor;
  std::vector<uint32_t> slots;
};

// One block-mode database of `patterns` (nullptr when none is left). A pattern vectorscan
// refuses is handed to `refuse` and removed: the whole set is compiled at once, and when that
// fails the pattern the error names is dropped and the rest compiled again; an error that names
// none (or too many retries) falls back to checking each pattern alone. One compile in the
// common case, not one per pattern plus one (start-up cost, issue 23 item 7).
template <typename Refuse>
absl::StatusOr<hs_database_t*> CompileDatabase(std::vector<PendingPattern>* patterns,
                                               Refuse refuse) {
  constexpr int kMaxRetries = 8;
  bool checked_alone = false;
  for (int retries = 0; !patterns->empty(); ++retries) {
    std::vector<const char*> expressions;
    std::vector<size_t> lengths;
    std::vector<unsigned> flags, ids;
    for (size_t id = 0; id < patterns->size(); ++id) {
      expressions.push_back((*patterns)[id].expression.data());
      lengths.push_back((*patterns)[id].expression.size());
      flags.push_back((*patterns)[id].flags);
      ids.push_back(static_cast<unsigned>(id));
    }
    hs_database_t* db = nullptr;
    hs_compile_error_t* error = nullptr;
    if (hs_compile_lit_multi(expressions.data(), flags.data(), ids.data(), lengths.data(),
                             static_cast<unsigned>(expressions.size()), HS_MODE_BLOCK, nullptr, &db,
                             &error) == HS_SUCCESS) {
      return db;
    }
    std::string message = error != nullptr ? error->message : "unknown error";
    int bad = error != nullptr ? error->expression : -1;
    hs_free_compile_error(error);
    if (bad >= 0 && static_cast<size_t>(bad) < patterns->size() && retries < kMaxRetries) {
      refuse((*patterns)[static_cast<size_t>(bad)]);
      patterns->erase(patterns->begin() + bad);
      continue;
    }
    if (checked_alone) {
      return absl::InternalError(
          fmt::format("vectorscan could not compile the rule index: {}", message));
    }
    checked_alone = true;
    std::vector<PendingPattern> kept;
    for (PendingPattern& p : *patterns) {
      hs_database_t* one = nullptr;
      hs_compile_error_t* one_error = nullptr;
      if (hs_compile_lit(p.expression.data(), p.flags, p.expression.size(), HS_MODE_BLOCK, nullptr,
                         &one, &one_error) != HS_SUCCESS) {
        hs_free_compile_error(one_error);
        refuse(p);
        continue;
      }
      hs_free_database(one);
      kept.push_back(std::move(p));
    }
    *patterns = std::move(kept);
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<std::unique_ptr<const RuleIndex>> RuleIndex::Build(
    std::span<const eql::IrProgram* const> programs, const RuleIndexLimits& limits) {
  std::unique_ptr<RuleIndex> index(new RuleIndex());
  index->rule_count_ = programs.size();
  index->groups_.resize(kAnyGroup + 1);
  // Per group: field -> probe position; per probe: the patterns before compilation.
  std::vector<absl::flat_hash_map<schema::FieldId, size_t>> probe_of(index->groups_.size());
  std::vector<std::vector<std::vector<PendingPattern>>> pending(index->groups_.size());
  // Per group and probe: (flags, expression) -> position in `pending`, so that adding a pattern
  // costs one hash lookup, not a scan of the probe's patterns (quadratic in a long list).
  std::vector<std::vector<absl::flat_hash_map<std::string, size_t>>> pending_at(
      index->groups_.size());

  AtomCounts counts;
  for (const eql::IrProgram* p : programs) {
    for (const eql::IrStage& s : p->stages) CountAtoms(*s.predicate, &counts);
    if (p->until) CountAtoms(*p->until->predicate, &counts);
  }

  auto add_stage = [&](const eql::IrStage& stage, uint32_t rule) {
    auto slot = static_cast<uint32_t>(index->slot_rule_.size());
    index->slot_rule_.push_back(rule);
    index->slots_.emplace(&stage, slot);
    size_t g = stage.category ? *stage.category : kAnyGroup;
    Group& group = index->groups_[g];
    std::vector<Atom> atoms;
    if (!ExtractAnchor(*stage.predicate, counts, &atoms)) {
      group.unanchored.push_back(slot);
      return;
    }
    ++index->stats_.anchored_stages;
    for (const Atom& a : atoms) {
      auto [it, inserted] = probe_of[g].try_emplace(a.field, group.probes.size());
      if (inserted) {
        group.probes.emplace_back().field = a.field;
        pending[g].emplace_back();
        pending_at[g].emplace_back();
      }
      FieldProbe& probe = group.probes[it->second];
      if (a.kind == AtomKind::kEquals) {
        if (a.case_insensitive) {
          std::string key(a.text);
          for (char& c : key) c = Lower(c);
          AddUnique(&probe.folded[key], slot);
          probe.folded_max = std::max(probe.folded_max, key.size());
        } else {
          AddUnique(&probe.exact[a.text], slot);
          probe.exact_max = std::max(probe.exact_max, a.text.size());
        }
        AddUnique(&probe.ip_slots, slot);
        continue;
      }
      if (a.kind == AtomKind::kNumber) {
        AddUnique(&probe.numbers[a.number], slot);
        continue;
      }
      PatternLiteral literal = Literal(a);
      // Anywhere: the first occurrence will do; an anchored literal may occur elsewhere first.
      unsigned flags = literal.anchor == Anchor::kAnywhere ? HS_FLAG_SINGLEMATCH : 0;
      if (a.case_insensitive) flags |= HS_FLAG_CASELESS;
      std::vector<PendingPattern>& patterns = pending[g][it->second];
      std::string key =
          fmt::format("{:x}:{}:{}", flags, static_cast<int>(literal.anchor), literal.text);
      auto [at, added] = pending_at[g][it->second].try_emplace(std::move(key), patterns.size());
      if (added) {
        patterns.push_back(PendingPattern{std::string(literal.text), flags, literal.anchor, {}});
      }
      AddUnique(&patterns[at->second].slots, slot);
    }
  };

  for (size_t r = 0; r < programs.size(); ++r) {
    const eql::IrProgram& p = *programs[r];
    auto rule = static_cast<uint32_t>(r);
    for (const eql::IrStage& s : p.stages) add_stage(s, rule);
    if (p.until) add_stage(*p.until, rule);
    if (NeedsEveryEvent(p)) index->always_rules_.push_back(rule);
  }

  // Compile each probe's patterns. A pattern vectorscan refuses leaves its stages unanchored.
  for (size_t g = 0; g < index->groups_.size(); ++g) {
    Group& group = index->groups_[g];
    for (size_t i = 0; i < group.probes.size(); ++i) {
      FieldProbe& probe = group.probes[i];
      std::vector<PendingPattern> accepted;
      size_t accepted_bytes = 0;
      for (PendingPattern& p : pending[g][i]) {
        // The database's budget, checked before anything is compiled.
        if (accepted.size() >= limits.max_database_patterns ||
            accepted_bytes + p.expression.size() > limits.max_database_pattern_bytes) {
          for (uint32_t s : p.slots) group.unanchored.push_back(s);
          ++index->stats_.pattern_fallbacks;
          continue;
        }
        accepted_bytes += p.expression.size();
        accepted.push_back(std::move(p));
      }
      auto refuse = [&](PendingPattern& p) {
        for (uint32_t s : p.slots) group.unanchored.push_back(s);
        ++index->stats_.pattern_fallbacks;
      };
      auto db = CompileDatabase(&accepted, refuse);
      if (!db.ok()) return db.status();
      if (*db == nullptr) continue;
      for (PendingPattern& p : accepted) {
        probe.pattern_anchors.push_back({static_cast<uint32_t>(p.expression.size()), p.anchor});
        probe.pattern_slots.push_back(std::move(p.slots));
      }
      probe.patterns.reset(*db);
      index->stats_.patterns += accepted.size();
      size_t db_bytes = 0;
      if (hs_database_size(*db, &db_bytes) == HS_SUCCESS) index->stats_.database_bytes += db_bytes;
    }
    for (const FieldProbe& probe : group.probes) {
      index->stats_.hashed_values +=
          probe.exact.size() + probe.folded.size() + probe.numbers.size();
    }
    std::sort(group.unanchored.begin(), group.unanchored.end());
  }
  index->stats_.rules = programs.size();
  index->stats_.stages = index->slot_rule_.size();
  index->stats_.always_rules = index->always_rules_.size();
  return std::unique_ptr<const RuleIndex>(std::move(index));
}

std::optional<uint32_t> RuleIndex::SlotOf(const eql::IrStage* stage) const {
  auto it = slots_.find(stage);
  if (it == slots_.end()) return std::nullopt;
  return it->second;
}

struct RuleMatcher::Scratch {
  hs_scratch_t* space = nullptr;
  ~Scratch() { hs_free_scratch(space); }
};

RuleMatcher::RuleMatcher(const RuleIndex& index)
    : index_(index),
      stage_epoch_(index.slot_count(), 0),
      rule_epoch_(index.rule_count(), 0),
      scratch_(std::make_unique<Scratch>()) {
  for (const RuleIndex::Group& g : index.groups_) {
    for (const RuleIndex::FieldProbe& p : g.probes) {
      // Grows the one scratch space to fit every database; fails only when out of memory.
      if (p.patterns && hs_alloc_scratch(p.patterns.get(), &scratch_->space) != HS_SUCCESS) {
        std::fprintf(stderr, "kestrel: vectorscan scratch allocation failed\n");
        std::abort();
      }
    }
  }
  rules_.reserve(index.rule_count());
}

RuleMatcher::~RuleMatcher() = default;

void RuleMatcher::OpenStage(uint32_t slot) {
  stage_epoch_[slot] = epoch_;
  uint32_t rule = index_.slot_rule_[slot];
  if (rule_epoch_[rule] != epoch_) {
    rule_epoch_[rule] = epoch_;
    rules_.push_back(rule);
  }
}

namespace {

struct ScanContext {
  RuleMatcher* matcher;
  const RuleIndex::FieldProbe* probe;
  unsigned long long length;  // of the scanned value
  void (*open)(RuleMatcher*, std::span<const uint32_t>);
};

int OnPattern(unsigned id, unsigned long long /*from*/, unsigned long long to, unsigned /*flags*/,
              void* context) {
  auto* c = static_cast<ScanContext*>(context);
  const auto& anchor = c->probe->pattern_anchors[id];
  if ((anchor.anchor == Anchor::kStart && to != anchor.length) ||
      (anchor.anchor == Anchor::kEnd && to != c->length)) {
    return 0;
  }
  c->open(c->matcher, c->probe->pattern_slots[id]);
  return 0;
}

}  // namespace

void RuleMatcher::ProbeString(const RuleIndex::FieldProbe& probe, std::string_view text) {
  if (!probe.exact.empty() && text.size() <= probe.exact_max) {
    if (auto it = probe.exact.find(text); it != probe.exact.end()) OpenStages(it->second);
  }
  if (!probe.folded.empty() && text.size() <= probe.folded_max) {
    folded_.assign(text);
    for (char& c : folded_) c = Lower(c);
    if (auto it = probe.folded.find(folded_); it != probe.folded.end()) OpenStages(it->second);
  }
  if (probe.patterns && !text.empty()) {
    ScanContext context{
        this, &probe, text.size(),
        [](RuleMatcher* m, std::span<const uint32_t> slots) { m->OpenStages(slots); }};
    hs_scan(probe.patterns.get(), text.data(), static_cast<unsigned>(text.size()), 0,
            scratch_->space, OnPattern, &context);
  }
}

// One scalar: a string is looked up and scanned; a number looked up among the numbers; an IP
// may equal a string constant (its text), so it opens those stages for the evaluator to decide.
// Other kinds equal no anchor constant (eql::Compare does not convert between strings and
// numbers or booleans) and match no pattern.
void RuleMatcher::ProbeScalar(const RuleIndex::FieldProbe& probe, const event::Value& v) {
  switch (v.kind()) {
    case event::ValueKind::kString:
      ProbeString(probe, v.as_string());
      return;
    case event::ValueKind::kInt:
    case event::ValueKind::kUint:
    case event::ValueKind::kDouble:
      if (!probe.numbers.empty()) {
        if (auto it = probe.numbers.find(NumberKey(v)); it != probe.numbers.end()) {
          OpenStages(it->second);
        }
      }
      return;
    case event::ValueKind::kIp:
      OpenStages(probe.ip_slots);
      return;
    default:
      return;
  }
}

void RuleMatcher::Probe(const RuleIndex::FieldProbe& probe, const event::Event& event) {
  const event::Value* v = event.Find(probe.field);
  if (v == nullptr) return;
  if (v->kind() != event::ValueKind::kArray) return ProbeScalar(probe, *v);
  // Conditions on an array hold when any element satisfies them.
  for (const event::Value& e : v->as_array()) ProbeScalar(probe, e);
}

void RuleMatcher::Prepare(const event::Event& event) {
  if (++epoch_ == 0) {
    std::fill(stage_epoch_.begin(), stage_epoch_.end(), 0);
    std::fill(rule_epoch_.begin(), rule_epoch_.end(), 0);
    epoch_ = 1;
  }
  rules_.clear();
  for (uint32_t r : index_.always_rules_) {
    rule_epoch_[r] = epoch_;
    rules_.push_back(r);
  }
  auto run = [&](const RuleIndex::Group& group) {
    OpenStages(group.unanchored);
    for (const RuleIndex::FieldProbe& p : group.probes) Probe(p, event);
  };
  for (uint64_t cats = event.categories(); cats != 0; cats &= cats - 1) {
    run(index_.groups_[static_cast<size_t>(__builtin_ctzll(cats))]);
  }
  run(index_.groups_[kAnyGroup]);
  if (rules_.size() > 1) std::sort(rules_.begin(), rules_.end());
}

}  // namespace kestrel::engine
