#pragma once
// Capped exponential backoff with jitter for reconnects.
#include <chrono>
#include <cstdint>

namespace ringgate::discovery {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(initial), max_(max) {}
  // The next delay: initial·2^n capped at max, plus up to 20% jitter (still ≤ max·1.2).
  std::chrono::milliseconds next();
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  std::chrono::milliseconds initial_;
  std::chrono::milliseconds max_;
  int failures_ = 0;
  std::uint64_t rng_state_ = 0x9e3779b97f4a7c15ull;
};

}  // namespace ringgate::discovery
