#include "ringgate/metrics/span_builder.h"

#include <algorithm>
#include <cstring>

#include "opentelemetry/proto/trace/v1/trace.pb.h"
#include "ringgate/metrics/protobuf_wire.h"
#include "ringgate/tokenize/utf8.h"

namespace ringgate::metrics {

namespace {

using namespace wire;
using Span = opentelemetry::proto::trace::v1::Span;
using Event = opentelemetry::proto::trace::v1::Span_Event;
using Status = opentelemetry::proto::trace::v1::Status;
using ScopeSpans = opentelemetry::proto::trace::v1::ScopeSpans;
using KeyValue = opentelemetry::proto::common::v1::KeyValue;
using AnyValue = opentelemetry::proto::common::v1::AnyValue;
using ArrayValue = opentelemetry::proto::common::v1::ArrayValue;

// In front of the span: the ScopeSpans.spans tag and a length of up to two bytes.
constexpr size_t kPrefixRoom = 3;
static_assert(kSpanRecordBytes < (1u << 14), "a span's length fits two varint bytes");
// Behind the attributes, for finish(): the dropped count (tag, varint of a uint32), the
// event (tag, length, time, name), the status (tag, length, code) and the flags.
constexpr size_t kTrailerRoom = 6 + (2 + 9 + 2 + kMaxSpanEventNameBytes) + 4 + 6;
// The fixed fields at their largest (ids, tracestate, parent, name, kind, two times) fit
// before the trailer's room.
static_assert(kPrefixRoom + 18 + 10 + (3 + util::kMaxTracestateBytes) + 10 + (3 + kMaxSpanNameBytes) + 2 + 18 +
                      kTrailerRoom <
                  kSpanRecordBytes,
              "a span's fixed fields always fit its record");

// A string list's values: its text split at ','.
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

static_assert(otlp_field::kSpanAttributes == Span::kAttributesFieldNumber);
static_assert(otlp_field::kKeyValueKey == KeyValue::kKeyFieldNumber);
static_assert(otlp_field::kKeyValueValue == KeyValue::kValueFieldNumber);
static_assert(otlp_field::kAnyString == AnyValue::kStringValueFieldNumber);
static_assert(otlp_field::kAnyBool == AnyValue::kBoolValueFieldNumber);
static_assert(otlp_field::kAnyInt == AnyValue::kIntValueFieldNumber);
static_assert(otlp_field::kAnyDouble == AnyValue::kDoubleValueFieldNumber);

}  // namespace

std::string_view utf8_prefix(std::string_view v, size_t max) {
  const size_t limit = std::min(v.size(), max);
  const char* const s = v.data();
  // ASCII, the usual case, checked without a branch a byte: eight bytes a load (the last
  // load overlapping the one before), or the bytes or-ed together under eight.
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  uint64_t high = 0;
  if (limit >= 8) {
    uint64_t eight = 0;
    for (size_t i = 0; i + 8 <= limit; i += 8) {
      std::memcpy(&eight, s + i, 8);
      high |= eight;
    }
    std::memcpy(&eight, s + limit - 8, 8);
    high |= eight;
  } else {
    for (size_t i = 0; i < limit; ++i) high |= static_cast<unsigned char>(s[i]);
  }
  if ((high & kHigh) == 0) return v.substr(0, limit);
  size_t n = 0;
  while (n < limit) {
    const size_t length = static_cast<unsigned char>(s[n]) < 0x80 ? 1 : tokenize::utf8_sequence_length(v.substr(n));
    if (length == 0 || n + length > limit) break;
    n += length;
  }
  return v.substr(0, n);
}

SpanBuilder::SpanBuilder(SpanRecord& record, const SpanStart& s, uint64_t realtime_offset_ns)
    : record_(record),
      limit_(record.bytes + kSpanRecordBytes - kTrailerRoom),
      offset_(realtime_offset_ns),
      flags_(s.flags) {
  uint8_t* p = record.bytes + kPrefixRoom;
  p = put_bytes(Span::kTraceIdFieldNumber, s.trace_id.data(), s.trace_id.size(), p);
  p = put_bytes(Span::kSpanIdFieldNumber, s.span_id.data(), s.span_id.size(), p);
  if (!s.tracestate.empty() && s.tracestate.size() <= util::kMaxTracestateBytes)
    p = put_text(Span::kTraceStateFieldNumber, s.tracestate, p);
  if (s.has_parent) p = put_bytes(Span::kParentSpanIdFieldNumber, s.parent_id.data(), s.parent_id.size(), p);
  const std::string_view name = utf8_prefix(s.name, kMaxSpanNameBytes);
  if (!name.empty()) p = put_text(Span::kNameFieldNumber, name, p);
  p = put_varint(Span::kKindFieldNumber, uint64_t(s.kind), p);
  p = put_fixed64(Span::kStartTimeUnixNanoFieldNumber, s.start_ns + offset_, p);
  p = put_fixed64(Span::kEndTimeUnixNanoFieldNumber, std::max(s.end_ns, s.start_ns) + offset_, p);
  at_ = p;
}

void SpanBuilder::add_string_list(std::string_view key, std::string_view text) {
  text = utf8_prefix(text, kMaxSpanAttributeValueBytes);
  if (text.empty()) return;
  size_t values = 0;
  each_listed(text, [&](std::string_view v) {
    values += length_field(ArrayValue::kValuesFieldNumber, length_field(AnyValue::kStringValueFieldNumber, v.size()));
  });
  uint8_t* p = attribute(key, length_field(AnyValue::kArrayValueFieldNumber, values));
  if (p == nullptr) return;
  p = put_length(AnyValue::kArrayValueFieldNumber, values, p);
  each_listed(text, [&](std::string_view v) {
    p = put_length(ArrayValue::kValuesFieldNumber, length_field(AnyValue::kStringValueFieldNumber, v.size()), p);
    p = put_text(AnyValue::kStringValueFieldNumber, v, p);
  });
}

void SpanBuilder::set_event(std::string_view name, uint64_t at_ns) {
  has_event_ = true;
  event_name_ = utf8_prefix(name, kMaxSpanEventNameBytes);
  event_ns_ = at_ns;
}

void SpanBuilder::finish() {
  // The fields after the attributes, in field-number order (as protobuf's serializer).
  uint8_t* p = at_;
  if (dropped_) p = put_varint(Span::kDroppedAttributesCountFieldNumber, dropped_, p);
  if (has_event_) {
    size_t event = fixed64_field(Event::kTimeUnixNanoFieldNumber);
    if (!event_name_.empty()) event += length_field(Event::kNameFieldNumber, event_name_.size());
    p = put_length(Span::kEventsFieldNumber, event, p);
    p = put_fixed64(Event::kTimeUnixNanoFieldNumber, event_ns_ + offset_, p);
    if (!event_name_.empty()) p = put_text(Event::kNameFieldNumber, event_name_, p);
  }
  if (status_ != SpanStatus::Unset) {
    p = put_length(Span::kStatusFieldNumber, varint_field(Status::kCodeFieldNumber, uint64_t(status_)), p);
    p = put_varint(Status::kCodeFieldNumber, uint64_t(status_), p);
  }
  if (flags_) p = put_fixed32(Span::kFlagsFieldNumber, flags_, p);
  // The field's tag and length, right in front of the span.
  const size_t span = size_t(p - record_.bytes) - kPrefixRoom;
  const size_t head = length_field(ScopeSpans::kSpansFieldNumber, span) - span;
  record_.begin = uint16_t(kPrefixRoom - head);
  record_.end = uint16_t(p - record_.bytes);
  put_length(ScopeSpans::kSpansFieldNumber, span, record_.bytes + record_.begin);
}

}  // namespace ringgate::metrics
