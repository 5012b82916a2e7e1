#include "ringgate/sched/latency_prediction.h"

#include <algorithm>

namespace ringgate::sched {

LatencyFeatures latency_features(const EndpointSignals& c, uint32_t total_blocks, double tokens_per_block) {
  LatencyFeatures f;
  const uint32_t held = std::min(c.prefix_blocks, total_blocks);
  f.ttft.uncached_prompt_tokens = double(total_blocks - held) * std::max(0.0, tokens_per_block);
  const double occupancy = std::max(double(c.inflight), c.waiting + c.running);
  f.ttft.slot_waits = c.slots > 0 ? std::max(0.0, occupancy + 1 - c.slots) : c.waiting;
  f.ttft.inflight_prefill_tokens = c.inflight_prefill_tokens;
  f.tpot.running = c.running;
  f.tpot.batched_tokens = c.running + c.inflight_prefill_tokens;
  return f;
}

void predict_latency(std::span<EndpointSignals> candidates, const EndpointSnapshot& snapshot, uint32_t total_blocks,
                     double tokens_per_block) {
  for (EndpointSignals& c : candidates) {
    // Its inputs (prefix match, signals) are settled before anyone asks: one prediction.
    if (c.latency_predicted) continue;
    c.latency_predicted = true;
    const LatencyCoefficients& k = snapshot.scoring_view(c.index).latency;
    const LatencyFeatures f = latency_features(c, total_blocks, tokens_per_block);
    const LatencyPrediction ttft = k.predict_ttft(f.ttft);
    const LatencyPrediction tpot = k.predict_tpot(f.tpot);
    // Requests there longer than the model predicts without a first token: it is stale.
    c.predicted_ttft_ms = std::max(ttft.ms, c.awaiting_age_ms);
    c.predicted_tpot_ms = tpot.ms;
    c.predicted_ttft_p90_ms = std::max(ttft.p90_ms(), c.awaiting_age_ms);
    c.predicted_tpot_p90_ms = tpot.p90_ms();
    c.latency_cold = ttft.source == LatencySource::Cold || tpot.source == LatencySource::Cold;
  }
}

bool near_fastest(std::span<const EndpointSignals> candidates, size_t pos, double ratio) {
  if (pos >= candidates.size()) return false;
  double fastest = candidates[pos].predicted_ttft_ms;
  bool cold = true;
  for (const EndpointSignals& c : candidates) {
    fastest = std::min(fastest, c.predicted_ttft_ms);
    cold &= c.latency_cold;
  }
  return cold || candidates[pos].predicted_ttft_ms <= ratio * fastest;
}

}  // namespace ringgate::sched
