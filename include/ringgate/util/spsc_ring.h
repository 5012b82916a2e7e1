#pragma once
// A single-producer/single-consumer ring of fixed-size records: one worker fills a slot
// in place and publishes it with one release store (no lock, no allocation, and no
// syscall but one eventfd write when a wake-up is asked for and the ring is half full);
// one consumer (the control thread) drains it. A full ring drops the record and counts
// it: the producer never waits. The access log's records (metrics::AccessLogRing), the
// spans (metrics::SpanRing) and the latency model's samples (sched/latency_sample.h)
// travel this way.
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "ringgate/util/single_writer_stats.h"

namespace ringgate::util {

template <class T>
class SpscRing {
 public:
  // Before the producer runs: capacity is rounded up to a power of two (>= 2).
  void enable(size_t capacity) {
    size_t c = 2;
    while (c < capacity) c <<= 1;
    slots_ = std::make_unique<T[]>(c);
    mask_ = c - 1;
  }
  bool enabled() const noexcept { return slots_ != nullptr; }
  // A consumer that sleeps between turns (the control thread: up to 10 ms) is woken
  // through this eventfd when the ring is half full, checked once every quarter of it:
  // at 200k records/s a 1,024-slot ring fills in 5 ms, and was dropping half of them.
  // Set by the consumer's side (const, as drain()), before the producer runs.
  void wake_when_half_full(int eventfd) const noexcept { wake_fd_.store(eventfd, std::memory_order_relaxed); }
  size_t capacity() const noexcept { return slots_ ? mask_ + 1 : 0; }

  // Producer: the slot to fill, or nullptr when the ring is full or not enabled (the
  // record is dropped and counted). Call commit() once it is filled.
  T* claim() noexcept {
    if (!slots_) return nullptr;
    const uint64_t head = head_.load(std::memory_order_relaxed);
    // The consumer's tail is read only when the ring looks full from the last one read:
    // most claims touch no line the consumer writes.
    if (head - tail_seen_ > mask_) {
      tail_seen_ = tail_.load(std::memory_order_acquire);
      if (head - tail_seen_ > mask_) {
        dropped_.add();
        return nullptr;
      }
    }
    return &slots_[head & mask_];
  }
  void commit() noexcept {
    const uint64_t head = head_.load(std::memory_order_relaxed) + 1;
    head_.store(head, std::memory_order_release);
    if ((head & (mask_ >> 2)) == 0) wake_if_half_full(head);
  }

  // Consumer (one thread): f(const T&) for each published record, oldest first, then
  // their slots are freed. Returns how many.
  template <class F>
  size_t drain(F&& f) const {
    if (!slots_) return 0;
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    const uint64_t head = head_.load(std::memory_order_acquire);
    for (uint64_t i = tail; i != head; ++i) {
      if (i + 1 != head) prefetch(slots_[(i + 1) & mask_]);
      f(static_cast<const T&>(slots_[i & mask_]));
    }
    tail_.store(head, std::memory_order_release);
    return size_t(head - tail);
  }

  uint64_t published() const noexcept { return head_.load(std::memory_order_relaxed); }
  uint64_t dropped() const noexcept { return dropped_.get(); }

 private:
  // The consumer reads a record the producer wrote moments ago, from the other core's
  // cache: the next record's first kPrefetchBytes (a span record's header, attributes and
  // the start of its text) are fetched while this one is read. Measured: the first read of
  // a span record's attributes was 28% of encoding it (perf/proxy/tracing_cost.sh
  // PROFILE=ratio-1), and the control thread's CPU a traced request fell from 1.9 to 1.4 us.
  // (Prefetching the producer's next slot for writing cost the worker more than it saved.)
  static constexpr size_t kPrefetchBytes = 1024;
  static void prefetch(const T& slot) noexcept {
    const char* p = reinterpret_cast<const char*>(&slot);
    const size_t n = sizeof(T) < kPrefetchBytes ? sizeof(T) : kPrefetchBytes;
    for (size_t at = 0; at < n; at += 64) __builtin_prefetch(p + at, 0);
  }

  void wake_if_half_full(uint64_t head) noexcept {
    const int fd = wake_fd_.load(std::memory_order_relaxed);
    if (fd < 0) return;
    tail_seen_ = tail_.load(std::memory_order_acquire);
    if (head - tail_seen_ <= (mask_ + 1) / 2) return;
    const uint64_t one = 1;
    [[maybe_unused]] const ssize_t n = ::write(fd, &one, sizeof one);
  }

  std::unique_ptr<T[]> slots_;
  size_t mask_ = 0;
  alignas(64) std::atomic<uint64_t> head_{0};          // written by the producer
  uint64_t tail_seen_ = 0;                             // the producer's last read of tail_
  alignas(64) mutable std::atomic<uint64_t> tail_{0};  // written by the consumer
  SingleWriterCounter dropped_;                        // written by the producer
  mutable std::atomic<int> wake_fd_{-1};               // set once, by the consumer
};

}  // namespace ringgate::util
