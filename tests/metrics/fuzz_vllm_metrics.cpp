// libFuzzer target: any byte string must parse or fail cleanly.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringgate/metrics/vllm_metrics_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static ringgate::metrics::VllmMetricsParser parser;
    static ringgate::metrics::VllmMetrics out;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    ringgate::metrics::ParseResult r = parser.parse(text, out);
    if (!r.ok && (r.error.line == 0 || r.error.message.empty())) __builtin_trap();
    if (r.ok && out.models().size() > out.samples) __builtin_trap();
    return 0;
}
