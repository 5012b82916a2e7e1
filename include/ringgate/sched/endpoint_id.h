#pragma once
#include <cstdint>
#include <limits>

namespace ringgate::sched {

// Stable per endpoint address for the process lifetime (see EndpointRegistry);
// never reused, so per-endpoint storage can be indexed by it.
using EndpointId = uint32_t;
inline constexpr EndpointId kNoEndpoint = std::numeric_limits<EndpointId>::max();

}  // namespace ringgate::sched
