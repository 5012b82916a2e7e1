// When a simulated sequence's tokens are due. Prefill costs a fixed overhead
// plus a time per prompt token that the prefix cache did not already hold;
// decode costs one inter-token latency per output token, so token k (0-based)
// is due (k + 1) inter-token latencies after prefill ends, and the whole
// request takes prefill + output_tokens * inter-token latency once running.
#pragma once

#include <cstdint>

namespace ringgate::sim {

struct LatencyModel {
  double prefill_overhead_ms = 0;
  double prefill_time_per_token_us = 0;
  double inter_token_latency_ms = 0;

  uint64_t prefill_ns(uint32_t uncached_prompt_tokens) const;
  // Offset of output token `index` from the moment the sequence started running.
  uint64_t token_due_ns(uint64_t prefill_ns, uint32_t index) const;
};

}  // namespace ringgate::sim
