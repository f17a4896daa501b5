// JoinKey and JoinKeyCache; see join_key.h.
#include "kestrel/engine/join_key.h"

#include "kestrel/event/json_writer.h"
#include "xxhash.h"

namespace kestrel::engine {

JoinKey JoinKey::Of(std::string_view text) { return {text, XXH3_64bits(text.data(), text.size())}; }

void AppendJoinKeyText(std::string* out, const std::vector<eql::IrNodePtr>& by,
                       eql::EvalContext& ctx) {
  for (const eql::IrNodePtr& k : by) {
    event::AppendJsonValue(out, eql::EvalIr(*k, ctx));
    out->push_back('\x1f');
  }
}

JoinKey JoinKeyCache::Get(const std::vector<eql::IrNodePtr>& by, eql::EvalContext& ctx) {
  // Shared only when the key depends on the event alone: plain fields, no bound locals.
  bool shared = by.size() <= kMaxFields && ctx.locals == nullptr;
  std::array<uint32_t, kMaxFields> fields{};
  for (size_t i = 0; shared && i < by.size(); ++i) {
    const eql::IrNode& k = *by[i];
    shared = k.op == eql::IrOp::kField && !k.index && !k.event_index;
    fields[i] = k.field.value;
  }
  if (!shared) {
    scratch_.clear();
    AppendJoinKeyText(&scratch_, by, ctx);
    return JoinKey::Of(scratch_);
  }
  for (size_t i = 0; i < used_; ++i) {
    const Entry& e = entries_[i];
    if (e.n == by.size() && e.fields == fields) return {e.text, e.hash};
  }
  Entry* e;
  if (used_ < kEntries) {
    e = &entries_[used_++];
  } else {
    e = &entries_[kEntries - 1];  // full: the last entry is rebuilt for each new list
  }
  e->fields = fields;
  e->n = by.size();
  e->text.clear();
  AppendJoinKeyText(&e->text, by, ctx);
  e->hash = XXH3_64bits(e->text.data(), e->text.size());
  return {e->text, e->hash};
}

}  // namespace kestrel::engine
