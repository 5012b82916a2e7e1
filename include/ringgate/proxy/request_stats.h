#pragma once
// The metrics, trace and access-log leaf of one request: its objective's series (GAIE's and
// llm-d's request metrics: count, sizes, TTFT, inter-token gaps, tokens, errors), the
// answer's usage and first token read as the bytes are relayed, and one access-log
// record when the request ends. Fixed state: nothing is allocated per request.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringgate/openai/event_stream_scanner.h"
#include "ringgate/openai/first_token_scanner.h"
#include "ringgate/openai/usage_scanner.h"
#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/request_trace.h"

namespace ringgate::proxy {

// How a request ended, for record().
struct RequestOutcome {
  int status = 0;                  // 0 = the client went away before any response
  bool from_model_server = false;  // the status is the model server's answer, relayed
  uint32_t attempts = 0;
  uint32_t migrations = 0;
  uint8_t http_version = 11;  // the client's: 10, 11 or 20 (an HTTP/2 stream)
  std::string_view request_id, model, target_model;
  std::string_view endpoint;        // that served the end of it
  std::string_view first_endpoint;  // whose stream broke first (with migrations)
  std::string_view migration;       // why (with migrations)
  // The latency model's sample, when the answer was one attempt's own from its start (no
  // migration, no prefill leg): the endpoint (kNoEndpoint: no sample), when it was sent
  // and the features it was sent with.
  uint32_t latency_endpoint = UINT32_MAX;
  uint64_t sent_ns = 0;
  sched::LatencyFeatures features;
};

class RequestStats {
 public:
  explicit RequestStats(ExchangeEnv& env) : env_(env), trace_(env) {}

  // The request's trace (tracing on): begun by the exchange, its SERVER span recorded by record().
  RequestTrace& trace() { return trace_; }

  // A model name as a statistics label: names the pool does not know, and names past
  // metrics.maxLabelValues, share "other", so neither clients nor model servers can mint
  // label sets or fill a worker's statistics table.
  std::string_view label(std::string_view model) const;
  // The request's label set (`fairness`: already a label, Admission::label_values); it counts
  // as a request only once scheduled().
  void begin(std::string_view model, std::string_view target, int32_t priority, std::string_view fairness,
             bool stream);
  // It reached a model server for the first time (GAIE's request_total and request_sizes).
  void scheduled(size_t request_bytes);
  // Body bytes of the answer on their way to the client: usage, size, first token, gaps.
  void observe(std::string_view relayed);
  // A broken stream went on elsewhere (outcome 0) or ended (1), by reason.
  void migration(metrics::MigrationOutcome outcome, metrics::MigrationReason reason);
  // The continuation's first bytes reach the client: the pause since the last bytes before the break.
  void resumed_after_pause();
  // Once per request.
  void record(const RequestOutcome& outcome);

  const openai::UsageScanner& usage() const { return stream_ ? stream_scanner_.usage() : usage_; }

 private:
  void log_access(const RequestOutcome& outcome, uint64_t end_ns);
  void report_latency(const RequestOutcome& outcome, uint64_t end_ns, int64_t completion_tokens);

  ExchangeEnv& env_;
  RequestTrace trace_;
  metrics::ObjectiveStats* objective_ = nullptr;
  bool stream_ = false;
  bool traced_ = false;  // record(): the trace's SERVER span was written (the access log names it)
  uint64_t started_ns_ = 0;
  uint64_t scheduled_ns_ = 0;    // sent to a model server (the first attempt): the end of any wait
  uint64_t first_token_ns_ = 0;  // first generated token relayed (TTFT)
  uint64_t last_chunk_ns_ = 0;   // previous body chunk of a stream (inter-token latency)
  uint64_t response_bytes_ = 0;  // body bytes relayed (response_sizes)
  // A stream's events and usage; how many events had ended before the chunk with the first
  // token: the token events when the answer carries no usage (a client that did not ask
  // for stream_options.include_usage), for the latency model's TPOT.
  openai::EventStreamScanner stream_scanner_;
  uint32_t events_before_first_ = 0;
  openai::UsageScanner usage_;  // an answer that is no stream
  openai::FirstTokenScanner first_token_;
};

}  // namespace ringgate::proxy
