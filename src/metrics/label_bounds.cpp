#include "ringgate/metrics/label_bounds.h"

#include <xxhash.h>

namespace ringgate::metrics {

namespace {

uint64_t hash_of(std::string_view value) { return XXH3_64bits(value.data(), value.size()) | 1; }  // never 0

}  // namespace

// Whether the set holds `value`; `end`: the empty slot where the probe stopped if not.
bool LabelValueSet::holds(std::string_view value, uint64_t hash, size_t& end) const {
  for (size_t i = hash & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
    const Slot& slot = slots_[i];
    const uint64_t h = slot.hash.load(std::memory_order_acquire);
    if (h == 0) {
      end = i;
      return false;
    }
    if (h == hash && slot.value == value) return true;
  }
}

bool LabelValueSet::admit(std::string_view value, bool may_add) {
  const uint64_t hash = hash_of(value);
  size_t end = 0;
  if (holds(value, hash, end)) return true;
  if (!may_add || count_.load(std::memory_order_relaxed) >= limit_) return false;
  const std::lock_guard lock(insert_);
  // Another worker may have added it, or taken the last room, since the probe.
  if (holds(value, hash, end)) return true;
  if (count_.load(std::memory_order_relaxed) >= limit_) return false;
  Slot& slot = slots_[end];
  slot.value.assign(value);
  slot.hash.store(hash, std::memory_order_release);
  count_.fetch_add(1, std::memory_order_release);
  return true;
}

}  // namespace ringgate::metrics
