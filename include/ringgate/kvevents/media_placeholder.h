// A media item of a prompt (an image, an audio clip) as vLLM's prefix cache sees it: a run
// of placeholder tokens (`length` from `offset`) and the item's identifier (vLLM's mm_hash,
// or the uuid the client gave on the content part). Token ids alike, two items differ in
// the block hashes only through their identifiers, carried in the extra keys of every
// block the run overlaps (block_extra_keys).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ringgate::kvevents {

struct MediaPlaceholder {
  uint32_t offset = 0;  // the run's first token in the prompt
  uint32_t length = 0;  // placeholder tokens
  std::string identifier;
  bool operator==(const MediaPlaceholder&) const = default;
};

// vLLM's generate_block_hash_extra_keys for the block of tokens [start, end) of a prompt
// whose media runs are `media` (sorted by offset, not overlapping): `lora_name` (if any),
// then the identifier of each run the block overlaps, in order, into `out` (cleared).
// `next` is the first run that may still overlap (0 for the first block): it moves past
// the runs that end within this block, so a prompt's blocks in order cost O(blocks + runs).
// Nothing (out empty): a null extra_keys. vLLM's cache_salt (first block) is not sent by
// ringgate's clients and has no place here.
void block_extra_keys(size_t start, size_t end, std::string_view lora_name, std::span<const MediaPlaceholder> media,
                      size_t& next, std::vector<std::string_view>& out);

}  // namespace ringgate::kvevents
