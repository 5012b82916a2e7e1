#pragma once
// What an exchange works with: routing (RouteService), its client connection
// (ExchangeClient) and what every exchange of a worker shares (ExchangeEnv). The
// worker implements the interfaces; tests/proxy/exchange_test.cpp fakes them.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/net/timeout_list.h"
#include "ringgate/openai/request_body.h"
#include "ringgate/openai/stream_event.h"
#include "ringgate/proxy/api_key_table.h"
#include "ringgate/proxy/flow_queue.h"
#include "ringgate/proxy/model_hold.h"
#include "ringgate/proxy/hedging.h"
#include "ringgate/proxy/model_catalog.h"
#include "ringgate/proxy/prompt_digest.h"
#include "ringgate/proxy/proxy_options.h"
#include "ringgate/proxy/rate_limiter.h"
#include "ringgate/proxy/request_router.h"
#include "ringgate/proxy/request_rules.h"
#include "ringgate/proxy/route_ticket.h"
#include "ringgate/proxy/upstream_side.h"
#include "ringgate/proxy/worker_counters.h"
#include "ringgate/sched/latency_sample.h"
#include "ringgate/sched/rng.h"
#include "ringgate/util/trace_context.h"

namespace ringgate::proxy {

// Routing and passive health as an exchange sees them (RequestRouter in the worker).
class ResponseWaiters;

class RouteService {
 public:
  virtual ~RouteService() = default;
  // The request's endpoint and the ticket of the slot counted there (Routed: nothing
  // counted when status != 0). Dropping it unsent gives the slot back.
  virtual Routed route(const RouteRequest& request) = 0;
  // To the server `server` (an address hash) whatever its load (RequestRouter::route_to).
  // (Fakes that know no servers need not: none is found.)
  virtual Routed route_to(uint64_t /*server*/, const RouteRequest& /*request*/) {
    Routed none;
    none.decision.status = 404;
    none.decision.code = "server_gone";
    return none;
  }
  // The endpoints that fail with `endpoint_id` when its server does: the ranks behind its
  // server's one port (sched::same_server), else itself. Appended to `out`; failure paths only.
  virtual void same_server(uint32_t endpoint_id, std::vector<uint32_t>& out) { out.push_back(endpoint_id); }
  // The request was handed to `endpoint_id`: the prompt's prefix (its route()'s
  // RouteDecision::prefix_hashes, as a RouteTicket carries them) is recorded there.
  virtual void routed(uint32_t endpoint_id, std::span<const uint64_t> prefix_hashes) = 0;
  virtual void released(uint32_t endpoint_id, bool sheddable) = 0;
  virtual void endpoint_failed(uint32_t endpoint_id) = 0;
  virtual void endpoint_succeeded(uint32_t endpoint_id) = 0;
  // Requests may be split into prefill and decode legs now (RequestRouter::disaggregating).
  virtual bool disaggregating() const = 0;
  // The latency model's inputs (issue 35; no-ops where nothing learns, e.g. test fakes):
  // a request sent to an endpoint (its uncached prompt tokens, when: steady-clock ms),
  // awaiting its first token there until prefill_done with the same numbers, and one
  // answered request's sample.
  virtual void prefill_sent(uint32_t /*endpoint_id*/, uint32_t /*tokens*/, uint64_t /*sent_ms*/) {}
  virtual void prefill_done(uint32_t /*endpoint_id*/, uint32_t /*tokens*/, uint64_t /*sent_ms*/) {}
  virtual void latency_observed(const sched::LatencySample& /*sample*/) {}
  // The token-load scorer's in-flight tokens (RouteDecision::load_tokens): added when a
  // request is sent to an endpoint, removed with the same number when it leaves. An
  // accounting rule of every mode, as routed/released are (no default: EPP mode once
  // inherited a no-op and its token-load scorer saw every server idle).
  virtual void load_sent(uint32_t endpoint_id, uint32_t tokens) = 0;
  virtual void load_done(uint32_t endpoint_id, uint32_t tokens) = 0;

 private:
  friend class RouteTicket;
  // The prefix-hash buffers its tickets gave back, for its next tickets to fill (a routed
  // leg allocates none once as many legs ran at once). Its worker's, as its tickets are.
  std::vector<std::vector<uint64_t>> spare_hashes_;
};

// The client connection as an exchange sees it.
class ExchangeClient {
 public:
  virtual ~ExchangeClient() = default;
  virtual std::string& output() = 0;  // bytes queued for the client
  virtual void flush() = 0;
  // The response is entirely in output(): go on (keep_alive) or close after sending it.
  virtual void exchange_finished(bool keep_alive) = 0;
  // The response cannot be completed: send what is queued, then cut the connection
  // without ending the body (no terminating chunk; short of Content-Length).
  virtual void exchange_aborted() = 0;
  // The client's transport frames a body itself (an HTTP/2 stream's DATA frames): the
  // reply adds no chunking. Its head is still written as HTTP/1.1 text, which such a
  // client turns into its own (HEADERS).
  virtual bool frames_body() const { return false; }
  // The exchange runs again from a queue it waited in (a dispatch offer or an eviction),
  // outside any call of the client's: EPP mode makes the stream current (its subset hint,
  // its pick) and answers it after the queue's cycle.
  virtual void exchange_resumed() {}
};

// What every exchange of a worker shares.
struct ExchangeEnv {
  const ProxyOptions* options = nullptr;
  WorkerCounters* counters = nullptr;
  metrics::WorkerStats* stats = nullptr;
  metrics::LabelBounds* labels = nullptr;  // shared by the workers: label values they may add; null = no bound
  RouteService* router = nullptr;
  const RequestRules* rules = nullptr;  // the worker's current rules (swapped between turns)
  const ModelCatalog* catalog = nullptr;  // the worker's current model catalog (/v1/models, statistics labels)
  UpstreamSide* upstreams = nullptr;
  // Flow control: this worker's queue and its share of the bounds (null = none).
  FlowQueue* flow = nullptr;
  const FlowLimits* flow_limits = nullptr;
  // Holding for models with no ready server (null = none: such a request is answered 503);
  // its bounds are flow_limits'.
  ModelHold* hold = nullptr;
  RateLimiter* limiter = nullptr;  // shared by the workers; null = no rate limits
  ResponseTable* responses = nullptr;            // shared by the workers; null = none kept
  ResponseRing* response_ring = nullptr;         // this worker's, for the other replicas; null = alone
  ResponseWaiters* response_waiters = nullptr;   // this worker's waits for the others' ids; null = alone
  const ApiKeyTable* api_keys = nullptr;  // the worker's current keys; null = auth off
  net::Timers* timers = nullptr;
  const uint64_t* now_ms = nullptr;
  openai::BodyReader body_reader;
  openai::StreamEventReader stream_events;  // streams being continued read their events with it
  // How the digests hash prompts (the routers' block size and media weights) and where they
  // count media parts. Named for its first field: Exchange's constructor hands it to its
  // PromptDigest as `digest_(env.prefix_block_bytes)`.
  DigestOptions prefix_block_bytes;
  sched::Rng rng{1};
  util::TraceIdSource trace_ids{1};  // trace and span ids (the worker seeds it)
  HedgeBudget hedge_budget;  // this worker's hedges (hedging.maxExtraLoad)
  std::string key_scratch;
  int worker_index = 0;
  uint64_t request_serial = 0;
  bool draining = false;
  // A split request's prefill leg is sent by the exchange (gateway mode); in EPP mode the
  // decode pod's routing sidecar sends it, told the prefill pod by x-prefiller-host-port.
  bool sends_prefill_leg = true;
};

}  // namespace ringgate::proxy
