#include "ringgate/kvevents/media_placeholder.h"

namespace ringgate::kvevents {

void block_extra_keys(size_t start, size_t end, std::string_view lora_name, std::span<const MediaPlaceholder> media,
                      size_t& next, std::vector<std::string_view>& out) {
  out.clear();
  if (!lora_name.empty()) out.push_back(lora_name);  // lora keys, then media keys (vLLM's order)
  while (next < media.size()) {
    const MediaPlaceholder& m = media[next];
    const size_t run_end = size_t(m.offset) + m.length;
    if (end <= m.offset) break;  // the block ends before this run (and every later one)
    if (run_end <= start) {      // the run ended before this block
      ++next;
      continue;
    }
    out.push_back(m.identifier);
    if (end < run_end) break;  // the run goes on into the next block
    ++next;                    // it ends here: the block may hold the next run too
  }
}

}  // namespace ringgate::kvevents
