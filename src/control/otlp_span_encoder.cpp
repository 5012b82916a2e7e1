#include "ringgate/control/otlp_span_encoder.h"

#include <google/protobuf/io/coded_stream.h>

#include <algorithm>
#include <cstring>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace ringgate::control {

namespace {

using Coded = google::protobuf::io::CodedOutputStream;
using Span = opentelemetry::proto::trace::v1::Span;
using Event = opentelemetry::proto::trace::v1::Span_Event;
using Status = opentelemetry::proto::trace::v1::Status;
using KeyValue = opentelemetry::proto::common::v1::KeyValue;
using AnyValue = opentelemetry::proto::common::v1::AnyValue;
using ArrayValue = opentelemetry::proto::common::v1::ArrayValue;
using ScopeSpans = opentelemetry::proto::trace::v1::ScopeSpans;
using ResourceSpans = opentelemetry::proto::trace::v1::ResourceSpans;
using Request = opentelemetry::proto::collector::trace::v1::ExportTraceServiceRequest;

enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLength = 2, kFixed32 = 5 };

constexpr uint32_t tag(int field, WireType type) { return uint32_t(field) << 3 | type; }

// A length-delimited field of n bytes, whole.
size_t length_field(int field, size_t n) {
  return Coded::VarintSize32(tag(field, kLength)) + Coded::VarintSize32(uint32_t(n)) + n;
}
size_t varint_field(int field, uint64_t v) { return Coded::VarintSize32(tag(field, kVarint)) + Coded::VarintSize64(v); }
size_t fixed64_field(int field) { return Coded::VarintSize32(tag(field, kFixed64)) + 8; }
size_t fixed32_field(int field) { return Coded::VarintSize32(tag(field, kFixed32)) + 4; }

uint8_t* put_length(int field, size_t n, uint8_t* p) {
  p = Coded::WriteTagToArray(tag(field, kLength), p);
  return Coded::WriteVarint32ToArray(uint32_t(n), p);
}
uint8_t* put_bytes(int field, const void* data, size_t n, uint8_t* p) {
  p = put_length(field, n, p);
  return Coded::WriteRawToArray(data, int(n), p);
}
uint8_t* put_text(int field, std::string_view s, uint8_t* p) { return put_bytes(field, s.data(), s.size(), p); }
uint8_t* put_varint(int field, uint64_t v, uint8_t* p) {
  p = Coded::WriteTagToArray(tag(field, kVarint), p);
  return Coded::WriteVarint64ToArray(v, p);
}
uint8_t* put_fixed64(int field, uint64_t v, uint8_t* p) {
  p = Coded::WriteTagToArray(tag(field, kFixed64), p);
  return Coded::WriteLittleEndian64ToArray(v, p);
}
uint8_t* put_fixed32(int field, uint32_t v, uint8_t* p) {
  p = Coded::WriteTagToArray(tag(field, kFixed32), p);
  return Coded::WriteLittleEndian32ToArray(v, p);
}

// A StringList's values: its text split at ','.
template <typename F>
void each_listed(std::string_view text, F&& f) {
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    f(text.substr(pos, end - pos));
    pos = end + 1;
  }
}

// The AnyValue message of an attribute (its fields, no tag or length).
size_t any_value_size(const metrics::SpanRecord& r, const metrics::SpanAttribute& a) {
  using Type = metrics::SpanAttribute::Type;
  switch (a.type) {
    case Type::String: return length_field(AnyValue::kStringValueFieldNumber, a.length);
    case Type::Int: return varint_field(AnyValue::kIntValueFieldNumber, uint64_t(a.int_value));
    case Type::Double: return fixed64_field(AnyValue::kDoubleValueFieldNumber);
    case Type::Bool: return varint_field(AnyValue::kBoolValueFieldNumber, a.int_value != 0);
    case Type::StringList: {
      size_t values = 0;
      each_listed(r.string_of(a), [&](std::string_view v) {
        values += length_field(ArrayValue::kValuesFieldNumber, length_field(AnyValue::kStringValueFieldNumber, v.size()));
      });
      return length_field(AnyValue::kArrayValueFieldNumber, values);
    }
  }
  return 0;
}

uint8_t* put_any_value(const metrics::SpanRecord& r, const metrics::SpanAttribute& a, uint8_t* p) {
  using Type = metrics::SpanAttribute::Type;
  switch (a.type) {
    case Type::String: return put_text(AnyValue::kStringValueFieldNumber, r.string_of(a), p);
    case Type::Int: return put_varint(AnyValue::kIntValueFieldNumber, uint64_t(a.int_value), p);
    case Type::Double: {
      uint64_t bits = 0;
      static_assert(sizeof bits == sizeof a.double_value);
      std::memcpy(&bits, &a.double_value, sizeof bits);
      return put_fixed64(AnyValue::kDoubleValueFieldNumber, bits, p);
    }
    case Type::Bool: return put_varint(AnyValue::kBoolValueFieldNumber, a.int_value != 0, p);
    case Type::StringList: {
      size_t values = 0;
      each_listed(r.string_of(a), [&](std::string_view v) {
        values += length_field(ArrayValue::kValuesFieldNumber, length_field(AnyValue::kStringValueFieldNumber, v.size()));
      });
      p = put_length(AnyValue::kArrayValueFieldNumber, values, p);
      each_listed(r.string_of(a), [&](std::string_view v) {
        p = put_length(ArrayValue::kValuesFieldNumber, length_field(AnyValue::kStringValueFieldNumber, v.size()), p);
        p = put_text(AnyValue::kStringValueFieldNumber, v, p);
      });
      return p;
    }
  }
  return p;
}

bool skipped(const metrics::SpanAttribute& a) {
  return a.type == metrics::SpanAttribute::Type::String && a.length == 0;
}

}  // namespace

size_t append_span(const metrics::SpanRecord& r, uint64_t offset, std::string& out) {
  // Pass 1: every nested message's size (a KeyValue's AnyValue, the KeyValue, the Span).
  size_t value_sizes[metrics::kMaxSpanAttributes];
  size_t pair_sizes[metrics::kMaxSpanAttributes];
  size_t key_sizes[metrics::kMaxSpanAttributes];
  const std::string_view name = r.name(), state = r.tracestate();
  size_t span = length_field(Span::kTraceIdFieldNumber, r.trace_id.size()) +
                length_field(Span::kSpanIdFieldNumber, r.span_id.size());
  if (!state.empty()) span += length_field(Span::kTraceStateFieldNumber, state.size());
  if (r.has_parent) span += length_field(Span::kParentSpanIdFieldNumber, r.parent_id.size());
  if (!name.empty()) span += length_field(Span::kNameFieldNumber, name.size());
  if (r.kind != metrics::SpanKind(0)) span += varint_field(Span::kKindFieldNumber, uint64_t(r.kind));
  const uint64_t start = r.start_ns + offset, end = std::max(r.end_ns, r.start_ns) + offset;
  span += fixed64_field(Span::kStartTimeUnixNanoFieldNumber) + fixed64_field(Span::kEndTimeUnixNanoFieldNumber);
  for (size_t i = 0; i < r.attribute_count; ++i) {
    const metrics::SpanAttribute& a = r.attributes[i];
    if (skipped(a)) continue;
    value_sizes[i] = any_value_size(r, a);
    key_sizes[i] = std::strlen(a.key);
    pair_sizes[i] = length_field(KeyValue::kKeyFieldNumber, key_sizes[i]) +
                    length_field(KeyValue::kValueFieldNumber, value_sizes[i]);
    span += length_field(Span::kAttributesFieldNumber, pair_sizes[i]);
  }
  if (r.dropped_attributes) span += varint_field(Span::kDroppedAttributesCountFieldNumber, r.dropped_attributes);
  size_t event = 0;
  const std::string_view event_name = r.event_name ? std::string_view(r.event_name) : std::string_view();
  if (r.event_name != nullptr) {
    event = fixed64_field(Event::kTimeUnixNanoFieldNumber);
    if (!event_name.empty()) event += length_field(Event::kNameFieldNumber, event_name.size());
    span += length_field(Span::kEventsFieldNumber, event);
  }
  const size_t status = r.status != metrics::SpanStatus::Unset ? varint_field(Status::kCodeFieldNumber, uint64_t(r.status)) : 0;
  if (status) span += length_field(Span::kStatusFieldNumber, status);
  if (r.flags) span += fixed32_field(Span::kFlagsFieldNumber);

  // Pass 2: the bytes, in field-number order (as protobuf's serializer writes them).
  const size_t whole = length_field(ScopeSpans::kSpansFieldNumber, span);
  const size_t at = out.size();
  out.resize(at + whole);
  uint8_t* p = reinterpret_cast<uint8_t*>(out.data() + at);
  p = put_length(ScopeSpans::kSpansFieldNumber, span, p);
  p = put_bytes(Span::kTraceIdFieldNumber, r.trace_id.data(), r.trace_id.size(), p);
  p = put_bytes(Span::kSpanIdFieldNumber, r.span_id.data(), r.span_id.size(), p);
  if (!state.empty()) p = put_text(Span::kTraceStateFieldNumber, state, p);
  if (r.has_parent) p = put_bytes(Span::kParentSpanIdFieldNumber, r.parent_id.data(), r.parent_id.size(), p);
  if (!name.empty()) p = put_text(Span::kNameFieldNumber, name, p);
  if (r.kind != metrics::SpanKind(0)) p = put_varint(Span::kKindFieldNumber, uint64_t(r.kind), p);
  p = put_fixed64(Span::kStartTimeUnixNanoFieldNumber, start, p);
  p = put_fixed64(Span::kEndTimeUnixNanoFieldNumber, end, p);
  for (size_t i = 0; i < r.attribute_count; ++i) {
    const metrics::SpanAttribute& a = r.attributes[i];
    if (skipped(a)) continue;
    p = put_length(Span::kAttributesFieldNumber, pair_sizes[i], p);
    p = put_bytes(KeyValue::kKeyFieldNumber, a.key, key_sizes[i], p);
    p = put_length(KeyValue::kValueFieldNumber, value_sizes[i], p);
    p = put_any_value(r, a, p);
  }
  if (r.dropped_attributes) p = put_varint(Span::kDroppedAttributesCountFieldNumber, r.dropped_attributes, p);
  if (r.event_name != nullptr) {
    p = put_length(Span::kEventsFieldNumber, event, p);
    p = put_fixed64(Event::kTimeUnixNanoFieldNumber, r.event_ns + offset, p);
    if (!event_name.empty()) p = put_text(Event::kNameFieldNumber, event_name, p);
  }
  if (status) {
    p = put_length(Span::kStatusFieldNumber, status, p);
    p = put_varint(Status::kCodeFieldNumber, uint64_t(r.status), p);
  }
  if (r.flags) p = put_fixed32(Span::kFlagsFieldNumber, r.flags, p);
  return whole;
}

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
