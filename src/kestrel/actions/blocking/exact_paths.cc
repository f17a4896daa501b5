// Exact-path rules; see exact_paths.h.
#include "kestrel/actions/blocking/exact_paths.h"

#include <utility>

#include "kestrel/schema/schema.h"

namespace kestrel::actions::blocking {
namespace {

// The standard categories are registered first, in a fixed order, so their ids are the same in
// every process (schema.cc; checked by exact_paths_test.cc).
constexpr schema::CategoryId kProcessCategory = 0;
constexpr schema::CategoryId kFileCategory = 1;

bool IsField(const eql::IrNode& n, schema::FieldId field) {
  return n.op == eql::IrOp::kField && !n.index && !n.event_index && n.field == field;
}

}  // namespace

bool ExactStringValues(const eql::IrNode& n, schema::FieldId field, std::vector<std::string>* out) {
  if (n.case_insensitive) return false;
  if (n.op == eql::IrOp::kCompare && n.compare == eql::CompareOp::kEq && n.children.size() == 2) {
    const eql::IrNode* f = n.children[0].get();
    const eql::IrNode* value = n.children[1].get();
    if (!IsField(*f, field)) std::swap(f, value);
    if (!IsField(*f, field) || value->op != eql::IrOp::kConst ||
        value->value.kind() != event::ValueKind::kString) {
      return false;
    }
    out->emplace_back(value->value.as_string());
    return true;
  }
  if (n.op == eql::IrOp::kIn && !n.negated && n.children.size() == 1 &&
      IsField(*n.children[0], field) && !n.set.empty()) {
    for (const event::Value& v : n.set) {
      if (v.kind() != event::ValueKind::kString) return false;
    }
    for (const event::Value& v : n.set) out->emplace_back(v.as_string());
    return true;
  }
  return false;
}

std::optional<std::vector<std::string>> ExactPaths(const eql::IrProgram& p, ExactField which) {
  if (p.kind != eql::QueryKind::kEvent || p.stages.size() != 1 || !p.pipes.empty() || p.until ||
      p.case_insensitive) {
    return std::nullopt;
  }
  const eql::IrStage& stage = p.stages[0];
  bool exec = which == ExactField::kExecutable;
  if (stage.category != (exec ? kProcessCategory : kFileCategory) || stage.missing || stage.runs ||
      stage.predicate == nullptr) {
    return std::nullopt;
  }
  std::vector<std::string> paths;
  schema::FieldId field =
      exec ? schema::ecs::Field("process.executable") : schema::ecs::Field("file.path");
  if (!ExactStringValues(*stage.predicate, field, &paths)) return std::nullopt;
  for (const std::string& path : paths) {
    if (path.empty() || path[0] != '/') return std::nullopt;  // a name, not a file to stat
  }
  return paths;
}

BlockRuleSplit SplitBlockRules(const std::vector<const rules::CompiledRule*>& active) {
  BlockRuleSplit out;
  for (size_t i = 0; i < active.size(); ++i) {
    const rules::CompiledRule& rule = *active[i];
    if (rule.spec.action != rules::RuleAction::kBlock) continue;
    if (auto paths = ExactPaths(*rule.program, ExactField::kExecutable)) {
      for (std::string& path : *paths) out.exec.push_back(RulePath{std::move(path), i});
    } else if (auto files = ExactPaths(*rule.program, ExactField::kFilePath)) {
      for (std::string& path : *files) out.open.push_back(RulePath{std::move(path), i});
    } else {
      out.general.push_back(active[i]);
    }
  }
  return out;
}

}  // namespace kestrel::actions::blocking
