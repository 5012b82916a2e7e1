#include "ringgate/kvevents/block_hash_memo.h"

#include <xxhash.h>

namespace ringgate::kvevents {

void BlockHashMemo::hash_prompt(std::span<const uint32_t> tokens, std::string_view lora_name,
                                std::span<const MediaPlaceholder> media, std::vector<uint64_t>& out) {
  if (tokens.size() < kMinMemoTokens) return hasher_.hash_prompt(tokens, block_size_, lora_name, media, out);
  uint64_t seed = XXH3_64bits(lora_name.data(), lora_name.size());
  for (const MediaPlaceholder& m : media) {  // where each run is and what it is
    const uint32_t span[2] = {m.offset, m.length};
    seed = XXH3_64bits_withSeed(span, sizeof span, seed);
    seed = XXH3_64bits_withSeed(m.identifier.data(), m.identifier.size(), seed);
  }
  const XXH128_hash_t h = XXH3_128bits_withSeed(tokens.data(), tokens.size_bytes(), seed);
  const util::Hash128 key{h.low64, h.high64};
  if (const std::vector<uint64_t>* kept = memo_.find(key)) {
    out.insert(out.end(), kept->begin(), kept->end());
    ++hits_;
    return;
  }
  scratch_.clear();
  hasher_.hash_prompt(tokens, block_size_, lora_name, media, scratch_);
  out.insert(out.end(), scratch_.begin(), scratch_.end());
  memo_.insert(key, std::vector<uint64_t>(scratch_));
}

}  // namespace ringgate::kvevents
