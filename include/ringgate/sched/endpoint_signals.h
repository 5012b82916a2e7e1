#pragma once
// The per-candidate inputs of one scheduling decision, gathered once and then
// read by the filters, scorers and the load guard.

#include <array>
#include <chrono>
#include <cstdint>

#include "ringgate/sched/endpoint_id.h"
#include "ringgate/sched/scorer_registry.h"

namespace ringgate::sched {

struct EndpointSignals {
  uint32_t index = 0;  // into the snapshot's endpoints()
  EndpointId id = kNoEndpoint;
  bool fresh = false;  // metrics younger than stale_after
  // Age of the last scrape (when fresh): the saturation detector's own, shorter, staleness.
  std::chrono::steady_clock::duration metrics_age{0};
  double waiting = 0;  // last scraped waiting (0 when stale)
  double running = 0;
  double kv_usage = 0;         // 0..1 (meaningless when stale)
  double slots = 0;            // sequences it runs at once, as seen (EndpointState::slots; 0: unknown)
  int64_t inflight = 0;        // in-flight requests: this gateway's + remote_inflight
  int64_t remote_inflight = 0; // the other replicas' as last synced (sharedState)
  int64_t sheddable_inflight = 0;  // of which sheddable
  // Uncached prompt tokens this gateway sent there whose first token has not come.
  double inflight_prefill_tokens = 0;
  // Tokens in flight there (token-load scorer): the prompt tokens of this gateway's
  // requests there, plus their estimated output tokens (scheduler TokenLoadConfig).
  double inflight_tokens = 0;
  // When it was last picked for a cold request (no-hit-lru scorer): a pool-wide sequence
  // number, 0 = never.
  uint64_t cold_stamp = 0;
  // The mean age of this gateway's requests there still awaiting their first token (ms):
  // a floor under the predicted TTFT (a server that stalls or slows down shows it here
  // long before its late answers reach the latency model).
  double awaiting_age_ms = 0;
  // Queue signal and guard input: waiting (fresh only) + inflight (LoadSignal::Local), or
  // scraped waiting + running in coarse steps (Shared; the KV scorer then steps kv_usage).
  double load = 0;
  uint32_t prefix_blocks = 0;  // leading blocks held (prefix index)
  bool placement = false;      // rendezvous home of an unseen prefix
  bool overloaded = false;     // set by the load guard
  // Tie-break rank: among equal totals the highest wins. The rendezvous weight of the
  // request's prefix key and the endpoint's address, so every gateway replica breaks a
  // tie the same way; 0 for every candidate when the request has no key (random then).
  uint64_t tie_rank = 0;
  // The latency model's predictions for this request there (predict_latency; 0 until
  // then): the means and the p90s (LatencyPrediction::p90_ms); cold: from a fit with too
  // few samples to trust.
  double predicted_ttft_ms = 0, predicted_tpot_ms = 0;
  double predicted_ttft_p90_ms = 0, predicted_tpot_p90_ms = 0;
  bool latency_cold = true;
  bool latency_predicted = false;  // the two above are set (once a decision: the placement
                                   // gate, the latency scorer and the SLO pick share them)
  // Scores in [0,1] by scorer slot (scorer_registry.h; 0 for a scorer not run) and the
  // weighted total.
  std::array<double, kScorerCount> scores{};
  double total = 0;
};

}  // namespace ringgate::sched
