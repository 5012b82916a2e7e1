// libFuzzer target: the usage scanner that reads token counts out of every relayed
// model-server response (JSON or SSE) as it streams past. Random splits; the counts
// it reports are "not seen" (-1) or a non-negative number of at most 18 digits, and
// the same as when the body is fed in one piece (a chunk seam neither hides nor
// invents a count).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringgate/openai/usage_scanner.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  ringgate::openai::UsageScanner scanner;
  const size_t step = 1 + data[0] % 97;
  const char* bytes = reinterpret_cast<const char*>(data + 1);
  const size_t left = size - 1;
  for (size_t offset = 0; offset < left; offset += step) {
    const size_t n = left - offset < step ? left - offset : step;
    scanner.feed(std::string_view(bytes + offset, n));
  }
  for (int64_t v : {scanner.prompt_tokens(), scanner.completion_tokens(), scanner.cached_tokens()})
    if (v < -1 || v >= 1000000000000000000) __builtin_trap();
  ringgate::openai::UsageScanner whole;
  whole.feed(std::string_view(bytes, left));
  if (whole.prompt_tokens() != scanner.prompt_tokens() || whole.completion_tokens() != scanner.completion_tokens() ||
      whole.cached_tokens() != scanner.cached_tokens())
    __builtin_trap();
  return 0;
}
