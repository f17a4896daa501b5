// QueryEngine sequences; see query_engine.h for the semantics. Per event: `until` clears its key
// in every stage, missing-event stages `![...]` cancel what waits across them (and complete
// trailing matches whose window closed), then the stages advance from last to first (a newer
// start replaces an older one; `fork=true` stages copy rather than move), and partial matches past
// maxspan are swept. Tested by query_engine_test.cc and conformance_query_test.cc.
#include "kestrel/engine/query_engine_internal.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace kestrel::engine {

void QueryEngine::Impl::Missing(const event::Event& e, int64_t now) {
  bool holding = state_->stats().partials > 0;
  for (size_t j = 0; j < missing_.size(); ++j) {
    // Between two positive stages a missing event disproves a held partial match: none, nothing
    // to do (a leading one marks its key, a trailing one a pending match: always evaluated).
    if (j > 0 && j < stages_.size() && !holding) continue;
    for (const eql::IrStage* m : missing_[j]) {
      if (!Matches(*m, e)) continue;
      JoinKey key = Key(m->by);
      if (j == 0) {
        leading_seen_.insert_or_assign(std::string(key.text),
                                       now);  // no sequence may start just after it
        if (leading_seen_.size() > limits_.max_partials) leading_seen_.clear();
      } else if (j == stages_.size()) {
        pending_.erase(std::string(key.text));  // a trailing match is disproved
      } else {
        state_->Erase(j - 1, key, now);  // the partial waiting for stage j is disproved
      }
    }
  }
}

void QueryEngine::Impl::EmitPending(int64_t now, bool all) {
  std::vector<std::pair<std::string, PendingMatch>> due;
  for (auto& [key, p] : pending_) {
    if (all || (span_ns_ >= 0 && now - p.partial.start_ns > span_ns_)) due.emplace_back(key, p);
  }
  std::sort(due.begin(), due.end(),
            [](const auto& a, const auto& b) { return a.second.sequence < b.second.sequence; });
  for (auto& [key, p] : due) {
    pending_.erase(key);
    EmitSequence(p.partial, nullptr, 0, std::move(p.entity_key));
  }
}

void QueryEngine::Impl::Sequence(const event::Event& e, uint64_t index) {
  int64_t now = e.time_ns();
  // What had expired by now is counted as expired before this event replaces or erases it (a
  // start over the same key, `until`), whichever other events swept the engine before: one
  // Detector and the bus's workers then count the same.
  state_->Sweep(now);
  if (program_->until && Matches(*program_->until, e)) {
    JoinKey key = Key(program_->until->by);
    state_->EraseKey(key, now);  // what had expired is counted so, whoever swept first
    if (!pending_.empty()) pending_.erase(std::string(key.text));
  }
  if (has_missing_) {
    Missing(e, now);
    if (!pending_.empty()) EmitPending(now, false);
  }
  // A later stage can only advance a partial match: with none held (the common case for most
  // rules on most events) its predicate is not evaluated at all.
  bool holding = state_->stats().partials > 0;
  for (size_t i = stages_.size(); i-- > 0;) {
    const eql::IrStage& stage = *stages_[i];
    if (i > 0 && !holding) continue;
    if (!Matches(stage, e)) continue;
    JoinKey key = Key(stage.by);
    Partial next;
    if (i == 0) {
      if (!missing_[0].empty()) {
        auto seen = leading_seen_.find(std::string(key.text));
        if (seen != leading_seen_.end() && (span_ns_ < 0 || now - seen->second <= span_ns_)) {
          continue;
        }
      }
      next.start_ns = now;
    } else {
      const Partial* waiting = state_->Find(i - 1, key);
      if (waiting == nullptr) continue;
      if (state_->Expired(*waiting, now)) {
        state_->Erase(i - 1, key);  // not `now`: counted here
        state_->CountExpired();
        continue;
      }
      if (stage.fork) {
        next = *waiting;
      } else {
        state_->Take(i - 1, key, &next);
      }
    }
    if (i + 1 == stages_.size() && missing_.back().empty()) {
      // Complete: the current event is the last (a full copy, shared with other results).
      EmitSequence(next, &e, index, EntityKey(stage.by));
      continue;
    }
    next.events.push_back(Encoded(e, index));
    next.bytes += EvidenceBytes(*next.events.back());
    if (i + 1 == stages_.size()) {
      pending_.insert_or_assign(
          std::string(key.text),
          PendingMatch{std::move(next), EntityKey(stage.by), ++pending_sequence_});
    } else {
      state_->Put(i, key, std::move(next), now);
    }
  }
  state_->Sweep(now);
  SyncStats();
}

}  // namespace kestrel::engine
