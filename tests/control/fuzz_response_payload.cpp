// libFuzzer target: any bytes in the replicas' response-id stream (another replica's, or
// anyone's with access to Redis) read as records inside their bounds, or stop cleanly;
// each record read writes back to the very bytes it came from.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/control/response_payload.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringgate::control;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  size_t at = 0;
  ResponseChange c;
  std::string again;
  for (;;) {
    const size_t start = at;
    const PayloadStep step = next_response(payload, at, c);
    if (step != PayloadStep::Record) {
      if (at != start) __builtin_trap();  // a fault moves nothing
      break;
    }
    if (at <= start || at > size) __builtin_trap();
    if (c.id.empty() || c.id.size() > kMaxResponsePayloadIdBytes || (c.forget && c.server != 0)) __builtin_trap();
    for (const char ch : c.id)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) __builtin_trap();
    again.clear();
    if (!append_response(again, c.id, c.server, c.forget) || again != payload.substr(start, at - start))
      __builtin_trap();
  }
  return 0;
}
