// The seam where prompt text becomes token ids, and the vLLM block hashes the
// KV cache and its events use. ByteTokenizer is the simulator's 4-bytes-a-token
// rule; a real tokenizer (a model's tokenizer.json) implements the same interface.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ringgate/kvevents/vllm_block_hash.h"

namespace ringgate::sim {

class PromptTokenizer {
 public:
  virtual ~PromptTokenizer() = default;
  virtual std::vector<uint32_t> encode(std::string_view text) const = 0;
};

class ByteTokenizer final : public PromptTokenizer {
 public:
  std::vector<uint32_t> encode(std::string_view text) const override;
};

// The full blocks of a prompt: their vLLM hashes (64-bit event form) and tokens.
struct PromptBlocks {
  std::vector<uint64_t> hashes;
  std::vector<uint32_t> tokens;  // hashes.size() * block_size ids
  // Each block's extra keys (a BlockStored event's), when any block has some; else empty.
  std::vector<kvevents::BlockExtraKeys> extra_keys;
};

// `lora_name` empty for the base model (vLLM's extra_keys None), else the
// adapter's name (extra_keys (lora_name,)): adapters share no blocks with the base.
// `media`: the prompt's media runs (PromptInput::media), whose identifiers join the
// extra keys of the blocks they overlap.
PromptBlocks prompt_blocks(std::span<const uint32_t> token_ids, const kvevents::VllmBlockHasher& hasher,
                           std::string_view lora_name, uint32_t block_size,
                           std::span<const kvevents::MediaPlaceholder> media = {});

}  // namespace ringgate::sim
