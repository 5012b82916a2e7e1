#pragma once
// OpenTelemetry spans on their way from a worker to the control thread's OTLP exporter
// (control/otlp_exporter.h): one single-producer/single-consumer ring of fixed-size
// records per worker (util/spsc_ring.h), as the access log's. A worker writes each span
// into its record already encoded (metrics/span_builder.h): the protobuf bytes of one
// `ScopeSpans.spans` field, so the exporter only appends them to a batch. A full ring
// drops the span and counts it.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <ctime>
#include <string_view>

#include "ringgate/util/spsc_ring.h"

namespace ringgate::metrics {

// OTLP's Span.SpanKind values.
enum class SpanKind : uint8_t { Internal = 1, Server = 2, Client = 3 };
// OTLP's Status.StatusCode values.
enum class SpanStatus : uint8_t { Unset = 0, Ok = 1, Error = 2 };

// A record is a kilobyte: a span's fixed fields take under 100 bytes and the largest one
// (the request's SERVER span) about 500 with its attributes; a span whose attributes do
// not fit keeps the ones that did and counts the rest (dropped_attributes_count).
inline constexpr size_t kSpanRecordBytes = 1024 - 2 * sizeof(uint16_t);

struct SpanRecord {
  uint16_t begin = 0, end = 0;  // the encoded field: bytes[begin, end)
  uint8_t bytes[kSpanRecordBytes];

  // The `ScopeSpans.spans` field: tag, length and the Span message.
  std::string_view field() const { return {reinterpret_cast<const char*>(bytes) + begin, size_t(end - begin)}; }
  // The Span message alone (what a test parses).
  std::string_view span() const {
    const std::string_view f = field();
    size_t at = 1;  // the tag: one byte
    while (at < f.size() && (static_cast<unsigned char>(f[at]) & 0x80)) ++at;
    return at < f.size() ? f.substr(at + 1) : std::string_view();
  }
};

using SpanRing = util::SpscRing<SpanRecord>;

// Monotonic to Unix nanoseconds, for the times a worker encodes: read when the worker
// writes a span, refreshed by the exporter every turn (a step of the wall clock shows
// within one), and right at construction.
class SpanClock {
 public:
  SpanClock() { refresh(); }
  uint64_t realtime_offset_ns() const { return offset_.load(std::memory_order_relaxed); }
  void refresh() const { offset_.store(now(CLOCK_REALTIME) - now(CLOCK_MONOTONIC), std::memory_order_relaxed); }

 private:
  static uint64_t now(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
  }
  mutable std::atomic<uint64_t> offset_{0};  // written by the control thread
};

}  // namespace ringgate::metrics
