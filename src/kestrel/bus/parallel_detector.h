// ParallelDetector: a rule set run by N worker threads behind an event bus, with the alert
// stream of one thread.
//
// Routing (ParallelOptions::routing), two ways of giving every rule exactly the events, in the
// order, it would see on one thread:
// - kByEntity (`kestrel run`): each event goes to the partition of its process's state shard
//   (engine/entity_routing.h: the first of `unique_pid` / `process.entity_id` it has, hashed
//   into kStateShards shards; events without one are shard 0), partition = shard mod N, so that
//   everything one process does is seen in order by one worker. A rule whose state never spans
//   processes runs on every worker ("entity-local", engine::EntityLocal): single-event queries
//   without pipes or lineage relations, and sequences without pipes, relations or missing-event
//   stages whose every stage is joined on the process id. Every other rule ("global": `sequence
//   by host.name`, `| unique`, `descendant of`, trailing `![...]`, joins, samples) runs on
//   worker 0, which therefore also reads every event routed elsewhere: in place, from a ring of
//   queue_capacity shared entries that both workers read (a reader count per entry; the
//   producer rewrites one only at zero), or, when the next entry is still being read (never
//   with two workers; see NextRoutedShared), as a copy in its own queue slot.
// - kByRule (`kestrel replay`): rule i runs on worker i mod N and every event goes to every
//   worker. Any rule can be split this way; each worker reads the same shared copy of the event
//   (the producer writes it once; its slot is reused once every worker has popped it).
//
// Order. Workers tag each match with (event sequence number, rule, completion order) and report
// how far they have got (a watermark). A merger thread delivers matches once every worker is
// past them, sorted by the tag: the order one Detector produces. A worker with an empty queue
// counts as past every event published so far (it wakes the merger when its queue runs dry), so
// a quiet partition never holds alerts back; the producer also sends every partition a tick
// every kTickInterval events. Matches completed at the end of input come last, by rule. Matches
// can be handed over as QueryMatch (MatchFn, encoded on the merger thread by the caller) or
// encoded by the worker that completed them (EncodeFn, then LineFn on the merger thread), which
// keeps costly per-match work (alert JSON) in parallel.
//
// Equivalence with one Detector. kByRule: every rule sees every event on one worker, so its
// matches and its state statistics (partial matches, expiries, quota evictions) are those of
// one Detector, quotas and all. kByEntity: with quotas not reached, the matches are those of one
// thread, and so are the summed expiries and the partial matches held at the end: an engine
// counts a match that had expired when an event replaces or erases it, and at Finish() every
// worker sweeps at the stream's latest event time (kEnd carries it), as one Detector does. While
// running, a worker sweeps only on its own events, so `partials` held can lag one Detector's.
// Under quota pressure too: an entity-local sequence keeps its partial matches in kStateShards
// stores, each with its share of the quota (max_partials, max_keys), in one Detector as on the
// workers, and a shard's events all go to one worker in stream order; so quota evictions, hence
// matches and every count, are one Detector's whatever N. Each worker's Detectors share one
// engine::StateBudgets (the byte budget of all rules' state, limits.state_budget_bytes, in
// domains: one per state shard and a global one). kByEntity: every domain has the limit one
// Detector gives it and sees the events one Detector's would (shard s on worker s mod N, the
// global rules on worker 0), so budget evictions too are one Detector's whatever N (decision
// 49). kByRule: a worker's share is the budget times its share of the stateful rules; under
// budget pressure what is evicted there depends on N.
//
// Backpressure. Queues are bounded (`queue_capacity` events per partition). When one is full,
// `kBlock` makes Publish wait (replay, files), `kDrop` drops the event and counts it per
// partition (live sources: the kernel must not wait; kByRule drops an event for every worker
// or for none) — after waiting up to `drop_wait` for room: a live reader hands over what the
// kernel buffered in batches, and a burst larger than a queue is waited out rather than
// dropped (the source's own buffers hold what arrives meanwhile). A queue still full after
// drop_wait marks its worker as stalled: its events are dropped at once, without waiting,
// until its queue takes one again, so a stuck worker costs one wait, not one per event. Ticks
// are never dropped. Matches reported by the workers and not yet delivered
// by the merger are bounded too (`max_inflight_bytes`, their encoded lines or events): under
// `kBlock`, Publish waits while more are in flight, until the merger has brought them down to
// half (a fast file read with many alerts otherwise buffered most of its alert stream: 150-264
// MB with 2 workers over the 1M-event workload). Under `kDrop` it never waits.
//
// Memory. Queue slots keep the memory of the events copied into them, so that copying the next
// event allocates nothing; but a slot keeps at most kSlotKeepBytes: one that held a larger event
// (a process event with its relatives' argument lists) is emptied before the next copy
// (CopyIntoSlot; Publish(Event&&) swaps instead of copying and empties the large event it hands
// back). Queues then hold about capacity x a typical event, not capacity x the largest
// event ever seen, at the price of allocations for events larger than that.
//
// Statistics. Workers copy their engines' per-rule counters into relaxed atomics every
// kTickInterval items, whenever their queue runs dry, after a reload and at the end; stats()
// and predicate_errors() sum those over the workers and may be called from any thread while
// running (a view at most kTickInterval events old on a busy worker; exact after Finish()).
//
// Thread safety: Publish(), Reload() and Finish() from one producer thread; the callbacks run on
// the merger thread (EncodeFn on the workers). Tested by parallel_detector_test.cc (also under
// the `tsan` preset).
#pragma once

#include <atomic>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/bus/spsc_ring.h"
#include "kestrel/engine/detector.h"
#include "kestrel/eql/ir.h"

namespace kestrel::bus {

enum class FullPolicy : uint8_t { kBlock, kDrop };

// See "Memory" above.
inline constexpr size_t kSlotKeepBytes = size_t{8} << 10;
inline constexpr size_t kSlotArenaBlock = 512;  // a slot's arena grows in blocks of this size
// `*slot` = `event`, reusing the slot's memory unless it holds more than kSlotKeepBytes.
void CopyIntoSlot(event::Event* slot, const event::Event& event);
// Empties `*slot` (frees its memory) when it holds more than kSlotKeepBytes. Publish(Event&&)
// applies it to the event it hands back, which came out of a slot and will go into one again.
void ReleaseIfLarge(event::Event* slot);
enum class Routing : uint8_t { kByEntity, kByRule };

struct ParallelOptions {
  size_t workers = 2;
  Routing routing = Routing::kByEntity;
  size_t queue_capacity = 1024;  // events per partition (slots keep their capacity: memory)
  // Bytes of matches reported and not yet delivered above which Publish waits (kBlock only).
  size_t max_inflight_bytes = size_t{8} << 20;
  FullPolicy policy = FullPolicy::kBlock;
  // kDrop: how long Publish waits for room before it drops (see "Backpressure"); 0: at once.
  std::chrono::microseconds drop_wait{0};
  engine::EngineLimits limits;
  // Called for each Detector of each worker that runs rules (kByEntity: worker 0 has two, its
  // global rules in the second) before its rules are added, on the thread that calls Create():
  // gives it its own predicate and function runtimes (Detector::UsePredicateRuntime /
  // UseFunctions; one runtime per thread). Unset: native evaluation.
  std::function<absl::Status(size_t worker, engine::Detector& detector)> setup;
};

struct PartitionStats {
  uint64_t routed = 0;     // events routed to this partition (accepted)
  uint64_t dropped = 0;    // events dropped because its queue was full (kDrop)
  uint64_t processed = 0;  // events (and worker 0: copies for global rules) run by its worker
  size_t depth = 0;        // events queued now
};

class ParallelDetector {
 public:
  static constexpr uint64_t kTickInterval = 1024;

  // Called on the merger thread, in the deterministic order.
  using MatchFn = std::function<void(size_t rule, engine::QueryMatch& match)>;
  // Called on the worker thread that completed the match, as soon as it completes (so on
  // several workers at once: it must be safe for that; `worker` tells them apart): appends the
  // bytes to deliver for it (e.g. an alert line) to `out`.
  using EncodeFn =
      std::function<void(size_t worker, size_t rule, engine::QueryMatch& match, std::string* out)>;
  // Called on the merger thread, in the deterministic order, with what EncodeFn wrote.
  using LineFn = std::function<void(size_t rule, std::string_view line)>;

  // `programs[i]` is rule i; all must outlive this. Errors: a rule the engine refuses.
  static absl::StatusOr<std::unique_ptr<ParallelDetector>> Create(
      schema::Schema& schema, std::vector<const eql::IrProgram*> programs,
      const ParallelOptions& options, MatchFn on_match);
  // The same, with the matches encoded by the workers (EncodeFn) and delivered as bytes.
  static absl::StatusOr<std::unique_ptr<ParallelDetector>> Create(
      schema::Schema& schema, std::vector<const eql::IrProgram*> programs,
      const ParallelOptions& options, EncodeFn encode, LineFn on_line);
  ~ParallelDetector();  // Finish()es if needed
  ParallelDetector(const ParallelDetector&) = delete;
  ParallelDetector& operator=(const ParallelDetector&) = delete;

  // Hands `event` (Finish()ed) to its partition(s). false: dropped (kDrop and a queue was full).
  bool Publish(const event::Event& event);
  // The same, but may take `event`'s contents instead of copying them (kByRule always; kByEntity
  // when the event goes to one worker only), leaving in `event` an earlier event whose memory
  // the caller can refill (a source's Next()).
  bool Publish(event::Event&& event);

  // Hot reload: from the next published event on, rule i is `programs[i]` (which must outlive
  // this), and a rule with keep[i] = j >= 0 (an unchanged definition; the same program as old
  // rule j) takes over old rule j's engines on every worker, partial matches and all; the others
  // start empty. Each worker switches between two events, at the same point of the stream. Waits
  // until every worker has switched and every match of the old set has been delivered, so the
  // caller may then free the old programs; matches delivered after this return name the new
  // rule numbers. Events published meanwhile wait (the caller is the producer).
  // Errors: an engine refusal (cannot happen for rules the rule loader accepted); kByRule:
  // FailedPrecondition (a kept rule may move to another worker; replay does not reload).
  absl::Status Reload(std::vector<const eql::IrProgram*> programs, std::vector<int64_t> keep);

  // Reload() in two halves, so that the costly part never holds up the producer. Prepare: splits
  // the new rules between the workers and builds the rule indexes (the pattern databases) of
  // both sets; from any thread while the producer runs, but not while a Reload() is applied
  // (its result is for the next Reload). Errors: as Reload's, and a rule index that cannot be
  // built. Then Reload(prepared), on the producer thread, only moves engines and pointers.
  struct PreparedReload;
  absl::StatusOr<std::shared_ptr<PreparedReload>> PrepareReload(
      std::vector<const eql::IrProgram*> programs, std::vector<int64_t> keep) const;
  absl::Status Reload(std::shared_ptr<PreparedReload> prepared);
  // The bytes of a prepared reload's pattern databases (its memory budget).
  static uint64_t DatabaseBytes(const PreparedReload& prepared);

  // End of input: every queue drained, every match delivered, threads joined. Idempotent.
  void Finish();

  size_t workers() const { return workers_.size(); }
  Routing routing() const { return options_.routing; }
  // kByEntity: rules on worker 0 only, and rules on every worker. kByRule: 0 and every rule.
  size_t global_rules() const { return global_rules_.size(); }
  size_t local_rules() const { return local_rules_.size(); }
  // Times Publish waited for the merger (max_inflight_bytes); from the producer thread.
  uint64_t inflight_waits() const {
    std::lock_guard<std::mutex> lock(mu_);
    return inflight_waits_;
  }
  // kByEntity: events routed to a worker p != 0 that worker 0 read in place (shared) and that it
  // got as a copy (the shared entry was still being read); from the producer thread.
  uint64_t routed_shared() const { return routed_shared_next_; }
  uint64_t routed_copied() const { return routed_shared_busy_; }
  // Per partition; safe to call from the producer thread while running.
  std::vector<PartitionStats> partition_stats() const;
  // Rule statistics summed over workers (rule = the index given to Create or the last Reload;
  // see Statistics above). Safe from any thread, at any time.
  engine::EngineStats stats(size_t rule) const;
  // Events for which the rule's predicate runtime failed, summed over workers; likewise.
  uint64_t predicate_errors(size_t rule) const;
  // Sampled evaluation times of a rule summed over workers; safe from the producer thread.
  engine::EvalTimeHistogram::Snapshot eval_time(size_t rule) const;

 private:
  // A worker hands its matches to the merger in groups of this many (or fewer when its queue
  // runs dry, at a reload or every kTickInterval events): one lock per group.
  static constexpr size_t kReportBatch = 64;

  struct Item;
  struct Worker;
  struct Tagged;
  struct ReloadPlan;
  struct StatsTable;

  ParallelDetector(const ParallelOptions& options);
  static absl::StatusOr<std::unique_ptr<ParallelDetector>> Start(
      std::unique_ptr<ParallelDetector> d, schema::Schema& schema,
      std::vector<const eql::IrProgram*> programs);
  absl::Status BuildWorker(size_t w);
  // Sets worker w's budget domains for a rule set (`local_rules`: its entity-local/kByRule rules).
  void SplitBudget(size_t w, const std::vector<const eql::IrProgram*>& programs,
                   const std::vector<uint32_t>& local_rules);
  std::vector<uint32_t> RulesOf(size_t w, const std::vector<uint32_t>& local) const;
  // The next free slot of queue p; waits for one unless `droppable` and kDrop (then nullptr).
  Item* Reserve(size_t p, bool droppable);
  void Commit(size_t p, Item* slot, uint8_t kind, uint64_t seq,
              const event::Event* shared = nullptr, ReloadPlan* plan = nullptr, bool last = true,
              std::atomic<uint32_t>* readers = nullptr);
  // Publish(), taking the contents of `take` (the same as `event`) when not nullptr.
  bool Dispatch(event::Event* take, const event::Event& event);
  void WaitForRoom();  // until inflight_bytes_ is at most half of max_inflight_bytes
  bool PublishRouted(event::Event* take, const event::Event& event, uint64_t seq);
  struct RoutedShared {
    event::Event event{kSlotArenaBlock};
    std::atomic<uint32_t> readers{0};  // workers still to read `event`
  };
  RoutedShared* NextRoutedShared();
  bool PublishToAll(event::Event* take, const event::Event& event, uint64_t seq);
  void RunWorker(size_t w);
  void PublishStats(Worker& me, size_t w);
  void ApplyReload(size_t w, ReloadPlan& plan);
  void RunMerger();
  void Deliver(Tagged& t);

  schema::Schema* schema_ = nullptr;
  ParallelOptions options_;
  MatchFn on_match_;
  EncodeFn encode_;
  LineFn on_line_;
  std::vector<const eql::IrProgram*> programs_;
  std::vector<uint32_t> local_rules_;   // rule numbers run on every worker (kByRule: all)
  std::vector<uint32_t> global_rules_;  // rule numbers run on worker 0
  std::vector<schema::FieldId> route_fields_;
  std::vector<std::unique_ptr<Worker>> workers_;

  // Producer state.
  uint64_t next_seq_ = 0;
  int64_t clock_ns_ = INT64_MIN;        // the latest event time published (Finish: every worker)
  std::atomic<uint64_t> published_{0};  // every event before it is in its queue(s)
  std::vector<std::atomic<uint64_t>> routed_, dropped_;
  std::vector<std::atomic<uint64_t>> processed_;  // items (events and copies) each worker ran
  // kByRule: the events every worker reads, in publication order (as many as a queue holds; a
  // slot is rewritten only once every queue has room, i.e. every worker has popped its event).
  std::vector<event::Event> shared_;
  uint64_t shared_next_ = 0;
  std::vector<Item*> reserved_;  // PublishToAll's slots, one per queue
  // kByEntity: events routed to a worker p != 0 while global rules exist, read by worker p and
  // worker 0 alike (a ring of queue_capacity entries, made at first use; NextRoutedShared).
  std::vector<RoutedShared> routed_shared_;
  uint64_t routed_shared_next_ = 0;
  uint64_t routed_shared_busy_ = 0;    // times the next entry was still read: copied instead
  std::vector<uint8_t> drop_stalled_;  // per partition: full after drop_wait (producer only)

  // Published statistics of the current rule set (replaced by Reload; guarded by stats_mu_).
  mutable std::mutex stats_mu_;
  std::shared_ptr<StatsTable> stats_;

  // Merger state: matches reported by workers, and how far each worker has got.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::atomic<size_t> inflight_bytes_{0};  // of matches reported, not yet delivered
  std::condition_variable room_cv_;        // inflight_bytes_ went down
  uint64_t inflight_waits_ = 0;            // guarded by mu_
  std::vector<Tagged> reported_;
  std::vector<uint64_t> watermarks_;   // next sequence number each worker has not finished
  std::vector<uint64_t> complete_;     // per worker: every event before it is in its queues
  uint64_t reports_ = 0;               // reports so far (wakes the merger)
  std::atomic<bool> stalled_{false};   // the merger holds matches that wait for progress
  uint64_t delivered_ = 0;             // every match before it has been delivered
  size_t reload_acks_ = 0;             // workers that have applied the pending reload
  std::condition_variable reload_cv_;  // delivered_ or reload_acks_ changed
  bool merger_done_ = false;
  std::thread merger_;
  bool finished_ = false;
};

}  // namespace kestrel::bus
