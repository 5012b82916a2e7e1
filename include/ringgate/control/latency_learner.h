#pragma once
// The control thread's side of the latency model (issue 35): owns the workers' sample
// rings (one single-producer ring per worker slot, sched/latency_sample.h) and the one
// sched::LatencyModel, the only writer of it. Each tick drain() feeds every sample to
// the model (observe_ttft/observe_tpot with the features the request was sent with);
// when something was learnt the control plane builds the next snapshot with the new
// coefficients (EndpointPool::build_snapshot(&model())), so workers predict from an
// immutable copy at most a tick and a scrape old. Also renders what was learnt:
// /debug/endpoints' "latency" objects and the prediction-error gauges of /metrics.
// Control thread only, but for the rings' producer side (the workers).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/latency_model.h"
#include "ringgate/sched/latency_sample.h"

namespace ringgate::control {

class LatencyLearner {
 public:
  // `slots`: worker slots with a ring (the workers, and spare ones nobody writes).
  explicit LatencyLearner(size_t slots, size_t ring_size = sched::kLatencySampleRingSize);

  sched::LatencySampleRing* rings() { return rings_.get(); }
  size_t ring_count() const { return slots_; }

  // An endpoint id is in the pool (ensure) / its address left (reset: start over).
  void ensure(sched::EndpointId id) { model_.ensure(id); }
  void reset(sched::EndpointId id) { model_.reset(id); }

  // Every ring's samples into the model; true when something was learnt. Linear in the
  // samples drained (at most the rings' capacity).
  bool drain();

  const sched::LatencyModel& model() const { return model_; }
  uint64_t samples() const { return samples_; }  // observed (TTFT or TPOT) since start
  uint64_t refused() const { return refused_; }  // samples the model refused (bounds)
  uint64_t dropped() const;                      // samples lost to full rings

  // {"ttft":{...},"tpot":{...}} of one endpoint (sched::append_json).
  void append_endpoint_json(std::string& out, sched::EndpointId id) const;
  // The pool's fit, same shape.
  void append_pool_json(std::string& out) const;
  // ringgate_latency_prediction_error_ratio{endpoint,kind} (mean absolute relative error
  // of each endpoint's own fit, per kind ttft / tpot, once it has scored a prediction it
  // was used for), ringgate_latency_samples{endpoint,kind}
  // and the sample counters. Labels: the snapshot's endpoints only (bounded by the pool).
  void append_metrics(std::string& out, const sched::EndpointSnapshot* snapshot) const;

 private:
  size_t slots_;
  std::unique_ptr<sched::LatencySampleRing[]> rings_;
  sched::LatencyModel model_;
  uint64_t samples_ = 0, refused_ = 0;
};

}  // namespace ringgate::control
