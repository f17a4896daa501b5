// How a running command learns that it must stop — SIGINT, SIGTERM, the end of --duration — and
// how a read that blocks (standard input, a FIFO, the ring buffer) learns it at once.
//
// StopFlag() is set by either signal once InstallStopSignals() ran, by RequestStop(), and by a
// DurationTimer. StopFd() is the read end of a pipe that becomes readable at the same moment
// (the signal handler writes to it: async-signal-safe), so a source polls it beside its input
// and ends its stream without waiting for more input. A second SIGINT or SIGTERM more than a
// second after the first, while it is being handled (draining, flushing), ends the process at
// once, as the default action would; one within the second is the same request delivered
// twice (`timeout` and the process group both pass a Ctrl-C on) and is ignored. The wall clock
// decides only when a run ends, never what the engine decides. Thread safety: everything here may
// be called from any thread. Tested by stop_test.cc and cli_test.sh (Ctrl-C on `kestrel run
// --source ndjson:-`).
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>

namespace kestrel::pipeline {

std::atomic<bool>& StopFlag();
// The signal that set the flag (SIGINT, SIGTERM), or 0.
int StopSignalNumber();
// Readable once the flag is set; -1 before InstallStopSignals().
int StopFd();
// Clears the flag (and the pipe), and makes SIGINT and SIGTERM set it instead of killing the
// process.
void InstallStopSignals();
// Sets the flag and makes StopFd() readable, as a signal does.
void RequestStop();

// Sets the stop (RequestStop) once `duration_ns` of wall time has passed (no-op for <= 0).
class DurationTimer {
 public:
  explicit DurationTimer(int64_t duration_ns);
  ~DurationTimer();
  DurationTimer(const DurationTimer&) = delete;
  DurationTimer& operator=(const DurationTimer&) = delete;

 private:
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace kestrel::pipeline
