#pragma once
// Per-worker counters. Each is written by its worker thread only, as a relaxed load
// plus store (a plain mov, no locked instruction), and read by any thread at scrape
// time: the metrics layer sums Worker::counters() over the workers.
#include <atomic>
#include <cstdint>
#include <iterator>

#include "ringgate/http/h2_session.h"

namespace ringgate::proxy {

struct Counter {
  std::atomic<uint64_t> value{0};
  void add(uint64_t n = 1) { value.store(value.load(std::memory_order_relaxed) + n, std::memory_order_relaxed); }
  uint64_t get() const { return value.load(std::memory_order_relaxed); }
};

// Why a TLS handshake failed (the index of WorkerCounters::tls_handshake_failures, and
// the metric's reason label).
enum class TlsHandshakeFailure : uint8_t {
  Protocol,  // not TLS, no shared version, cipher or ALPN, a refused client certificate
  TooLarge,  // more than net::kMaxHandshakeBytes before it ended
  Timeout,   // not done within listen.tls.handshakeTimeout
};
inline constexpr const char* kTlsHandshakeFailureNames[] = {"protocol", "too_large", "timeout"};

// Why auth refused a request (the index of WorkerCounters::auth_rejections, and the
// metric's reason label).
enum class AuthFailure : uint8_t {
  MissingKey,       // 401: no Authorization: Bearer / api-key
  InvalidKey,       // 401: a key the keys file does not hold
  ModelNotAllowed,  // 403: the key's models do not match the one asked for
};
inline constexpr const char* kAuthFailureNames[] = {"missing_key", "invalid_key", "model_not_allowed"};

// How the race of a hedged request ended (proxy/hedging.h; the index of
// WorkerCounters::hedged_requests, and the metric's result label).
enum class HedgeResult : uint8_t {
  Primary,    // the first pick streamed first; the hedge was cancelled
  Hedge,      // the hedge streamed first; the first pick was cancelled
  Failover,   // one of them failed or refused before either streamed: the other went on alone
  Abandoned,  // the request ended (client gone, timeout) before either streamed
};
inline constexpr const char* kHedgeResultNames[] = {"primary", "hedge", "failover", "abandoned"};

inline constexpr const char* kResponseWaitOutcomes[] = {"found", "expired"};

inline constexpr const char* kHttp2ResetSides[] = {"client", "gateway"};

struct WorkerCounters {
  Counter connections_accepted;
  Counter connections_closed;     // open = accepted - closed
  Counter requests;               // complete requests parsed
  Counter responses_by_class[6];  // [1]=1xx … [5]=5xx, gateway-made and relayed alike
  Counter gateway_errors;         // responses the gateway wrote itself with status ≥ 400
  Counter bytes_from_clients;
  Counter bytes_to_clients;
  Counter bytes_to_upstreams;
  Counter bytes_from_upstreams;
  Counter upstream_connects;      // fresh connections opened
  Counter upstream_reuses;        // pooled connections reused
  Counter upstream_retries;       // retries (fresh connection or another endpoint)
  Counter upstream_failures;      // connect / send / receive failures
  Counter client_disconnects_mid_response;
  Counter streams_broken;         // responses cut after bytes reached the client (ended with an error event)
  Counter enobufs_rearms;         // multishot receives re-armed after running out of buffers
  Counter multishot_rearms;       // multishot ops that ended without error and were re-armed
  Counter direct_body_receives;   // receives of a large request body straight into its own buffer
  Counter cq_overflows;           // CQ overflow count (from the kernel's counter)
  Counter accept_errors;          // accept failed (EMFILE, ENFILE, ...): each one backs off
  Counter connections_rejected;   // beyond --max-connections: answered 503 and closed
  Counter tls_handshakes;          // TLS handshakes completed on the API listener
  // TLS handshakes that failed, by TlsHandshakeFailure.
  Counter tls_handshake_failures[std::size(kTlsHandshakeFailureNames)];
  Counter auth_rejections[std::size(kAuthFailureNames)];  // by AuthFailure
  Counter hedged_requests[std::size(kHedgeResultNames)];  // by HedgeResult: how each race ended
  Counter hedges_over_budget;     // requests hedging wanted but its budget (maxExtraLoad) refused
  Counter responses_learned;      // Responses API ids learned from answers (proxy/response_affinity.h)
  // Requests that waited for another replica's response id (proxy/response_wait.h), by
  // kResponseWaitOutcomes: found, or routed as unknown once the wait was over.
  Counter response_waits[2];
  Counter loops_refused;          // requests with more x-ringgate-hops than hub.maxHops: 508
  Counter loop_ticks;             // turns of the worker's 100 ms tick: /healthz sees the loop turning
  // HTTP/2 on the API listener (http/h2_session.h's names label them).
  Counter http2_connections;
  Counter http2_connections_closed;  // open = connections - closed
  Counter http2_streams;
  Counter http2_streams_closed;  // open = streams - closed
  Counter http2_resets[2];       // by kHttp2ResetSides: reset by the client, by the gateway
  Counter http2_goaways[size_t(http::H2GoawayReason::Count)];  // by http::kH2GoawayReasonNames
  Counter http2_bounds[size_t(http::H2Bound::Count)];          // by http::kH2BoundNames: the bound a client met
};

}  // namespace ringgate::proxy
