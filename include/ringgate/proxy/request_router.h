#pragma once
// THE routing seam: everything the proxy knows about a request goes in, one endpoint
// (or an error status) comes out. One RequestRouter per worker: it reads the newest
// endpoint snapshot the control plane published (picked up once per loop turn, no
// lock), hashes the prompt into prefix blocks and asks the scheduler (filters →
// queue / kv-cache / prefix scorers → max-score picker). The prefix index and the
// in-flight counts it consults are shared by every worker.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/net/address.h"
#include "ringgate/proxy/passive_health.h"
#include "ringgate/proxy/proxy_options.h"
#include "ringgate/kvevents/block_hash_memo.h"
#include "ringgate/kvevents/vllm_block_hash.h"
#include "ringgate/openai/prompt_tokenizer.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/placement_record.h"
#include "ringgate/sched/prefix_hasher.h"
#include "ringgate/sched/prefix_index.h"
#include "ringgate/proxy/response_arrivals.h"
#include "ringgate/proxy/response_record.h"
#include "ringgate/proxy/response_table.h"
#include "ringgate/sched/session_keys.h"
#include "ringgate/sched/rng.h"
#include "ringgate/sched/scheduler.h"
#include "ringgate/sched/scheduler_config.h"
#include "ringgate/sched/snapshot_publisher.h"

namespace ringgate::proxy {

// What every worker's router shares (owned by the control plane).
struct RouterShared {
  sched::SnapshotPublisher* publisher = nullptr;
  sched::PrefixIndex* index = nullptr;
  sched::InflightCounters* inflight = nullptr;
  PassiveHealth* health = nullptr;  // null = no passive ejection
  sched::SchedulerConfig scheduler;
  size_t prefix_block_bytes = 64;
  sched::MediaWeights media;  // what a media part weighs in the chain (scheduler.tokensPerImage / tokensPerAudio)
  // Precise prefix mode (scheduler.precise_prefix): the KV-event block index.
  const sched::ExactBlockIndex* exact = nullptr;
  // The model's tokenizer (shared, thread-safe); null: ringgate-sim's 4-bytes rule.
  std::shared_ptr<const openai::PromptTokenizer> tokenizer;
  // The latency model's sample rings, one per worker slot (the control plane's; null: none).
  sched::LatencySampleRing* latency_rings = nullptr;
  size_t latency_ring_count = 0;
  // What each worker routed, for the other gateway replicas (sharedState; null: alone).
  sched::PlacementRing* placement_rings = nullptr;
  size_t placement_ring_count = 0;
  // Which server holds each Responses API response (null: none kept).
  ResponseTable* responses = nullptr;
  // What each worker learns of them, for the other gateway replicas (sharedState; null: alone).
  ResponseRing* response_rings = nullptr;
  size_t response_ring_count = 0;
  // What the other replicas taught this one, announced to the workers' waiting requests
  // (one inbox per worker slot; null: alone).
  ResponseArrivals* response_arrivals = nullptr;
};

struct RouteRequest {
  std::string_view model;                          // target model (after any rewrite)
  // The target as a statistics label (names the pool does not know read "other"), so
  // scheduler_attempts_total gets the same folding as the objective series.
  std::string_view stats_target;
  std::span<const std::string_view> prompt_parts;  // completions: prompt(s); chat: role, content, ...
  // Or the prompt's prefix chain, already hashed while the body arrived (chained):
  // the router then only keys it with the model (sched::PrefixHasher::keys).
  std::span<const uint64_t> prefix_chain;
  bool chained = false;
  size_t root_blocks = 0;  // PromptDigest::root_blocks() when chained; 0: none
  uint64_t prompt_bytes = 0;  // PromptDigest::prompt_bytes() when chained (else prompt_parts say)
  std::string_view body;  // the request body (precise mode tokenizes its prompt)
  openai::TextFields text_fields = 0;  // where the body's prompt is (the route's routed_text()); 0: none
  std::string_view session_id;                     // affinity hint; empty = none
  sched::SessionSource session_source = sched::SessionSource::None;  // which key it is (/debug/pick)
  bool sheddable = false;                          // may be refused with 429 when saturated
  // Flow control: saturated endpoints are left out; with none left, `saturated` is
  // answered and the request waits in the gateway.
  bool hold_when_saturated = false;
  const sched::SaturationConfig* saturation = nullptr;  // null = the scheduler's
  std::span<const uint32_t> exclude;               // endpoints already tried for this request
  // The request's first decision: counted in scheduler_attempts_total (a retry is not
  // a new scheduling attempt of the request).
  bool first_attempt = true;
  // A dry run (/debug/pick): the same decision, recorded nowhere: no statistics, no
  // tokenizer outcome, no half-open trial claimed (and the caller never calls routed()).
  bool dry_run = false;
  // Which leg of a disaggregated request this picks for (the decode leg: every request
  // that is not split).
  sched::PickLeg leg = sched::PickLeg::Decode;
  // Latency objectives (x-slo-ttft-ms / x-slo-tpot-ms): the SLO-aware pick places it.
  sched::SloTargets slo;
};

struct RouteDecision {
  int status = 0;  // 0 = routed; else the error status (404 unknown model, 503 no endpoint, 429)
  uint32_t endpoint_id = 0;
  uint64_t server = 0;  // the endpoint's address hash (sched::address_hash): its server in every replica
  sched::DataParallelRank dp;  // the endpoint's rank; dp.header: the request names it (X-data-parallel-rank)
  net::Address address;
  std::string_view endpoint_host;  // valid until the next refresh()
  uint16_t endpoint_port = 0;
  std::string_view code;           // on error
  std::string_view message;        // on error
  bool saturated = false;          // every candidate was saturated (status 429)
  sched::PickReason reason = sched::PickReason::None;
  uint32_t matched_blocks = 0;     // leading prefix blocks the chosen endpoint holds
  bool prefix_stood_down = false;  // sched::PickResult's
  uint32_t total_blocks = 0;       // prefix blocks of the request (approximate units)
  uint32_t precise_blocks = 0;     // vLLM block hashes of the prompt (precise mode; 0 = approximate)
  uint32_t candidates = 0;         // endpoints the pick chose among (its trace span says)
  // The prompt's tokens the chosen endpoint does not hold, as llm-d's prefix-based P/D
  // decider counts them (4 bytes a token, whole prefix blocks).
  uint32_t uncached_tokens = 0;
  // The request's latency features at the chosen endpoint, as the latency model will learn
  // from them (sched::PickResult::features).
  sched::LatencyFeatures features;
  // Tokens it adds to the endpoint's in-flight token load (llm-d's inflight-load-producer):
  // its prompt's (whole prefix blocks, 4 bytes a token), and 1.5x as many estimated output
  // tokens unless scheduler.scorers.token-load.addEstimatedOutputTokens is false.
  uint32_t load_tokens = 0;
  bool slo_met = false;  // an SLO-aware pick (reason Slo) found a server predicted to meet them
  // An SLO-aware pick with a TTFT objective: (objective - predicted TTFT) / objective at the
  // chosen server (hedging reads it); else +inf.
  double ttft_headroom = std::numeric_limits<double>::infinity();
  // The prompt's prefix blocks as routing hashed them (a view of the router's scratch,
  // valid until its next route(): a RouteTicket copies them); empty for route_to().
  std::span<const uint64_t> prefix_hashes;
  // When the scheduling began and ended (steady ns; 0: not timed, as a dry run): its
  // duration metric's clock reads, which the pick's trace span reuses.
  uint64_t started_ns = 0, ended_ns = 0;
};

// The prompt tokens a decision's endpoint has to prefill, as the latency model counts them
// pending there (bounded: a feature is clamped to 1e7 tokens anyway).
inline uint32_t pending_prefill_tokens(const RouteDecision& d) {
  return uint32_t(std::clamp(d.features.ttft.uncached_prompt_tokens, 0.0, 1e7));
}

class RequestRouter {
 public:
  RequestRouter(const RouterShared& shared, size_t worker_slot, metrics::WorkerStats& stats);
  ~RequestRouter();
  RequestRouter(const RequestRouter&) = delete;
  RequestRouter& operator=(const RequestRouter&) = delete;

  // Top of the worker loop: adopt the newest snapshot (views from route() die here).
  void refresh() { snapshot_ = reader_.refresh(); }
  const sched::EndpointSnapshot* snapshot() const { return snapshot_; }

  // A decision with status 0 holds a slot at its endpoint (counted in flight), which its
  // RouteService takes at once into the ticket it returns (Routed: RouteService::route());
  // the ticket records the request there (routed()) and gives the slot back (released()).
  // A dry run counts nothing, so /debug/pick holds no slot.
  RouteDecision route(const RouteRequest& request);
  // The request must go to the server at `server` (an address hash: the one holding the
  // response it names), whatever its load or health: one of its engines, a routable one
  // first. Counted in flight as route() counts; status 404 when the pool has no such server.
  RouteDecision route_to(uint64_t server, const RouteRequest& request);
  // Every candidate's signals and scores in the last route() that scored (views die
  // at the next route()).
  std::span<const sched::EndpointSignals> last_candidates() const { return scheduler_.last_candidates(); }
  std::span<const sched::EndpointSignals> last_gathered() const { return scheduler_.last_gathered(); }
  const sched::SchedulerConfig& scheduler_config() const { return scheduler_.config(); }
  // Whether requests may be split into prefill and decode legs now: `disaggregation.enabled`,
  // by default whether the pool has a routable prefill pod.
  bool disaggregating(const DisaggregationOptions& options) const {
    return snapshot_ != nullptr && options.non_cached_tokens > 0 &&
           options.enabled.value_or(snapshot_->has_routable_prefill());
  }
  // The request was handed to `endpoint_id`: remember its prefix (`prefix_hashes`, its
  // decision's) there.
  void routed(uint32_t endpoint_id, std::span<const uint64_t> prefix_hashes);
  // The request left `endpoint_id` (finished, failed, abandoned).
  void released(uint32_t endpoint_id, bool sheddable) { shared_.inflight->sub(endpoint_id, sheddable); }
  // A request awaiting its first token at `endpoint_id` (the latency model's in-flight
  // prefill tokens and the awaiting requests' age): sent, then done with the same numbers.
  void prefill_sent(uint32_t endpoint_id, uint32_t tokens, uint64_t sent_ms) {
    shared_.inflight->add_awaiting(endpoint_id, tokens, int64_t(sent_ms));
  }
  void prefill_done(uint32_t endpoint_id, uint32_t tokens, uint64_t sent_ms) {
    shared_.inflight->sub_awaiting(endpoint_id, tokens, int64_t(sent_ms));
  }
  // A request's token load at `endpoint_id` (the token-load scorer's): sent, then done.
  void load_sent(uint32_t endpoint_id, uint32_t tokens) { shared_.inflight->add_tokens(endpoint_id, tokens); }
  void load_done(uint32_t endpoint_id, uint32_t tokens) { shared_.inflight->sub_tokens(endpoint_id, tokens); }
  // One answered request for the latency model: into this worker's ring (dropped and
  // counted when full; the control thread drains it).
  void latency_observed(const sched::LatencySample& sample) {
    if (latency_ring_ == nullptr) return;
    if (sched::LatencySample* slot = latency_ring_->claim()) {
      *slot = sample;
      latency_ring_->commit();
    }
  }
  // What requests learn about endpoints (passive health); may be null.
  PassiveHealth* health() const { return shared_.health; }

 private:
  void count_attempt(const RouteRequest& request, bool success, uint32_t endpoint_id);
  // Counts the request in flight at `endpoint_id`; false (nothing counted) when that
  // crossed a saturation limit the request is held to.
  bool claim(uint32_t endpoint_id, const RouteRequest& request);

  // Precise mode: stops the tokenizer after a long prompt's first KiB when no server
  // holds all of their blocks (the rest could change no score).
  struct LeadProbe final : openai::TokenProbe {
    explicit LeadProbe(RequestRouter& r) : router(r) {}
    void start(std::string_view target_model);  // before each encode()
    bool wants_more(std::span<const uint32_t> ids, std::size_t whole_ids) override;
    RequestRouter& router;
    std::string_view model, lora;  // lora: vLLM's extra_keys (the adapter, if the model is one)
    bool stopped = false;          // the prompt's ids are the lead's; its hashes in precise_hashes_
    std::size_t whole_blocks = 0;  // then: an estimate of the whole prompt's blocks
  };

  RouterShared shared_;
  sched::LatencySampleRing* latency_ring_ = nullptr;  // this worker's (null: none)
  sched::PlacementRing* placement_ring_ = nullptr;    // this worker's (null: no replicas to tell)
  sched::SnapshotPublisher::Reader reader_;
  const sched::EndpointSnapshot* snapshot_ = nullptr;
  sched::PrefixHasher hasher_;
  sched::Scheduler scheduler_;
  sched::Rng rng_;
  metrics::WorkerStats& stats_;
  std::vector<uint64_t> hashes_;  // a route()'s prefix blocks (its decision's prefix_hashes), reused
  // Precise mode: the prompt's token ids and vLLM block hashes, reused.
  std::shared_ptr<const openai::PromptTokenizer> tokenizer_;
  std::unique_ptr<kvevents::VllmBlockHasher> vllm_hasher_;
  std::vector<kvevents::MediaPlaceholder> media_runs_;     // the prompt's media parts (SimByteTokenizer)
  std::unique_ptr<kvevents::BlockHashMemo> block_hashes_;  // over vllm_hasher_
  std::vector<uint32_t> token_ids_;
  std::vector<uint64_t> precise_hashes_;
  LeadProbe probe_{*this};
  std::vector<uint32_t> exclude_; // tried + passively ejected endpoints, reused
  std::string key_scratch_;       // scheduler_attempts_total keys
};

}  // namespace ringgate::proxy
