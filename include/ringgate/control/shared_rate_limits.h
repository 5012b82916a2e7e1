#pragma once
// Token and request budgets shared by the gateway's replicas through Redis (part of
// sharedState). Control thread only; the workers keep admitting from the RateLimiter's
// atomics and never wait on Redis.
//
// Every sync, one Lua script (one round trip, atomic) reserves budget for each active
// tenant and window: the replica asks to hold `spent + headroom` (headroom: a few syncs
// of the tenant's recent rate, at least 0.5% of the budget), Redis grants what the
// window still has, and a tenant idle here for a while gives back what it did not
// spend. The target is absolute (not a delta), so a lost reply or a Redis restart
// costs nothing: the next sync asks again and Redis's view of this replica's
// reservation is the truth. The reply's totals give each slot its allowance: the
// reservation plus 1/replicas of what nobody reserved yet (so a burst between two
// syncs is admitted without waiting), less what the others reserved between its last two
// replies: they are likely reserving as much again meanwhile, and a share they take
// after this replica counted on it is spent twice (three replicas spending a 6,000 budget
// as fast as they could overshot it by 1-4 requests in 5 of 7 runs before, 1 of 8 after).
// What a replica spent of its share is still counted free by the others until its next
// sync reserves it: that much overshoot is the price of admitting without a round trip.
// The others' reservations also give the x-ratelimit-remaining-* headers.
// Windows are Redis's minutes (its TIME), so every replica spends in the same one.
#include <cstdint>
#include <string>
#include <vector>

#include "ringgate/control/redis_client.h"
#include "ringgate/proxy/rate_limiter.h"

namespace ringgate::control {

class SharedRateLimits {
 public:
  static constexpr size_t kMaxTenantsPerSync = 512;  // one script's work; the rest wait a sync
  static constexpr uint32_t kIdleSyncs = 10;         // no request for this many syncs: give back

  // `prefix`: PREFIX:POOL; keys are PREFIX:POOL:rl:TENANT_HASH:WINDOW.
  SharedRateLimits(RedisClient& client, proxy::RateLimiter& limiter, std::string prefix, std::string replica_id);

  // Sends this sync's reservations (nothing when no tenant is active or the last
  // reply is still awaited). `replicas`: live replicas as last seen.
  void sync(uint64_t now_ms, uint64_t replicas);
  // Redis gone: every budget falls back to limit / replicas.
  void go_local(uint64_t replicas);

  void append_metrics(std::string& out) const;
  void append_debug(std::string& out) const;  // a JSON object

 private:
  struct Budget {
    uint64_t grant = 0;          // this replica's reservation, as Redis last said
    uint64_t total = 0;          // every replica's reservations in the window
    uint64_t others_growth = 0;  // what the others reserved since the reply before
    uint64_t last_spent = 0;
    double rate = 0;  // spent per sync, smoothed
  };
  struct Lease {
    uint64_t key = 0;  // the tenant slot's key when sent
    uint64_t window_start_ms = 0;
    uint64_t window_id = 0;  // Redis's minute
    Budget tokens, requests;
    uint32_t idle_syncs = 0;
  };
  struct Sent {
    uint32_t slot;
    proxy::RateLimitPolicy policy;
  };
  bool add(uint32_t slot, uint64_t now_ms, std::vector<std::string>& args);
  static uint64_t target(Budget& b, uint64_t spent, uint64_t limit, uint64_t replicas, bool idle);
  void on_reply(const redisReply* reply, uint64_t now_ms);
  void refuse(std::string why);
  uint64_t window_origin() const;

  RedisClient& client_;
  proxy::RateLimiter& limiter_;
  std::string prefix_, replica_id_;
  std::vector<Lease> leases_;      // by limiter slot
  std::vector<Sent> sent_;         // the tenants of the script awaiting its reply
  std::vector<uint32_t> scratch_;  // claimed slots, this sync
  size_t cursor_ = 0;              // where the next sync starts when more than kMaxTenantsPerSync are active
  bool in_flight_ = false;
  bool clock_known_ = false;
  int64_t offset_ms_ = 0;  // Redis's clock minus ours
  uint64_t replicas_ = 1;
  uint64_t syncs_ = 0, errors_ = 0;
  uint64_t tenants_ = 0;  // in the last reply
  std::string last_error_;
};

}  // namespace ringgate::control
