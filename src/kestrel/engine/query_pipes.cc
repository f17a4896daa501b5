// QueryEngine pipes; see query_engine.h for the semantics. Streaming (TakeResults): `head` and
// `unique`, applied to each result as it completes. Query mode (Finish): every pipe in order over
// all results (head, tail, filter, unique, unique_count, sort, count; `count` replaces the
// results with statistics events). Tested by query_engine_test.cc and conformance_query_test.cc.
#include "kestrel/engine/query_engine_internal.h"

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kestrel/base/string_map.h"

namespace kestrel::engine {

std::vector<QueryMatch> QueryEngine::Impl::TakeResults() {
  std::vector<QueryMatch> out;
  out.swap(results_);
  if (program_->pipes.empty() || out.empty()) return out;
  // Streaming pipes, applied in order to each result as it completes: `head N` passes the
  // first N, `unique k` the first result per key (the seen keys are kept for the whole run).
  std::vector<QueryMatch> kept;
  std::vector<const event::Event*> focus;
  for (QueryMatch& m : out) {
    bool pass = true;
    for (size_t p = 0; p < program_->pipes.size() && pass; ++p) {
      const eql::IrPipe& pipe = program_->pipes[p];
      if (pipe.kind == eql::PipeKind::kHead) {
        pass = stream_passed_[p]++ < static_cast<uint64_t>(std::max<int64_t>(pipe.limit, 0));
      } else {
        Focus(m, &focus);
        pass = stream_seen_[p].insert(KeyText(pipe.args)).second;
      }
    }
    if (pass) kept.push_back(std::move(m));
  }
  ctx_.match_events = nullptr;
  ctx_.match_size = 0;
  return kept;
}

std::vector<QueryMatch> QueryEngine::Impl::Finish() {
  if (!pending_.empty()) EmitPending(0, true);
  for (const eql::IrPipe& pipe : program_->pipes) ApplyPipe(pipe);
  return std::move(results_);
}

void QueryEngine::Impl::Focus(const QueryMatch& m, std::vector<const event::Event*>* storage) {
  storage->clear();
  for (const EventPtr& p : m.events) storage->push_back(p.get());
  ctx_.event = storage->empty() ? nullptr : (*storage)[0];
  ctx_.match_events = storage->data();
  ctx_.match_size = storage->size();
}

void QueryEngine::Impl::ApplyPipe(const eql::IrPipe& pipe) {
  std::vector<const event::Event*> focus;
  switch (pipe.kind) {
    case eql::PipeKind::kHead:
      if (results_.size() > static_cast<size_t>(std::max<int64_t>(pipe.limit, 0))) {
        results_.resize(static_cast<size_t>(std::max<int64_t>(pipe.limit, 0)));
      }
      break;
    case eql::PipeKind::kTail: {
      size_t keep = static_cast<size_t>(std::max<int64_t>(pipe.limit, 0));
      if (results_.size() > keep) {
        results_.erase(results_.begin(), results_.end() - static_cast<ptrdiff_t>(keep));
      }
      break;
    }
    case eql::PipeKind::kFilter: {
      std::vector<QueryMatch> kept;
      for (QueryMatch& m : results_) {
        Focus(m, &focus);
        scratch_.Reset();
        if (eql::EvalCondition(*pipe.args[0], ctx_)) kept.push_back(std::move(m));
      }
      results_ = std::move(kept);
      break;
    }
    case eql::PipeKind::kUnique: {
      absl::flat_hash_set<std::string> seen;
      std::vector<QueryMatch> kept;
      for (QueryMatch& m : results_) {
        Focus(m, &focus);
        scratch_.Reset();
        if (seen.insert(KeyText(pipe.args)).second) kept.push_back(std::move(m));
      }
      results_ = std::move(kept);
      break;
    }
    case eql::PipeKind::kUniqueCount: {
      // The first result per key, with `count` (results with that key) and `percent` (their
      // share of all results) added to its first event, as the reference does.
      absl::flat_hash_map<std::string, size_t> position;
      std::vector<QueryMatch> kept;
      std::vector<int64_t> counts;
      for (QueryMatch& m : results_) {
        Focus(m, &focus);
        scratch_.Reset();
        auto [it, inserted] = position.try_emplace(KeyText(pipe.args), kept.size());
        if (inserted) {
          kept.push_back(std::move(m));
          counts.push_back(0);
        }
        ++counts[it->second];
      }
      double total = static_cast<double>(results_.size());
      for (size_t i = 0; i < kept.size(); ++i) {
        if (kept[i].events.empty()) continue;
        auto annotated = std::make_shared<event::Event>(*kept[i].events[0]);
        annotated->SetInt(count_field_, counts[i]);
        annotated->SetDouble(percent_field_, static_cast<double>(counts[i]) / total);
        annotated->Finish();
        kept[i].events[0] = std::move(annotated);
      }
      results_ = std::move(kept);
      break;
    }
    case eql::PipeKind::kSort: {
      // Evaluate the keys once per result, then a stable sort (nulls first).
      std::vector<std::pair<std::vector<event::Value>, size_t>> keyed;
      base::StringArena keys_arena;
      for (size_t r = 0; r < results_.size(); ++r) {
        Focus(results_[r], &focus);
        ctx_.scratch = &keys_arena;
        std::vector<event::Value> values;
        for (const eql::IrNodePtr& a : pipe.args) values.push_back(eql::EvalIr(*a, ctx_));
        keyed.emplace_back(std::move(values), r);
      }
      ctx_.scratch = &scratch_;
      bool ci = program_->case_insensitive;
      std::stable_sort(keyed.begin(), keyed.end(), [ci](const auto& a, const auto& b) {
        for (size_t i = 0; i < a.first.size(); ++i) {
          const event::Value& x = a.first[i];
          const event::Value& y = b.first[i];
          if (x.is_null() != y.is_null()) return x.is_null();
          if (eql::IsTrue(eql::Compare(eql::CompareOp::kLt, x, y, ci))) return true;
          if (eql::IsTrue(eql::Compare(eql::CompareOp::kLt, y, x, ci))) return false;
        }
        return false;
      });
      std::vector<QueryMatch> sorted;
      for (auto& [values, r] : keyed) sorted.push_back(std::move(results_[r]));
      results_ = std::move(sorted);
      break;
    }
    case eql::PipeKind::kCount:
      Count(pipe);
      break;
  }
  ctx_.match_events = nullptr;
  ctx_.match_size = 0;
}

void QueryEngine::Impl::Count(const eql::IrPipe& pipe) {
  double total = static_cast<double>(results_.size());
  std::vector<QueryMatch> out;
  auto make = [&](int64_t count, const std::vector<event::Value>& keys, bool totals) {
    auto e = std::make_shared<event::Event>();
    e->SetInt(count_field_, count);
    if (totals) {
      e->SetString(key_field_, "totals");
    } else {
      if (keys.size() == 1) {
        e->Set(key_field_, keys[0]);
      } else {
        e->SetArray(key_field_, keys);
      }
      e->SetDouble(percent_field_, total > 0 ? static_cast<double>(count) / total : 0);
    }
    e->Finish();
    QueryMatch m;
    m.events.push_back(std::move(e));
    return m;
  };
  if (pipe.args.empty()) {
    out.push_back(make(static_cast<int64_t>(results_.size()), {}, true));
    results_ = std::move(out);
    return;
  }
  struct Group {
    std::vector<event::Value> keys;
    int64_t count = 0;
    size_t last_result = SIZE_MAX;  // a result counts once per group, even if a value repeats
  };
  base::StringMap<Group> groups;
  base::StringArena keys_arena;
  std::vector<const event::Event*> focus;
  // Each argument's values for one result: an array field counts once per distinct element, as
  // an Elasticsearch terms aggregation counts a multi-valued field (several arguments: each
  // combination, as a multi_terms aggregation); a missing field or an empty array is one null.
  std::vector<std::vector<event::Value>> values(pipe.args.size());
  std::vector<size_t> at(pipe.args.size());
  std::vector<event::Value> combo(pipe.args.size());
  std::string text;
  for (size_t r = 0; r < results_.size(); ++r) {
    Focus(results_[r], &focus);
    scratch_.Reset();
    size_t combinations = 1;
    for (size_t a = 0; a < pipe.args.size(); ++a) {
      values[a].clear();
      event::Value v = eql::EvalIr(*pipe.args[a], ctx_);
      if (v.kind() == event::ValueKind::kArray) {
        for (const event::Value& element : v.as_array()) values[a].push_back(element);
      }
      if (values[a].empty())
        values[a].push_back(v.kind() == event::ValueKind::kArray ? event::Value::Null() : v);
      combinations *= values[a].size();
      if (combinations > kMaxCountCombinations) combinations = kMaxCountCombinations + 1;
    }
    if (combinations > kMaxCountCombinations) {
      // Bounded: more combinations than this in one result count only the first ones.
      ++stats_.count_truncated;
    }
    std::fill(at.begin(), at.end(), 0);
    for (size_t n = 0; n < std::min(combinations, kMaxCountCombinations); ++n) {
      text.clear();
      for (size_t a = 0; a < values.size(); ++a) {
        combo[a] = values[a][at[a]];
        event::AppendJsonValue(&text, combo[a]);
        text.push_back('\x1f');
      }
      auto [it, inserted] = groups.try_emplace(text);
      if (inserted) {
        for (event::Value v : combo) {
          if (v.kind() == event::ValueKind::kString) {
            v = event::Value::String(keys_arena.Copy(v.as_string()));
          }
          it->second.keys.push_back(v);
        }
      }
      if (it->second.last_result != r) ++it->second.count;
      it->second.last_result = r;
      // The next combination: the last argument varies fastest.
      for (size_t a = values.size(); a-- > 0;) {
        if (++at[a] < values[a].size()) break;
        at[a] = 0;
      }
    }
  }
  std::vector<std::pair<std::string, Group*>> sorted;
  for (auto& [text, g] : groups) sorted.emplace_back(text, &g);
  std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
    return a.second->count != b.second->count ? a.second->count < b.second->count
                                              : a.first < b.first;
  });
  for (const auto& [text, g] : sorted) out.push_back(make(g->count, g->keys, false));
  results_ = std::move(out);
}

}  // namespace kestrel::engine
