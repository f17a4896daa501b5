#include "kestrel/engine/entity_routing.h"

#include <algorithm>
#include <string_view>

#include "xxhash.h"

namespace kestrel::engine {

namespace {

bool HasRelation(const eql::IrNode& node) {
  if (node.op == eql::IrOp::kRelation) return true;
  for (const auto& child : node.children) {
    if (child && HasRelation(*child)) return true;
  }
  return false;
}

bool KeyedByProcess(const eql::IrStage& stage, const std::vector<schema::FieldId>& fields) {
  for (const auto& key : stage.by) {
    if (key && key->op == eql::IrOp::kField && !key->index &&
        std::find(fields.begin(), fields.end(), key->field) != fields.end()) {
      return true;
    }
  }
  return false;
}

size_t ShareOf(size_t quota) {
  return std::max<size_t>(1, (quota + kStateShards - 1) / kStateShards);
}

}  // namespace

std::vector<schema::FieldId> RouteFields(const schema::Schema& schema) {
  std::vector<schema::FieldId> fields;
  for (const char* name : {"unique_pid", "process.entity_id"}) {
    if (auto id = schema.Find(name)) fields.push_back(*id);
  }
  return fields;
}

uint32_t StateShard(const event::Event& e, const std::vector<schema::FieldId>& route_fields) {
  for (schema::FieldId id : route_fields) {
    const event::Value* v = e.Find(id);
    if (v == nullptr) continue;
    uint64_t h;
    if (v->kind() == event::ValueKind::kString) {
      std::string_view s = v->as_string();
      h = XXH3_64bits(s.data(), s.size());
    } else if (v->kind() == event::ValueKind::kInt || v->kind() == event::ValueKind::kUint) {
      uint64_t bits =
          v->kind() == event::ValueKind::kInt ? static_cast<uint64_t>(v->as_int()) : v->as_uint();
      h = XXH3_64bits(&bits, sizeof bits);
    } else {
      continue;
    }
    return static_cast<uint32_t>(h % kStateShards);
  }
  return 0;
}

bool EntityLocal(const eql::IrProgram& p, const std::vector<schema::FieldId>& route_fields) {
  if (!p.pipes.empty()) return false;
  for (const eql::IrStage& stage : p.stages) {
    if (stage.missing || (stage.predicate && HasRelation(*stage.predicate))) return false;
  }
  if (p.until && p.until->predicate && HasRelation(*p.until->predicate)) return false;
  switch (p.kind) {
    case eql::QueryKind::kEvent:
      return true;
    case eql::QueryKind::kSequence:
      for (const eql::IrStage& stage : p.stages) {
        if (!KeyedByProcess(stage, route_fields)) return false;
      }
      return !p.until || KeyedByProcess(*p.until, route_fields);
    case eql::QueryKind::kJoin:
    case eql::QueryKind::kSample:
      return false;
  }
  return false;
}

StateLimits StateShardLimits(StateLimits rule_limits) {
  rule_limits.max_partials = ShareOf(rule_limits.max_partials);
  rule_limits.max_keys = ShareOf(rule_limits.max_keys);
  return rule_limits;
}

}  // namespace kestrel::engine
