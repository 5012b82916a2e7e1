#pragma once
// Hands out EndpointIds, one per engine (an address, or address#rank for a data-parallel
// rank named by header): an engine keeps its id while it is in the pool, ids are
// dense (0, 1, 2, ...) so per-endpoint storage can be indexed by them, and an id is
// reused after its address left the pool (release()) and a quarantine passed, so pod
// churn over weeks cannot exhaust them. Per-endpoint storage indexed by id (in-flight
// counts, passive health, prefix index) is reset or purged by the owner on release;
// the quarantine and the reuse check keep late users of the old address (a request
// still in flight to it) from landing on the new one.
// Control thread only (not thread-safe).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringgate/sched/endpoint_id.h"

namespace ringgate::sched {

class EndpointRegistry {
 public:
  using Clock = std::chrono::steady_clock;

  explicit EndpointRegistry(size_t max_ids = 1u << 16, Clock::duration quarantine = std::chrono::seconds(60))
      : max_ids_(max_ids), quarantine_(quarantine) {}

  // The id of host:port (of its rank `header_rank` when ranks share that port: one id per
  // engine), allocating one if new (a released id past its quarantine first, else the next
  // fresh one). kNoEndpoint when max_ids addresses are in use or quarantined (caller logs
  // and skips it).
  EndpointId id_for(std::string_view host, uint16_t port, int32_t header_rank = -1);
  // kNoEndpoint if not registered.
  EndpointId find(std::string_view host, uint16_t port, int32_t header_rank = -1) const;
  // The address holding `id` left the pool: its id may go to another one later.
  void release(EndpointId id);
  // An extra condition for reusing a released id (e.g. no request still in flight to it).
  void set_reuse_check(std::function<bool(EndpointId)> check) { may_reuse_ = std::move(check); }

  size_t size() const { return ids_.size(); }        // addresses holding an id
  size_t allocated() const { return keys_.size(); }  // ids ever handed out (the high-water mark)
  size_t max_ids() const { return max_ids_; }

 private:
  static std::string key(std::string_view host, uint16_t port, int32_t header_rank);
  EndpointId reuse_released();

  struct Released {
    EndpointId id;
    Clock::time_point at;
  };
  size_t max_ids_;
  Clock::duration quarantine_;
  std::unordered_map<std::string, EndpointId> ids_;
  std::vector<std::string> keys_;  // by id: the address holding it ("" = released)
  std::deque<Released> released_;  // oldest first
  std::function<bool(EndpointId)> may_reuse_;
};

}  // namespace ringgate::sched
