// libFuzzer target: any bytes in the replicas' placement stream (another replica's, or
// anyone's with access to Redis) read as records inside their bounds, or stop cleanly;
// each record read writes back to the very bytes it came from.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/control/placement_payload.h"
#include "ringgate/sched/placement_record.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringgate::control;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  size_t at = 0;
  PlacementView v;
  std::vector<uint64_t> entries;
  std::string again;
  for (;;) {
    const size_t start = at;
    const PayloadStep step = next_placement(payload, at, v);
    if (step != PayloadStep::Record) {
      if (at != start) __builtin_trap();  // a fault moves nothing
      break;
    }
    if (at <= start || at > size) __builtin_trap();
    if (v.address.empty() || v.address.size() > kMaxPlacementAddressBytes || v.count() == 0 ||
        v.count() > ringgate::sched::kMaxPlacementEntries)
      __builtin_trap();
    entries.clear();
    for (size_t i = 0; i < v.count(); ++i) entries.push_back(v.entry(i));
    again.clear();
    if (!append_placement(again, v.address, entries) || again != payload.substr(start, at - start)) __builtin_trap();
  }
  return 0;
}
