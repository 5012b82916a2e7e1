#pragma once
// One EPP thread's holding of ext-proc streams for a model with no ready server (issue
// 66): the gateway's ModelHold with this thread's share of flowControl's bounds, routed
// again when the endpoint snapshot changes or on the tick (noEndpointRequestTTL), and the
// streams that ran again in a cycle, answered together once it is over (settle()).
#include <cstddef>
#include <cstdint>
#include <vector>

#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/flow_queue.h"
#include "ringgate/proxy/model_hold.h"
#include "ringgate/proxy/request_rules.h"
#include "ringgate/sched/endpoint_snapshot.h"

namespace ringgate::epp {

class ExtProcStream;

class EppHold {
 public:
  // `workers`: EPP threads (each holds its 1/workers share of the bounds).
  EppHold(size_t workers, metrics::HeldModels& published);
  EppHold(const EppHold&) = delete;
  EppHold& operator=(const EppHold&) = delete;

  // The exchanges of `env` hold here, under this thread's share of `rules`' bounds.
  void attach(proxy::ExchangeEnv& env, const proxy::RequestRules& rules);
  // The rules in force (their bounds, shared out again when they changed).
  void adopt(const proxy::RequestRules& rules);
  // A new snapshot: held streams are routed again when it changed. true: some ran again
  // (settle() answers them).
  bool snapshot_changed(const sched::EndpointSnapshot* snapshot);
  // The tick: the noEndpointRequestTTL of held streams (evicted ones run again). true: some ran.
  bool expire(uint64_t now_ms);

  // A held stream ran again in this cycle: answered by settle().
  void resumed(ExtProcStream* stream);
  void settle();
  // A stream that ends: never settled.
  void forget(ExtProcStream* stream);

  const proxy::ModelHold& hold() const { return hold_; }

 private:
  size_t workers_;
  const proxy::RequestRules* adopted_rules_ = nullptr;  // whose bounds flow_limits_ holds
  proxy::FlowLimits flow_limits_;                       // this thread's share
  proxy::ModelHold hold_;
  const sched::EndpointSnapshot* held_on_ = nullptr;  // the snapshot the held streams were last routed on
  std::vector<ExtProcStream*> resumed_;               // ran again in this cycle, to be answered
};

}  // namespace ringgate::epp
