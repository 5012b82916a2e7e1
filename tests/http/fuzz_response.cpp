// libFuzzer target: the upstream response parser (the gateway reads these bytes from
// model servers, which may be broken or hostile), fed in random splits, several
// responses back to back on one connection (keep-alive), then the peer's close.
// Covers Content-Length, chunked (sizes, extensions, trailers) and close-delimited
// bodies. Nothing may crash, hang or read out of bounds, and what it reports must
// be self-consistent.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/http/headers.h"
#include "ringgate/http/response_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ringgate::http::ResponseParser parser;
  // The first byte picks the split size so that incremental parsing is exercised.
  const size_t step = 1 + data[0] % 64;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const size_t left = size - 1;
  std::string body;
  size_t offset = 0;
  while (offset < left) {
    const size_t n = left - offset < step ? left - offset : step;
    size_t used = 0;
    while (used < n) {
      const auto result = parser.feed(bytes + offset + used, n - used, &body);
      if (result.consumed > n - used) __builtin_trap();  // consumed more than it was given
      used += result.consumed;
      if (result.state == ringgate::http::ResponseState::Error) return 0;
      if (result.state == ringgate::http::ResponseState::NeedMore) {
        if (result.consumed == 0 && used < n) return 0;  // stuck: treat like an error, never spin
        break;
      }
      // Complete: a known length must match what was delivered (204 and 304 have no body
      // whatever Content-Length says, RFC 9110 §8.6).
      const bool bodiless = parser.status() == 204 || parser.status() == 304;
      if (!parser.chunked() && !bodiless && parser.content_length() >= 0 &&
          body.size() != size_t(parser.content_length()))
        __builtin_trap();
      if (bodiless && !body.empty()) __builtin_trap();
      if (parser.status() < 100 || parser.status() > 999) __builtin_trap();
      // No field value starts or ends with a space or a tab (RFC 9110 §5.5).
      for (const auto& header : parser.headers()) {
        if (ringgate::http::trim_field_value(std::string_view(header.value)).size() != header.value.size())
          __builtin_trap();
      }
      body.clear();
      parser.reset();
    }
    offset += n;
  }
  (void)parser.finish();
  return 0;
}
