#pragma once
// Limits and timeouts of the data path (all settable by the gateway's flags).
// THE defaults: the config file only overrides what it sets (gateway/settings.cpp).
#include <cstddef>
#include <cstdint>
#include <optional>

#include "ringgate/http/h2_session.h"
#include "ringgate/http/request_parser.h"

namespace ringgate::proxy {

// The retry budget: attempts (every connection tried, the fresh-connection retry after
// a reused one failed included) and the deadline since the request's first attempt (for
// a continuation: since its stream broke).
struct RetryBudget {
  uint32_t max_attempts = 3;
  uint32_t retry_deadline_ms = 5000;  // 0 = none
  bool allows_another(uint32_t attempts, uint64_t request_started_ms, uint64_t now_ms) const {
    if (attempts >= max_attempts) return false;
    return retry_deadline_ms == 0 || now_ms - request_started_ms < retry_deadline_ms;
  }
};

// Streams that lose their server mid-way continue on another (config `migration`).
struct MigrationOptions {
  bool enabled = true;
  uint32_t stall_timeout_ms = 30000;  // a stream silent this long counts as broken ("stallTimeout")
  uint32_t max_per_request = 2;       // continuations of one request ("maxPerRequest")
  uint32_t max_tokens = 8192;         // longest generated text carried into a continuation ("maxTokens")
};

// Prefill/decode disaggregation (config `disaggregation`): a request whose prompt has at
// least non_cached_tokens tokens its decode pod does not hold is prefilled on a prefill
// pod first (llm-d's prefix-based-pd-decider).
struct DisaggregationOptions {
  // Unset: on when the pool has a `prefill` pod ("enabled").
  std::optional<bool> enabled;
  uint32_t non_cached_tokens = 512;       // "nonCachedTokens"; 0 = never split
  uint32_t prefill_timeout_ms = 30000;    // the prefill leg, sent → whole answer ("prefillTimeout")
};

// Hedged prefill (config `hedging`; proxy/hedging.h): a streamed request with a TTFT
// objective whose pick's predicted headroom is below `headroom` (a fraction of the
// objective) also goes to the next-best server; the first to stream a token is kept.
struct HedgingOptions {
  bool enabled = false;          // "enabled"
  double max_extra_load = 0.05;  // hedges per request a worker dispatches, at most ("maxExtraLoad")
  double headroom = 0.2;         // "headroom"
};

// tracing: OpenTelemetry spans of each request (proxy/request_trace.h); off by default.
struct TracingOptions {
  bool enabled = false;
  double sample_ratio = 1.0;  // of traces this gateway starts (and, not parent-based, of all)
  bool parent_based = true;   // a client's traceparent decides (its sampled flag)
  // Per worker: spans waiting for the control thread (half full wakes it); full: dropped.
  // 1,024 records of 1 KB, a span's encoded bytes using ~400 of each: tracing_cost.sh at 1.0
  // (15 interleaved rounds, the two in one run) read +11.6% CPU a request with 0.02% of the
  // spans dropped, against +12.3% and 0.46% with 512 records (which won when a record was
  // 1.8 KB of typed fields, all of them touched).
  uint32_t ring_slots = 1024;
};

struct ProxyOptions {
  http::RequestLimits limits;                 // 431 / 413
  uint32_t header_timeout_ms = 10000;         // first byte of a request → end of its head (408)
  uint32_t body_timeout_ms = 60000;           // end of head → end of body (408)
  uint32_t client_idle_timeout_ms = 60000;    // keep-alive connection with no request: closed
  uint32_t tls_handshake_timeout_ms = 10000;  // TLS listener: accept → handshake done, else closed
  uint32_t upstream_connect_timeout_ms = 3000;      // 504 when every try timed out
  uint32_t upstream_first_byte_timeout_ms = 300000; // request sent → first response byte (504)
  uint32_t upstream_idle_timeout_ms = 4000;   // pooled connection lifetime; below vLLM's 5 s
  uint32_t max_attempts = 3;                  // endpoints tried before 502
  uint32_t retry_deadline_ms = 5000;          // no new attempt after this since the request began; 0 = none
  uint32_t request_timeout_ms = 600000;       // whole request, arrival → last byte (config timeouts.request); 0 = none
  // Distinct values per client- or server-chosen metric label family, process-wide
  // (metrics.maxLabelValues; metrics::LabelBounds).
  uint32_t max_label_values = 64;
  uint32_t drain_timeout_ms = 10000;          // on SIGTERM: in-flight requests get this long
  size_t max_client_buffer_bytes = 1 << 20;   // unsent response bytes before upstream reads pause
  // Provided receive buffers per worker (power of two). io_uring hands them out in ring
  // order, so every one of them passes through the cache in turn: 128 of 16 KiB (2 MiB,
  // about one core's L2) relay a bulk stream with ~10% less CPU than 1024 did (issue 32).
  // Running short only re-arms a receive (ringgate_io_uring_enobufs_rearms_total).
  uint32_t buffer_count = 128;
  uint32_t buffer_size = 16384;
  // Structured access log: each worker hands a fixed-size record per request to the
  // control thread through its own ring (this many slots; 0 = no access log).
  uint32_t access_log_ring_slots = 0;
  uint32_t upstream_read_idle_timeout_ms = 120000;  // between bytes of a response once its head arrived
  uint32_t client_write_timeout_ms = 60000;   // a send to the client making no progress: exchange and upstream closed
  uint32_t max_connections = 16384;           // per worker: beyond, accepted connections get a 503 and are closed
  size_t max_buffered_body_bytes = 256ull << 20;  // per worker, unfinished request bytes: 503 + Retry-After beyond
  uint32_t accept_backoff_ms = 100;           // accept failing with EMFILE/ENFILE: pause this long
  // A request naming a Responses API response this replica does not know waits this long
  // for the other replicas to tell it (proxy/response_wait.h); 0 = no wait (alone). Set
  // from sharedState's sync interval (gateway/settings.cpp).
  uint32_t response_wait_ms = 0;
  // hub.maxHops: a request whose x-ringgate-hops header says more is answered 508 (a loop of
  // gateways); each forwarded request carries one more hop than it came with.
  uint32_t max_hops = 2;

  // HTTP/2 on the API listener (listen.http2): h2c by prior knowledge beside HTTP/1.1,
  // h2 by ALPN under TLS. (Its request limits are `limits`, as HTTP/1.1's.)
  bool http2_enabled = true;
  http::H2Limits http2;

  MigrationOptions migration;
  TracingOptions tracing;
  DisaggregationOptions disaggregation;
  HedgingOptions hedging;

  RetryBudget retry_budget() const { return {max_attempts, retry_deadline_ms}; }
};

}  // namespace ringgate::proxy
