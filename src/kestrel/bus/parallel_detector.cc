#include "kestrel/bus/parallel_detector.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "kestrel/engine/entity_routing.h"

namespace kestrel::bus {

namespace {

constexpr uint8_t kRouted = 0;      // an event of this partition
constexpr uint8_t kGlobalOnly = 1;  // a copy for worker 0's global rules only
constexpr uint8_t kTick = 2;        // every event before `seq` has been published
constexpr uint8_t kEnd = 3;         // end of input
constexpr uint8_t kReload = 4;      // switch to the rule set of Item::plan

constexpr uint64_t kEndSeq = std::numeric_limits<uint64_t>::max() - 1;  // tag of Finish() matches

}  // namespace

struct ParallelDetector::Item {
  // Queue slots keep their capacity from event to event: small arena blocks keep each near the
  // size of the events it carries (a 4 KiB default block per slot cost 4 KiB x queue_capacity per
  // worker once the ring had cycled).
  event::Event event{kSlotArenaBlock};  // kByEntity
  // kByRule: the event, in shared_. kByEntity: the event routed to worker p != 0 and read by
  // worker 0 too (in routed_shared_), when not in `event`.
  const event::Event* shared = nullptr;
  // kByEntity, `shared` set: its count of workers still to read it (each decrements it once
  // done with the event; the producer reuses the entry once it is 0).
  std::atomic<uint32_t>* readers = nullptr;
  uint64_t seq = 0;
  // kByEntity: the event's state shard (the worker's Detectors need not hash it again).
  uint32_t shard = engine::Detector::kUnknownShard;
  uint8_t kind = kRouted;
  // The last of the event's items (its other queues have theirs): a worker past it knows that
  // every event up to it is in its queues (the merger's hint).
  bool last = true;
  ReloadPlan* plan = nullptr;  // kReload
  int64_t clock_ns = 0;        // kEnd: the latest event time of the stream
};

// Each worker's engine counters per rule, as it last copied them (see the header).
struct ParallelDetector::StatsTable {
  struct Counters {
    std::atomic<uint64_t> partials{0}, keys{0}, expired{0}, evicted{0}, evicted_budget{0},
        predicate_errors{0};
  };
  StatsTable(size_t workers, size_t rules)
      : workers(workers), rules(rules), counters(new Counters[workers * rules]) {}
  Counters& at(size_t w, size_t rule) { return counters[w * rules + rule]; }
  size_t workers, rules;
  std::unique_ptr<Counters[]> counters;  // worker-major: each worker writes its own run
};

// A new rule set for Reload(): its programs, which rules run where, and which old rule's engine
// each new rule takes over (-1: none).
struct ParallelDetector::ReloadPlan {
  std::vector<const eql::IrProgram*> programs;
  std::vector<uint32_t> local_rules, global_rules;
  std::vector<int64_t> keep;
  // The rule indexes of the two sets, built by PrepareReload (shared by every worker: immutable).
  std::shared_ptr<const engine::RuleIndex> local_index, global_index;
  std::shared_ptr<StatsTable> stats;
  std::mutex mu;
  absl::Status status;  // the first refusal of a worker (guarded by mu)
};

struct ParallelDetector::PreparedReload {
  ReloadPlan plan;
};

struct ParallelDetector::Tagged {
  uint64_t seq = 0;
  uint32_t rule = 0;
  uint64_t order = 0;
  engine::QueryMatch match;  // MatchFn
  std::string line;          // EncodeFn's bytes
  size_t bytes = 0;          // what it counts in inflight_bytes_
  bool operator>(const Tagged& o) const {
    if (seq != o.seq) return seq > o.seq;
    if (rule != o.rule) return rule > o.rule;
    return order > o.order;
  }
};

struct ParallelDetector::Worker {
  Worker(schema::Schema& schema, const engine::EngineLimits& limits, size_t capacity,
         size_t workers)
      : queue(capacity),
        local(std::make_unique<engine::Detector>(schema, limits)),
        global(std::make_unique<engine::Detector>(schema, limits)) {
    // One set of state budget domains per worker for both its Detectors and every generation a
    // reload builds, split by SplitBudget().
    (void)workers;
    if (limits.state_budget_bytes > 0) {
      budget = std::make_shared<engine::StateBudgets>(limits.state_budget_bytes);
    }
    local->ShareStateBudget(budget);
    global->ShareStateBudget(budget);
  }
  SpscRing<Item> queue;
  std::shared_ptr<engine::StateBudgets> budget;
  // Replaced by a reload (on the worker's thread, while the producer waits in Reload()).
  std::unique_ptr<engine::Detector> local;          // rules local_rules[i] as its rule i
  std::unique_ptr<engine::Detector> global;         // worker 0: global_rules[i] as its rule i
  std::vector<uint32_t> local_rules, global_rules;  // the worker's share of the rules
  StatsTable* table = nullptr;                      // where PublishStats writes
  std::vector<Tagged> out;                          // matches not yet reported to the merger
  size_t out_bytes = 0;                             // their Tagged::bytes
  uint64_t order = 0;
  std::thread thread;
};

ParallelDetector::ParallelDetector(const ParallelOptions& options)
    : options_(options),
      routed_(std::max<size_t>(options.workers, 1)),
      dropped_(std::max<size_t>(options.workers, 1)),
      processed_(std::max<size_t>(options.workers, 1)),
      drop_stalled_(std::max<size_t>(options.workers, 1), 0) {}

absl::StatusOr<std::unique_ptr<ParallelDetector>> ParallelDetector::Create(
    schema::Schema& schema, std::vector<const eql::IrProgram*> programs,
    const ParallelOptions& options, MatchFn on_match) {
  std::unique_ptr<ParallelDetector> d(new ParallelDetector(options));
  d->on_match_ = std::move(on_match);
  return Start(std::move(d), schema, std::move(programs));
}

absl::StatusOr<std::unique_ptr<ParallelDetector>> ParallelDetector::Create(
    schema::Schema& schema, std::vector<const eql::IrProgram*> programs,
    const ParallelOptions& options, EncodeFn encode, LineFn on_line) {
  std::unique_ptr<ParallelDetector> d(new ParallelDetector(options));
  d->encode_ = std::move(encode);
  d->on_line_ = std::move(on_line);
  return Start(std::move(d), schema, std::move(programs));
}

absl::StatusOr<std::unique_ptr<ParallelDetector>> ParallelDetector::Start(
    std::unique_ptr<ParallelDetector> d, schema::Schema& schema,
    std::vector<const eql::IrProgram*> programs) {
  const ParallelOptions& options = d->options_;
  if (options.workers < 1 || options.workers > 256) {
    return absl::InvalidArgumentError("workers must be 1 to 256");
  }
  d->schema_ = &schema;
  d->programs_ = std::move(programs);
  d->route_fields_ = engine::RouteFields(schema);
  for (uint32_t r = 0; r < d->programs_.size(); ++r) {
    bool local = options.routing == Routing::kByRule ||
                 engine::EntityLocal(*d->programs_[r], d->route_fields_);
    (local ? d->local_rules_ : d->global_rules_).push_back(r);
  }
  d->stats_ = std::make_shared<StatsTable>(options.workers, d->programs_.size());
  for (size_t w = 0; w < options.workers; ++w) {
    d->workers_.push_back(
        std::make_unique<Worker>(schema, options.limits, options.queue_capacity, options.workers));
    if (absl::Status s = d->BuildWorker(w); !s.ok()) return s;
  }
  if (options.routing == Routing::kByRule) {
    // As many shared events as a queue has slots (see PublishToAll).
    d->shared_.resize(d->workers_[0]->queue.capacity());
  }
  d->watermarks_.assign(options.workers, 0);
  d->complete_.assign(options.workers, 0);
  for (size_t w = 0; w < options.workers; ++w) {
    d->workers_[w]->thread = std::thread([p = d.get(), w] { p->RunWorker(w); });
  }
  d->merger_ = std::thread([p = d.get()] { p->RunMerger(); });
  return d;
}

// The rules of `local` that run on worker w: all of them (kByEntity), or every N-th (kByRule).
std::vector<uint32_t> ParallelDetector::RulesOf(size_t w,
                                                const std::vector<uint32_t>& local) const {
  if (options_.routing == Routing::kByEntity) return local;
  std::vector<uint32_t> mine;
  for (uint32_t r : local) {
    if (r % options_.workers == w) mine.push_back(r);
  }
  return mine;
}

void ParallelDetector::SplitBudget(size_t w, const std::vector<const eql::IrProgram*>& programs,
                                   const std::vector<uint32_t>& local_rules) {
  Worker& me = *workers_[w];
  if (me.budget == nullptr) return;
  auto [sharded, global] = engine::StatefulRules(programs, *schema_);
  if (options_.routing == Routing::kByEntity) {
    // Every domain's limit is the one a single Detector would give it (decision 53): shard s's
    // matches are all on worker s mod N, the global rules' on worker 0.
    me.budget->Split(sharded, global);
    return;
  }
  // kByRule: the worker's share, by its stateful rules, split between them.
  std::vector<const eql::IrProgram*> mine;
  for (uint32_t r : RulesOf(w, local_rules)) mine.push_back(programs[r]);
  auto [my_sharded, my_global] = engine::StatefulRules(mine, *schema_);
  size_t all = sharded + global;
  size_t limit = options_.limits.state_budget_bytes;
  me.budget->set_limit(all == 0 ? limit / workers_.size() : limit / all * (my_sharded + my_global));
  me.budget->Split(my_sharded, my_global);
}

absl::Status ParallelDetector::BuildWorker(size_t w) {
  Worker& me = *workers_[w];
  SplitBudget(w, programs_, local_rules_);
  bool with_global = w == 0 && options_.routing == Routing::kByEntity;
  if (options_.setup) {
    if (absl::Status s = options_.setup(w, *me.local); !s.ok()) return s;
    if (with_global) {
      if (absl::Status s = options_.setup(w, *me.global); !s.ok()) return s;
    }
  }
  me.local_rules = RulesOf(w, local_rules_);
  if (with_global) me.global_rules = global_rules_;
  me.table = stats_.get();
  for (uint32_t r : me.local_rules) {
    if (absl::Status s = me.local->AddRule(programs_[r]); !s.ok()) return s;
  }
  for (uint32_t r : me.global_rules) {
    if (absl::Status s = me.global->AddRule(programs_[r]); !s.ok()) return s;
  }
  if (absl::Status s = me.local->Seal(); !s.ok()) return s;
  return me.global->Seal();
}

void CopyIntoSlot(event::Event* slot, const event::Event& event) {
  ReleaseIfLarge(slot);
  *slot = event;
}

void ReleaseIfLarge(event::Event* slot) {
  if (slot->MemoryBytes() > kSlotKeepBytes) *slot = event::Event(kSlotArenaBlock);
}

ParallelDetector::~ParallelDetector() { Finish(); }

ParallelDetector::Item* ParallelDetector::Reserve(size_t p, bool droppable) {
  SpscRing<Item>& q = workers_[p]->queue;
  Item* slot = q.BeginPush();
  if (slot != nullptr) {
    if (drop_stalled_[p] != 0) drop_stalled_[p] = 0;
    return slot;
  }
  if (droppable && options_.policy == FullPolicy::kDrop) {
    // A burst is waited out; a worker still behind drops at once until it has room (header).
    if (drop_stalled_[p] != 0 || !q.WaitForSpaceFor(options_.drop_wait)) {
      drop_stalled_[p] = 1;
      return nullptr;
    }
  } else {
    q.WaitForSpace();
  }
  return q.BeginPush();
}

void ParallelDetector::Commit(size_t p, Item* slot, uint8_t kind, uint64_t seq,
                              const event::Event* shared, ReloadPlan* plan, bool last,
                              std::atomic<uint32_t>* readers) {
  slot->kind = kind;
  slot->last = last;
  slot->seq = seq;
  slot->shared = shared;
  slot->plan = plan;
  slot->readers = readers;
  workers_[p]->queue.CommitPush();
}

bool ParallelDetector::Publish(const event::Event& event) { return Dispatch(nullptr, event); }

bool ParallelDetector::Publish(event::Event&& event) { return Dispatch(&event, event); }

void ParallelDetector::WaitForRoom() {
  // Workers run their queues without the producer and idle ones count as past every published
  // event, so a merger round frees the bytes; it is asked for one (again every 50 ms): its last
  // round may predate published_'s newest store, and nothing else would wake it.
  std::unique_lock<std::mutex> lock(mu_);
  auto room = [&] {
    return inflight_bytes_.load(std::memory_order_relaxed) <= options_.max_inflight_bytes / 2 ||
           merger_done_;
  };
  while (!room()) {
    ++reports_;
    cv_.notify_one();
    room_cv_.wait_for(lock, std::chrono::milliseconds(50), room);
  }
  ++inflight_waits_;
}

bool ParallelDetector::Dispatch(event::Event* take, const event::Event& event) {
  if (options_.policy == FullPolicy::kBlock &&
      inflight_bytes_.load(std::memory_order_relaxed) > options_.max_inflight_bytes) {
    WaitForRoom();
  }
  uint64_t seq = next_seq_++;
  clock_ns_ = std::max(clock_ns_, event.time_ns());  // before `take` gives the event away
  bool ok = options_.routing == Routing::kByRule ? PublishToAll(take, event, seq)
                                                 : PublishRouted(take, event, seq);
  published_.store(seq + 1, std::memory_order_seq_cst);
  if ((seq + 1) % kTickInterval == 0) {
    for (size_t w = 0; w < workers_.size(); ++w) Commit(w, Reserve(w, false), kTick, seq + 1);
  }
  return ok;
}

bool ParallelDetector::PublishRouted(event::Event* take, const event::Event& event, uint64_t seq) {
  // By state shard: a shard's events, hence its partial matches, stay on one worker whatever N.
  uint32_t shard = engine::StateShard(event, route_fields_);
  size_t p = shard % workers_.size();
  Item* slot = Reserve(p, true);
  if (slot == nullptr) {
    dropped_[p].fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  // Worker 0 runs the global rules over every event, including those routed elsewhere: both
  // workers read one immutable event (RoutedShared; decision 59), or, when that entry is still
  // being read, worker 0 gets a copy (made before `take` gives its contents away), committed last.
  Item* copy = nullptr;
  if (p != 0 && !global_rules_.empty()) {
    copy = Reserve(0, true);
    if (copy == nullptr) {
      dropped_[0].fetch_add(1, std::memory_order_relaxed);
    } else if (RoutedShared* s = NextRoutedShared(); s != nullptr) {
      if (take != nullptr) {
        std::swap(s->event, *take);
        ReleaseIfLarge(take);
      } else {
        CopyIntoSlot(&s->event, event);
      }
      // Published to both workers by the queues' release (CommitPush).
      s->readers.store(2, std::memory_order_relaxed);
      slot->shard = copy->shard = shard;
      Commit(p, slot, kRouted, seq, &s->event, nullptr, false, &s->readers);
      routed_[p].fetch_add(1, std::memory_order_relaxed);
      Commit(0, copy, kGlobalOnly, seq, &s->event, nullptr, true, &s->readers);
      return true;
    } else {
      CopyIntoSlot(&copy->event, event);
      copy->shard = shard;
    }
  }
  if (take != nullptr) {
    std::swap(slot->event, *take);
    ReleaseIfLarge(take);
  } else {
    CopyIntoSlot(&slot->event, event);
  }
  slot->shard = shard;
  Commit(p, slot, kRouted, seq, nullptr, nullptr, copy == nullptr);
  routed_[p].fetch_add(1, std::memory_order_relaxed);
  if (copy != nullptr) Commit(0, copy, kGlobalOnly, seq);
  return true;
}

// The next entry of the routed-event ring once both readers are done with it (acquire: the
// rewrite follows their reads), else nullptr (the caller copies). Entry k was taken C - 1 shared
// events ago (C = queue_capacity): worker 0, whose queue has a free slot, is past it; with two
// workers so is worker 1 (its slot was reserved first), so it is never busy; with more, a
// lagging worker may still hold it (counted: routed_copied()).
ParallelDetector::RoutedShared* ParallelDetector::NextRoutedShared() {
  if (routed_shared_.empty()) {
    routed_shared_ = std::vector<RoutedShared>(workers_[0]->queue.capacity());
  }
  RoutedShared& s = routed_shared_[routed_shared_next_ % routed_shared_.size()];
  if (s.readers.load(std::memory_order_acquire) != 0) {
    ++routed_shared_busy_;
    return nullptr;
  }
  ++routed_shared_next_;
  return &s;
}

// kByRule: one shared copy of the event, read by every worker. Shared slot k is rewritten C
// events later (C: the queue capacity), once every queue has a free slot again: a queue with a
// free slot holds fewer than C items, and each of the C - 1 events published since event k took
// one, so every worker has popped event k (Pop() after the last read; the acquire in BeginPush
// orders this write after those reads).
bool ParallelDetector::PublishToAll(event::Event* take, const event::Event& event, uint64_t seq) {
  reserved_.resize(workers_.size());
  for (size_t w = 0; w < workers_.size(); ++w) {
    reserved_[w] = Reserve(w, true);
    if (reserved_[w] == nullptr) {  // for every worker or none (nothing reserved is taken)
      dropped_[w].fetch_add(1, std::memory_order_relaxed);
      return false;
    }
  }
  event::Event& shared = shared_[shared_next_++ & (shared_.size() - 1)];
  if (take != nullptr) {
    std::swap(shared, *take);
    ReleaseIfLarge(take);
  } else {
    CopyIntoSlot(&shared, event);
  }
  for (size_t w = 0; w < workers_.size(); ++w) {
    Commit(w, reserved_[w], kRouted, seq, &shared, nullptr, w + 1 == workers_.size());
    routed_[w].fetch_add(1, std::memory_order_relaxed);
  }
  return true;
}

void ParallelDetector::PublishStats(Worker& me, size_t w) {
  auto put = [&](const engine::Detector& d, const std::vector<uint32_t>& rules) {
    for (size_t i = 0; i < rules.size(); ++i) {
      const engine::EngineStats& s = d.stats(i);
      StatsTable::Counters& c = me.table->at(w, rules[i]);
      c.partials.store(s.partials, std::memory_order_relaxed);
      c.keys.store(s.keys, std::memory_order_relaxed);
      c.expired.store(s.expired, std::memory_order_relaxed);
      c.evicted.store(s.evicted, std::memory_order_relaxed);
      c.evicted_budget.store(s.evicted_budget, std::memory_order_relaxed);
      c.predicate_errors.store(d.predicate_errors(i), std::memory_order_relaxed);
    }
  };
  put(*me.local, me.local_rules);
  put(*me.global, me.global_rules);
}

void ParallelDetector::RunWorker(size_t w) {
  Worker& me = *workers_[w];
  uint64_t reported_watermark = 0;
  uint64_t complete = 0;     // every event before it is in its queues (Item::last)
  uint64_t unpublished = 0;  // items run since the last PublishStats
  auto report = [&](uint64_t watermark, bool force) {
    if (!force && me.out.size() < kReportBatch && watermark - reported_watermark < kTickInterval) {
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (Tagged& t : me.out) reported_.push_back(std::move(t));
      inflight_bytes_.fetch_add(me.out_bytes, std::memory_order_relaxed);
      watermarks_[w] = watermark;
      complete_[w] = complete;
      ++reports_;
    }
    me.out.clear();
    me.out_bytes = 0;
    reported_watermark = watermark;
    cv_.notify_one();
  };
  auto collect = [&](const std::vector<uint32_t>& rules, uint64_t seq) {
    return [this, &me, &rules, seq, w](size_t rule, engine::QueryMatch& match) {
      Tagged& t = me.out.emplace_back();
      t.seq = seq;
      t.rule = rules[rule];
      t.order = me.order++;
      if (encode_) {
        encode_(w, t.rule, match, &t.line);
        t.bytes = sizeof(Tagged) + t.line.capacity();
      } else {
        t.match = std::move(match);
        t.bytes = sizeof(Tagged);
        for (const auto& e : t.match.events) t.bytes += e != nullptr ? e->MemoryBytes() : 0;
      }
      me.out_bytes += t.bytes;
    };
  };
  while (true) {
    me.queue.WaitForData();
    Item* item = me.queue.Front();
    uint64_t seq = item->seq;
    const event::Event& event = item->shared != nullptr ? *item->shared : item->event;
    // Ticks and reloads follow every earlier event; an event's last item follows its others.
    complete = std::max(complete, item->kind == kRouted || item->kind == kGlobalOnly
                                      ? (item->last ? seq + 1 : seq)
                                      : (item->kind == kEnd ? complete : seq));
    switch (item->kind) {
      case kRouted:
        if (!me.local_rules.empty()) {
          me.local->Process(event, seq, collect(me.local_rules, seq), item->shard);
        }
        if (!me.global_rules.empty()) {
          me.global->Process(event, seq, collect(me.global_rules, seq), item->shard);
        }
        break;
      case kGlobalOnly:
        me.global->Process(event, seq, collect(me.global_rules, seq), item->shard);
        break;
      case kReload:
        report(seq, true);  // every match of the old set, before switching
        ApplyReload(w, *item->plan);
        PublishStats(me, w);
        unpublished = 0;
        {
          std::lock_guard<std::mutex> lock(mu_);
          ++reload_acks_;
        }
        reload_cv_.notify_all();
        me.queue.Pop();
        continue;
      case kTick:
        report(seq, !me.queue.HasSecond());  // never leave matches unreported in an empty queue
        me.queue.Pop();
        continue;
      case kEnd:
        // Finish() sweeps at the stream's latest time, as one Detector would.
        me.local->AdvanceClock(item->clock_ns);
        me.global->AdvanceClock(item->clock_ns);
        me.local->Finish(collect(me.local_rules, kEndSeq));
        me.global->Finish(collect(me.global_rules, kEndSeq));
        PublishStats(me, w);
        report(std::numeric_limits<uint64_t>::max(), true);
        me.queue.Pop();
        return;
    }
    // Done with the event (matches hold their own copies): a shared one may be rewritten now.
    if (item->readers != nullptr) item->readers->fetch_sub(1, std::memory_order_release);
    processed_[w].fetch_add(1, std::memory_order_relaxed);
    // Everything up to this event is done; report when there is something to say, or when
    // the queue is about to run dry. Reports precede Pop(): the merger takes an empty queue to
    // mean that everything its worker took from it has been reported.
    bool last = !me.queue.HasSecond();
    if (++unpublished >= kTickInterval || last) {
      PublishStats(me, w);
      unpublished = 0;
    }
    report(seq + 1, last);
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

void ParallelDetector::Deliver(Tagged& t) {
  if (on_line_) {
    on_line_(t.rule, t.line);
  } else {
    on_match_(t.rule, t.match);
  }
}

void ParallelDetector::RunMerger() {
  std::vector<Tagged> pending;  // a min-heap by tag
  std::vector<Tagged> batch;
  std::vector<bool> empty(workers_.size());
  auto later = std::greater<Tagged>();
  uint64_t seen = 0;
  uint64_t hint = 0;
  while (true) {
    {
      // Woken by every report, and by a worker whose queue has just run dry: its empty queue
      // is what lets matches through when it has nothing to report (below).
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [&] { return reports_ != seen || merger_done_; });
      // Reports from here on make another round: taken before the queues are looked at, so a
      // worker that reports (or goes idle) after that look is never absorbed into this round
      // (it was, when `seen` was read after the look: the merger then slept on matches a
      // now-idle worker no longer held back, until the next tick or event came).
      seen = reports_;
      // A worker that has run the last item of event W - 1 (or a tick or reload W) knows that
      // every event before W is in its queues (the producer publishes in order), even if
      // `published_` does not say so yet.
      for (uint64_t c : complete_) hint = std::max(hint, c);
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
      batch.swap(reported_);
      for (size_t w = 0; w < workers_.size(); ++w) {
        low = std::min(low, empty[w] ? std::max(watermarks_[w], published) : watermarks_[w]);
      }
    }
    for (Tagged& t : batch) {
      pending.push_back(std::move(t));
      std::push_heap(pending.begin(), pending.end(), later);
    }
    batch.clear();
    size_t freed = 0;
    while (!pending.empty() && pending.front().seq < low) {
      std::pop_heap(pending.begin(), pending.end(), later);
      Deliver(pending.back());
      freed += pending.back().bytes;
      pending.pop_back();
    }
    {
      // Everything before `low` is delivered now (Reload() waits for this).
      std::lock_guard<std::mutex> lock(mu_);
      delivered_ = std::max(delivered_, low);
      inflight_bytes_.fetch_sub(freed, std::memory_order_relaxed);
    }
    reload_cv_.notify_all();
    if (freed > 0) room_cv_.notify_all();
    stalled_.store(!pending.empty(), std::memory_order_seq_cst);
    if (low == std::numeric_limits<uint64_t>::max()) return;  // every worker has ended
  }
}

void ParallelDetector::Finish() {
  if (finished_) return;
  finished_ = true;
  for (size_t w = 0; w < workers_.size(); ++w) {
    Item* slot = Reserve(w, false);
    slot->clock_ns = clock_ns_;
    Commit(w, slot, kEnd, next_seq_);
  }
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
  std::shared_ptr<StatsTable> table;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    table = stats_;
  }
  engine::EngineStats sum;
  if (rule >= table->rules) return sum;
  for (size_t w = 0; w < table->workers; ++w) {
    const StatsTable::Counters& c = table->at(w, rule);
    sum.partials += c.partials.load(std::memory_order_relaxed);
    sum.keys += c.keys.load(std::memory_order_relaxed);
    sum.expired += c.expired.load(std::memory_order_relaxed);
    sum.evicted += c.evicted.load(std::memory_order_relaxed);
    sum.evicted_budget += c.evicted_budget.load(std::memory_order_relaxed);
  }
  return sum;
}

uint64_t ParallelDetector::predicate_errors(size_t rule) const {
  std::shared_ptr<StatsTable> table;
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    table = stats_;
  }
  uint64_t sum = 0;
  if (rule >= table->rules) return sum;
  for (size_t w = 0; w < table->workers; ++w) {
    sum += table->at(w, rule).predicate_errors.load(std::memory_order_relaxed);
  }
  return sum;
}

engine::EvalTimeHistogram::Snapshot ParallelDetector::eval_time(size_t rule) const {
  engine::EvalTimeHistogram::Snapshot sum;
  for (const auto& worker : workers_) {
    for (auto [rules, detector] : {std::pair{&worker->local_rules, worker->local.get()},
                                   std::pair{&worker->global_rules, worker->global.get()}}) {
      auto at = std::find(rules->begin(), rules->end(), rule);
      if (at != rules->end()) {
        sum += detector->eval_time(static_cast<size_t>(at - rules->begin())).Read();
      }
    }
  }
  return sum;
}

void ParallelDetector::ApplyReload(size_t w, ReloadPlan& plan) {
  Worker& me = *workers_[w];
  std::vector<uint32_t> no_rules;
  auto rebuild = [&](std::unique_ptr<engine::Detector>& old, const std::vector<uint32_t>& old_rules,
                     const std::vector<uint32_t>& new_rules) -> absl::Status {
    auto fresh = std::make_unique<engine::Detector>(*schema_, options_.limits);
    fresh->ShareStateBudget(me.budget);
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
    const auto& index = &new_rules == &plan.local_rules ? plan.local_index : plan.global_index;
    if (index != nullptr && &new_rules != &no_rules) {
      fresh->Seal(index);  // built by PrepareReload, off this thread
    } else if (absl::Status s = fresh->Seal(); !s.ok()) {
      return s;
    }
    old = std::move(fresh);
    return absl::OkStatus();
  };
  const std::vector<uint32_t>& global = w == 0 ? plan.global_rules : no_rules;
  SplitBudget(w, plan.programs, plan.local_rules);
  absl::Status s = rebuild(me.local, me.local_rules, plan.local_rules);
  if (s.ok()) s = rebuild(me.global, me.global_rules, global);
  me.local_rules = plan.local_rules;
  me.global_rules = global;
  me.table = plan.stats.get();
  if (!s.ok()) {
    std::lock_guard<std::mutex> lock(plan.mu);
    if (plan.status.ok()) plan.status = s;
  }
}

absl::StatusOr<std::shared_ptr<ParallelDetector::PreparedReload>> ParallelDetector::PrepareReload(
    std::vector<const eql::IrProgram*> programs, std::vector<int64_t> keep) const {
  if (options_.routing == Routing::kByRule) {
    return absl::FailedPreconditionError("Reload() with rules routed by rule is not supported");
  }
  if (keep.size() != programs.size()) {
    return absl::InvalidArgumentError("Reload(): one keep entry per program");
  }
  auto prepared = std::make_shared<PreparedReload>();
  ReloadPlan& plan = prepared->plan;
  plan.programs = std::move(programs);
  plan.keep = std::move(keep);
  for (uint32_t r = 0; r < plan.programs.size(); ++r) {
    (engine::EntityLocal(*plan.programs[r], route_fields_) ? plan.local_rules : plan.global_rules)
        .push_back(r);
    if (plan.keep[r] >= 0 && static_cast<size_t>(plan.keep[r]) >= programs_.size()) {
      return absl::InvalidArgumentError("Reload(): keep names a rule that does not exist");
    }
  }
  for (auto [rules, index] : {std::pair{&plan.local_rules, &plan.local_index},
                              std::pair{&plan.global_rules, &plan.global_index}}) {
    std::vector<const eql::IrProgram*> set;
    for (uint32_t r : *rules) set.push_back(plan.programs[r]);
    auto built = engine::RuleIndex::Build(set);
    if (!built.ok()) return built.status();
    *index = std::shared_ptr<const engine::RuleIndex>(std::move(*built));
  }
  plan.stats = std::make_shared<StatsTable>(workers_.size(), plan.programs.size());
  return prepared;
}

uint64_t ParallelDetector::DatabaseBytes(const PreparedReload& prepared) {
  uint64_t bytes = 0;
  for (const auto& index : {prepared.plan.local_index, prepared.plan.global_index}) {
    if (index != nullptr) bytes += index->stats().database_bytes;
  }
  return bytes;
}

absl::Status ParallelDetector::Reload(std::vector<const eql::IrProgram*> programs,
                                      std::vector<int64_t> keep) {
  if (finished_) return absl::FailedPreconditionError("Reload() after Finish()");
  auto prepared = PrepareReload(std::move(programs), std::move(keep));
  if (!prepared.ok()) return prepared.status();
  return Reload(std::move(*prepared));
}

absl::Status ParallelDetector::Reload(std::shared_ptr<PreparedReload> prepared) {
  if (finished_) return absl::FailedPreconditionError("Reload() after Finish()");
  ReloadPlan& plan = prepared->plan;
  // Between two events: every worker switches at the same point of the stream.
  uint64_t seq = next_seq_;
  {
    std::lock_guard<std::mutex> lock(mu_);
    reload_acks_ = 0;
  }
  for (size_t w = 0; w < workers_.size(); ++w) {
    Commit(w, Reserve(w, false), kReload, seq, nullptr, &plan);
  }
  {
    // Every worker has switched, and every match of the old set has been delivered (so the
    // caller may free the old set's rules once this returns).
    std::unique_lock<std::mutex> lock(mu_);
    reload_cv_.wait(lock, [&] { return reload_acks_ == workers_.size() && delivered_ >= seq; });
  }
  programs_ = std::move(plan.programs);
  local_rules_ = std::move(plan.local_rules);
  global_rules_ = std::move(plan.global_rules);
  {
    std::lock_guard<std::mutex> lock(stats_mu_);
    stats_ = std::move(plan.stats);
  }
  return plan.status;
}

}  // namespace kestrel::bus
