#pragma once
#include <cstdint>
#include <limits>

namespace ringgate::sched {

// Stable per endpoint (an address, or one data-parallel rank behind it: an engine) while
// it is in the pool (see EndpointRegistry); dense,
// so per-endpoint storage can be indexed by it; reused only after a quarantine once
// its address left the pool.
using EndpointId = uint32_t;
inline constexpr EndpointId kNoEndpoint = std::numeric_limits<EndpointId>::max();

}  // namespace ringgate::sched
