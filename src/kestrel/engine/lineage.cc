// ProcessLineage; see lineage.h.
#include "kestrel/engine/lineage.h"

#include "kestrel/event/json_writer.h"

namespace kestrel::engine {
namespace {

schema::FieldId Intern(schema::Schema& schema, std::string_view name) {
  auto id = schema.Intern(name, schema::FieldType::kKeyword, false);
  return id.ok() ? *id : schema::FieldId{};
}

}  // namespace

ProcessKeys::ProcessKeys(schema::Schema& schema, eql::Dialect dialect) {
  // Both schemas are understood whatever the dialect; the dialect only orders the preference.
  std::pair<const char*, const char*> endgame[] = {{"unique_pid", "unique_ppid"}, {"pid", "ppid"}};
  std::pair<const char*, const char*> ecs[] = {{"process.entity_id", "process.parent.entity_id"},
                                               {"process.pid", "process.parent.pid"}};
  auto add = [&](auto& pairs) {
    for (auto [self, parent] : pairs) {
      candidates_.emplace_back(Intern(schema, self), Intern(schema, parent));
    }
  };
  if (dialect == eql::Dialect::kEndgame) {
    add(endgame);
    add(ecs);
  } else {
    add(ecs);
    add(endgame);
  }
}

ProcessLineage::ProcessLineage(schema::Schema& schema, eql::Dialect dialect, size_t max_processes)
    : keys_(schema, dialect), max_processes_(max_processes) {}

std::optional<std::string> ProcessKeys::Key(const event::Event& e, bool parent) const {
  for (const auto& [self_id, parent_id] : candidates_) {
    schema::FieldId id = parent ? parent_id : self_id;
    const event::Value* v = id.valid() ? e.Find(id) : nullptr;
    if (v == nullptr || v->is_null() || v->kind() == event::ValueKind::kArray) continue;
    std::string key;
    event::AppendJsonValue(&key, *v);
    return key;
  }
  return std::nullopt;
}

std::optional<std::string> ProcessLineage::ParentOf(const event::Event& e) const {
  // The event names the parent itself (process events), or its process is in the table (file,
  // network, ... events carry only their own process).
  if (auto parent = Key(e, true)) return parent;
  auto self = Key(e, false);
  if (!self) return std::nullopt;
  auto it = parent_.find(*self);
  if (it == parent_.end()) return std::nullopt;
  return it->second;
}

void ProcessLineage::Observe(const event::Event& e) {
  auto self = Key(e, false);
  auto parent = Key(e, true);
  if (!self || !parent) return;
  auto [it, inserted] = parent_.insert_or_assign(*self, *parent);
  if (!inserted) return;
  order_.push_back(*self);
  while (parent_.size() > max_processes_) {
    // A forgotten process forgets its marks too, so the marks stay within the same bound.
    for (auto& [node, marked] : marked_) marked.erase(order_.front());
    parent_.erase(order_.front());
    order_.pop_front();
    ++forgotten_;
  }
}

void ProcessLineage::Mark(const eql::IrNode* node, const event::Event& e) {
  auto self = Key(e, false);
  if (!self) return;
  auto& marked = marked_[node];
  marked.insert(*self);
  // A process marked without ever being observed (no parent field) is bounded here instead.
  if (marked.size() > max_processes_) {
    marked.clear();
    ++forgotten_;
  }
}

bool ProcessLineage::Related(const eql::IrNode& node, const event::Event& e) const {
  auto marks = marked_.find(&node);
  if (marks == marked_.end()) return false;
  const auto& set = marks->second;
  switch (node.relation) {
    case eql::RelationKind::kEventOf: {
      auto self = Key(e, false);
      return self && set.contains(*self);
    }
    case eql::RelationKind::kChildOf: {
      auto parent = ParentOf(e);
      return parent && set.contains(*parent);
    }
    case eql::RelationKind::kDescendantOf: {
      auto current = ParentOf(e);
      for (int depth = 0; current && depth < kMaxDepth; ++depth) {
        if (set.contains(*current)) return true;
        auto it = parent_.find(*current);
        if (it == parent_.end()) return false;
        current = it->second;
      }
      return false;
    }
  }
  return false;
}

}  // namespace kestrel::engine
