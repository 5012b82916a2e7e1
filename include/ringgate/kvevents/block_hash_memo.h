#pragma once
// The vLLM block hashes of token sequences hashed lately, so a prompt whose ids come
// again (the token cache's hits: the next turn of a long conversation, another question
// on one document) is not hashed again: a 64 KiB prompt is ~1000 SHA-256 blocks. One
// per worker, no locking; bounded by bytes, least recently used out first.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ringgate/kvevents/vllm_block_hash.h"
#include "ringgate/util/bounded_lru.h"

namespace ringgate::kvevents {

// Sequences shorter than this are hashed every time (a few dozen blocks at most).
inline constexpr std::size_t kMinMemoTokens = 1024;
inline constexpr std::size_t kDefaultBlockHashMemoBytes = 4u << 20;

class BlockHashMemo {
 public:
  BlockHashMemo(const VllmBlockHasher& hasher, uint32_t block_size, std::size_t max_bytes = kDefaultBlockHashMemoBytes)
      : hasher_(hasher), block_size_(block_size), memo_(max_bytes) {}

  // What hasher.hash_prompt(tokens, block_size, lora_name, out) appends, from the memo
  // when these tokens (with this adapter) were hashed lately.
  void hash_prompt(std::span<const uint32_t> tokens, std::string_view lora_name, std::vector<uint64_t>& out) {
    hash_prompt(tokens, lora_name, {}, out);
  }
  // With the prompt's media runs (hasher.hash_prompt's media): they are part of the key.
  void hash_prompt(std::span<const uint32_t> tokens, std::string_view lora_name,
                   std::span<const MediaPlaceholder> media, std::vector<uint64_t>& out);

  std::size_t hits() const { return hits_; }
  std::size_t entries() const { return memo_.entries(); }
  std::size_t bytes() const { return memo_.bytes(); }

 private:
  const VllmBlockHasher& hasher_;
  uint32_t block_size_;
  util::BoundedLru<uint64_t> memo_;
  std::vector<uint64_t> scratch_;
  std::size_t hits_ = 0;
};

}  // namespace ringgate::kvevents
