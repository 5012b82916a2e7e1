#include "ringgate/sched/prefix_stand_down.h"

#include <algorithm>
#include <cstdint>

namespace ringgate::sched {

bool prefix_stands_down(std::span<const EndpointSignals> candidates, const PrefixIndex& index, size_t root_blocks,
                        double share) {
  uint32_t lead = 0;
  size_t room = SIZE_MAX;
  for (const EndpointSignals& c : candidates) {
    lead = std::max(lead, c.prefix_blocks);
    room = std::min(room, index.capacity_relaxed(c.id));
  }
  if (lead == 0 || (root_blocks > 0 && lead > root_blocks)) return false;
  return double(index.root_entries()) * lead <= share * double(room);
}

}  // namespace ringgate::sched
