#pragma once
// CLOCK_MONOTONIC in nanoseconds: what request latencies are measured in (one vDSO
// call, no syscall).
#include <time.h>

#include <cstdint>

namespace ringgate::util {

inline uint64_t steady_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

}  // namespace ringgate::util
