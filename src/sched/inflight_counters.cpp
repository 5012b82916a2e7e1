#include "ringgate/sched/inflight_counters.h"

namespace ringgate::sched {

InflightCounters::InflightCounters() : chunks_(new std::atomic<Chunk*>[kMaxChunks]) {
  for (size_t i = 0; i < kMaxChunks; ++i) chunks_[i].store(nullptr, std::memory_order_relaxed);
}

InflightCounters::~InflightCounters() {
  for (size_t i = 0; i < kMaxChunks; ++i) delete chunks_[i].load(std::memory_order_relaxed);
}

bool InflightCounters::ensure(EndpointId id) {
  size_t chunk = id / kChunkSize;
  if (chunk >= kMaxChunks) return false;
  if (!chunks_[chunk].load(std::memory_order_acquire)) chunks_[chunk].store(new Chunk(), std::memory_order_release);
  return true;
}

}  // namespace ringgate::sched
