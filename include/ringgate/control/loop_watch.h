#pragma once
// /healthz's "the loops are turning": each worker bumps a tick counter every turn of
// its loop (at least every 100 ms, idle or not); the control thread samples the
// counters and calls a worker stalled when its count has not moved for `stall_after`.
// The control loop itself is alive if it answers /healthz at all (it serves it).
// Control thread only.
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace ringgate::control {

class LoopWatch {
 public:
  using Clock = std::chrono::steady_clock;
  explicit LoopWatch(Clock::duration stall_after = std::chrono::seconds(5)) : stall_after_(stall_after) {}

  // The workers' tick counts now (index = worker slot).
  void observe(std::span<const uint64_t> ticks, Clock::time_point now);

  struct Stall {
    size_t worker = 0;
    Clock::duration for_how_long{};
  };
  // The worker that has not ticked for the longest, if that is beyond stall_after.
  std::optional<Stall> stalled(Clock::time_point now) const;

 private:
  Clock::duration stall_after_;
  std::vector<uint64_t> last_;
  std::vector<Clock::time_point> moved_at_;
};

}  // namespace ringgate::control
