#pragma once
// State shared between gateway replicas through Redis (config `sharedState`, flag
// --redis). Control thread only: the workers never wait on it, they read what the
// control thread publishes. Every sync_interval each replica writes its per-endpoint
// in-flight requests and prefill tokens under its replica id (with a TTL, so a dead
// replica's share expires) and reads the sums of every other live replica's, in one
// atomic Lua script; those sums are published in the endpoint snapshot
// (EndpointState::remote_inflight, remote_prefill_tokens). While Redis is
// down, slow or answering nonsense, the sum is zero (local only) and /metrics and
// /debug/shared say so; once it answers again the next sync shares again. The same
// cadence carries the rate limits' reservations (SharedRateLimits) and what each replica
// routed, into every other's prefix index (SharedPlacements), and the Responses API ids
// each learned, into every other's response table (SharedResponses).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringgate/control/admin_server.h"
#include "ringgate/control/redis_client.h"
#include "ringgate/control/shared_placements.h"
#include "ringgate/control/shared_rate_limits.h"
#include "ringgate/control/shared_responses.h"
#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_index.h"

namespace ringgate::control {

struct SharedStateOptions {
  std::string redis_host;  // empty: no shared state
  uint16_t redis_port = 0;
  std::string password_file;
  std::chrono::milliseconds sync_interval{20};
  std::string key_prefix = "ringgate";  // keys: PREFIX:POOL:replicas, PREFIX:POOL:load:REPLICA
  std::string replica_id;               // empty: hostname:pid:random
  RedisLimits limits;
  bool enabled() const { return !redis_host.empty(); }
};

class SharedState {
 public:
  using Clock = std::chrono::steady_clock;
  // `limiter` (may be null): the workers' rate limiter, whose budgets become shared;
  // `index`: the prefix index the other replicas' placements go into (`workers` rings
  // bring this one's, placement_rings()); `responses`: the response table the others'
  // response ids go into (the workers' response_rings() bring this one's).
  SharedState(EpollLoop& loop, SharedStateOptions options, const std::string& pool_name, proxy::RateLimiter* limiter,
              sched::PrefixIndex& index, proxy::ResponseTable& responses, size_t workers);

  // Control thread, every turn: syncs when due with this replica's counts for the
  // endpoints of `snapshot`.
  void tick(Clock::time_point now, const sched::EndpointSnapshot* snapshot, const sched::InflightCounters& inflight);
  // True while the others' counts are current (Redis answered the last sync in time).
  bool shared() const { return shared_; }
  // Every other live replica's in-flight requests and prefill tokens by endpoint address
  // hash; empty when not shared. Changes set changed(), which take_changed() clears.
  const std::unordered_map<uint64_t, sched::RemoteLoad>& remote_load() const { return remote_; }
  bool take_changed() {
    bool c = changed_;
    changed_ = false;
    return c;
  }
  // Live replicas as last seen (this one included); 1 before the first sync. Kept while
  // Redis is away (the replicas are still there): rate limits divide by it, and
  // placement keeps treating unseen prompts as possibly another replica's. Changes set
  // changed() too.
  uint64_t replicas() const { return replicas_; }
  // True while this replica's prefix index holds the others' placements too (shared, and
  // the last placement exchange answered): the replicas then score like one gateway.
  bool index_shared() const { return shared_ && placements_->current(); }
  // The workers' placement rings, one per worker (SharedPlacements).
  sched::PlacementRing* placement_rings() { return placements_->rings(); }
  size_t placement_ring_count() const { return placements_->ring_count(); }
  // The workers' response-id rings, one per worker (SharedResponses).
  proxy::ResponseRing* response_rings() { return responses_->rings(); }
  size_t response_ring_count() const { return responses_->ring_count(); }
  proxy::ResponseArrivals* response_arrivals() { return &responses_->payload().arrivals(); }

  void append_metrics(std::string& out) const;
  AdminResponse render_debug(const sched::EndpointSnapshot* snapshot) const;

 private:
  void sync(Clock::time_point now, const sched::EndpointSnapshot& snapshot, const sched::InflightCounters& inflight);
  void on_sync_reply(const redisReply* reply, Clock::time_point now);
  void go_local(const char* why);

  SharedStateOptions options_;
  RedisClient client_;
  std::string prefix_;  // PREFIX:POOL
  std::string replica_id_;
  std::chrono::milliseconds ttl_;
  bool shared_ = false;
  bool sync_in_flight_ = false;
  Clock::time_point sync_sent_{}, next_sync_{};
  std::unordered_map<uint64_t, sched::RemoteLoad> remote_;
  std::unordered_map<uint64_t, sched::RemoteLoad> scratch_;
  bool changed_ = false;
  uint64_t replicas_ = 1;
  bool index_shared_ = false;  // as last published (changed() when it flips)
  uint64_t syncs_ = 0, sync_errors_ = 0, fallbacks_ = 0, unknown_fields_ = 0;
  std::string last_error_;
  std::unique_ptr<SharedRateLimits> rates_;
  std::unique_ptr<SharedPlacements> placements_;
  std::unique_ptr<SharedResponses> responses_;
  std::vector<StreamChannel*> streams_;  // the two above, as synced and rendered
};

}  // namespace ringgate::control
