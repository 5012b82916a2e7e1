#pragma once
// The immutable view of the pool that the control thread publishes and every
// worker schedules against (see SnapshotPublisher). Built once by the control
// thread (allocation is fine there), never modified after publication.

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/metrics/vllm_metrics.h"
#include "ringgate/sched/context_length_range.h"
#include "ringgate/sched/endpoint_id.h"
#include "ringgate/sched/endpoint_role.h"
#include "ringgate/sched/latency_model.h"

namespace ringgate::sched {

using Clock = std::chrono::steady_clock;

struct EndpointAddress {
  std::string host;  // as configured / discovered (IP or name)
  uint16_t port = 0;
  sockaddr_storage sockaddr{};  // resolved by the control thread
  socklen_t sockaddr_len = 0;   // 0 = not resolved
  std::string text() const;     // "host:port" ([v6]:port for IPv6 literals)
};

// vllm:lora_requests_info as last scraped, for the lora-affinity scorer: the adapters with
// running requests and those with waiting ones (each sorted, unique; at most
// metrics::ScrapeLimits::max_adapters in all, the parser refuses a page with more) and
// the server's --max-loras (max_lora, 0 = not said).
struct EndpointLoras {
  bool reported = false;  // the last scrape had vllm:lora_requests_info
  uint32_t max_lora = 0;
  std::vector<std::string> running;
  std::vector<std::string> waiting;

  // From a scrape's lora_requests_info (not present: nothing known). Control thread.
  void assign(const metrics::LoraInfo& info);
  bool is_running(std::string_view adapter) const;
  bool is_waiting(std::string_view adapter) const;
};

// What the other gateway replicas have in flight to one endpoint (sharedState).
struct RemoteLoad {
  int64_t inflight = 0;        // requests
  int64_t prefill_tokens = 0;  // prompt tokens whose first token has not come
  bool operator==(const RemoteLoad&) const = default;
};

// Data parallelism (docs/scheduling.md, "Data-parallel ranks (wide-EP pods)"): an
// endpoint is one engine. Its pod is the failure domain it shares with the other engines
// on it; its rank is its data-parallel rank, reached on a port of its own (vLLM's external
// load balancing, one targetPort per rank) or, when `header`, on its server's one port
// with `X-data-parallel-rank: rank` on each request (internal or hybrid balancing).
struct DataParallelRank {
  int32_t rank = -1;    // -1: not a rank of a data-parallel server
  bool header = false;  // the rank shares its server's port: the request names it
  bool operator==(const DataParallelRank&) const = default;
};
inline constexpr int32_t kMaxDataParallelRank = 1023;  // vLLM ranks are small numbers; a bound for what discovery says

struct EndpointState {
  EndpointId id = kNoEndpoint;
  EndpointAddress address;
  // Hash of "host:port" ("host:port#rank" for a rank addressed by header), the same in
  // every gateway replica: rendezvous placement uses it (EndpointIds depend on
  // registration order).
  uint64_t address_hash = 0;
  std::string pod;  // its failure domain: the pod's name, else the host
  DataParallelRank dp;
  std::vector<std::string> models;         // base models served
  std::vector<std::string> lora_adapters;  // adapters (lora_requests_info and/or config)
  EndpointLoras loras;                     // which run / wait now (lora_requests_info)
  bool routable = false;                   // healthy, ready, not ejected
  bool has_metrics = false;                // at least one successful scrape
  Clock::time_point scraped_at{};          // time of that scrape
  metrics::VllmMetrics metrics;            // last successful scrape
  uint64_t num_gpu_blocks = 0;             // 0 = unknown (cache_config_info)
  uint64_t num_cpu_blocks = 0;             // its offload tier's; 0 = none or unknown
  uint64_t block_size = 0;                 // tokens per KV block, 0 = unknown
  EndpointRole role = EndpointRole::Both;  // P/D disaggregation (label llm-d.ai/role, static `role`)
  // The prompt lengths it is deployed for (label llm-d.ai/context-length-range, static
  // `contextLengthRange`): the context-length scorer and filter read it.
  ContextLengthRange context_range;
  // Locality level (a static entry's `priority`, 0 = local) and whether it is a leaf
  // gateway (kind: gateway) rather than a model server.
  uint32_t priority = 0;
  bool gateway = false;
  // What the other gateway replicas have in flight to it (sharedState; 0 without):
  // requests, and prompt tokens sent whose first token has not come (the latency model's
  // in-flight prefill).
  int64_t remote_inflight = 0;
  int64_t remote_prefill_tokens = 0;
  // The sequences it runs at once (vLLM's max_num_seqs, which no metric states): the most
  // a scrape saw it run, once a scrape has seen requests wait there (a server that never
  // queued has shown no limit); 0 before. Not "the most running while others waited":
  // vLLM shows a request waiting until its next step at any load, and that count would
  // be far below the limit. The latency model's slot waits (latency_prediction.h).
  double slots = 0;
  // Its fitted latency model as of this snapshot (LatencyModel::coefficients: its own fit,
  // or the pool's while it has few samples); workers predict from this copy.
  LatencyCoefficients latency;

  // Metrics younger than max_age at `now`.
  bool metrics_fresh(Clock::time_point now, Clock::duration max_age) const {
    return has_metrics && now - scraped_at <= max_age;
  }
};

// The few fields the scheduler reads for every candidate on every request,
// packed contiguously (EndpointState is large: reading these from it costs a
// cache miss or two per endpoint at 256 endpoints).
struct EndpointScoringView {
  EndpointId id = kNoEndpoint;
  bool has_metrics = false;
  Clock::time_point scraped_at{};
  double waiting = 0;
  double running = 0;
  double kv_cache_usage = 0;
  uint64_t address_hash = 0;
  EndpointRole role = EndpointRole::Both;
  ContextLengthRange context_range;
  uint32_t priority = 0;        // locality level (EndpointState::priority)
  int64_t remote_inflight = 0;  // the other replicas' (sharedState)
  int64_t remote_prefill_tokens = 0;
  double slots = 0;
  LatencyCoefficients latency;  // read only by the latency scorer and the SLO pick
};

class EndpointSnapshot {
 public:
  // Indexes `endpoints` (any order) by id and by model. Ids must be unique.
  explicit EndpointSnapshot(std::vector<EndpointState> endpoints);

  // Set by SnapshotPublisher::publish; 0 before publication.
  uint64_t version() const { return version_; }
  void set_version(uint64_t v) { version_ = v; }

  std::span<const EndpointState> endpoints() const { return endpoints_; }
  size_t size() const { return endpoints_.size(); }
  const EndpointState& at(size_t index) const { return endpoints_[index]; }
  const EndpointScoringView& scoring_view(size_t index) const { return scoring_views_[index]; }
  // Index into endpoints() or -1.
  ptrdiff_t index_of(EndpointId id) const;
  // One more than the largest id (sizes per-id arrays), 0 if empty.
  EndpointId id_limit() const { return id_limit_; }

  // Endpoints (indices into endpoints()) serving `model` as a base model or a
  // LoRA adapter. `serving` includes unroutable ones; `routable` only routable.
  struct ModelEndpoints {
    std::span<const uint32_t> serving;
    std::span<const uint32_t> routable;
  };
  // Empty spans when no endpoint serves the model. No allocation.
  ModelEndpoints endpoints_for(std::string_view model) const;
  // Every model / adapter name known, sorted.
  std::span<const std::string> model_names() const { return model_names_; }
  // Some routable endpoint has role prefill: a request could be split now (P/D
  // disaggregation). Computed once here, a load on the data path.
  bool has_routable_prefill() const { return has_routable_prefill_; }
  // Gateway replicas routing to this pool, this one included, as the shared state last
  // saw them (1: alone, or no sharedState), and whether this replica's prefix index holds
  // what the others routed (their placements, as last exchanged). Without that, it holds
  // only the prompts it routed itself, so an unseen prompt may be another replica's.
  uint64_t gateway_replicas() const { return gateway_replicas_; }
  bool prefix_index_shared() const { return prefix_index_shared_; }
  void set_gateway_replicas(uint64_t n, bool index_shared = false) {
    gateway_replicas_ = std::max<uint64_t>(n, 1);
    prefix_index_shared_ = index_shared;
  }

 private:
  uint64_t version_ = 0;
  uint64_t gateway_replicas_ = 1;
  bool prefix_index_shared_ = false;
  std::vector<EndpointState> endpoints_;
  std::vector<EndpointScoringView> scoring_views_;  // parallel to endpoints_
  EndpointId id_limit_ = 0;
  std::vector<int32_t> index_by_id_;      // id -> index or -1
  std::vector<std::string> model_names_;  // sorted
  struct Range {
    uint32_t begin, serving_end, routable_end;
  };
  std::vector<Range> model_ranges_;      // parallel to model_names_
  std::vector<uint32_t> model_members_;  // per model: routable first, then the rest
  bool has_routable_prefill_ = false;
};

// Convenience for the control thread / tests: xxh3 of "host:port", or of
// "host:port#rank" for a rank addressed by header (dp.header).
uint64_t address_hash(std::string_view host, uint16_t port, DataParallelRank dp = {});

// The endpoints that answer on the same address as `id` (itself included): the ranks of
// one data-parallel server behind one port, which fail together when that server does.
// Indices into snapshot.endpoints(); appended to `out`. Linear in the snapshot: for
// failure paths and the control thread, not per request.
void same_server(const EndpointSnapshot& snapshot, EndpointId id, std::vector<EndpointId>& out);

// Control thread, after a successful scrape: copies the metrics, marks them
// fresh as of `scraped_at`, takes num_gpu_blocks/block_size from
// cache_config_info when reported, and sets lora_adapters to `known_adapters`
// (from config or /v1/models: vLLM only lists adapters with running/waiting
// requests in lora_requests_info) plus those running/waiting adapters, and `loras` to
// the running / waiting sets.
void apply_scrape(EndpointState& endpoint, const metrics::VllmMetrics& scraped, Clock::time_point scraped_at,
                  std::span<const std::string> known_adapters = {});

}  // namespace ringgate::sched
