// Live coverage; see live_coverage.h.
#include "kestrel/rules/live_coverage.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <fmt/format.h>

#include "absl/container/flat_hash_set.h"
#include "kestrel/base/arena.h"
#include "kestrel/eql/ir_eval.h"
#include "kestrel/event/event.h"

namespace kestrel::rules {
namespace {

using eql::IrNode;
using eql::IrOp;
using event::Value;
using FieldSet = absl::flat_hash_set<uint32_t>;

// Possible outcomes of a condition: a bit set.
using Outcomes = uint8_t;
constexpr Outcomes kT = 1, kF = 2, kN = 4, kAnyOutcome = kT | kF | kN;

struct KindView {
  const LiveKind* kind = nullptr;
  std::vector<std::pair<uint32_t, std::vector<std::string>>> values;  // of the known fields
  FieldSet present;  // fields it fills (ids of this schema)
  FieldSet known;    // of those, the ones with declared values (in `synthetic`)
  event::Event synthetic;
};

struct Relax {
  bool all_present = false;     // every field filled (values unknown)
  bool values_unknown = false;  // declared values treated as unknown
  uint32_t extra = UINT32_MAX;  // this one field filled
};

// Three-valued and/or/not on single outcomes.
Outcomes And3(Outcomes a, Outcomes b) {
  if (a == kF || b == kF) return kF;
  if (a == kN || b == kN) return kN;
  return kT;
}
Outcomes Or3(Outcomes a, Outcomes b) {
  if (a == kT || b == kT) return kT;
  if (a == kN || b == kN) return kN;
  return kF;
}
Outcomes Not3(Outcomes a) { return a == kT ? kF : a == kF ? kT : kN; }

template <typename Op>
Outcomes Lift(Outcomes a, Outcomes b, Op op) {
  Outcomes out = 0;
  for (Outcomes x : {kT, kF, kN}) {
    if (!(a & x)) continue;
    for (Outcomes y : {kT, kF, kN}) {
      if (b & y) out |= op(x, y);
    }
  }
  return out;
}

bool IsField(const IrNode& n) { return n.op == IrOp::kField && !n.event_index.has_value(); }

// Fields read by `n`; *opaque when it holds something this analysis cannot evaluate.
void Referenced(const IrNode& n, std::vector<uint32_t>* out, bool* opaque) {
  if (n.op == IrOp::kRelation || n.op == IrOp::kCustomCall) *opaque = true;
  if (n.op == IrOp::kField) {
    if (n.event_index.has_value()) {
      *opaque = true;
    } else {
      out->push_back(n.field.value);
    }
  }
  for (const auto& c : n.children) Referenced(*c, out, opaque);
}

// A leaf Elasticsearch runs as a query (one field against constants), not as a script.
bool IsQueryLeaf(const IrNode& n) {
  auto field_then_constants = [&] {
    if (n.children.empty() || !IsField(*n.children[0])) return false;
    for (size_t i = 1; i < n.children.size(); ++i) {
      if (!n.children[i]->is_const()) return false;
    }
    return true;
  };
  switch (n.op) {
    case IrOp::kIn:
    case IrOp::kWildcard:
    case IrOp::kRegex:
      return n.children.size() == 1 && IsField(*n.children[0]);
    case IrOp::kCompare:
      return n.children.size() == 2 && ((IsField(*n.children[0]) && n.children[1]->is_const()) ||
                                        (IsField(*n.children[1]) && n.children[0]->is_const()));
    case IrOp::kCall:
      switch (n.builtin) {
        case eql::Builtin::kStartsWith:
        case eql::Builtin::kEndsWith:
        case eql::Builtin::kStringContains:
        case eql::Builtin::kWildcard:
        case eql::Builtin::kCidrMatch:
          return field_then_constants();
        default:
          return false;
      }
    default:
      return false;
  }
}

// A query leaf Elasticsearch runs as the negation of a query (`!=`, `not in`, a negated
// wildcard): a document without the field matches it.
bool IsNegatedQueryLeaf(const IrNode& n) {
  if (n.op == IrOp::kIn || n.op == IrOp::kWildcard) return n.negated;
  if (n.op == IrOp::kCompare && n.compare == eql::CompareOp::kNe) {
    const IrNode& c = n.children[0]->is_const() ? *n.children[0] : *n.children[1];
    return !c.value.is_null();  // `x != null` is an exists query: false without the field
  }
  return false;
}

bool GlobMatch(std::string_view p, std::string_view s, bool ci) {
  size_t pi = 0, si = 0, star = std::string_view::npos, mark = 0;
  auto eq = [&](char a, char b) {
    return ci ? std::tolower(static_cast<unsigned char>(a)) ==
                    std::tolower(static_cast<unsigned char>(b))
              : a == b;
  };
  while (si < s.size()) {
    if (pi < p.size() && (p[pi] == '?' || eq(p[pi], s[si]))) {
      ++pi;
      ++si;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

class Analyzer {
 public:
  Analyzer(const eql::IrProgram& program, const schema::Schema& schema, const LiveModel& model)
      : program_(program), schema_(schema) {
    for (const LiveKind& k : model.kinds) {
      KindView& v = views_.emplace_back();
      v.kind = &k;
      for (const std::string& f : k.fields) {
        if (auto id = schema.Find(f)) v.present.insert(id->value);
      }
      auto known = [&](std::string_view name, std::span<const std::string> values, bool array) {
        auto id = schema.Find(name);
        if (!id) return;
        v.present.insert(id->value);
        v.known.insert(id->value);
        v.values.emplace_back(id->value, std::vector<std::string>(values.begin(), values.end()));
        std::vector<Value> elems;
        for (const std::string& s : values) elems.push_back(Value::String(s));
        if (array) {
          v.synthetic.SetArray(*id, elems);
        } else if (!elems.empty()) {
          v.synthetic.Set(*id, elems[0]);
        }
      };
      known("event.category", std::span<const std::string>(&k.category, 1), true);
      known("event.type", k.types, true);
      if (!k.action.empty()) {  // "": the kind has no event.action
        known("event.action", std::span<const std::string>(&k.action, 1), false);
      }
      for (const auto& [name, value] : k.constants) {
        known(name, std::span<const std::string>(&value, 1), false);
      }
      v.synthetic.Finish();
    }
  }

  LiveCoverage Run() {
    LiveCoverage out;
    std::set<std::string> reasons;
    for (const eql::IrStage& st : program_.stages) {
      if (st.missing) continue;  // `![...]` need not match
      if (StageFires(st, Relax{})) continue;
      out.can_fire = false;
      for (std::string& r : Explain(st)) reasons.insert(std::move(r));
    }
    out.reasons.assign(reasons.begin(), reasons.end());
    return out;
  }

 private:
  bool Present(const KindView& v, uint32_t f, const Relax& r) const {
    return r.all_present || f == r.extra || v.present.contains(f);
  }
  bool Known(const KindView& v, uint32_t f, const Relax& r) const {
    return !r.values_unknown && v.known.contains(f);
  }

  bool Matches(const eql::IrStage& st, const KindView& v) const {
    return !st.category || schema_.CategoryName(*st.category) == v.kind->category;
  }

  Outcomes Eval(const IrNode& n, const KindView& v, const Relax& r) {
    bool es = program_.dialect == eql::Dialect::kElasticsearch;
    switch (n.op) {
      case IrOp::kAnd:
      case IrOp::kOr: {
        Outcomes acc = 0;
        for (const auto& c : n.children) {
          Outcomes x = Eval(*c, v, r);
          if (es && (x & kN)) x = (x & ~kN) | kF;  // a script's null: no match
          acc = acc == 0 ? x : Lift(acc, x, n.op == IrOp::kAnd ? And3 : Or3);
        }
        return acc;
      }
      case IrOp::kNot: {
        Outcomes x = Eval(*n.children[0], v, r), out = 0;
        for (Outcomes o : {kT, kF, kN}) {
          if (x & o) out |= Not3(o);
        }
        return out;
      }
      default:
        return Leaf(n, v, r);
    }
  }

  Outcomes Leaf(const IrNode& n, const KindView& v, const Relax& r) {
    if (n.is_const()) {
      return n.value.is_null() ? kN : eql::IsTrue(n.value) ? kT : kF;
    }
    std::vector<uint32_t> fields;
    bool opaque = false;
    Referenced(n, &fields, &opaque);
    if (opaque) return kAnyOutcome;
    bool es = program_.dialect == eql::Dialect::kElasticsearch;
    bool query = es && IsQueryLeaf(n);
    bool any_absent = false, any_unknown = false;
    for (uint32_t f : fields) {
      if (!Present(v, f, r)) {
        any_absent = true;
      } else if (!Known(v, f, r)) {
        any_unknown = true;
      }
    }
    if (!any_unknown) {  // exact: declared values, and nulls for the rest
      scratch_.Reset();
      eql::EvalContext ctx;
      ctx.event = &v.synthetic;
      ctx.scratch = &scratch_;
      Value x = eql::EvalIr(n, ctx);
      if (x.is_null()) return query ? Missing(n) : kN;
      return eql::IsTrue(x) ? kT : kF;
    }
    if (any_absent) return query ? Missing(n) : kN;  // a script over a missing field: null
    return kT | kF;
  }

  // A query leaf over a missing field: no match, or a match for a negated query.
  static Outcomes Missing(const IrNode& n) { return IsNegatedQueryLeaf(n) ? kT : kF; }

  bool KeysFilled(const eql::IrStage& st, const KindView& v, const Relax& r) const {
    for (const auto& key : st.by) {
      if (IsField(*key) && !key->optional_field && !Present(v, key->field.value, r)) return false;
    }
    return true;
  }

  bool StageFires(const eql::IrStage& st, const Relax& r) {
    for (const KindView& v : views_) {
      if (Matches(st, v) && (Eval(*st.predicate, v, r) & kT) && KeysFilled(st, v, r)) return true;
    }
    return false;
  }

  std::string FieldName(uint32_t f) const {
    return std::string(schema_.Info(schema::FieldId{f}).name);
  }

  std::string CategoryLabel(const eql::IrStage& st) const {
    return st.category ? std::string(schema_.CategoryName(*st.category)) : std::string("any");
  }

  // Constants the condition requires of event.category/type/action (outside any `not`) that no
  // candidate kind emits.
  void MissingValues(const IrNode& n, bool positive, const std::vector<const KindView*>& cands,
                     const std::string& label, std::set<std::string>* out) const {
    if (n.op == IrOp::kAnd || n.op == IrOp::kOr) {
      for (const auto& c : n.children) MissingValues(*c, positive, cands, label, out);
      return;
    }
    if (n.op == IrOp::kNot) {
      MissingValues(*n.children[0], !positive, cands, label, out);
      return;
    }
    if (!positive || n.children.empty() || !IsField(*n.children[0])) return;
    uint32_t f = n.children[0]->field.value;
    bool known = false;
    for (const KindView* v : cands) known = known || v->known.contains(f);
    if (!known) return;
    std::string which = FieldName(f);
    std::vector<std::string_view> wanted;
    bool glob = false;
    if ((n.op == IrOp::kIn || n.op == IrOp::kWildcard) && !n.negated) {
      for (const Value& s : n.set) {
        if (s.kind() == event::ValueKind::kString) wanted.push_back(s.as_string());
      }
      glob = n.op == IrOp::kWildcard;
    } else if (n.op == IrOp::kCompare && n.compare == eql::CompareOp::kEq &&
               n.children.size() == 2 && n.children[1]->is_const() &&
               n.children[1]->value.kind() == event::ValueKind::kString) {
      wanted.push_back(n.children[1]->value.as_string());
    }
    for (std::string_view w : wanted) {
      bool emitted = false;
      for (const KindView* v : cands) {
        std::vector<std::string_view> values;
        for (const auto& [field, vs] : v->values) {
          if (field == f) values.assign(vs.begin(), vs.end());
        }
        for (std::string_view x : values) {
          if (glob
                  ? GlobMatch(w, x, n.case_insensitive)
                  : (n.case_insensitive ? GlobMatch(w, x, true) && w.size() == x.size() : w == x)) {
            emitted = true;
          }
        }
      }
      if (!emitted) out->insert(fmt::format("{} never emitted for {}: {}", which, label, w));
    }
  }

  std::vector<std::string> Explain(const eql::IrStage& st) {
    std::vector<const KindView*> cands;
    for (const KindView& v : views_) {
      if (Matches(st, v)) cands.push_back(&v);
    }
    std::string label = CategoryLabel(st);
    if (cands.empty()) return {fmt::format("category never produced: {}", label)};

    std::vector<uint32_t> refs;
    bool opaque = false;
    Referenced(*st.predicate, &refs, &opaque);
    FieldSet keys;
    for (const auto& key : st.by) {
      if (IsField(*key) && !key->optional_field) {
        refs.push_back(key->field.value);
        keys.insert(key->field.value);
      }
    }
    std::sort(refs.begin(), refs.end());
    refs.erase(std::unique(refs.begin(), refs.end()), refs.end());
    auto describe = [&](uint32_t f) {
      return fmt::format("{} never filled: {}", keys.contains(f) ? "join key" : "field",
                         FieldName(f));
    };
    std::vector<uint32_t> missing, never;  // absent in some candidate / in all
    for (uint32_t f : refs) {
      size_t absent = 0;
      bool declared = false;  // a constant of some kind: absent elsewhere by declaration
      for (const KindView* v : cands) {
        absent += v->present.contains(f) ? 0 : 1;
        declared = declared || v->known.contains(f);
      }
      if (absent > 0 && !declared) missing.push_back(f);
      if (absent == cands.size()) never.push_back(f);
    }
    std::vector<std::string> out;
    for (uint32_t f : missing) {
      Relax r;
      r.extra = f;
      if (StageFires(st, r)) out.push_back(describe(f));
    }
    if (!out.empty()) return out;
    auto fields_reasons = [&] {
      for (uint32_t f : never.empty() ? missing : never) out.push_back(describe(f));
    };
    auto value_reasons = [&] {
      std::set<std::string> values;
      MissingValues(*st.predicate, true, cands, label, &values);
      if (values.empty()) {
        values.insert(fmt::format("declared values never combined so for {}", label));
      }
      out.insert(out.end(), values.begin(), values.end());
    };
    if (StageFires(st, Relax{.all_present = true})) {
      fields_reasons();
      if (out.empty()) value_reasons();  // only declared fields: their values are the reason
    } else if (StageFires(st, Relax{.values_unknown = true})) {
      value_reasons();
    } else if (StageFires(st, Relax{.all_present = true, .values_unknown = true})) {
      fields_reasons();
      value_reasons();
    } else {
      out.push_back(fmt::format("condition never true for any declared {} event", label));
    }
    return out;
  }

  const eql::IrProgram& program_;
  const schema::Schema& schema_;
  std::vector<KindView> views_;
  base::StringArena scratch_;
};

}  // namespace

LiveCoverage AnalyzeLiveCoverage(const eql::IrProgram& program, const schema::Schema& schema,
                                 const LiveModel& model) {
  return Analyzer(program, schema, model).Run();
}

}  // namespace kestrel::rules
