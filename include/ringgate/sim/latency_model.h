// When a simulated sequence's tokens are due. Prefill costs a fixed overhead
// plus a time per prompt token that the prefix cache did not already hold;
// decode costs one inter-token latency per output token, so token k (0-based)
// is due (k + 1) inter-token latencies after prefill ends, and the whole
// request takes prefill + output_tokens * inter-token latency once running.
// The engine runs the per-token part of prefill through one lane (engine.h): prefills
// wait for each other, and each chunk's time delays every running decode.
// `speed` models faster or slower hardware (--speed): every compute time (prefill
// overhead, prefill per token, inter-token latency) is divided by it, so speed 0.4 is
// 2.5x slower; a KV pull is the network's time, not the GPU's, and is not scaled.
#pragma once

#include <cstdint>

namespace ringgate::sim {

inline constexpr double kMinSpeed = 0.01;
inline constexpr double kMaxSpeed = 100;

struct LatencyModel {
  double prefill_overhead_ms = 0;
  double prefill_time_per_token_us = 0;
  double inter_token_latency_ms = 0;
  double kv_transfer_time_per_block_us = 0;  // pulling one block from a remote prefill engine
  double speed = 1;                          // > 0 (options bound it to kMinSpeed..kMaxSpeed)
  double kv_offload_load_time_per_block_us = 0;  // loading one block from the CPU tier (a copy, not scaled)

  uint64_t overhead_ns() const;
  uint64_t prefill_tokens_ns(uint32_t tokens) const;  // the per-token part only
  uint64_t inter_token_ns(uint32_t count) const;      // count inter-token latencies
  uint64_t kv_transfer_ns(uint32_t blocks) const;
  uint64_t kv_offload_load_ns(uint32_t blocks) const;

  uint64_t prefill_ns(uint32_t uncached_prompt_tokens) const;
  // Offset of output token `index` from the moment the sequence started running.
  uint64_t token_due_ns(uint64_t prefill_ns, uint32_t index) const;
};

}  // namespace ringgate::sim
