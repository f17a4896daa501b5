// QueryEngine joins and samples; see query_engine.h for the semantics. Per key, the first event
// of each stage; a key is complete (one result, events in stage order) when every stage has one;
// `until` clears the key; past EngineLimits::max_keys keys the oldest created are evicted and
// counted. Tested by query_engine_test.cc and conformance_query_test.cc.
#include "kestrel/engine/query_engine_internal.h"

#include <algorithm>
#include <deque>
#include <string>
#include <utility>

namespace kestrel::engine {

void QueryEngine::Impl::EvictJoinKeys(const std::string& keep) {
  while (slots_.size() > limits_.max_keys && !join_order_.empty()) {
    std::string oldest = std::move(join_order_.front().second);
    join_order_.pop_front();
    if (oldest == keep) continue;
    auto it = slots_.find(oldest);
    if (it == slots_.end()) continue;
    EraseJoinKey(it);
    ++join_evicted_;
  }
  if (join_order_.size() > 4 * (slots_.size() + 1024)) {
    std::deque<std::pair<uint64_t, std::string>> live;
    for (auto& k : join_order_) {
      if (slots_.contains(k.second)) live.push_back(std::move(k));
    }
    join_order_.swap(live);
  }
}

void QueryEngine::Impl::Join(const event::Event& e, uint64_t index) {
  if (program_->until && Matches(*program_->until, e)) {
    EraseJoinKey(slots_.find(std::string(Key(program_->until->by).text)));
  }
  for (size_t i = 0; i < stages_.size(); ++i) {
    const eql::IrStage& stage = *stages_[i];
    if (!Matches(stage, e)) continue;
    std::string key(Key(stage.by).text);
    auto [found, inserted] = slots_.try_emplace(key);
    auto& slots = found->second;
    if (inserted) {
      slots.resize(stages_.size());
      join_tick_ = budget_ != nullptr ? budget_->NextTick(join_tick_) : join_tick_ + 1;
      join_order_.emplace_back(join_tick_, key);
      ChargeJoin(static_cast<int64_t>(JoinKeyBytes(key, slots)));
      EvictJoinKeys(key);
    }
    if (slots[i]) continue;  // the first event of a stage is kept
    slots[i] = std::make_pair(index, Copy(e));
    ChargeJoin(static_cast<int64_t>(EvidenceBytes(*slots[i]->second)));
    bool complete = std::all_of(slots.begin(), slots.end(), [](const auto& s) { return s; });
    if (complete) {
      QueryMatch m;
      m.entity_key = EntityKey(stage.by);
      for (auto& s : slots) {
        m.event_indexes.push_back(s->first);
        m.events.push_back(s->second);
      }
      results_.push_back(std::move(m));
      EraseJoinKey(slots_.find(key));
    }
  }
  SyncStats();
}

}  // namespace kestrel::engine
