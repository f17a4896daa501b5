// SpscRing: a bounded single-producer, single-consumer queue of pre-constructed slots.
//
// The producer fills a slot in place (BeginPush, then CommitPush) and the consumer reads it in
// place (Front, then Pop), so a slot type that keeps its capacity when overwritten (an Event)
// makes the queue allocation-free after warm-up. Head and tail are monotonically increasing
// 64-bit counters on separate cache lines; each side caches the other's counter and re-reads it
// only when the ring looks full (producer) or empty (consumer).
//
// Waiting: WaitForData()/WaitForSpace() poll, then sleep on a flag (C++20 atomic
// wait, a futex); the other side wakes the sleeper after its next commit (a sleeping consumer)
// or once the ring is half empty (a sleeping producer), and otherwise pays one load per
// operation.
// Thread safety: exactly one producer thread and one consumer thread. Tested by
// spsc_ring_test.cc (also under the `tsan` preset).
#pragma once

#include <atomic>
#include <bit>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <thread>
#include <vector>

namespace kestrel::bus {

template <typename T>
class SpscRing {
 public:
  // `capacity` is rounded up to a power of two (at least 2).
  explicit SpscRing(size_t capacity)
      : slots_(std::bit_ceil(capacity < 2 ? size_t{2} : capacity)), mask_(slots_.size() - 1) {}
  // Polls before sleeping. (Yielding in between was measured to make a loaded 2-core machine
  // ~10x slower: the yielding thread queues behind unrelated work.)
  static constexpr int kSpins = 128;

  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  // Producer: the next free slot, or nullptr when the ring is full.
  T* BeginPush() {
    uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - cached_head_ >= slots_.size()) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (tail - cached_head_ >= slots_.size()) return nullptr;
    }
    return &slots_[tail & mask_];
  }
  // Producer: publishes the slot BeginPush returned.
  void CommitPush() {
    tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
    if (consumer_sleeping_.load(std::memory_order_seq_cst) != 0) {
      consumer_sleeping_.store(0, std::memory_order_seq_cst);
      consumer_sleeping_.notify_one();
    }
  }
  // Producer: waits at most `limit` for a free slot (spins, then naps of 20 µs; the consumer
  // does not wake it); false when the ring is still full then.
  bool WaitForSpaceFor(std::chrono::microseconds limit) {
    if (limit.count() <= 0) return BeginPush() != nullptr;
    const auto deadline = std::chrono::steady_clock::now() + limit;
    for (int spin = 0;; ++spin) {
      if (BeginPush() != nullptr) return true;
      if (spin < kSpins) continue;
      if (std::chrono::steady_clock::now() >= deadline) return false;
      std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }
  // Producer: blocks until a slot is free (or `stop` is set; then returns false).
  bool WaitForSpace(const std::atomic<bool>* stop = nullptr) {
    for (int spin = 0;; ++spin) {
      if (BeginPush() != nullptr) return true;
      if (stop != nullptr && stop->load(std::memory_order_relaxed)) return false;
      if (spin < kSpins) continue;
      producer_sleeping_.store(1, std::memory_order_seq_cst);
      if (BeginPush() != nullptr) {
        producer_sleeping_.store(0, std::memory_order_relaxed);
        return true;
      }
      // Woken by the consumer's next Pop().
      producer_sleeping_.wait(1, std::memory_order_seq_cst);
    }
  }

  // Consumer: the oldest published slot, or nullptr when empty.
  T* Front() {
    uint64_t head = head_.load(std::memory_order_relaxed);
    if (head == cached_tail_) {
      cached_tail_ = tail_.load(std::memory_order_seq_cst);
      if (head == cached_tail_) return nullptr;
    }
    return &slots_[head & mask_];
  }
  // Consumer: whether another slot follows the one Front returned (re-reads the producer's
  // counter only when the cached one says no).
  bool HasSecond() {
    uint64_t head = head_.load(std::memory_order_relaxed);
    if (cached_tail_ - head >= 2) return true;
    cached_tail_ = tail_.load(std::memory_order_seq_cst);
    return cached_tail_ - head >= 2;
  }
  // Consumer: frees the slot Front returned. A sleeping producer is woken once the ring is half
  // empty (by the consumer's last view of it, never fuller than the truth), not at every free
  // slot: a producer faster than its consumer then sleeps once per half ring, not per item.
  void Pop() {
    uint64_t head = head_.load(std::memory_order_relaxed) + 1;
    head_.store(head, std::memory_order_seq_cst);
    if (producer_sleeping_.load(std::memory_order_seq_cst) != 0 &&
        cached_tail_ - head <= slots_.size() / 2) {
      producer_sleeping_.store(0, std::memory_order_seq_cst);
      producer_sleeping_.notify_one();
    }
  }
  // Consumer: blocks until a slot is published.
  void WaitForData() {
    for (int spin = 0;; ++spin) {
      if (Front() != nullptr) return;
      if (spin < kSpins) continue;
      consumer_sleeping_.store(1, std::memory_order_seq_cst);
      if (Front() != nullptr) {
        consumer_sleeping_.store(0, std::memory_order_relaxed);
        return;
      }
      consumer_sleeping_.wait(1, std::memory_order_seq_cst);
    }
  }

  size_t capacity() const { return slots_.size(); }
  // Slots in use; exact only when neither side is active (metrics; the bus's idle check).
  size_t size() const {
    return static_cast<size_t>(tail_.load(std::memory_order_seq_cst) -
                               head_.load(std::memory_order_seq_cst));
  }

 private:
  std::vector<T> slots_;
  const size_t mask_;
  alignas(64) std::atomic<uint64_t> head_{0};  // next slot to pop (written by the consumer)
  alignas(64) std::atomic<uint64_t> tail_{0};  // next slot to push (written by the producer)
  alignas(64) uint64_t cached_head_ = 0;       // producer's last view of head_
  alignas(64) uint64_t cached_tail_ = 0;       // consumer's last view of tail_
  // Set by a side about to sleep; the other side clears it and wakes it after its next step.
  alignas(64) std::atomic<int> consumer_sleeping_{0};
  alignas(64) std::atomic<int> producer_sleeping_{0};
};

}  // namespace kestrel::bus
