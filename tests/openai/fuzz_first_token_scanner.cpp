// libFuzzer target: a model server's answer is hostile input. The first-token scanner
// must take any bytes, cut anywhere, without reading past them, report a token at most
// once, and never report one for a split feed that the whole body does not hold (a
// chunk seam must not invent a token).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringgate/openai/first_token_scanner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const bool streaming = data[0] & 1;
  const size_t cut = data[1];
  std::string_view body(reinterpret_cast<const char*>(data + 2), size - 2);

  ringgate::openai::FirstTokenScanner whole;
  whole.reset(streaming);
  whole.feed(body);

  ringgate::openai::FirstTokenScanner split;
  split.reset(streaming);
  int reported = 0;
  for (size_t at = 0; at < body.size();) {
    const size_t n = cut == 0 ? 1 : cut;
    const std::string_view chunk = body.substr(at, n);
    reported += split.feed(chunk) ? 1 : 0;
    at += chunk.size();
  }
  if (reported > 1) __builtin_trap();
  if (split.seen() && !whole.seen()) __builtin_trap();
  if (!streaming && !body.empty() && !split.seen()) __builtin_trap();
  return 0;
}
