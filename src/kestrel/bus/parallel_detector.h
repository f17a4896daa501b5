// ParallelDetector: a rule set run by N worker threads behind an event bus, with the alert
// stream of one thread.
//
// Routing. Each event goes to the partition of its process (the first of `unique_pid` /
// `process.entity_id` it has, hashed; events without one go to partition 0), so that everything
// one process does is seen in order by one worker. A rule whose state never spans processes runs
// on every worker ("entity-local"): single-event queries without pipes or lineage relations, and
// sequences and joins without pipes, relations or missing-event stages whose every stage is
// joined on the process id. Every other rule ("global": `sequence by host.name`, `| unique`,
// `descendant of`, trailing `![...]`, samples) runs on worker 0, which therefore also receives a
// copy of every event routed elsewhere. So each rule sees exactly the events, in the order, it
// would see on one thread.
//
// Order. Workers tag each match with (event sequence number, rule, completion order) and report
// how far they have got (a watermark). A merger thread delivers matches once every worker is
// past them, sorted by the tag: the order one Detector produces. A worker with an empty queue
// counts as past every event published so far (it wakes the merger when its queue runs dry), so
// a quiet partition never holds alerts back; the producer also sends every partition a tick
// every kTickInterval events. Matches completed at
// the end of input come last, by rule. With quotas not reached, the matches are the same as with
// one thread; quota evictions and expiry sweeps are per worker, so under state pressure they can
// differ (docs/replay.md).
//
// Backpressure. Queues are bounded (`queue_capacity` events per partition). When one is full,
// `kBlock` makes Publish wait (replay, files), `kDrop` drops the event and counts it per
// partition (live sources: the kernel must not wait). Ticks are never dropped.
// Thread safety: Publish() and Finish() from one producer thread; the callback runs on the merger
// thread. Tested by parallel_detector_test.cc (also under the `tsan` preset).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "kestrel/bus/spsc_ring.h"
#include "kestrel/engine/detector.h"
#include "kestrel/eql/ir.h"

namespace kestrel::bus {

enum class FullPolicy : uint8_t { kBlock, kDrop };

struct ParallelOptions {
  size_t workers = 2;
  size_t queue_capacity = 1024;  // events per partition (slots keep their capacity: memory)
  FullPolicy policy = FullPolicy::kBlock;
  engine::EngineLimits limits;
  // Called for each Detector of each worker before its rules are added, on the thread that
  // calls Create(): gives it its own predicate and function runtimes (Detector::
  // UsePredicateRuntime / UseFunctions; one runtime per thread). Unset: native evaluation.
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

  // `programs[i]` is rule i; all must outlive this. Errors: a rule the engine refuses.
  static absl::StatusOr<std::unique_ptr<ParallelDetector>> Create(
      schema::Schema& schema, std::vector<const eql::IrProgram*> programs,
      const ParallelOptions& options, MatchFn on_match);
  ~ParallelDetector();  // Finish()es if needed
  ParallelDetector(const ParallelDetector&) = delete;
  ParallelDetector& operator=(const ParallelDetector&) = delete;

  // Hands `event` (Finish()ed) to its partition. false: dropped (kDrop and the queue was full).
  bool Publish(const event::Event& event);

  // Hot reload: from the next published event on, rule i is `programs[i]` (which must outlive
  // this), and a rule with keep[i] = j >= 0 (an unchanged definition; the same program as old
  // rule j) takes over old rule j's engines on every worker, partial matches and all; the others
  // start empty. Each worker switches between two events, at the same point of the stream. Waits
  // until every worker has switched and every match of the old set has been delivered, so the
  // caller may then free the old programs; matches delivered after this return name the new
  // rule numbers. Events published meanwhile wait (the caller is the producer).
  // Errors: an engine refusal (cannot happen for rules the rule loader accepted).
  absl::Status Reload(std::vector<const eql::IrProgram*> programs, std::vector<int64_t> keep);

  // End of input: every queue drained, every match delivered, threads joined. Idempotent.
  void Finish();

  size_t workers() const { return workers_.size(); }
  size_t global_rules() const { return global_rules_.size(); }
  size_t local_rules() const { return local_rules_.size(); }
  // Per partition; safe to call from the producer thread while running.
  std::vector<PartitionStats> partition_stats() const;
  // Rule statistics summed over workers (rule = the index given to Create).
  engine::EngineStats stats(size_t rule) const;
  // Sampled evaluation times of a rule summed over workers; safe while running.
  engine::EvalTimeHistogram::Snapshot eval_time(size_t rule) const;

 private:
  struct Item;
  struct Worker;
  struct Tagged;
  struct ReloadPlan;

  ParallelDetector(const ParallelOptions& options, MatchFn on_match);
  size_t Route(const event::Event& e) const;
  bool Push(size_t partition, const event::Event* event, uint8_t kind, uint64_t seq,
            ReloadPlan* plan = nullptr);
  void RunWorker(size_t w);
  void ApplyReload(size_t w, ReloadPlan& plan);
  void RunMerger();

  schema::Schema* schema_ = nullptr;
  ParallelOptions options_;
  MatchFn on_match_;
  std::vector<const eql::IrProgram*> programs_;
  std::vector<uint32_t> local_rules_;   // rule numbers run on every worker
  std::vector<uint32_t> global_rules_;  // rule numbers run on worker 0
  std::vector<schema::FieldId> route_fields_;
  std::vector<std::unique_ptr<Worker>> workers_;

  // Producer state.
  uint64_t next_seq_ = 0;
  std::atomic<uint64_t> published_{0};  // every event before it is in its queue(s)
  std::vector<std::atomic<uint64_t>> routed_, dropped_;
  std::vector<std::atomic<uint64_t>> processed_;  // items (events and copies) each worker ran

  // Merger state: matches reported by workers, and how far each worker has got.
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Tagged> reported_;
  std::vector<uint64_t> watermarks_;   // next sequence number each worker has not finished
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
