#include "ringgate/control/otlp_span_encoder.h"

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "ringgate/metrics/protobuf_wire.h"

namespace ringgate::control {

namespace {

using namespace metrics::wire;
using ScopeSpans = opentelemetry::proto::trace::v1::ScopeSpans;
using ResourceSpans = opentelemetry::proto::trace::v1::ResourceSpans;
using Request = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

}  // namespace

size_t export_request_size(const OtlpBatchFrame& frame, size_t spans_bytes) {
  const size_t scope_spans = length_field(ScopeSpans::kScopeFieldNumber, frame.scope.size()) + spans_bytes;
  const size_t resource_spans = length_field(ResourceSpans::kResourceFieldNumber, frame.resource.size()) +
                                length_field(ResourceSpans::kScopeSpansFieldNumber, scope_spans);
  return length_field(Request::kResourceSpansFieldNumber, resource_spans);
}

void append_export_request_head(const OtlpBatchFrame& frame, size_t spans_bytes, std::string& out) {
  const size_t scope_spans = length_field(ScopeSpans::kScopeFieldNumber, frame.scope.size()) + spans_bytes;
  const size_t resource_spans = length_field(ResourceSpans::kResourceFieldNumber, frame.resource.size()) +
                                length_field(ResourceSpans::kScopeSpansFieldNumber, scope_spans);
  const size_t head = length_field(Request::kResourceSpansFieldNumber, resource_spans) - resource_spans +
                      length_field(ResourceSpans::kResourceFieldNumber, frame.resource.size()) +
                      length_field(ResourceSpans::kScopeSpansFieldNumber, scope_spans) - scope_spans +
                      length_field(ScopeSpans::kScopeFieldNumber, frame.scope.size());
  const size_t at = out.size();
  out.resize(at + head);
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data() + at);
  p = put_length(Request::kResourceSpansFieldNumber, resource_spans, p);
  p = put_text(ResourceSpans::kResourceFieldNumber, frame.resource, p);
  p = put_length(ResourceSpans::kScopeSpansFieldNumber, scope_spans, p);
  put_text(ScopeSpans::kScopeFieldNumber, frame.scope, p);
}

void append_export_request(const OtlpBatchFrame& frame, std::string_view spans, std::string& out) {
  append_export_request_head(frame, spans.size(), out);
  out.append(spans);
}

}  // namespace ringgate::control
