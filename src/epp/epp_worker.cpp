#include "ringgate/epp/epp_worker.h"

#include <time.h>

#include <algorithm>
#include <random>

#include "ringgate/epp/ext_proc_stream.h"
#include "ringgate/util/monotonic_clock.h"

namespace ringgate::epp {

namespace {

uint64_t monotonic_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000u + uint64_t(ts.tv_nsec) / 1000000u;
}

// Before the first publication (and in tests that publish nothing).
const proxy::RequestRules kNoRules;
const proxy::ModelCatalog kNoModels;

// The Gateway owns the upstream connection, its retries and its timeouts: the
// Exchange here makes one decision per request and never re-routes on its own.
proxy::ProxyOptions epp_options(proxy::ProxyOptions options) {
  options.max_attempts = 1;
  options.request_timeout_ms = 0;
  options.max_client_buffer_bytes = SIZE_MAX;  // nothing is buffered for a client here
  options.migration.enabled = false;           // the Gateway relays the stream, not the EPP
  return options;
}

}  // namespace

EppWorker::EppWorker(const EppWorkerContext& context, int index)
    : options_(epp_options(context.options)),
      index_(index),
      router_(context.router, size_t(index), stats_),
      hold_(context.workers, stats_.held_models) {
  if (options_.access_log_ring_slots) stats_.access_log.enable(options_.access_log_ring_slots);
  if (options_.tracing.enabled) stats_.spans.enable(options_.tracing.ring_slots);
  if (context.rules) rules_reader_ = context.rules->reader(size_t(index));
  if (context.catalog) catalog_reader_ = context.catalog->reader(size_t(index));
  now_ms_ = monotonic_ms();
  env_.options = &options_;
  env_.counters = &counters_;
  env_.stats = &stats_;
  env_.labels = context.labels;
  env_.router = this;
  env_.rules = &kNoRules;
  env_.catalog = &kNoModels;
  env_.upstreams = this;
  env_.timers = &timers_;
  env_.now_ms = &now_ms_;
  env_.rng = sched::Rng(0xe99ull * uint64_t(index + 1));
  // Trace ids must differ between processes (and restarts), not only between threads.
  env_.trace_ids = util::TraceIdSource(std::random_device{}() ^ (uint64_t(std::random_device{}()) << 32) ^
                                       (uint64_t(index) << 56) ^ uint64_t(util::steady_ns()));
  env_.worker_index = index;
  env_.sends_prefill_leg = false;  // llm-d's routing sidecar on the decode pod does
  // A request for a model with no ready server is held as in the gateway (ModelHold): its
  // stream gets no answer until a server appears or noEndpointRequestTTL runs out. There is
  // no flow-control queue here (env_.flow stays null): a held request that finds only a
  // saturated server stays held, paced by the saturation detector.
  hold_.attach(env_, kNoRules);
  refresh();
}

EppWorker::~EppWorker() {
  rules_reader_.release();
  catalog_reader_.release();
}

void EppWorker::refresh() {
  now_ms_ = monotonic_ms();
  router_.refresh();
  if (const proxy::RequestRules* rules = rules_reader_.refresh()) env_.rules = rules;
  hold_.adopt(*env_.rules);
  if (const proxy::ModelCatalog* catalog = catalog_reader_.refresh()) env_.catalog = catalog;
  if (hold_.snapshot_changed(router_.snapshot())) settle_resumed();
}

void EppWorker::tick() {
  refresh();
  timers_.run(now_ms_);
  if (hold_.expire(now_ms_)) settle_resumed();
  counters_.loop_ticks.add();
}

void EppWorker::resuming(ExtProcStream* stream) {
  current_ = stream;
  hold_.resumed(stream);
}

void EppWorker::settle_resumed() {
  current_ = nullptr;
  hold_.settle();
}

void EppWorker::forget(ExtProcStream* stream) {
  if (current_ == stream) current_ = nullptr;
  hold_.forget(stream);
}

std::optional<std::string> EppWorker::any_endpoint() {
  const sched::EndpointSnapshot* snapshot = router_.snapshot();
  if (snapshot == nullptr) return std::nullopt;
  size_t routable = 0;
  for (const sched::EndpointState& e : snapshot->endpoints()) routable += e.routable ? 1 : 0;
  if (routable == 0) return std::nullopt;
  size_t pick = size_t(env_.rng.next() % routable);
  for (const sched::EndpointState& e : snapshot->endpoints()) {
    if (!e.routable) continue;
    if (pick-- == 0) {
      const std::optional<net::Address> address = net::Address::from(e.address.sockaddr);
      if (!address) return std::nullopt;
      return address->to_string();
    }
  }
  return std::nullopt;
}

// The Exchange's routing, narrowed to the stream's subset hint when it has one; the slot a
// decision counted is taken into its ticket at once.
proxy::Routed EppWorker::route(const proxy::RouteRequest& request) {
  if (current_ == nullptr || !current_->has_subset())
    return proxy::Routed(*this, router_.route(request), request.sheddable);
  const sched::EndpointSnapshot* snapshot = router_.snapshot();
  const std::vector<std::string>& subset = current_->subset();
  exclude_.assign(request.exclude.begin(), request.exclude.end());
  if (snapshot) {
    for (const sched::EndpointState& e : snapshot->endpoints()) {
      const std::optional<net::Address> address = net::Address::from(e.address.sockaddr);
      address_scratch_ = address ? address->to_string() : std::string();
      if (!std::binary_search(subset.begin(), subset.end(), address_scratch_)) exclude_.push_back(e.id);
    }
  }
  proxy::RouteRequest narrowed = request;
  narrowed.exclude = exclude_;
  proxy::Routed routed(*this, router_.route(narrowed), request.sheddable);
  proxy::RouteDecision& decision = routed.decision;
  if (decision.status == 502) {  // every candidate left out: the protocol's answer is 503, at once
    decision.status = 503;
    decision.code = "no_endpoint_in_subset";  // not held: "no_endpoint" is a pool with no server
    decision.message = "no endpoint of the gateway's subset hint serves the requested model";
  }
  return routed;
}

void EppWorker::endpoint_failed(uint32_t endpoint_id) {
  if (proxy::PassiveHealth* health = router_.health()) health->record_failure(endpoint_id, proxy::PassiveHealth::now_ms());
}

void EppWorker::endpoint_succeeded(uint32_t endpoint_id) {
  if (proxy::PassiveHealth* health = router_.health()) health->record_success(endpoint_id, proxy::PassiveHealth::now_ms());
}

proxy::UpstreamChannel* EppWorker::open(uint32_t, const net::Address& address, bool, const proxy::RequestImage& image,
                                        proxy::AttemptListener* listener) {
  ExtProcStream* stream = current_;
  if (stream == nullptr) return nullptr;
  return stream->opened(address, image, listener);
}

}  // namespace ringgate::epp
