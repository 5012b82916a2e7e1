#pragma once
// What each model server really holds, from its KV-cache events (vLLM's
// BlockStored / BlockRemoved / AllBlocksCleared): per endpoint, the set of
// 64-bit block hashes it announced and has not removed since, with the tiers
// holding each (the events' medium: GPU, CPU, ...; a block may be in several,
// and a removal names the one tier it leaves), and whether that set can be
// trusted (the event stream was followed without a gap). An event naming a
// tier with no weight (tier_weights.h) is counted and not applied.
//
// The precise prefix scorer asks leading_match(): the longest run of a
// prompt's leading vLLM block hashes present in an endpoint's set (in any
// tier), and that run's blocks summed each at the weight of the best tier
// holding it. An endpoint
// whose set is not trusted (never synced, a gap not replayed, over its bound)
// answers nothing here and is scored from the approximate index instead; its
// state and the reason are reported (/debug/endpoints, metrics).
//
// Bounds: at most max_blocks_per_endpoint hashes per endpoint (an endpoint that
// announces more stops being trusted until its cache is cleared or the stream
// restarts), endpoint ids below max_endpoints.
//
// Threads: the event subscriber writes (apply, set_state); workers read
// (leading_blocks) under each endpoint's shared lock, held for one walk.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringgate/kvevents/kv_event.h"
#include "ringgate/sched/endpoint_id.h"
#include "ringgate/sched/tier_weights.h"

namespace ringgate::sched {

enum class ExactState : uint8_t {
  Off,        // no events for this endpoint: approximate index
  Syncing,    // subscribed, waiting for the stream's start (or a replay)
  Precise,    // following the stream: the set is the server's cache
  Fallback,   // lost events (gap not replayed, over the bound): approximate until resynced
};
const char* to_string(ExactState state);

struct ExactEndpointReport {
  ExactState state = ExactState::Off;
  std::string reason;  // why not precise ("" when precise)
  size_t blocks = 0;
  uint64_t batches = 0;     // batches applied
  uint64_t last_seq = 0;    // sequence of the last batch applied
};

struct ExactIndexStats {
  size_t endpoints_precise = 0;
  size_t endpoints_fallback = 0;
  size_t blocks = 0;          // all endpoints
  size_t memory_bytes = 0;    // estimate: per-hash node and bucket costs
  size_t max_blocks_per_endpoint = 0;
  uint64_t unknown_medium_events = 0;  // events naming a tier with no weight (not applied)
};

// An endpoint's leading run of a prompt's blocks: blocks < 0 when the endpoint is not
// Precise (score it from the approximate index); weighted = the run's blocks each at
// its best tier's weight (<= blocks).
struct LeadingMatch {
  int64_t blocks = -1;
  double weighted = 0;
};

class ExactBlockIndex {
 public:
  // Bytes an entry costs in the set (node + bucket share), for the memory report.
  static constexpr size_t kBytesPerBlock = 48;

  explicit ExactBlockIndex(size_t max_blocks_per_endpoint = size_t(1) << 18, size_t max_endpoints = 1u << 16,
                           TierWeights tiers = {});

  // Applies one batch (sequence `seq`) to `endpoint`'s set. Stores past the
  // bound put the endpoint in Fallback; AllBlocksCleared empties the set (and
  // lifts an over-the-bound fallback: the set is exact again).
  void apply(EndpointId endpoint, uint64_t seq, const kvevents::KvEventBatch& batch);

  // Sets the trust state; `clear` empties the set too (a restarted stream).
  void set_state(EndpointId endpoint, ExactState state, std::string reason, bool clear = false);

  // Leading entries of `hashes` present in `endpoint`'s set (any tier), and their
  // weighted sum; blocks -1 when the endpoint is not Precise.
  LeadingMatch leading_match(EndpointId endpoint, std::span<const uint64_t> hashes) const;
  int64_t leading_blocks(EndpointId endpoint, std::span<const uint64_t> hashes) const {
    return leading_match(endpoint, hashes).blocks;
  }

  ExactState state(EndpointId endpoint) const;
  ExactEndpointReport report(EndpointId endpoint) const;
  ExactIndexStats stats() const;
  size_t max_blocks_per_endpoint() const { return max_blocks_; }

  // Forget an endpoint that left the pool.
  void purge(EndpointId endpoint);

 private:
  struct Entry {
    mutable std::shared_mutex mutex;
    std::unordered_map<uint64_t, uint8_t> blocks;  // hash -> its tiers, a bit per TierWeights slot
    ExactState state = ExactState::Off;
    std::string reason;
    uint64_t batches = 0;
    uint64_t last_seq = 0;
    bool over_bound = false;
  };
  Entry* entry(EndpointId endpoint) const;
  Entry* entry_or_create(EndpointId endpoint);

  size_t max_blocks_;
  TierWeights tiers_;
  std::array<float, 256> mask_weight_{};  // a block's tier bits -> the best of their weights
  std::atomic<uint64_t> unknown_medium_{0};
  std::vector<std::atomic<Entry*>> entries_;  // by endpoint id; created by the writer, freed at destruction
  std::vector<std::unique_ptr<Entry>> owned_;
  mutable std::mutex owned_mutex_;
};

}  // namespace ringgate::sched
