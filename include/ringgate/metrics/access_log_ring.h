#pragma once
// The structured access log's hand-off from a worker to the control thread: one
// single-producer/single-consumer ring of fixed-size records per worker
// (util/spsc_ring.h): the worker fills a slot in place and publishes it; the control
// thread drains every ring about every 100 ms, or as soon as one is half full, and writes
// the JSON lines. A full ring drops the record and counts it: the request path never
// waits for the log.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "ringgate/util/spsc_ring.h"
#include "ringgate/util/trace_context.h"

namespace ringgate::metrics {

// A string kept inline, cut to N-1 bytes at a UTF-8 character boundary.
template <size_t N>
struct InlineText {
  static_assert(N > 1 && N <= 256);
  uint8_t size = 0;
  bool truncated = false;
  char data[N - 1];

  void set(std::string_view s) noexcept {
    size_t n = s.size();
    truncated = n > sizeof data;
    if (truncated) {
      n = sizeof data;
      while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;  // s[n] starts the cut-off part
    }
    // An empty view may carry a null data(): memcpy(…, nullptr, 0) is undefined (UBSan).
    if (n > 0) std::memcpy(data, s.data(), n);
    size = uint8_t(n);
  }
  std::string_view view() const noexcept { return {data, size}; }
};

// One request, as the access log shows it. Times are CLOCK_MONOTONIC nanoseconds
// (the writer converts `end_ns` to wall-clock time).
struct AccessRecord {
  uint64_t end_ns = 0;
  uint64_t duration_ns = 0;
  uint64_t ttft_ns = 0;          // 0 = no response byte reached the client
  uint64_t wait_ns = 0;          // request in → sent to a model server (queued, held); with attempts > 0
  uint32_t prompt_tokens = 0;    // from the response's usage; 0 = not reported
  uint32_t completion_tokens = 0;
  uint16_t status = 0;           // 0 = the client went away before any response
  uint8_t attempts = 0;          // upstream attempts (0 = answered by the gateway itself)
  uint8_t migrations = 0;        // continuations of a broken stream sent
  bool stream = false;
  uint8_t http_version = 11;  // the client's: 10, 11 or 20
  InlineText<128> request_id;
  InlineText<128> model;         // as the client asked
  InlineText<128> target_model;  // after rewrite
  InlineText<64> endpoint;       // host:port that served it; empty when none did
  InlineText<64> first_endpoint; // with migrations: host:port whose stream broke first
  InlineText<32> migration;      // with migrations: why the first one happened (a kMigrationReasons name)
  bool traced = false;           // tracing on: the request's trace and SERVER span
  util::TraceId trace_id{};
  util::SpanId span_id{};
};

// Its ring (util::SpscRing): claim() a slot, fill it, commit(); the control thread drains.
using AccessLogRing = util::SpscRing<AccessRecord>;

}  // namespace ringgate::metrics
