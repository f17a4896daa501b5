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

ProcessLineage::ProcessLineage(schema::Schema& schema, eql::Dialect dialect,
                               size_t max_processes)
    : max_processes_(max_processes) {
  if (dialect == eql::Dialect::kEndgame) {
    unique_pid_ = Intern(schema, "unique_pid");
    unique_ppid_ = Intern(schema, "unique_ppid");
    pid_ = Intern(schema, "pid");
    ppid_ = Intern(schema, "ppid");
  } else {
    unique_pid_ = Intern(schema, "process.entity_id");
    unique_ppid_ = Intern(schema, "process.parent.entity_id");
    pid_ = Intern(schema, "process.pid");
    ppid_ = Intern(schema, "process.parent.pid");
  }
}

std::optional<std::string> ProcessLineage::Key(const event::Event& e, schema::FieldId unique,
                                               schema::FieldId plain) const {
  const event::Value* v = unique.valid() ? e.Find(unique) : nullptr;
  if (v == nullptr || v->is_null()) v = plain.valid() ? e.Find(plain) : nullptr;
  if (v == nullptr || v->is_null() || v->kind() == event::ValueKind::kArray) return std::nullopt;
  std::string key;
  event::AppendJsonValue(&key, *v);
  return key;
}

std::optional<std::string> ProcessLineage::ParentOf(const event::Event& e) const {
  // The event names the parent itself (process events), or its process is in the table (file,
  // network, ... events carry only their own process).
  if (auto parent = Key(e, unique_ppid_, ppid_)) return parent;
  auto self = Key(e, unique_pid_, pid_);
  if (!self) return std::nullopt;
  auto it = parent_.find(*self);
  if (it == parent_.end()) return std::nullopt;
  return it->second;
}

void ProcessLineage::Observe(const event::Event& e) {
  auto self = Key(e, unique_pid_, pid_);
  auto parent = Key(e, unique_ppid_, ppid_);
  if (!self || !parent) return;
  auto [it, inserted] = parent_.insert_or_assign(*self, *parent);
  if (!inserted) return;
  order_.push_back(*self);
  while (parent_.size() > max_processes_) {
    parent_.erase(order_.front());
    order_.pop_front();
    ++forgotten_;
  }
}

void ProcessLineage::Mark(const eql::IrNode* node, const event::Event& e) {
  if (auto self = Key(e, unique_pid_, pid_)) marked_[node].insert(*self);
}

bool ProcessLineage::Related(const eql::IrNode& node, const event::Event& e) const {
  auto marks = marked_.find(&node);
  if (marks == marked_.end()) return false;
  const auto& set = marks->second;
  switch (node.relation) {
    case eql::RelationKind::kEventOf: {
      auto self = Key(e, unique_pid_, pid_);
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
