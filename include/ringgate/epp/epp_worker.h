#pragma once
// What one EPP thread decides with: the same pieces a gateway worker has (a
// RequestRouter on this thread's endpoint-snapshot reader slot, the published request
// rules and model catalog, per-thread statistics and counters attached to the control
// plane for /metrics), composed for ext-proc streams instead of sockets. Every
// ExtProcStream on the thread drives a proxy::Exchange over this environment, so
// rewrite → route → pick, in-flight accounting and request statistics are the
// gateway's own code, not a copy of it.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ringgate/epp/epp_hold.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/net/timeout_list.h"
#include "ringgate/proxy/exchange.h"
#include "ringgate/proxy/flow_queue.h"
#include "ringgate/proxy/model_catalog.h"
#include "ringgate/proxy/model_hold.h"
#include "ringgate/proxy/proxy_options.h"
#include "ringgate/proxy/request_router.h"
#include "ringgate/proxy/request_rules.h"
#include "ringgate/proxy/worker_counters.h"

namespace ringgate::epp {

class ExtProcStream;

struct EppWorkerContext {
  proxy::ProxyOptions options;            // limits (body, header bytes); retries are the Gateway's, not ours
  proxy::RouterShared router;             // each EPP thread builds its own RequestRouter on it
  const proxy::RulesPublisher* rules = nullptr;     // one reader slot per thread index
  const proxy::CatalogPublisher* catalog = nullptr; // one reader slot per thread index
  metrics::LabelBounds* labels = nullptr;           // metric label values, bounded for the process
  size_t workers = 1;  // EPP threads: each holds its 1/workers share of flowControl's bounds
};

class EppWorker final : public proxy::RouteService, public proxy::UpstreamSide {
 public:
  EppWorker(const EppWorkerContext& context, int index);
  ~EppWorker() override;
  EppWorker(const EppWorker&) = delete;
  EppWorker& operator=(const EppWorker&) = delete;

  // Before handling events: the newest snapshot, rules and catalog; the clock. Held
  // streams are routed again when the snapshot changed (a server may have come).
  void refresh();
  // Every ~100 ms from the thread's loop: liveness for /healthz, timers, the held
  // streams' noEndpointRequestTTL (and another routing of them).
  void tick();

  proxy::ExchangeEnv& env() { return env_; }
  const proxy::ProxyOptions& options() const { return options_; }
  proxy::WorkerCounters& counters() { return counters_; }
  const proxy::WorkerCounters& counters() const { return counters_; }
  const metrics::WorkerStats& stats() const { return stats_; }
  uint64_t now_ms() const { return now_ms_; }
  const uint64_t& now_ms_ref() const { return now_ms_; }  // for what reads the clock later (H2Session)

  // A request without a body (GAIE routes those to any ready pod): "ip:port" of a
  // routable endpoint chosen at random, or nullopt when none is.
  std::optional<std::string> any_endpoint();

  // The stream whose Exchange is starting: its attempt "opens" on it (the decision).
  void set_current(ExtProcStream* stream) { current_ = stream; }
  // A held stream's Exchange runs again from the hold (ExchangeClient::exchange_resumed):
  // it is current until the next one, and is answered by settle_resumed().
  void resuming(ExtProcStream* stream);
  // Answers the streams that ran again (each one's pick or its immediate response).
  void settle_resumed();
  // A stream that ends: never current, never settled.
  void forget(ExtProcStream* stream);
  // The requests held for a model with no ready server (gauges count them too).
  const proxy::ModelHold& hold() const { return hold_.hold(); }

  // RouteService
  proxy::Routed route(const proxy::RouteRequest& request) override;
  void routed(uint32_t endpoint_id, std::span<const uint64_t> prefix_hashes) override {
    router_.routed(endpoint_id, prefix_hashes);
  }
  void released(uint32_t endpoint_id, bool sheddable) override { router_.released(endpoint_id, sheddable); }
  void endpoint_failed(uint32_t endpoint_id) override;
  void endpoint_succeeded(uint32_t endpoint_id) override;
  bool disaggregating() const override { return router_.disaggregating(options_.disaggregation); }
  // The latency model learns from the streams the Gateway relays through ext-proc (with the
  // response body streamed to the EPP, as GAIE configures it), as from the gateway's own.
  void prefill_sent(uint32_t endpoint_id, uint32_t tokens, uint64_t sent_ms) override {
    router_.prefill_sent(endpoint_id, tokens, sent_ms);
  }
  void prefill_done(uint32_t endpoint_id, uint32_t tokens, uint64_t sent_ms) override {
    router_.prefill_done(endpoint_id, tokens, sent_ms);
  }
  void latency_observed(const sched::LatencySample& sample) override { router_.latency_observed(sample); }
  // The token load of a decision counts from the pick until its ext-proc stream ends.
  void load_sent(uint32_t endpoint_id, uint32_t tokens) override { router_.load_sent(endpoint_id, tokens); }
  void load_done(uint32_t endpoint_id, uint32_t tokens) override { router_.load_done(endpoint_id, tokens); }

  // UpstreamSide: in EPP mode the Gateway sends the request; "opening" an attempt is
  // handing the decision back to the stream that asked.
  proxy::UpstreamChannel* open(uint32_t endpoint_id, const net::Address& address, bool allow_reuse,
                               const proxy::RequestImage& image, proxy::AttemptListener* listener) override;

 private:
  proxy::ProxyOptions options_;
  int index_;
  metrics::WorkerStats stats_;
  proxy::WorkerCounters counters_;
  proxy::RequestRouter router_;
  proxy::RulesPublisher::Reader rules_reader_;
  proxy::CatalogPublisher::Reader catalog_reader_;
  net::Timers timers_;
  uint64_t now_ms_ = 0;
  proxy::ExchangeEnv env_;
  EppHold hold_;  // streams waiting for a model's first server
  ExtProcStream* current_ = nullptr;
  std::vector<uint32_t> exclude_;  // route(): endpoints outside a subset hint, reused
  std::string address_scratch_;
};

}  // namespace ringgate::epp
