#pragma once
// The OTLP exporter's request body (issue 50): the ExportTraceServiceRequest around a
// batch of spans that the workers encoded (metrics/span_builder.h: each a `ScopeSpans.spans`
// field), written in front of a batch: a span is copied once, from its worker's ring into
// the batch. The bytes are those protobuf's own serializer writes (the unit test compares them).
#include <cstdint>
#include <string>
#include <string_view>

namespace ringgate::control {

// The bytes of an ExportTraceServiceRequest's one ResourceSpans up to its spans: what goes
// before a batch. `resource` and `scope`: the Resource and InstrumentationScope messages,
// already encoded (fields of their own, without tag or length).
struct OtlpBatchFrame {
  std::string resource;  // a Resource message
  std::string scope;     // an InstrumentationScope message
};

// The request body's size for `spans_bytes` of spans (its Content-Length).
size_t export_request_size(const OtlpBatchFrame& frame, size_t spans_bytes);
// Appends the request body's bytes before `spans_bytes` of spans: written in front of a
// batch appended in place, so that its spans are not copied again.
void append_export_request_head(const OtlpBatchFrame& frame, size_t spans_bytes, std::string& out);
// Appends the whole request body: the frame around `spans` (encoded spans back to
// back).
void append_export_request(const OtlpBatchFrame& frame, std::string_view spans, std::string& out);

}  // namespace ringgate::control
