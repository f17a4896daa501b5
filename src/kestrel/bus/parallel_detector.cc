#include "kestrel/bus/parallel_detector.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <queue>

#include "xxhash.h"

namespace kestrel::bus {

namespace {

constexpr uint8_t kRouted = 0;      // an event of this partition
constexpr uint8_t kGlobalOnly = 1;  // a copy for worker 0's global rules only
constexpr uint8_t kTick = 2;        // every event before `seq` has been published
constexpr uint8_t kEnd = 3;         // end of input
constexpr uint8_t kReload = 4;      // switch to the rule set of Item::plan

constexpr uint64_t kEndSeq = std::numeric_limits<uint64_t>::max() - 1;  // tag of Finish() matches

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

// Whether every match of `p` involves events of one process only (see the header).
bool EntityLocal(const eql::IrProgram& p, const std::vector<schema::FieldId>& fields) {
  if (!p.pipes.empty()) return false;
  for (const eql::IrStage& stage : p.stages) {
    if (stage.missing || (stage.predicate && HasRelation(*stage.predicate))) return false;
  }
  if (p.until && p.until->predicate && HasRelation(*p.until->predicate)) return false;
  switch (p.kind) {
    case eql::QueryKind::kEvent:
      return true;
    case eql::QueryKind::kSequence:
    case eql::QueryKind::kJoin:
      for (const eql::IrStage& stage : p.stages) {
        if (!KeyedByProcess(stage, fields)) return false;
      }
      return !p.until || KeyedByProcess(*p.until, fields);
    case eql::QueryKind::kSample:
      return false;
  }
  return false;
}

}  // namespace

struct ParallelDetector::Item {
  // Queue slots keep their capacity from event to event: small arena blocks keep each near the
  // size of the events it carries (a 4 KiB default block per slot cost 4 KiB x queue_capacity per
  // worker once the ring had cycled).
  event::Event event{512};
  uint64_t seq = 0;
  uint8_t kind = kRouted;
  ReloadPlan* plan = nullptr;  // kReload
};

// A new rule set for Reload(): its programs, which rules run where, and which old rule's engine
// each new rule takes over (-1: none).
struct ParallelDetector::ReloadPlan {
  std::vector<const eql::IrProgram*> programs;
  std::vector<uint32_t> local_rules, global_rules;
  std::vector<int64_t> keep;
  std::mutex mu;
  absl::Status status;  // the first refusal of a worker (guarded by mu)
};

struct ParallelDetector::Tagged {
  uint64_t seq;
  uint32_t rule;
  uint64_t order;
  std::shared_ptr<engine::QueryMatch> match;
  bool operator>(const Tagged& o) const {
    if (seq != o.seq) return seq > o.seq;
    if (rule != o.rule) return rule > o.rule;
    return order > o.order;
  }
};

struct ParallelDetector::Worker {
  Worker(schema::Schema& schema, const engine::EngineLimits& limits, size_t capacity)
      : queue(capacity),
        local(std::make_unique<engine::Detector>(schema, limits)),
        global(std::make_unique<engine::Detector>(schema, limits)) {}
  SpscRing<Item> queue;
  // Replaced by a reload (on the worker's thread, while the producer waits in Reload()).
  std::unique_ptr<engine::Detector> local;          // rules local_rules[i] as its rule i
  std::unique_ptr<engine::Detector> global;         // worker 0: global_rules[i] as its rule i
  std::vector<uint32_t> local_rules, global_rules;  // the worker's copy of the rule split
  std::vector<Tagged> out;                          // matches not yet reported to the merger
  uint64_t order = 0;
  std::thread thread;
};

ParallelDetector::ParallelDetector(const ParallelOptions& options, MatchFn on_match)
    : options_(options),
      on_match_(std::move(on_match)),
      routed_(std::max<size_t>(options.workers, 1)),
      dropped_(std::max<size_t>(options.workers, 1)),
      processed_(std::max<size_t>(options.workers, 1)) {}

absl::StatusOr<std::unique_ptr<ParallelDetector>> ParallelDetector::Create(
    schema::Schema& schema, std::vector<const eql::IrProgram*> programs,
    const ParallelOptions& options, MatchFn on_match) {
  if (options.workers < 1 || options.workers > 256) {
    return absl::InvalidArgumentError("workers must be 1 to 256");
  }
  std::unique_ptr<ParallelDetector> d(new ParallelDetector(options, std::move(on_match)));
  d->schema_ = &schema;
  d->programs_ = std::move(programs);
  for (const char* name : {"unique_pid", "process.entity_id"}) {
    if (auto id = schema.Find(name)) d->route_fields_.push_back(*id);
  }
  for (uint32_t r = 0; r < d->programs_.size(); ++r) {
    (EntityLocal(*d->programs_[r], d->route_fields_) ? d->local_rules_ : d->global_rules_)
        .push_back(r);
  }
  for (size_t w = 0; w < options.workers; ++w) {
    auto worker = std::make_unique<Worker>(schema, options.limits, options.queue_capacity);
    if (options.setup) {
      if (absl::Status s = options.setup(w, *worker->local); !s.ok()) return s;
      if (w == 0) {
        if (absl::Status s = options.setup(w, *worker->global); !s.ok()) return s;
      }
    }
    worker->local_rules = d->local_rules_;
    worker->global_rules = d->global_rules_;
    for (uint32_t r : d->local_rules_) {
      if (absl::Status s = worker->local->AddRule(d->programs_[r]); !s.ok()) return s;
    }
    if (absl::Status s = worker->local->Seal(); !s.ok()) return s;
    if (w == 0) {
      for (uint32_t r : d->global_rules_) {
        if (absl::Status s = worker->global->AddRule(d->programs_[r]); !s.ok()) return s;
      }
    }
    if (absl::Status s = worker->global->Seal(); !s.ok()) return s;
    d->workers_.push_back(std::move(worker));
  }
  d->watermarks_.assign(options.workers, 0);
  for (size_t w = 0; w < options.workers; ++w) {
    d->workers_[w]->thread = std::thread([p = d.get(), w] { p->RunWorker(w); });
  }
  d->merger_ = std::thread([p = d.get()] { p->RunMerger(); });
  return d;
}

ParallelDetector::~ParallelDetector() { Finish(); }

size_t ParallelDetector::Route(const event::Event& e) const {
  size_t n = workers_.size();
  if (n == 1) return 0;
  for (schema::FieldId id : route_fields_) {
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
    return static_cast<size_t>(h % n);
  }
  return 0;
}

bool ParallelDetector::Push(size_t p, const event::Event* event, uint8_t kind, uint64_t seq,
                            ReloadPlan* plan) {
  SpscRing<Item>& q = workers_[p]->queue;
  Item* slot = q.BeginPush();
  if (slot == nullptr) {
    if (options_.policy == FullPolicy::kDrop && (kind == kRouted || kind == kGlobalOnly)) {
      return false;
    }
    q.WaitForSpace();
    slot = q.BeginPush();
  }
  if (event != nullptr) slot->event = *event;  // reuses the slot's capacity
  slot->seq = seq;
  slot->kind = kind;
  slot->plan = plan;
  q.CommitPush();
  return true;
}

bool ParallelDetector::Publish(const event::Event& event) {
  uint64_t seq = next_seq_++;
  size_t p = Route(event);
  bool ok = Push(p, &event, kRouted, seq);
  if (ok) {
    routed_[p].fetch_add(1, std::memory_order_relaxed);
    // Worker 0 runs the global rules over every event, including those routed elsewhere.
    if (p != 0 && !global_rules_.empty() && !Push(0, &event, kGlobalOnly, seq)) {
      dropped_[0].fetch_add(1, std::memory_order_relaxed);
    }
  } else {
    dropped_[p].fetch_add(1, std::memory_order_relaxed);
  }
  published_.store(seq + 1, std::memory_order_seq_cst);
  if ((seq + 1) % kTickInterval == 0) {
    for (size_t w = 0; w < workers_.size(); ++w) Push(w, nullptr, kTick, seq + 1);
  }
  return ok;
}

void ParallelDetector::RunWorker(size_t w) {
  Worker& me = *workers_[w];
  uint64_t reported_watermark = 0;
  auto report = [&](uint64_t watermark, bool force) {
    if (!force && me.out.empty() && watermark - reported_watermark < kTickInterval) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Tagged& t : me.out) reported_.push_back(std::move(t));
      watermarks_[w] = watermark;
      ++reports_;
    }
    me.out.clear();
    reported_watermark = watermark;
    cv_.notify_one();
  };
  auto collect = [&](const std::vector<uint32_t>& rules, uint64_t seq) {
    return [&me, &rules, seq](size_t rule, engine::QueryMatch& match) {
      me.out.push_back(Tagged{seq, rules[rule], me.order++,
                              std::make_shared<engine::QueryMatch>(std::move(match))});
    };
  };
  while (true) {
    me.queue.WaitForData();
    Item* item = me.queue.Front();
    uint64_t seq = item->seq;
    switch (item->kind) {
      case kRouted:
        if (!me.local_rules.empty()) {
          me.local->Process(item->event, seq, collect(me.local_rules, seq));
        }
        if (w == 0 && !me.global_rules.empty()) {
          me.global->Process(item->event, seq, collect(me.global_rules, seq));
        }
        break;
      case kGlobalOnly:
        me.global->Process(item->event, seq, collect(me.global_rules, seq));
        break;
      case kReload:
        report(seq, true);  // every match of the old set, before switching
        ApplyReload(w, *item->plan);
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++reload_acks_;
        }
        reload_cv_.notify_all();
        me.queue.Pop();
        continue;
      case kTick:
        report(seq, false);
        me.queue.Pop();
        continue;
      case kEnd:
        me.local->Finish(collect(me.local_rules, kEndSeq));
        if (w == 0) me.global->Finish(collect(me.global_rules, kEndSeq));
        report(std::numeric_limits<uint64_t>::max(), true);
        me.queue.Pop();
        return;
    }
    processed_[w].fetch_add(1, std::memory_order_relaxed);
    // Everything up to this event is done; report when there is something to say, or when
    // the queue is about to run dry. Reports precede Pop(): the merger takes an empty queue to
    // mean that everything its worker took from it has been reported.
    report(seq + 1, !me.queue.HasSecond());
    me.queue.Pop();
    if (stalled_.load(std::memory_order_seq_cst) && me.queue.Front() == nullptr) {
      // Idle from now on, and the merger holds matches back: it may count this worker as past
      // every published event.
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++reports_;
      }
      cv_.notify_one();
    }
  }
}

void ParallelDetector::RunMerger() {
  std::priority_queue<Tagged, std::vector<Tagged>, std::greater<Tagged>> pending;
  std::vector<Tagged> batch;
  std::vector<bool> empty(workers_.size());
  uint64_t seen = 0;
  uint64_t hint = 0;
  while (true) {
    {
      // Woken by every report, and by a worker whose queue has just run dry: its empty queue
      // is what lets matches through when it has nothing to report (below).
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return reports_ != seen || merger_done_; });
      // A worker that has reported watermark W has been given event W - 1, so every event
      // before W has been pushed to its queue (the producer publishes in order), even if
      // `published_` does not say so yet.
      for (uint64_t w : watermarks_) {
        if (w != std::numeric_limits<uint64_t>::max()) hint = std::max(hint, w);
      }
    }
    // Say that we are looking before we look: a worker that goes idle after this sees the flag
    // and wakes us; one that went idle before it is seen empty below (both seq_cst).
    stalled_.store(true, std::memory_order_seq_cst);
    // Every event before `published` is in its queue(s). A worker whose queue is empty now has
    // run and reported all of those it was given (reports precede Pop), so it cannot produce a
    // match before `published`: its watermark is at least that.
    uint64_t published = std::max(published_.load(std::memory_order_seq_cst), hint);
    for (size_t w = 0; w < workers_.size(); ++w) empty[w] = workers_[w]->queue.size() == 0;
    uint64_t low = std::numeric_limits<uint64_t>::max();
    {
      std::lock_guard<std::mutex> lock(mu_);
      seen = reports_;
      batch.swap(reported_);
      for (size_t w = 0; w < workers_.size(); ++w) {
        low = std::min(low, empty[w] ? std::max(watermarks_[w], published) : watermarks_[w]);
      }
    }
    for (Tagged& t : batch) pending.push(std::move(t));
    batch.clear();
    while (!pending.empty() && pending.top().seq < low) {
      Tagged t = pending.top();
      pending.pop();
      on_match_(t.rule, *t.match);
    }
    {
      // Everything before `low` is delivered now (Reload() waits for this).
      std::lock_guard<std::mutex> lock(mu_);
      delivered_ = std::max(delivered_, low);
    }
    reload_cv_.notify_all();
    stalled_.store(!pending.empty(), std::memory_order_seq_cst);
    if (low == std::numeric_limits<uint64_t>::max()) return;  // every worker has ended
  }
}

void ParallelDetector::Finish() {
  if (finished_) return;
  finished_ = true;
  for (size_t w = 0; w < workers_.size(); ++w) Push(w, nullptr, kEnd, next_seq_);
  for (auto& worker : workers_) worker->thread.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    merger_done_ = true;
  }
  cv_.notify_one();
  merger_.join();
}

std::vector<PartitionStats> ParallelDetector::partition_stats() const {
  std::vector<PartitionStats> out(workers_.size());
  for (size_t w = 0; w < workers_.size(); ++w) {
    out[w].routed = routed_[w].load(std::memory_order_relaxed);
    out[w].dropped = dropped_[w].load(std::memory_order_relaxed);
    out[w].processed = processed_[w].load(std::memory_order_relaxed);
    out[w].depth = workers_[w]->queue.size();
  }
  return out;
}

engine::EngineStats ParallelDetector::stats(size_t rule) const {
  engine::EngineStats sum;
  auto add = [&](const engine::EngineStats& s) {
    sum.partials += s.partials;
    sum.keys += s.keys;
    sum.expired += s.expired;
    sum.evicted += s.evicted;
  };
  auto local = std::find(local_rules_.begin(), local_rules_.end(), rule);
  if (local != local_rules_.end()) {
    size_t i = static_cast<size_t>(local - local_rules_.begin());
    for (const auto& w : workers_) add(w->local->stats(i));
  } else {
    auto global = std::find(global_rules_.begin(), global_rules_.end(), rule);
    if (global != global_rules_.end()) {
      add(workers_[0]->global->stats(static_cast<size_t>(global - global_rules_.begin())));
    }
  }
  return sum;
}

engine::EvalTimeHistogram::Snapshot ParallelDetector::eval_time(size_t rule) const {
  engine::EvalTimeHistogram::Snapshot sum;
  auto local = std::find(local_rules_.begin(), local_rules_.end(), rule);
  if (local != local_rules_.end()) {
    size_t i = static_cast<size_t>(local - local_rules_.begin());
    for (const auto& w : workers_) sum += w->local->eval_time(i).Read();
  } else {
    auto global = std::find(global_rules_.begin(), global_rules_.end(), rule);
    if (global != global_rules_.end()) {
      sum += workers_[0]
                 ->global->eval_time(static_cast<size_t>(global - global_rules_.begin()))
                 .Read();
    }
  }
  return sum;
}

void ParallelDetector::ApplyReload(size_t w, ReloadPlan& plan) {
  Worker& me = *workers_[w];
  auto rebuild = [&](std::unique_ptr<engine::Detector>& old, const std::vector<uint32_t>& old_rules,
                     const std::vector<uint32_t>& new_rules) -> absl::Status {
    auto fresh = std::make_unique<engine::Detector>(*schema_, options_.limits);
    fresh->UsePredicateRuntime(old->predicate_runtime());
    fresh->UseFunctions(old->functions());
    for (uint32_t r : new_rules) {
      int64_t before = plan.keep[r];
      auto at = before < 0
                    ? old_rules.end()
                    : std::find(old_rules.begin(), old_rules.end(), static_cast<uint32_t>(before));
      if (at != old_rules.end()) {
        // Unchanged: the running engine and its partial matches carry over.
        fresh->AdoptRule(plan.programs[r],
                         old->ReleaseEngine(static_cast<size_t>(at - old_rules.begin())));
      } else if (absl::Status s = fresh->AddRule(plan.programs[r]); !s.ok()) {
        return s;
      }
    }
    if (absl::Status s = fresh->Seal(); !s.ok()) return s;
    old = std::move(fresh);
    return absl::OkStatus();
  };
  absl::Status s = rebuild(me.local, me.local_rules, plan.local_rules);
  if (s.ok() && w == 0) s = rebuild(me.global, me.global_rules, plan.global_rules);
  me.local_rules = plan.local_rules;
  me.global_rules = w == 0 ? plan.global_rules : std::vector<uint32_t>{};
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(plan.mu);
    if (plan.status.ok()) plan.status = s;
  }
}

absl::Status ParallelDetector::Reload(std::vector<const eql::IrProgram*> programs,
                                      std::vector<int64_t> keep) {
  if (finished_) return absl::FailedPreconditionError("Reload() after Finish()");
  if (keep.size() != programs.size()) {
    return absl::InvalidArgumentError("Reload(): one keep entry per program");
  }
  ReloadPlan plan;
  plan.programs = std::move(programs);
  plan.keep = std::move(keep);
  for (uint32_t r = 0; r < plan.programs.size(); ++r) {
    (EntityLocal(*plan.programs[r], route_fields_) ? plan.local_rules : plan.global_rules)
        .push_back(r);
    if (plan.keep[r] >= 0 && static_cast<size_t>(plan.keep[r]) >= programs_.size()) {
      return absl::InvalidArgumentError("Reload(): keep names a rule that does not exist");
    }
  }
  // Between two events: every worker switches at the same point of the stream.
  uint64_t seq = next_seq_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reload_acks_ = 0;
  }
  for (size_t w = 0; w < workers_.size(); ++w) Push(w, nullptr, kReload, seq, &plan);
  {
    // Every worker has switched, and every match of the old set has been delivered (so the
    // caller may free the old set's rules once this returns).
    std::unique_lock<std::mutex> lock(mu_);
    reload_cv_.wait(lock, [&] { return reload_acks_ == workers_.size() && delivered_ >= seq; });
  }
  programs_ = std::move(plan.programs);
  local_rules_ = std::move(plan.local_rules);
  global_rules_ = std::move(plan.global_rules);
  return plan.status;
}

}  // namespace kestrel::bus
