#pragma once
// The OTLP exporter's encoding (issue 50): a worker's span record (metrics::SpanRecord)
// written straight into the protobuf bytes of an `opentelemetry.proto.trace.v1.Span`, as a
// `ScopeSpans.spans` field, appended to one reused buffer; and the ExportTraceServiceRequest
// around a batch of them. The field numbers are the generated classes' k...FieldNumber
// constants (proto/opentelemetry), so proto/ stays the one definition of the wire; the
// bytes are those protobuf's own serializer writes for the same message (field order
// included: the unit test compares them). Why not the generated messages: building a
// `Span` per record (a string per id, name and attribute, then freeing them all) was most
// of tracing's cost per request (perf/proxy/tracing_cost.sh).
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/metrics/span_record.h"

namespace ringgate::control {

// Appends `record` as one `ScopeSpans.spans` field (tag, length, Span) to `out`; its times
// are monotonic + `realtime_offset_ns` (Unix nanoseconds). Empty string attributes are left
// out. Returns the bytes appended.
size_t append_span(const metrics::SpanRecord& record, uint64_t realtime_offset_ns, std::string& out);

// The bytes of an ExportTraceServiceRequest's one ResourceSpans up to its spans: what goes
// before a batch. `resource` and `scope`: the Resource and InstrumentationScope messages,
// already encoded (fields of their own, without tag or length).
struct OtlpBatchFrame {
  std::string resource;  // a Resource message
  std::string scope;     // an InstrumentationScope message
};

// The request body's size for `spans_bytes` of append_span's output (its Content-Length).
size_t export_request_size(const OtlpBatchFrame& frame, size_t spans_bytes);
// Appends the request body's bytes before `spans_bytes` of spans: written in front of a
// batch encoded in place, so that the spans are never copied.
void append_export_request_head(const OtlpBatchFrame& frame, size_t spans_bytes, std::string& out);
// Appends the whole request body: the frame around `spans` (append_span's output,
// back to back).
void append_export_request(const OtlpBatchFrame& frame, std::string_view spans, std::string& out);

}  // namespace ringgate::control
