#pragma once
// One routed request's placement as a worker hands it to the control thread, which
// passes it on to the other gateway replicas (sharedState; control/shared_placements.h):
// the endpoint and the prompt's leading prefix entries, so that their prefix indexes hold
// what this replica routed as well as what they routed themselves. Each worker writes its
// own ring (util/spsc_ring.h); the rings exist only while state is shared.
#include <array>
#include <cstdint>

#include "ringgate/sched/endpoint_id.h"
#include "ringgate/util/spsc_ring.h"

namespace ringgate::sched {

// Leading entries a placement carries: the 64 dense blocks (4 KB of prompt) and four
// octaves of samples past them (to 64 KB). A longer prompt's placement is its first
// 64 KB: the other replicas' matches stop there, past where a score still moves much.
inline constexpr size_t kMaxPlacementEntries = 128;
inline constexpr size_t kPlacementRingSize = 512;  // per worker: ~25 syncs of 1k req/s

struct PlacementRecord {
  EndpointId endpoint = 0;
  uint32_t count = 0;  // entries used of `hashes`
  std::array<uint64_t, kMaxPlacementEntries> hashes;
};

using PlacementRing = util::SpscRing<PlacementRecord>;

}  // namespace ringgate::sched
