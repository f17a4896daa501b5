// EvalTimeHistogram: how long a rule's evaluation of one event takes, as a histogram with
// power-of-two buckets (128 ns to 16.8 ms, then +Inf), for the per-rule evaluation-time
// metrics and `kestrel rules --top`.
//
// Sampling: a Detector times every rule evaluation of one event in kSampleInterval (the events
// whose number is a multiple of it), so a clock read costs the hot path ~1/64 of ~40 ns per
// evaluation. Counts and sums are of the timed evaluations; multiply by kSampleInterval for an
// estimate of all of them. Timing only feeds metrics: nothing the engine decides depends on it.
// Thread safety: one writer (the Detector's thread); Read() from any thread (relaxed atomics, so
// a snapshot taken while running may be a few evaluations behind). Tested by detector_test.cc.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <cstdint>

namespace kestrel::engine {

class EvalTimeHistogram {
 public:
  static constexpr uint64_t kSampleInterval = 64;
  static constexpr int kFirstShift = 7;  // bucket 0: <= 128 ns
  static constexpr int kBuckets = 18;    // finite buckets: <= 128 ns << i; then +Inf

  // The upper bound of finite bucket `i` in nanoseconds.
  static constexpr uint64_t UpperBoundNs(int i) { return uint64_t{1} << (kFirstShift + i); }

  struct Snapshot {
    std::array<uint64_t, kBuckets + 1> buckets{};  // not cumulative; [kBuckets] is +Inf
    uint64_t count = 0;
    uint64_t sum_ns = 0;
    Snapshot& operator+=(const Snapshot& o) {
      for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += o.buckets[i];
      count += o.count;
      sum_ns += o.sum_ns;
      return *this;
    }
  };

  void Record(uint64_t ns) {
    int b = ns <= UpperBoundNs(0) ? 0 : static_cast<int>(std::bit_width(ns - 1)) - kFirstShift;
    if (b > kBuckets) b = kBuckets;
    Bump(buckets_[static_cast<size_t>(b)], 1);
    Bump(count_, 1);
    Bump(sum_ns_, ns);
  }

  Snapshot Read() const {
    Snapshot s;
    for (size_t i = 0; i < s.buckets.size(); ++i) {
      s.buckets[i] = buckets_[i].load(std::memory_order_relaxed);
    }
    s.count = count_.load(std::memory_order_relaxed);
    s.sum_ns = sum_ns_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  // Single writer: a plain load and store, no locked instruction.
  static void Bump(std::atomic<uint64_t>& a, uint64_t by) {
    a.store(a.load(std::memory_order_relaxed) + by, std::memory_order_relaxed);
  }

  std::array<std::atomic<uint64_t>, kBuckets + 1> buckets_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_ns_{0};
};

}  // namespace kestrel::engine
