// libFuzzer: any header text through the traceparent and tracestate readers; a parsed
// traceparent written back must read the same.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "ringgate/util/trace_context.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ringgate::util::valid_tracestate(text);
  ringgate::util::TraceParent p;
  if (ringgate::util::parse_traceparent(text, p)) {
    char out[ringgate::util::kTraceparentLength];
    ringgate::util::format_traceparent(p.trace_id, p.parent_id, p.flags, out);
    ringgate::util::TraceParent again;
    if (!ringgate::util::parse_traceparent(std::string_view(out, sizeof out), again)) __builtin_trap();
    if (again.trace_id != p.trace_id || again.parent_id != p.parent_id || again.flags != p.flags) __builtin_trap();
  }
  return 0;
}
