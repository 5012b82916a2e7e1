#pragma once
// The structured access log's hand-off from a worker to the control thread: one
// single-producer/single-consumer ring of fixed-size records per worker. The worker
// fills a slot in place and publishes it with one release store (no lock, no
// allocation, no syscall per request); the control thread drains every ring about
// every 100 ms and writes the JSON lines. A full ring drops the record and counts it:
// the request path never waits for the log.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

#include "ringgate/util/single_writer_stats.h"

namespace ringgate::metrics {

// A string kept inline, cut to N-1 bytes at a UTF-8 character boundary.
template <size_t N>
struct InlineText {
  static_assert(N > 1 && N <= 256);
  uint8_t size = 0;
  bool truncated = false;
  char data[N - 1];

  void set(std::string_view s) noexcept {
    size_t n = s.size();
    truncated = n > sizeof data;
    if (truncated) {
      n = sizeof data;
      while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // s[n] starts the cut-off part
    }
    // An empty view may carry a null data(): memcpy(…, nullptr, 0) is undefined (UBSan).
    if (n > 0) std::memcpy(data, s.data(), n);
    size = uint8_t(n);
  }
  std::string_view view() const noexcept { return {data, size}; }
};

// One request, as the access log shows it. Times are CLOCK_MONOTONIC nanoseconds
// (the writer converts `end_ns` to wall-clock time).
struct AccessRecord {
  uint64_t end_ns = 0;
  uint64_t duration_ns = 0;
  uint64_t ttft_ns = 0;          // 0 = no response byte reached the client
  uint32_t prompt_tokens = 0;    // from the response's usage; 0 = not reported
  uint32_t completion_tokens = 0;
  uint16_t status = 0;           // 0 = the client went away before any response
  uint8_t attempts = 0;          // upstream attempts (0 = answered by the gateway itself)
  uint8_t migrations = 0;        // continuations of a broken stream sent
  bool stream = false;
  InlineText<128> request_id;
  InlineText<128> model;         // as the client asked
  InlineText<128> target_model;  // after rewrite
  InlineText<64> endpoint;       // host:port that served it; empty when none did
  InlineText<64> first_endpoint; // with migrations: host:port whose stream broke first
  InlineText<32> migration;      // with migrations: why the first one happened (a kMigrationReasons name)
};

class AccessLogRing {
 public:
  // Before the producer runs: capacity is rounded up to a power of two (>= 2).
  void enable(size_t capacity) {
    size_t c = 2;
    while (c < capacity) c <<= 1;
    slots_ = std::make_unique<AccessRecord[]>(c);
    mask_ = c - 1;
  }
  bool enabled() const noexcept { return slots_ != nullptr; }
  size_t capacity() const noexcept { return slots_ ? mask_ + 1 : 0; }

  // Producer: the slot to fill, or nullptr when the ring is full (the record is
  // dropped and counted). Call commit() once it is filled.
  AccessRecord* claim() noexcept {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - tail_.load(std::memory_order_acquire) > mask_) {
      dropped_.add();
      return nullptr;
    }
    return &slots_[head & mask_];
  }
  void commit() noexcept { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  // Consumer (one thread): calls f(const AccessRecord&) for each published record,
  // oldest first, then frees their slots. Returns how many. The consumer's cursor is
  // its own state, hence usable on a const ring (the producer's view is read-only).
  template <class F>
  size_t drain(F&& f) const {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    const uint64_t head = head_.load(std::memory_order_acquire);
    for (uint64_t i = tail; i != head; ++i) f(static_cast<const AccessRecord&>(slots_[i & mask_]));
    tail_.store(head, std::memory_order_release);
    return size_t(head - tail);
  }

  uint64_t published() const noexcept { return head_.load(std::memory_order_relaxed); }
  uint64_t dropped() const noexcept { return dropped_.get(); }

 private:
  std::unique_ptr<AccessRecord[]> slots_;
  size_t mask_ = 0;
  alignas(64) std::atomic<uint64_t> head_{0};          // written by the producer
  alignas(64) mutable std::atomic<uint64_t> tail_{0};  // written by the consumer
  util::SingleWriterCounter dropped_;                  // written by the producer
};

}  // namespace ringgate::metrics
