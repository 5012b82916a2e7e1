#pragma once
// The control thread's live table of model servers: who is in the pool (from
// discovery), what each serves (its /v1/models), how loaded it is (its /metrics,
// polled every poll_interval, wall-clock aligned), and whether it is routable. Turned into an
// immutable sched::EndpointSnapshot for the workers after every change.
// Control thread only.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringgate/control/epoll_loop.h"
#include "ringgate/control/http_get_client.h"
#include "ringgate/metrics/vllm_metrics.h"
#include "ringgate/metrics/vllm_metrics_parser.h"
#include "ringgate/sched/endpoint_registry.h"
#include "ringgate/sched/endpoint_snapshot.h"

namespace ringgate::control {

using Clock = sched::Clock;

// What discovery says belongs in the pool.
struct DesiredEndpoint {
  std::string host;  // IP, or a name (static entries: gateway::StaticResolver resolves them first)
  uint16_t port = 0;
  bool ready = true;   // discovery's verdict (Kubernetes: ready and not terminating)
  std::string name;    // pod name when known, else host:port
  // The pod's kv-events.ringgate.io annotations: its KV-event publisher on `host` at
  // these ports (0 = kvEvents.port / replayPort), and why an annotation was ignored.
  uint16_t kv_events_port = 0;
  uint16_t kv_events_replay_port = 0;
  std::string kv_events_problem = {};  // an initializer: aggregate inits may leave it out
  // Prefill/decode disaggregation: the pod's llm-d.ai/role label, a static entry's role.
  sched::EndpointRole role = sched::EndpointRole::Both;
  // Kubernetes: the endpoint is going away (EndpointSlice conditions.terminating, a pod's
  // deletionTimestamp). Never routable (`ready` is false then); what it runs finishes
  // there. Kept apart from `ready` so /debug/endpoints can say why it gets no traffic.
  bool terminating = false;
  // Its failure domain: the pod's name ("" = the host, for static entries). The engines of
  // one pod join, drain and leave together (every membership update replaces them all).
  std::string pod = {};
  // Data parallelism (sched::DataParallelRank): the one rank this port serves (>= 0, its
  // position in the pool's targetPorts / the entry's ports), or -1: then this port serves
  // `data_parallel_size` ranks, each request naming its rank in X-data-parallel-rank (0 =
  // as many as the engine labels of its /metrics name, one when they name fewer than two).
  int32_t rank = -1;
  uint32_t data_parallel_size = 0;
  // The prompt lengths it is deployed for: its pod's llm-d.ai/context-length-range label, a
  // static entry's contextLengthRange (None: any).
  sched::ContextLengthRange context_range = {};
  // A leaf gateway (a static entry's kind: gateway, docs/multi-cluster.md): its load and
  // models come from the load summary on its admin address (/debug/load), read with
  // the key in `admin_key_file` (read when it joins) as a bearer token when one is named;
  // never from /metrics and /v1/models.
  bool gateway = false;
  std::string admin_host = {};
  uint16_t admin_port = 0;
  std::string admin_key_file = {};
  // Locality level (0 = local): the scheduler keeps a request on the lowest level with an
  // unsaturated endpoint for its model.
  uint32_t priority = 0;
};

// Where a leaf gateway's admin port answers its load summary (control/load_summary.h).
inline constexpr const char* kLoadSummaryPath = "/debug/load";

// Ranks one port may serve (vLLM's --data-parallel-size; wide-EP pods run 8 or 16).
inline constexpr uint32_t kMaxDataParallelSize = 64;

struct PoolOptions {
  Clock::duration poll_interval = std::chrono::milliseconds(50);
  Clock::duration scrape_timeout = std::chrono::seconds(1);
  Clock::duration models_refresh = std::chrono::seconds(5);
  // Consecutive failed polls (no answer, a broken connection, a timeout or a 5xx)
  // after which an endpoint stops being routable; one answered poll makes it
  // routable again. A server that answers /metrics with 404 or a body that is not
  // vLLM's is alive, just without load signals (the scheduler then uses in-flight counts).
  uint32_t failed_scrapes_to_unroutable = 2;
  // A server whose /metrics page broke a scrape limit is asked again only after this.
  Clock::duration refused_page_backoff = std::chrono::seconds(2);
  // Models every endpoint serves besides what its /v1/models lists (the --model flag).
  std::vector<std::string> declared_models;
};

// Why an endpoint is or is not routable, for /debug/endpoints and logs.
struct EndpointHealth {
  bool discovered_ready = false;
  bool terminating = false;  // discovery says it is going away (draining: no new requests)
  bool has_models = false;
  bool probed = false;  // its first /v1/models poll has finished (answered or not)
  uint32_t failed_scrapes = 0;
  uint64_t scrapes_ok = 0, scrapes_failed = 0;
  // Load-gauge series of its /metrics whose engine label names no rank it serves (past its
  // declared data-parallel size, or not a number): counted over its life, never read.
  uint64_t undeclared_engine_samples = 0;
  std::string last_error;
};

class EndpointPool {
 public:
  EndpointPool(EpollLoop& loop, sched::EndpointRegistry& registry, PoolOptions options);
  ~EndpointPool();
  EndpointPool(const EndpointPool&) = delete;
  EndpointPool& operator=(const EndpointPool&) = delete;

  // Replaces the membership. Endpoints that left are returned by take_removed()
  // (so their prefix-index entries can be purged).
  void set_members(const std::vector<DesiredEndpoint>& desired);
  std::vector<sched::EndpointId> take_removed();

  // Starts the polls that are due and fails the overdue ones. Call every turn.
  // Scrapes start at multiples of poll_interval on the wall clock (every replica of
  // the gateway at the same instants), after the first one.
  void tick(Clock::time_point now);
  // When the next poll is due (time_point::max() when none): the control loop wakes then.
  Clock::time_point next_due() const;

  // Something changed since the last snapshot was built.
  bool changed() const { return changed_; }
  // `latency`: the fitted latency model whose coefficients each endpoint carries (null: none).
  std::unique_ptr<sched::EndpointSnapshot> build_snapshot(const sched::LatencyModel* latency = nullptr);
  // The next snapshot is wanted for something outside the pool (new latency coefficients).
  void mark_changed() { changed_ = true; }
  // The other replicas' in-flight requests and prefill tokens by address hash, how many
  // replicas there are, this one included, and whether the prefix index holds their
  // placements too (sharedState), carried into the next snapshot; marks the pool changed.
  void set_remote_load(const std::unordered_map<uint64_t, sched::RemoteLoad>& by_address_hash,
                       uint64_t gateway_replicas, bool prefix_index_shared) {
    remote_load_ = by_address_hash;
    gateway_replicas_ = gateway_replicas;
    prefix_index_shared_ = prefix_index_shared;
    changed_ = true;
  }

  size_t size() const { return members_.size(); }
  size_t routable_count() const;
  // Every member has been probed once (so a fresh gateway knows what it can route).
  bool all_probed() const;
  // Per-member health, parallel to the snapshot's endpoint order of the last build.
  const EndpointHealth* health(sched::EndpointId id) const;
  // The engine's name: its pod name when discovery knows it, else host:port; a
  // data-parallel rank's adds "-rank-N", as GAIE names a targetPort's endpoint ("" if unknown id).
  std::string_view name(sched::EndpointId id) const;
  const PoolOptions& options() const { return options_; }
  // Totals over the pool's life (removed endpoints included): monotonic counters.
  uint64_t scrapes_ok() const { return scrapes_ok_; }
  uint64_t scrapes_failed() const { return scrapes_failed_; }
  uint64_t scrapes_unreadable() const { return scrapes_unreadable_; }  // answered 2xx, not vLLM's metrics
  // Leaf gateways' load summaries refused: malformed, past a bound, or stale.
  uint64_t summaries_refused() const { return summaries_refused_; }

 private:
  struct Engine;
  struct Member;
  void on_metrics(Member& m, const GetResult& r);
  void on_models(Member& m, const GetResult& r);
  // A leaf gateway's: its reads of the load summary on its admin address (false: the
  // admin address does not resolve), and their answers.
  bool start_leaf_reads(Member& m, const DesiredEndpoint& d);
  void on_summary(Member& m, const GetResult& r);
  bool routable(const Member& m) const;
  void set_changed() { changed_ = true; }
  // Gives `m` the engines its data-parallel shape asks for (ids kept for ranks it still
  // serves, allocated for new ones, released for those it no longer serves).
  void shape_engines(Member& m);
  void index_members();

  EpollLoop& loop_;
  sched::EndpointRegistry& registry_;
  PoolOptions options_;
  metrics::VllmMetricsParser parser_;
  metrics::VllmMetrics scratch_;
  std::vector<std::unique_ptr<Member>> members_;  // one per address (a server)
  struct EngineRef {
    Member* member;
    size_t engine;  // index into member->engines
  };
  std::unordered_map<sched::EndpointId, EngineRef> by_id_;
  std::vector<sched::EndpointId> removed_;
  bool changed_ = true;
  std::unordered_map<uint64_t, sched::RemoteLoad> remote_load_;
  uint64_t gateway_replicas_ = 1;
  bool prefix_index_shared_ = false;
  uint64_t scrapes_ok_ = 0, scrapes_failed_ = 0, scrapes_unreadable_ = 0;
  uint64_t summaries_refused_ = 0;
};

// The first instant at least half an `interval` after `now` (steady clock) that falls
// on a multiple of `interval` on the wall clock (`wall_now` = CLOCK_REALTIME at `now`);
// `now` itself when interval <= 0. Scrapes start there: gateway replicas on
// synchronised clocks then read every server at the same moments and share one load
// picture (the shared load signal), instead of each at its own phase of the interval.
// The half interval keeps a new member's first poll (made at once, at any phase) and
// its next apart: two failed polls make a server unroutable, and a millisecond apart
// they would both fall in one short outage.
Clock::time_point next_wall_aligned(Clock::time_point now, Clock::duration interval,
                                    std::chrono::system_clock::time_point wall_now);

// Resolves host:port (numeric or a name) to a socket address; false if it cannot.
bool resolve_address(const std::string& host, uint16_t port, sockaddr_storage& out, socklen_t& len);

// Bounds of what one endpoint's /v1/models may list (hostile-server input).
inline constexpr size_t kMaxModelsPerEndpoint = 1024;
inline constexpr size_t kMaxModelNameBytes = 256;  // = openai::kMaxModelBytes
inline constexpr size_t kMaxModelsBodyBytes = 1u << 20;

// Parses an OpenAI /v1/models body: base models (no parent) and adapters (with a
// parent). False on malformed JSON or a list past the bounds above (`why` says which).
bool parse_model_list(std::string_view body, std::vector<std::string>& base_models,
                      std::vector<std::string>& adapters, std::string* why = nullptr);

}  // namespace ringgate::control
