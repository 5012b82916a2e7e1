#pragma once
// A span written by the worker that records it, straight into its ring record
// (metrics/span_record.h) as the protobuf bytes of one `ScopeSpans.spans` field (issue
// 50): its fixed fields when it starts, each attribute as it is added, the rest at
// finish(). The bytes are those protobuf's own serializer writes for the same Span (field
// order included; tests/metrics/span_builder_test.cpp compares them). Why here and not on
// the control thread: a record the size of its encoded span is a few cache lines that
// the control thread reads once and copies into a batch, where a record of typed fields
// was four times that and was encoded again there (perf/proxy/tracing_cost.sh).
#include <cstdint>
#include <cstring>
#include <string_view>

#include "ringgate/metrics/protobuf_wire.h"
#include "ringgate/metrics/span_record.h"
#include "ringgate/util/trace_context.h"

namespace ringgate::metrics {

inline constexpr size_t kMaxSpanNameBytes = 128;            // cut beyond
inline constexpr size_t kMaxSpanAttributeValueBytes = 256;  // one string value, cut beyond (on UTF-8)
inline constexpr size_t kMaxSpanEventNameBytes = 64;        // cut beyond

// The field numbers an attribute is written with, here so that the attribute writers
// inline at their call sites (a literal key is then copied as constant-size moves);
// span_builder.cpp checks each against the generated code (proto/opentelemetry).
namespace otlp_field {
inline constexpr int kSpanAttributes = 9;
inline constexpr int kKeyValueKey = 1, kKeyValueValue = 2;
inline constexpr int kAnyString = 1, kAnyBool = 2, kAnyInt = 3, kAnyDouble = 4;
}  // namespace otlp_field

// At most `max` bytes of `text`, up to its first byte that is not well-formed UTF-8 (a
// protobuf string must be: a collector refuses a whole batch with one that is not), and
// never ending inside a sequence.
std::string_view utf8_prefix(std::string_view text, size_t max);

struct SpanStart {
  util::TraceId trace_id{};
  util::SpanId span_id{};
  util::SpanId parent_id{};
  bool has_parent = false;  // false: a root span
  uint8_t flags = 0;        // W3C trace flags
  SpanKind kind = SpanKind::Internal;
  std::string_view tracestate;  // left out when longer than util::kMaxTracestateBytes
  std::string_view name;
  uint64_t start_ns = 0, end_ns = 0;  // CLOCK_MONOTONIC; an end before the start is the start
};

class SpanBuilder {
 public:
  // Writes the span's fixed fields into `record`; its times are monotonic +
  // `realtime_offset_ns` (Unix nanoseconds, SpanClock).
  SpanBuilder(SpanRecord& record, const SpanStart& start, uint64_t realtime_offset_ns);

  // Attributes, in the order added (`key`: a string literal). One that does not fit in
  // the record is dropped and counted. A string value is cut to well-formed UTF-8 of at
  // most kMaxSpanAttributeValueBytes; an empty one is no attribute.
  [[gnu::always_inline]] void add_string(std::string_view key, std::string_view value) {
    put_string(key, utf8_prefix(value, kMaxSpanAttributeValueBytes));
  }
  // A value the gateway wrote itself (a literal, a name from one of its tables): ASCII,
  // so not checked as add_string checks a value from a client or a server; still cut.
  [[gnu::always_inline]] void add_ascii(std::string_view key, std::string_view value) {
    put_string(key, value.substr(0, kMaxSpanAttributeValueBytes));
  }
  // A string array whose values `values` separates with ',' (gen_ai.response.finish_reasons).
  void add_string_list(std::string_view key, std::string_view values);
  [[gnu::always_inline]] void add_int(std::string_view key, int64_t value) {
    const size_t any = wire::varint_field(otlp_field::kAnyInt, uint64_t(value));
    if (uint8_t* p = attribute(key, any)) wire::put_varint(otlp_field::kAnyInt, uint64_t(value), p);
  }
  [[gnu::always_inline]] void add_double(std::string_view key, double value) {
    uint64_t bits = 0;
    static_assert(sizeof bits == sizeof value);
    std::memcpy(&bits, &value, sizeof bits);
    if (uint8_t* p = attribute(key, wire::fixed64_field(otlp_field::kAnyDouble)))
      wire::put_fixed64(otlp_field::kAnyDouble, bits, p);
  }
  [[gnu::always_inline]] void add_bool(std::string_view key, bool value) {
    if (uint8_t* p = attribute(key, wire::varint_field(otlp_field::kAnyBool, value)))
      wire::put_varint(otlp_field::kAnyBool, value, p);
  }
  void set_status(SpanStatus status) { status_ = status; }
  // The span's one event (the request's first token), at monotonic `at_ns`; `name` is
  // read at finish().
  void set_event(std::string_view name, uint64_t at_ns);
  // Writes the dropped count, the event, the status and the flags, and the field's tag
  // and length in front: the record is complete (SpanRecord::field()).
  void finish();

 private:
  // A string attribute of a value already cut; an empty one is none.
  [[gnu::always_inline]] void put_string(std::string_view key, std::string_view value) {
    if (value.empty()) return;
    const size_t any = wire::length_field(otlp_field::kAnyString, value.size());
    if (uint8_t* p = attribute(key, any)) wire::put_text(otlp_field::kAnyString, value, p);
  }
  // An attribute of `key` whose AnyValue is `any` bytes: its tag, length, key and the
  // value's tag and length written, where the value's fields go; or null when it does not
  // fit (dropped and counted).
  [[gnu::always_inline]] uint8_t* attribute(std::string_view key, size_t any) {
    using namespace wire;
    const size_t pair =
        length_field(otlp_field::kKeyValueKey, key.size()) + length_field(otlp_field::kKeyValueValue, any);
    const size_t whole = length_field(otlp_field::kSpanAttributes, pair);
    if (whole > size_t(limit_ - at_)) {
      ++dropped_;
      return nullptr;
    }
    uint8_t* p = put_length(otlp_field::kSpanAttributes, pair, at_);
    p = put_text(otlp_field::kKeyValueKey, key, p);
    p = put_length(otlp_field::kKeyValueValue, any, p);
    at_ += whole;
    return p;
  }

  SpanRecord& record_;
  uint8_t* at_;
  uint8_t* limit_;  // the attributes end here: the rest is finish()'s
  uint64_t offset_;
  uint64_t event_ns_ = 0;
  std::string_view event_name_;
  bool has_event_ = false;
  uint8_t flags_;
  SpanStatus status_ = SpanStatus::Unset;
  uint32_t dropped_ = 0;
};

}  // namespace ringgate::metrics
