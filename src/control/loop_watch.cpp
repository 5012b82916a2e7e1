#include "ringgate/control/loop_watch.h"

namespace ringgate::control {

void LoopWatch::observe(std::span<const uint64_t> ticks, Clock::time_point now) {
  if (last_.size() != ticks.size()) {  // first sample (or the set changed): everyone starts fresh
    last_.assign(ticks.begin(), ticks.end());
    moved_at_.assign(ticks.size(), now);
    return;
  }
  for (size_t i = 0; i < ticks.size(); ++i) {
    if (ticks[i] != last_[i]) {
      last_[i] = ticks[i];
      moved_at_[i] = now;
    }
  }
}

std::optional<LoopWatch::Stall> LoopWatch::stalled(Clock::time_point now) const {
  std::optional<Stall> worst;
  for (size_t i = 0; i < moved_at_.size(); ++i) {
    const Clock::duration idle = now - moved_at_[i];
    if (idle > stall_after_ && (!worst || idle > worst->for_how_long)) worst = Stall{i, idle};
  }
  return worst;
}

}  // namespace ringgate::control
