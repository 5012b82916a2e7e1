#include "ringgate/sim/latency_model.h"

#include <cmath>

namespace ringgate::sim {

uint64_t LatencyModel::prefill_ns(uint32_t uncached_prompt_tokens) const {
  double ns = prefill_overhead_ms * 1e6 + double(uncached_prompt_tokens) * prefill_time_per_token_us * 1e3;
  return static_cast<uint64_t>(std::llround(ns));
}

uint64_t LatencyModel::token_due_ns(uint64_t prefill_ns, uint32_t index) const {
  return prefill_ns + static_cast<uint64_t>(std::llround(double(index + 1) * inter_token_latency_ms * 1e6));
}

uint64_t LatencyModel::overhead_ns() const {
  return static_cast<uint64_t>(std::llround(prefill_overhead_ms * 1e6));
}

uint64_t LatencyModel::prefill_tokens_ns(uint32_t tokens) const {
  return static_cast<uint64_t>(std::llround(double(tokens) * prefill_time_per_token_us * 1e3));
}

uint64_t LatencyModel::inter_token_ns(uint32_t count) const {
  return static_cast<uint64_t>(std::llround(double(count) * inter_token_latency_ms * 1e6));
}

uint64_t LatencyModel::kv_transfer_ns(uint32_t blocks) const {
  return static_cast<uint64_t>(std::llround(double(blocks) * kv_transfer_time_per_block_us * 1e3));
}

}  // namespace ringgate::sim
