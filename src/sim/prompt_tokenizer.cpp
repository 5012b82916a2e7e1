#include "ringgate/sim/prompt_tokenizer.h"

#include "ringgate/sim/tokenizer.h"

namespace ringgate::sim {

std::vector<uint32_t> ByteTokenizer::encode(std::string_view text) const { return token_ids(text); }

PromptBlocks prompt_blocks(std::span<const uint32_t> token_ids, const kvevents::VllmBlockHasher& hasher,
                           std::string_view lora_name, uint32_t block_size,
                           std::span<const kvevents::MediaPlaceholder> media) {
  PromptBlocks out;
  if (lora_name.empty() && media.empty()) {
    hasher.hash_prompt(token_ids, block_size, lora_name, out.hashes);
  } else {
    hasher.hash_prompt(token_ids, block_size, lora_name, media, out.hashes, SIZE_MAX, &out.extra_keys);
  }
  out.tokens.assign(token_ids.begin(), token_ids.begin() + ptrdiff_t(out.hashes.size() * block_size));
  return out;
}

}  // namespace ringgate::sim
