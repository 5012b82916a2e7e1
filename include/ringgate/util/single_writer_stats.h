#pragma once
// Statistics written by exactly one thread (a worker) and read by any other (the
// scrape). A relaxed load + store is a plain `mov` on x86: no lock prefix, no
// read-modify-write, yet no data race for the reader. Sums across workers happen
// only at scrape time.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>

namespace ringgate::util {

class SingleWriterCounter {
 public:
  void add(uint64_t n = 1) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> v_{0};
};

class SingleWriterGauge {
 public:
  void add(int64_t n) noexcept { v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  int64_t get() const noexcept { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Fixed upper bounds; bucket i counts observations <= bounds[i] (not cumulative:
// the reader accumulates), the last bucket is +Inf.
template <size_t NumBounds>
class SingleWriterHistogram {
 public:
  void observe(double value, const std::array<double, NumBounds>& bounds) noexcept {
    size_t i = 0;
    while (i < NumBounds && value > bounds[i]) ++i;
    buckets_[i].add();
    sum_.store(sum_.load(std::memory_order_relaxed) + value, std::memory_order_relaxed);
  }
  uint64_t bucket(size_t i) const noexcept { return buckets_[i].get(); }
  double sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  uint64_t count() const noexcept {
    uint64_t n = 0;
    for (const SingleWriterCounter& b : buckets_) n += b.get();
    return n;
  }
  static constexpr size_t kBuckets = NumBounds + 1;

 private:
  std::array<SingleWriterCounter, NumBounds + 1> buckets_{};
  std::atomic<double> sum_{0.0};
};

}  // namespace ringgate::util
