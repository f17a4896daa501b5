// Pipeline: one running Kestrel — what `kestrel run` is, as a library.
//
// Open() builds every part from a RunConfig: the source (the live eBPF collector or NDJSON), the
// rules (RuleManager: a directory or package, watched, recompiled off the detection thread),
// the alert path (AlertBuilder into a SinkSet holding `--output` and every `--sink`), the
// flight recorder, the blocking guard, the metrics endpoint, and — with more than one worker —
// the bus (bus::ParallelDetector). Run() then drives it:
//
//   reading thread: source.Next() → [a compiled rule set waiting? commit it between two events]
//     → flight recorder, guard (sequence-aware blocking) → one Detector, or the bus's workers
//     → matches, in the order of one thread → AlertBuilder → SinkSet (--output inline, sinks
//     queued).
//   timer thread (every 100 ms, whether or not events arrive): starts a rule compile when the
//     directory changed (RuleManager::Poll: a broken set is reported at once), and every half
//     second publishes the metrics (MetricsPublisher).
//
// Stopping: at the end of input, at the end of --duration, or on SIGINT/SIGTERM (stop.h) for
// every source — standard input and FIFOs included, interrupted at once. Then the guard answers
// what it holds, the workers drain, the sinks get their drain time (5 s; 0.5 s after a signal,
// so that a stop takes under a second — what a slow sink could not take stays in its spool),
// and the summary line goes to stderr. A signal is a normal end (OK).
//
// Errors of Open(): INVALID_ARGUMENT for what the user must change (a usage error: a bad option,
// an unknown source kind, a missing --rules directory, a bad package/runtime pairing); any other
// code for what failed (an unreadable source, an unwritable output, a guard that cannot start
// with --enforce on). Run() fails when the source failed or alerts were lost.
// Thread safety: Open() and Run() from one thread. Tested by pipeline_test.cc and the binary's
// end-to-end tests (cli_test.sh, ebpf_e2e_test.sh, blocking_test.sh).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kestrel/actions/blocking/guard.h"
#include "kestrel/actions/flight_recorder.h"
#include "kestrel/actions/sink_set.h"
#include "kestrel/bus/parallel_detector.h"
#include "kestrel/event/event.h"
#include "kestrel/pipeline/alert_builder.h"
#include "kestrel/pipeline/blocking.h"
#include "kestrel/pipeline/metrics_publisher.h"
#include "kestrel/pipeline/rule_manager.h"
#include "kestrel/pipeline/run_config.h"
#include "kestrel/schema/schema.h"
#include "kestrel/sources/source.h"

namespace kestrel::sources {
class EbpfSource;
}

namespace kestrel::pipeline {

class Pipeline {
 public:
  static absl::StatusOr<std::unique_ptr<Pipeline>> Open(const RunConfig& config);
  ~Pipeline();
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  absl::Status Run();

  // The summary line Run() printed ("summary: events read: ...").
  const std::string& summary() const { return summary_; }
  // The metrics endpoint's port (0 without --metrics-addr).
  int metrics_port() const { return metrics_ != nullptr ? metrics_->port() : 0; }

 private:
  explicit Pipeline(const RunConfig& config);
  absl::Status OpenSource();
  absl::Status OpenRules();
  absl::Status OpenOutputs();
  absl::Status OpenBlocking();
  absl::Status OpenWorkers();
  absl::Status OpenMetrics();
  void ArmKill();
  void ApplyReload();
  // Runs the rules over `event`; with workers its contents are moved into the bus (no copy)
  // and `event` is left cleared, for the source's next Next().
  void Detect(event::Event& event);
  void TakeLosses();
  // Rule `rule`'s state counters: the one Detector's, or summed over the bus's workers.
  engine::EngineStats RuleStats(size_t rule) const;
  void RefreshMetrics();
  void PublishMetrics();
  void StartTimer();
  void StopTimer();
  void Drain();
  std::string Summarize();

  RunConfig config_;
  std::unique_ptr<schema::Schema> schema_;
  bool live_ = false;
  bool endgame_ = false;
  size_t workers_ = 1;
  actions::blocking::EnforceMode enforce_ = actions::blocking::EnforceMode::kOff;
  bus::FullPolicy queue_policy_ = bus::FullPolicy::kBlock;
  std::unique_ptr<sources::Source> source_;
  sources::EbpfSource* ebpf_ = nullptr;  // source_, when it is the live collector
  std::unique_ptr<RuleManager> rules_;
  std::unique_ptr<actions::SinkSet> sinks_;  // --output (direct) and --sink (queued)
  std::unique_ptr<actions::FlightRecorder> recorder_;
  std::unique_ptr<AlertBuilder> alerts_;
  std::unique_ptr<BlockingGuard> guard_;
  std::unique_ptr<bus::ParallelDetector> parallel_;
  std::unique_ptr<MetricsPublisher> metrics_;

  std::vector<sources::SourceLoss> losses_;       // reused
  std::atomic<uint64_t> events_{0};               // read so far (the timer reads it)
  std::atomic<int64_t> last_time_ns_{INT64_MIN};  // live: the newest event's time (the timer)
  std::string summary_;

  std::thread timer_;
  std::mutex timer_mu_;
  std::condition_variable timer_cv_;
  bool timer_stop_ = false;  // guarded by timer_mu_
};

// Open() and Run(): the whole of `kestrel run`.
absl::Status RunPipeline(const RunConfig& config);

}  // namespace kestrel::pipeline
