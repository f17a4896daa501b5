// SinkPipeline: one sink's delivery, off the engine's threads: a bounded in-memory queue, one
// delivery thread, and an on-disk Spool (spool.h) that holds what the sink could not take.
//
// Algorithm (one thread per sink): take everything queued; while the spool is empty and the sink
// healthy, deliver it directly in batches of at most Sink::max_batch(). On an error, the
// undelivered rest goes to the spool, and from then on every new message is appended behind it
// (never delivered past it), so the order is kept. The spool's head is retried with exponential
// backoff (backoff_initial doubling to backoff_max); each success consumes what was delivered
// and resets the backoff; when the spool is empty, direct delivery resumes. Delivery is at least
// once: a batch whose success was not confirmed is sent again.
//
// Budgets, and what happens past them (each counted in SinkStats, none silent):
//  - the queue holds queue_capacity messages; Offer() refuses more (queue_dropped) — it never
//    blocks the caller;
//  - the spool holds spool_max_bytes of live records; a message that does not fit is dropped
//    (spool_dropped, exact). The first drop of an episode is logged; when the spool next has
//    room, a drop notice (made by DeliveryOptions::drop_notice, normally an alert of the
//    built-in rule `kestrel-sink-spool-overflow` naming the count) is appended in order, even
//    past the cap;
//  - a spool that cannot be written (disk full, I/O error) drops what it cannot hold (counted in
//    spool_dropped, with a drop notice like the cap's). The error is logged once per episode
//    with its cause (strerror), and the first write that succeeds again is logged once
//    ("writable again", with the count lost meanwhile): never a line per alert.
// Close() delivers what it can until its deadline; what remains stays in the spool file and is
// delivered by the next process that opens the same spool. A delivery still blocked shortly
// after the deadline (a destination that accepts but never answers) is interrupted
// (Sink::Interrupt), so Close() returns within about the deadline whatever the destination does.
// Thread safety: Offer(), stats() and Close() may be called from any thread.
// Tested by delivery_test.cc (and each sink's test, against a real server).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "kestrel/actions/sink.h"
#include "kestrel/actions/spool.h"

namespace kestrel::actions {

struct DeliveryOptions {
  size_t queue_capacity = 100'000;
  std::string spool_path;                 // required: one file per sink
  uint64_t spool_max_bytes = 256u << 20;  // live bytes
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{10'000};
  // After taking messages the thread pauses this long before looking again, so a burst is
  // delivered in batches and Offer() rarely has to wake it (the added latency).
  std::chrono::milliseconds linger{1};
  // Every idle_interval without messages the sink's Idle() runs (time-based rotation).
  std::chrono::milliseconds idle_interval{1'000};
  // Makes the message that reports `dropped` alerts lost to a full spool. Unset: no notice.
  std::function<SinkMessage(uint64_t dropped)> drop_notice;
  // How the spool writes (nullptr: pwrite(2)); tests inject a failing writer.
  SpoolWriteFn spool_write = nullptr;
};

struct SinkStats {
  uint64_t offered = 0;        // messages given to Offer() and accepted
  uint64_t delivered = 0;      // confirmed by the sink (a redelivery counts again)
  uint64_t failures = 0;       // Deliver() calls that failed
  uint64_t spooled = 0;        // messages written to the spool
  uint64_t spool_pending = 0;  // in the spool now
  uint64_t spool_bytes = 0;    // live bytes in the spool now
  uint64_t spool_dropped = 0;  // lost: the spool was full or could not be written
  uint64_t queue_dropped = 0;  // lost: the in-memory queue was full
  uint64_t queued = 0;         // in the in-memory queue now
  bool healthy = true;         // the last delivery attempt succeeded
};

class SinkPipeline {
 public:
  // Opens the spool (recovering what a previous process left in it: delivered first) and starts
  // the delivery thread. Errors: the spool cannot be opened.
  static absl::StatusOr<std::unique_ptr<SinkPipeline>> Start(std::unique_ptr<Sink> sink,
                                                             DeliveryOptions options);
  ~SinkPipeline();  // Close(0 s) if not closed

  // Queues `m` for delivery; never blocks. Returns false when the queue is full (counted).
  bool Offer(SinkMessage m);
  // Stops accepting, then delivers what is queued and spooled until `deadline` passes or the
  // sink fails; joins the thread. The rest stays in the spool file. Idempotent.
  void Close(std::chrono::milliseconds deadline);
  // True when nothing is queued or spooled (everything offered was delivered or dropped).
  bool Drained() const;

  SinkStats stats() const;
  const std::string& name() const { return sink_->name(); }

 private:
  SinkPipeline(std::unique_ptr<Sink> sink, DeliveryOptions options, std::unique_ptr<Spool> spool);
  void Loop();
  // Spools `m` (counts a drop when it does not fit). Delivery thread only.
  void ToSpool(const SinkMessage& m);
  void NoteFailure(const absl::Status& s);
  // A spool write failed / succeeded: logs the start and the end of an episode, once each.
  void NoteSpoolError(const absl::Status& s);
  void NoteSpoolWritable();

  // Constant after construction.
  const std::unique_ptr<Sink> sink_;
  const DeliveryOptions options_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<SinkMessage> queue_;                         // guarded by mu_
  bool closing_ = false;                                  // guarded by mu_
  std::chrono::steady_clock::time_point close_deadline_;  // guarded by mu_
  SinkStats stats_;        // guarded by mu_ (the thread updates its fields under mu_)
  bool busy_ = false;      // guarded by mu_: the thread holds messages outside the queue
  bool sleeping_ = false;  // guarded by mu_: the thread waits on cv_ (Offer() must wake it)

  // Delivery thread only.
  std::unique_ptr<Spool> spool_;
  std::chrono::milliseconds backoff_;
  std::chrono::steady_clock::time_point retry_at_;
  uint64_t unnoticed_drops_ = 0;
  bool logged_outage_ = false;
  bool spool_failing_ = false;       // a spool write failed and none succeeded since
  uint64_t spool_failed_drops_ = 0;  // alerts lost in the current episode
  std::thread thread_;
  bool joined_ = false;
  bool loop_done_ = false;  // guarded by mu_: Loop() returned (cv_ is notified)
};

}  // namespace kestrel::actions
