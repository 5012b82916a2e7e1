#pragma once
// Rendezvous (highest-random-weight) hashing: the same key picks the same
// endpoint in every worker and every gateway replica, as long as they see the
// same candidate addresses; removing one endpoint moves only its keys.

#include <cstddef>
#include <cstdint>
#include <span>

#include "ringgate/sched/endpoint_snapshot.h"

namespace ringgate::sched {

// Weight of (key, endpoint): a 64-bit mix of key and the endpoint's address hash.
uint64_t rendezvous_weight(uint64_t key, uint64_t address_hash);

// Index (into snapshot.endpoints()) of the winner among `candidates` (indices),
// or -1 if candidates is empty.
ptrdiff_t rendezvous_pick(const EndpointSnapshot& snapshot, std::span<const uint32_t> candidates, uint64_t key);

}  // namespace ringgate::sched
