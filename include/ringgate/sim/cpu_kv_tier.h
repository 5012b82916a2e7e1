// The CPU tier of vLLM's OffloadingConnector (--kv-transfer-config with
// "kv_connector":"OffloadingConnector" and kv_connector_extra_config.num_cpu_blocks):
// full prompt blocks evicted from the GPU are kept here, least recently used out first,
// so a later prompt that misses the GPU but hits here loads its blocks (a copy at
// --kv-offload-load-time-per-block-us a block) instead of computing them again.
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <unordered_map>

namespace ringgate::sim {

class CpuKvTier {
 public:
  explicit CpuKvTier(uint32_t num_blocks) : capacity_(num_blocks) { by_hash_.reserve(num_blocks); }

  uint32_t capacity() const { return capacity_; }
  uint32_t size() const { return static_cast<uint32_t>(lru_.size()); }
  bool contains(uint64_t hash) const { return by_hash_.contains(hash); }

  // Keeps `hash` as the most recently used. Returns the hash it evicted to make room, if
  // any. `stored`: whether `hash` is new here (it was not kept already).
  std::optional<uint64_t> store(uint64_t hash, bool& stored);
  // A hit loaded back to the GPU: it stays here, the most recently used.
  void touch(uint64_t hash);

 private:
  uint32_t capacity_;
  std::list<uint64_t> lru_;  // most recently used first
  std::unordered_map<uint64_t, std::list<uint64_t>::iterator> by_hash_;
};

}  // namespace ringgate::sim
