#include "ringgate/sim/latency_model.h"

#include <cmath>

namespace ringgate::sim {
namespace {

// Nanoseconds from a double, saturating: a slow --speed times a long prompt must not
// overflow the conversion (llround beyond int64 is unspecified).
uint64_t to_ns(double ns) {
  if (!(ns > 0)) return 0;
  if (ns >= 9e18) return 9'000'000'000'000'000'000ull;
  return static_cast<uint64_t>(std::llround(ns));
}

}  // namespace

uint64_t LatencyModel::prefill_ns(uint32_t uncached_prompt_tokens) const {
  double ns = prefill_overhead_ms * 1e6 + double(uncached_prompt_tokens) * prefill_time_per_token_us * 1e3;
  return to_ns(ns / speed);
}

uint64_t LatencyModel::token_due_ns(uint64_t prefill_ns, uint32_t index) const {
  return prefill_ns + to_ns(double(index + 1) * inter_token_latency_ms * 1e6 / speed);
}

uint64_t LatencyModel::overhead_ns() const { return to_ns(prefill_overhead_ms * 1e6 / speed); }

uint64_t LatencyModel::prefill_tokens_ns(uint32_t tokens) const {
  return to_ns(double(tokens) * prefill_time_per_token_us * 1e3 / speed);
}

uint64_t LatencyModel::inter_token_ns(uint32_t count) const {
  return to_ns(double(count) * inter_token_latency_ms * 1e6 / speed);
}

uint64_t LatencyModel::kv_transfer_ns(uint32_t blocks) const {
  return to_ns(double(blocks) * kv_transfer_time_per_block_us * 1e3);
}

uint64_t LatencyModel::kv_offload_load_ns(uint32_t blocks) const {
  return to_ns(double(blocks) * kv_offload_load_time_per_block_us * 1e3);
}

}  // namespace ringgate::sim
