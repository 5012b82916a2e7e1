#pragma once
// How much a cached block counts by the tier that holds it (config
// scheduler.scorers.prefix.tierWeights; llm-d's indexerConfig.kvCacheBackendConfigs).
// vLLM's KV events name the tier in their `medium` field: "GPU" (vLLM itself), "CPU"
// (its OffloadingConnector); llm-d's filesystem backends add shared_storage and
// object_store. A block in HBM is reused as is, one in host memory is loaded at a cost,
// one in storage at a higher one: the defaults are llm-d-router's (#2809). A tier with
// no weight here is unknown: its blocks are not indexed at all (they score 0 and never
// pass for GPU blocks) and the events naming it are counted.
#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::sched {

struct TierWeight {
  std::string name;  // lowercased
  double weight = 0;
};

struct TierWeights {
  // Bounds on a configured table (a block's tiers are a bitmask of this many bits).
  static constexpr size_t kMaxTiers = 8;
  static constexpr size_t kMaxNameBytes = 64;

  std::vector<TierWeight> tiers = {{"gpu", 1.0}, {"cpu", 0.8}, {"shared_storage", 0.4}, {"object_store", 0.2}};

  // Slot of `medium` (case-insensitive); a missing medium is the GPU (vLLM before
  // 0.10 sent none). -1: no weight names it.
  int slot(const std::optional<std::string>& medium) const;
  // Sets `name`'s weight (lowercased), adding the tier when new. Returns "" or why not:
  // a name empty, too long or not [A-Za-z0-9_.-], a weight out of [0,1] or not finite,
  // more than kMaxTiers tiers.
  std::string set(std::string_view name, double weight);
  // Weight by slot, 0 past the table.
  std::array<float, kMaxTiers> by_slot() const;
};

}  // namespace ringgate::sched
