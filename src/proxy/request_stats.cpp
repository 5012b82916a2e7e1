#include "ringgate/proxy/request_stats.h"

#include <algorithm>

#include "ringgate/util/monotonic_clock.h"

namespace ringgate::proxy {

using util::steady_ns;

std::string_view RequestStats::label(std::string_view model) const {
  if (!env_.catalog->labels(model)) return metrics::kOtherModelLabel;
  if (env_.labels == nullptr || env_.labels->model_names.admit(model, true)) return model;
  return metrics::kOtherModelLabel;
}

void RequestStats::begin(std::string_view model, std::string_view target, int32_t priority,
                         std::string_view fairness, bool stream) {
  const std::string_view model_label = label(model), target_label = label(target);
  // A name the pool knows that the bound turned away (unknown names are "other" by design).
  auto& overflow = env_.stats->label_overflow[size_t(metrics::LabelFamily::ModelName)];
  if (model_label != model && env_.catalog->labels(model)) overflow.add();
  if (target_label != target && target != model && env_.catalog->labels(target)) overflow.add();
  objective_ = &env_.stats->objectives.find_or_add(
      metrics::objective_key(model_label, target_label, priority, fairness, env_.key_scratch));
  objective_->running.add(1);
  trace_.labels(priority, fairness);
  stream_ = stream;
  started_ns_ = steady_ns();
  scheduled_ns_ = 0;
  first_token_ns_ = 0;
  last_chunk_ns_ = 0;
  response_bytes_ = 0;
  usage_.reset();
  first_token_.reset(stream);
  stream_scanner_.reset();
  events_before_first_ = 0;
}

void RequestStats::scheduled(size_t request_bytes) {
  if (objective_ == nullptr) return;
  scheduled_ns_ = steady_ns();
  objective_->requests.add();
  objective_->request_sizes.observe(double(request_bytes), metrics::kRequestSizeBuckets);
}

// Scanners keep fixed state: nothing allocated.
void RequestStats::observe(std::string_view data) {
  if (objective_ == nullptr) return;
  response_bytes_ += data.size();
  trace_.observe(data, stream_);
  const bool first = first_token_.feed(data);
  if (!stream_) {
    usage_.feed(data);
    if (first) first_token_ns_ = steady_ns();
    return;
  }
  const uint32_t before = stream_scanner_.events();
  stream_scanner_.feed(data);
  const uint64_t now_ns = steady_ns();
  if (first) {
    first_token_ns_ = now_ns;
    events_before_first_ = before;
  }
  if (last_chunk_ns_) objective_->itl.observe(double(now_ns - last_chunk_ns_) / 1e9, metrics::kItlBuckets);
  last_chunk_ns_ = now_ns;
}

void RequestStats::migration(metrics::MigrationOutcome outcome, metrics::MigrationReason reason) {
  env_.stats->migrations.of(outcome, reason).add();
}

void RequestStats::resumed_after_pause() {
  if (last_chunk_ns_ == 0) return;
  env_.stats->migrations.pause.observe(double(steady_ns() - last_chunk_ns_) / 1e9, metrics::kMigrationPauseBuckets);
}

void RequestStats::record(const RequestOutcome& r) {
  metrics::ObjectiveStats* o = objective_;
  traced_ = false;
  if (o == nullptr && !trace_.on()) return;
  const uint64_t end_ns = steady_ns();  // one clock read: the span's end and the metrics'
  if (trace_.on()) {
    // Before the access log, which names the trace.
    RequestSpanFacts facts;
    facts.status = r.status;
    facts.attempts = r.attempts;
    facts.migrations = r.migrations;
    facts.stream = stream_;
    facts.request_id = r.request_id;
    facts.model = r.model;
    facts.target_model = r.target_model;
    facts.endpoint = r.endpoint;
    facts.end_ns = end_ns;
    if (o != nullptr) {
      facts.input_tokens = usage().prompt_tokens();
      facts.output_tokens = usage().completion_tokens();
      facts.first_token_ns = first_token_ns_;
    }
    trace_.finish(facts);
    traced_ = true;
  }
  if (o == nullptr) return;
  objective_ = nullptr;
  o->running.add(-1);
  if (env_.stats->access_log.enabled()) log_access(r, end_ns);
  if (r.status >= 400) o->errors[size_t(metrics::error_code_for(r.status, r.from_model_server))].add();
  if (r.status == 0 || r.status >= 400) return;  // latency and tokens of answers only
  const double seconds = double(end_ns - started_ns_) / 1e9;
  o->duration.observe(seconds, metrics::kRequestDurationBuckets);
  o->response_sizes.observe(double(response_bytes_), metrics::kResponseSizeBuckets);
  if (first_token_ns_)
    o->ttft[stream_ ? 1 : 0].observe(double(first_token_ns_ - started_ns_) / 1e9, metrics::kRequestDurationBuckets);
  const openai::UsageScanner& counts = usage();
  if (counts.prompt_tokens() > 0) o->input_tokens.observe(double(counts.prompt_tokens()), metrics::kInputTokenBuckets);
  if (counts.cached_tokens() >= 0) o->cached_tokens.observe(double(counts.cached_tokens()), metrics::kInputTokenBuckets);
  const int64_t out = counts.completion_tokens();
  if (out > 0) {
    o->output_tokens.observe(double(out), metrics::kOutputTokenBuckets);
    o->ntpot.observe(seconds / double(out), metrics::kNtpotBuckets);
  }
  // Time per output token after the first, of a stream (llm-d: (e2e - TTFT) / (n - 1)).
  if (stream_ && out > 1 && first_token_ns_ && end_ns > first_token_ns_)
    o->tpot.observe(double(end_ns - first_token_ns_) / 1e9 / double(out - 1), metrics::kTpotBuckets);
  // Without usage, a stream's token events: from the first token's to the end, but [DONE].
  const int64_t token_events = int64_t(stream_scanner_.events() - events_before_first_) - 1;
  if (r.status >= 200 && r.status < 300) report_latency(r, end_ns, out > 0 ? out : token_events);
}

// A stream's TTFT counted from when its attempt was sent (not from the request's start:
// time queued in the gateway or spent on failed attempts is not the server's), and its
// TPOT as the metric above; a body that is not a stream tells neither.
void RequestStats::report_latency(const RequestOutcome& r, uint64_t end_ns, int64_t completion_tokens) {
  if (!stream_ || r.latency_endpoint == sched::kNoEndpoint || r.sent_ns == 0) return;
  if (first_token_ns_ <= r.sent_ns) return;
  sched::LatencySample sample;
  sample.endpoint = r.latency_endpoint;
  sample.features = r.features;
  sample.ttft_ns = first_token_ns_ - r.sent_ns;
  if (completion_tokens > 1 && end_ns > first_token_ns_)
    sample.tpot_ns = (end_ns - first_token_ns_) / uint64_t(completion_tokens - 1);
  env_.router->latency_observed(sample);
}

// Filled in place in this worker's ring (no lock, no allocation, no syscall).
void RequestStats::log_access(const RequestOutcome& o, uint64_t end_ns) {
  metrics::AccessRecord* r = env_.stats->access_log.claim();
  if (r == nullptr) return;
  r->end_ns = end_ns;
  r->duration_ns = end_ns - started_ns_;
  r->ttft_ns = first_token_ns_ ? first_token_ns_ - started_ns_ : 0;  // to the first token, as the metrics
  r->wait_ns = scheduled_ns_ ? scheduled_ns_ - started_ns_ : 0;
  r->prompt_tokens = uint32_t(std::max<int64_t>(0, usage().prompt_tokens()));
  r->completion_tokens = uint32_t(std::max<int64_t>(0, usage().completion_tokens()));
  r->status = uint16_t(o.status);
  r->attempts = uint8_t(std::min<uint32_t>(o.attempts, 255));
  r->migrations = uint8_t(std::min<uint32_t>(o.migrations, 255));
  r->stream = stream_;
  r->http_version = o.http_version;
  r->request_id.set(o.request_id);
  r->model.set(o.model);
  r->target_model.set(o.target_model);
  r->endpoint.set(o.attempts ? o.endpoint : std::string_view());
  r->first_endpoint.set(o.migrations ? o.first_endpoint : std::string_view());
  r->migration.set(o.migrations ? o.migration : std::string_view());
  r->traced = traced_;
  if (traced_) {
    r->trace_id = trace_.trace_id();
    r->span_id = trace_.server_span();
  }
  env_.stats->access_log.commit();
}

}  // namespace ringgate::proxy
