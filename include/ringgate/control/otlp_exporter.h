#pragma once
// OpenTelemetry traces export (issue 50), on the control thread: the workers' span rings
// (metrics::SpanRing) are drained every turn into one bounded queue, and batches of it go
// out as OTLP/HTTP protobuf (POST <endpoint>/v1/traces, an ExportTraceServiceRequest) on
// one keep-alive connection, one POST at a time. A batch the collector answers 429, 502,
// 503 or 504 (or that times out, or whose connection fails) is sent again after a backoff
// (Retry-After when the answer has one, else 1 s doubling to 30 s) while the spans behind
// it wait in the queue; one answered with any other status is dropped (400: never sent
// again). The queue is bounded: spans beyond it are dropped and counted, never waited for.
// The workers never wait either: a full ring drops its span (counted by the ring).
// A span arrives encoded by its worker (metrics/span_builder.h) and is copied once, as it
// leaves its ring, into the buffer of the POST that will carry it: each batch's buffer
// starts with room for the HTTP head and the request's frame (control/otlp_span_encoder.h),
// written in front of its spans when it is sent. The exporter also keeps each worker's
// SpanClock current, every turn.
#include <array>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ringgate/control/epoll_loop.h"
#include "ringgate/control/http_get_client.h"
#include "ringgate/control/otlp_span_encoder.h"
#include "ringgate/metrics/gateway_stats.h"

namespace ringgate::control {

struct OtlpExporterOptions {
  std::string host;  // the collector (an IP address or a name resolved at start)
  uint16_t port = 4318;
  std::string path = "/v1/traces";
  std::string service_name = "ringgate";
  std::string service_version;
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every POST
  std::chrono::milliseconds timeout{10000};                  // one POST
  size_t max_queue_spans = 2048;  // spans waiting (the batch in flight included)
  size_t max_batch_spans = 512;   // spans per POST
  std::chrono::milliseconds batch_delay{200};   // a batch that is not full waits this long for more
  std::chrono::milliseconds backoff_initial{1000};
  std::chrono::milliseconds backoff_max{30000};
};

// Why spans were dropped (ringgate_trace_spans_dropped_total{reason}).
inline constexpr std::array<std::string_view, 3> kSpanDropReasons = {"ring_full", "queue_full", "rejected"};
// Why a POST failed (ringgate_trace_export_failures_total{reason}).
inline constexpr std::array<std::string_view, 4> kExportFailureReasons = {"retryable_status", "rejected",
                                                                          "timeout", "connection"};

// "http://host:port[/base]" (OTEL_EXPORTER_OTLP_ENDPOINT's form) into `out`'s host, port
// and path (/v1/traces appended unless `exact`, as OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is
// used). An error message, or empty.
std::string parse_otlp_endpoint(std::string_view url, bool exact, OtlpExporterOptions& out);

class OtlpExporter {
 public:
  OtlpExporter(EpollLoop& loop, OtlpExporterOptions options);
  ~OtlpExporter();
  OtlpExporter(const OtlpExporter&) = delete;
  OtlpExporter& operator=(const OtlpExporter&) = delete;

  // False when the collector's address could not be resolved (error() says why).
  bool ok() const { return client_ != nullptr; }
  const std::string& error() const { return error_; }

  // Each control-thread turn: drain the rings, send a batch when one is due.
  void tick(std::span<const metrics::WorkerStats* const> workers, uint64_t now_ns);

  // For /metrics (control thread). `workers`: their rings' drops are the ring_full reason.
  uint64_t exported() const { return exported_; }
  uint64_t dropped(size_t reason, std::span<const metrics::WorkerStats* const> workers) const;
  uint64_t failures(size_t reason) const { return failures_[reason]; }
  size_t queued() const { return queued_spans_ + in_flight_; }
  // When the batch that failed is sent again (CLOCK_MONOTONIC ns); 0: no retry waits.
  uint64_t retry_at_ns() const { return waiting_retry_ ? retry_at_ns_ : 0; }

 private:
  void take(const metrics::SpanRecord& record);
  void send_batch(uint64_t now_ns);
  void done(const GetResult& result);
  void retry_later(uint64_t now_ns, std::string_view retry_after);

  EpollLoop& loop_;
  OtlpExporterOptions options_;
  std::string error_;
  std::unique_ptr<HttpGetClient> client_;
  std::string head_;  // the POST's head up to Content-Length's value
  OtlpBatchFrame frame_;  // the service's Resource and the scope, encoded once
  // The spans waiting, in batches of at most max_batch_spans, oldest first: each batch's
  // bytes are `room_` bytes for the head and frame, then its spans back to back.
  struct Batch {
    std::string bytes;
    size_t spans = 0;
  };
  std::deque<Batch> batches_;
  size_t room_ = 0;
  size_t batch_capacity_ = 0;  // reserved for a new batch: the largest one sent
  static constexpr size_t kMaxBatchReserve = 8u << 20;
  size_t queued_spans_ = 0;
  size_t in_flight_ = 0;           // spans of the batch being sent (or waiting to be sent again)
  bool waiting_retry_ = false;
  uint64_t retry_at_ns_ = 0;
  uint64_t backoff_ns_ = 0;
  uint64_t oldest_ns_ = 0;         // when the oldest queued span arrived (batch_delay)
  uint64_t now_ns_ = 0;
  uint64_t exported_ = 0;
  std::array<uint64_t, kSpanDropReasons.size()> dropped_{};
  std::array<uint64_t, kExportFailureReasons.size()> failures_{};
};

}  // namespace ringgate::control
