#pragma once
// GAIE's saturation detector (pkg/epp/saturationdetector, "utilization-detector"):
// an endpoint is saturated when its waiting queue is at or past queueDepthThreshold,
// its KV cache at or past kvCacheUtilThreshold, or its metrics are older than
// metricsStalenessThreshold (an endpoint nobody can see is treated as full, not idle).
// Defaults are GAIE's: 5, 0.8, 200 ms.
//
// One addition: scraped metrics lag by up to a poll interval, and a gateway that
// releases a queue on one unsaturated snapshot would flush the whole queue into the
// server before the next scrape. So the waiting queue the detector reads is
// max(scraped waiting, this gateway's in-flight − scraped running): requests sent
// since the scrape count as waiting until the next scrape says otherwise, and a
// completion (in-flight drops at once) frees capacity without waiting for a scrape.
#include <chrono>

#include "ringgate/sched/endpoint_signals.h"

namespace ringgate::sched {

struct SaturationConfig {
  double queue_depth_threshold = 5;      // queueDepthThreshold (waiting requests)
  double kv_cache_util_threshold = 0.8;  // kvCacheUtilThreshold (0..1)
  std::chrono::steady_clock::duration metrics_staleness_threshold = std::chrono::milliseconds(200);
  // GAIE's concurrency-detector maxConcurrency: also saturated once this gateway has
  // this many requests in flight there (0 = off). Set to the servers' max-num-seqs, no
  // request waits inside a server, so a late high-priority request overtakes them all.
  double max_concurrency = 0;
  // With max_concurrency: this many slots of every endpoint are kept for non-sheddable
  // requests. A sheddable request (negative priority) sees the endpoint saturated once
  // sheddable in flight + max(non-sheddable in flight, headroom) reaches
  // max_concurrency: non-sheddable requests fill the reserve first, so sheddable ones
  // never lose more than the headroom. Without it, a critical request arriving while
  // sheddable ones hold every slot waits for the next completion (with ~0.3 s requests
  // on 8 slots, p99 ~160 ms of waiting); with a headroom of at least the critical
  // concurrency it finds a slot at once. A ringgate addition (GAIE has no such knob);
  // 0 = off.
  double sheddable_headroom = 0;
  bool operator==(const SaturationConfig&) const = default;
};

// The waiting queue the detector believes (see above).
double estimated_waiting(const EndpointSignals& signals);

// `sheddable`: the question is asked for a sheddable request (sheddable_headroom applies).
bool endpoint_saturated(const EndpointSignals& signals, const SaturationConfig& config, bool sheddable = false);

// 0 = idle, 1 = at a threshold, above 1 = past it: max(waiting / queue threshold,
// kv / kv threshold) as GAIE's roofline; a stale endpoint counts 1.
double endpoint_saturation(const EndpointSignals& signals, const SaturationConfig& config);

}  // namespace ringgate::sched
