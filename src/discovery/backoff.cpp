#include "ringgate/discovery/backoff.h"

#include <algorithm>

namespace ringgate::discovery {

std::chrono::milliseconds Backoff::next() {
  // xorshift64: jitter only needs to de-synchronise replicas, not be secure.
  rng_state_ ^= rng_state_ << 13;
  rng_state_ ^= rng_state_ >> 7;
  rng_state_ ^= rng_state_ << 17;
  const int shift = std::min(failures_, 30);
  ++failures_;
  const long long initial = std::max<long long>(initial_.count(), 1);
  const long long base = std::min<long long>(initial << shift, max_.count());
  const long long jitter = static_cast<long long>(rng_state_ % 1000) * base / 5000;  // 0..20%
  return std::chrono::milliseconds(base + jitter);
}

}  // namespace ringgate::discovery
