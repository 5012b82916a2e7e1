#pragma once
// OpenTelemetry spans on their way from a worker to the control thread's OTLP exporter
// (control/otlp_exporter.h): one single-producer/single-consumer ring of fixed-size
// records per worker (util/spsc_ring.h), as the access log's. A worker fills a record in
// place (attribute keys are static strings; names and values are copied into the
// record's own text space, cut when it is full) and publishes it; a ring half full wakes
// the control thread. A full ring drops the span and counts it. Times are
// CLOCK_MONOTONIC nanoseconds; the exporter converts them to Unix time.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "ringgate/util/spsc_ring.h"
#include "ringgate/util/trace_context.h"

namespace ringgate::metrics {

// OTLP's Span.SpanKind values.
enum class SpanKind : uint8_t { Internal = 1, Server = 2, Client = 3 };
// OTLP's Status.StatusCode values.
enum class SpanStatus : uint8_t { Unset = 0, Ok = 1, Error = 2 };

struct SpanAttribute {
  enum class Type : uint8_t { String, Int, Double, Bool, StringList };
  const char* key = nullptr;  // a static string
  Type type = Type::Int;
  uint16_t offset = 0;  // String / StringList: its text in SpanRecord::text
  uint16_t length = 0;
  int64_t int_value = 0;
  double double_value = 0;
};

inline constexpr size_t kMaxSpanAttributes = 20;
inline constexpr size_t kSpanTextBytes = 1024;
inline constexpr size_t kMaxSpanAttributeValueBytes = 256;  // one string value, cut beyond

struct SpanRecord {
  util::TraceId trace_id{};
  util::SpanId span_id{};
  util::SpanId parent_id{};  // all zero: a root span
  bool has_parent = false;
  uint8_t flags = 0;
  SpanKind kind = SpanKind::Internal;
  SpanStatus status = SpanStatus::Unset;
  uint16_t name_offset = 0, name_length = 0;  // the span's name in text
  const char* event_name = nullptr;  // one event (the request's first token), or none
  uint64_t start_ns = 0, end_ns = 0, event_ns = 0;
  uint16_t tracestate_length = 0;  // the trace's tracestate: text[0, tracestate_length)
  uint8_t attribute_count = 0;
  uint8_t dropped_attributes = 0;  // no room for them (count or text)
  uint16_t text_used = 0;
  SpanAttribute attributes[kMaxSpanAttributes];
  char text[kSpanTextBytes];

  // A fresh record in a reused slot.
  void reset() {
    has_parent = false;
    flags = 0;
    kind = SpanKind::Internal;
    status = SpanStatus::Unset;
    name_offset = name_length = 0;
    event_name = nullptr;
    start_ns = end_ns = event_ns = 0;
    tracestate_length = 0;
    attribute_count = 0;
    dropped_attributes = 0;
    text_used = 0;
  }
  // Before any attribute: the tracestate goes first in text.
  void set_tracestate(std::string_view state) {
    if (state.empty() || text_used != 0 || state.size() > util::kMaxTracestateBytes) return;
    std::memcpy(text, state.data(), state.size());
    tracestate_length = uint16_t(state.size());
    text_used = tracestate_length;
  }
  std::string_view tracestate() const { return {text, tracestate_length}; }
  void set_name(std::string_view n) {
    if (n.size() > 128 || text_used + n.size() > kSpanTextBytes) n = n.substr(0, 0);
    if (!n.empty()) std::memcpy(text + text_used, n.data(), n.size());
    name_offset = text_used;
    name_length = uint16_t(n.size());
    text_used = uint16_t(text_used + n.size());
  }
  std::string_view name() const { return {text + name_offset, name_length}; }

  SpanAttribute* add(const char* key, SpanAttribute::Type type) {
    if (attribute_count == kMaxSpanAttributes) {
      ++dropped_attributes;
      return nullptr;
    }
    SpanAttribute& a = attributes[attribute_count++];
    a.key = key;
    a.type = type;
    return &a;
  }
  void add_int(const char* key, int64_t v) {
    if (SpanAttribute* a = add(key, SpanAttribute::Type::Int)) a->int_value = v;
  }
  void add_double(const char* key, double v) {
    if (SpanAttribute* a = add(key, SpanAttribute::Type::Double)) a->double_value = v;
  }
  void add_bool(const char* key, bool v) {
    if (SpanAttribute* a = add(key, SpanAttribute::Type::Bool)) a->int_value = v ? 1 : 0;
  }
  // A string value (cut at kMaxSpanAttributeValueBytes, on a UTF-8 boundary); when `list`,
  // a string array whose values `v` separates with ',' (gen_ai.response.finish_reasons).
  // An empty value is no attribute.
  void add_string(const char* key, std::string_view v, bool list = false) {
    if (v.empty()) return;
    size_t n = v.size() < kMaxSpanAttributeValueBytes ? v.size() : kMaxSpanAttributeValueBytes;
    while (n < v.size() && n > 0 && (static_cast<unsigned char>(v[n]) & 0xC0) == 0x80) --n;
    if (text_used + n > kSpanTextBytes) {
      ++dropped_attributes;
      return;
    }
    SpanAttribute* a = add(key, list ? SpanAttribute::Type::StringList : SpanAttribute::Type::String);
    if (a == nullptr) return;
    if (n > 0) std::memcpy(text + text_used, v.data(), n);
    a->offset = text_used;
    a->length = uint16_t(n);
    text_used = uint16_t(text_used + n);
  }
  std::string_view string_of(const SpanAttribute& a) const { return {text + a.offset, a.length}; }
};

using SpanRing = util::SpscRing<SpanRecord>;

}  // namespace ringgate::metrics
