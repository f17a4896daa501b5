// Live coverage: whether a compiled rule can ever fire on the events a live collector declares
// it emits (`kestrel check --live-coverage`). The model is data (LiveModel: per kind of event its
// category, event.type values, event.action, constant fields and the fields it fills); the cli
// builds it from the eBPF collector's declaration (sources/ebpf/emitted.h), so this layer needs
// no source.
//
// Method: an abstract evaluation of each stage's condition over the IR, per declared kind. A leaf
// (any node but and/or/not) whose fields all have declared values (event.category/type/action,
// constant fields) or are never filled is evaluated exactly with the IR evaluator on a synthetic
// event; a leaf over a filled field of unknown value can be true or false; a leaf over a field
// never filled is null. Dialects:
//   - elasticsearch: as Elasticsearch runs the query: a leaf it can express as a query (one field
//     against constants: ==, !=, <.., in, :, like, regex, startsWith/endsWith/stringContains...)
//     over a missing field is false, so `not` of it is true; other leaves are scripts, where null
//     propagates, and `not` directly over a script stays in the script; and/or treat a script's
//     null as "no match" (false).
//   - endgame: three-valued logic throughout (a condition holds only when true).
// A stage can fire when some kind of its category makes its condition possibly true and fills
// its non-optional join keys (Elasticsearch never joins on a null non-optional key). A rule can
// fire when every stage that must match can (`until` and `![...]` stages need not). and/or
// combine children as if independent: "can fire" is an over-approximation of what live events
// can do, "cannot" is certain for the declared events.
//
// Reasons when a rule cannot fire: the stage's category is never produced; fields (or join keys)
// never filled (those whose filling alone would let the stage fire, else all the missing ones it
// reads; a field some kind declares a constant value for, e.g. event.action, is judged by its
// values instead); event.category/type/action values never emitted for the category (when the
// values are what blocks it); else "condition never true for any declared event". Thread safety:
// pure functions. Tested by live_coverage_test.cc.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "kestrel/eql/ir.h"
#include "kestrel/schema/schema.h"

namespace kestrel::rules {

struct LiveKind {
  std::string name;  // for messages, e.g. "exec"
  std::string category;
  std::vector<std::string> types;
  std::string action;                                          // "": none (field absent)
  std::vector<std::pair<std::string, std::string>> constants;  // field, value
  std::vector<std::string> fields;                             // every field it fills
};

struct LiveModel {
  std::vector<LiveKind> kinds;
};

struct LiveCoverage {
  bool can_fire = true;
  std::vector<std::string> reasons;  // empty when can_fire; sorted, unique
};

// `schema` is the one `program` was compiled against.
LiveCoverage AnalyzeLiveCoverage(const eql::IrProgram& program, const schema::Schema& schema,
                                 const LiveModel& model);

}  // namespace kestrel::rules
