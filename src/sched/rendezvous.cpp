#include "ringgate/sched/rendezvous.h"

namespace ringgate::sched {

uint64_t rendezvous_weight(uint64_t key, uint64_t address_hash) {
  // splitmix64 finalizer over the combination: cheap, well mixed.
  uint64_t z = key ^ (address_hash * 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

ptrdiff_t rendezvous_pick(const EndpointSnapshot& snapshot, std::span<const uint32_t> candidates, uint64_t key) {
  ptrdiff_t best = -1;
  uint64_t best_weight = 0;
  for (uint32_t index : candidates) {
    const EndpointState& e = snapshot.at(index);
    uint64_t w = rendezvous_weight(key, e.address_hash);
    // Ties (astronomically rare) go to the smaller address hash: still
    // the same answer everywhere.
    if (best < 0 || w > best_weight || (w == best_weight && e.address_hash < snapshot.at(size_t(best)).address_hash)) {
      best = index;
      best_weight = w;
    }
  }
  return best;
}

}  // namespace ringgate::sched
