#pragma once
// What the gateway counts about requests, per model and per scheduling decision,
// per worker thread (the byte/connection counters are proxy::WorkerCounters): written by
// that worker only (single-writer cells, no read-modify-write atomics on the hot
// path), summed across workers when /metrics is scraped. Bucket layouts follow
// the llm-d / Gateway API Inference Extension EPP so existing dashboards work.
#include <array>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/metrics/access_log_ring.h"
#include "ringgate/metrics/held_models.h"
#include "ringgate/metrics/label_bounds.h"
#include "ringgate/metrics/migration_reason.h"
#include "ringgate/metrics/span_record.h"
#include "ringgate/openai/media_part.h"
#include "ringgate/util/single_writer_stats.h"
#include "ringgate/util/single_writer_table.h"

namespace ringgate::metrics {

using util::SingleWriterCounter;
using util::SingleWriterGauge;
using util::SingleWriterHistogram;

inline constexpr std::array<double, 35> kRequestDurationBuckets = {
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10,
    15, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800, 2700, 3600};
inline constexpr std::array<double, 13> kNtpotBuckets = {
    0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0};
inline constexpr std::array<double, 19> kInputTokenBuckets = {
    1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536,
    131072, 262144, 524288, 1048576};
inline constexpr std::array<double, 12> kOutputTokenBuckets = {
    1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
// Scheduler plugins timed per worker (sched::kPluginSteps: every scorer, the picker).
inline constexpr size_t kMaxPluginSteps = 12;
inline constexpr std::array<double, 10> kSchedulerDurationBuckets = {
    0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1};
// llm-d's EPP processing overhead histograms (llm_d_epp_request_processing_duration_seconds,
// llm_d_epp_response_processing_duration_seconds), its buckets.
inline constexpr std::array<double, 16> kEppRequestProcessingBuckets = {
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.025, 0.04, 0.06, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
inline constexpr std::array<double, 15> kEppResponseProcessingBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
inline constexpr std::array<double, 11> kHitRatioBuckets = {
    0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};

inline constexpr std::array<double, 25> kRequestSizeBuckets = {
    64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536, 131072, 262144, 524288,
    1048576, 2097152, 4194304, 8388608, 16777216, 33554432, 67108864, 134217728, 268435456,
    536870912, 1073741824};
inline constexpr std::array<double, 15> kResponseSizeBuckets = {
    1, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32778, 65536};
// GAIE's request_tpot_seconds ladder; llm-d's streaming_tpot ladder is a subset of it.
inline constexpr std::array<double, 35> kTpotBuckets = {
    0.0005, 0.00205, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.125, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6,
    0.8, 1, 1.5, 2, 3, 4.5, 6, 12, 18, 24, 30, 36, 48, 60, 90, 120, 180, 270, 360};
inline constexpr std::array<double, 15> kItlBuckets = {
    0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2};
inline constexpr std::array<double, 14> kHitBytesBuckets = {
    0, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536};

// request_error_total{error_code}: the canonical names of llm-d-router's (and GAIE's)
// pkg/common/error, never HTTP numbers, so dashboards' filters on them match.
enum class ErrorCode : uint8_t {
  BadRequest,
  NotFound,
  ResourceExhausted,
  ServiceUnavailable,
  ModelServerError,
  Internal,
  Unknown,
};
inline constexpr std::array<std::string_view, 7> kErrorCodeNames = {
    "BadRequest", "NotFound", "ResourceExhausted", "ServiceUnavailable", "ModelServerError", "Internal", "Unknown"};
// from_model_server: the status is the model server's own answer, relayed. Otherwise the
// gateway wrote it; 502/504 say the model server failed or timed out under it.
inline ErrorCode error_code_for(int status, bool from_model_server) {
  if (from_model_server) return ErrorCode::ModelServerError;
  switch (status) {
    case 400: case 405: case 408: case 413: case 431: return ErrorCode::BadRequest;
    case 404: return ErrorCode::NotFound;
    case 429: return ErrorCode::ResourceExhausted;
    case 503: return ErrorCode::ServiceUnavailable;
    case 502: case 504: return ErrorCode::ModelServerError;
    case 500: return ErrorCode::Internal;
    default: return ErrorCode::Unknown;
  }
}

// One (model_name, target_model_name, priority, fairness_id) label set: llm-d's
// llm_d_epp_request_* labels. GAIE's inference_objective_* series are sums over it.
struct ObjectiveStats {
  SingleWriterCounter requests;  // scheduled requests (not refusals before scheduling, not retries)
  SingleWriterGauge running;
  std::array<SingleWriterCounter, kErrorCodeNames.size()> errors;
  SingleWriterHistogram<kRequestDurationBuckets.size()> duration;
  // By the request's stream flag: llm-d labels TTFT with streaming="true|false".
  std::array<SingleWriterHistogram<kRequestDurationBuckets.size()>, 2> ttft;
  SingleWriterHistogram<kNtpotBuckets.size()> ntpot;
  SingleWriterHistogram<kTpotBuckets.size()> tpot;
  SingleWriterHistogram<kItlBuckets.size()> itl;
  SingleWriterHistogram<kInputTokenBuckets.size()> input_tokens;
  SingleWriterHistogram<kOutputTokenBuckets.size()> output_tokens;
  SingleWriterHistogram<kInputTokenBuckets.size()> cached_tokens;
  SingleWriterHistogram<kRequestSizeBuckets.size()> request_sizes;
  SingleWriterHistogram<kResponseSizeBuckets.size()> response_sizes;
};

// Keys of SingleWriterTable entries made of several label values: each part is
// written as its length (two bytes, little-endian) then its bytes, so no byte in a
// label value (a model name from a client, a rule name from a config file) can
// split a key differently from how it was built. Parts are cut at 65535 bytes
// (model names are capped far below, see openai::kMaxModelBytes).
inline void append_key_part(std::string& key, std::string_view part) {
  if (part.size() > 0xffff) part = part.substr(0, 0xffff);
  key.push_back(char(part.size() & 0xff));
  key.push_back(char(part.size() >> 8));
  key.append(part);
}
// A number as a key part, in decimal.
inline void append_key_number(std::string& key, int64_t value) {
  char digits[24];
  const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  (void)ec;  // 24 bytes hold every int64
  append_key_part(key, std::string_view(digits, size_t(end - digits)));
}
// Splits a key into `out.size()` parts; false if it was not built from that many.
template <size_t N>
bool split_key(std::string_view key, std::array<std::string_view, N>& out) {
  for (size_t i = 0; i < N; ++i) {
    if (key.size() < 2) return false;
    const size_t n = size_t(uint8_t(key[0])) | size_t(uint8_t(key[1])) << 8;
    key.remove_prefix(2);
    if (key.size() < n) return false;
    out[i] = key.substr(0, n);
    key.remove_prefix(n);
  }
  return key.empty();
}

// The one label value every model name the pool does not serve is counted under
// (the same word as SingleWriterTable's overflow entry).
inline constexpr std::string_view kOtherModelLabel = "other";

// llm-d's fairness_id when the request names none (x-llm-d-inference-fairness-id).
inline constexpr std::string_view kDefaultFairnessId = "default-flow";

// Key of a (model_name, target_model_name, priority, fairness_id) label set: llm-d's
// llm_d_epp_request_* labels; GAIE's inference_objective_* are sums over it.
inline std::string_view objective_key(std::string_view model, std::string_view target, int32_t priority,
                                      std::string_view fairness, std::string& scratch) {
  scratch.clear();
  append_key_part(scratch, model);
  append_key_part(scratch, target);
  append_key_number(scratch, priority);
  append_key_part(scratch, fairness);
  return scratch;
}
struct ObjectiveLabels {
  std::string_view model, target, priority, fairness;
};
// The table's overflow entry (SingleWriterTable::kOverflowKey) is not a built key:
// it reads as "other" for every label.
inline ObjectiveLabels split_objective_key(std::string_view key) {
  std::array<std::string_view, 4> parts;
  if (!split_key(key, parts)) return {key, key, key, key};
  return {parts[0], parts[1], parts[2], parts[3]};
}

// scheduler_attempts_total{status, target_model_name, pod, namespace, port}: keyed by
// ("s"|"f", target, endpoint id or "" on failures); names resolved at scrape.
inline std::string_view attempt_key(bool success, std::string_view target, uint32_t endpoint_id, std::string& scratch) {
  scratch.clear();
  append_key_part(scratch, success ? "s" : "f");
  append_key_part(scratch, target);
  if (success) append_key_number(scratch, endpoint_id);
  else append_key_part(scratch, "");
  return scratch;
}

// Key of a rewrite decision: (model_rewrite_name, model_name, target_model).
inline std::string_view rewrite_decision_key(std::string_view rule, std::string_view model, std::string_view target,
                                             std::string& scratch) {
  scratch.clear();
  append_key_part(scratch, rule);
  append_key_part(scratch, model);
  append_key_part(scratch, target);
  return scratch;
}

// GAIE's flow_control_request_queue_duration_seconds buckets.
inline constexpr std::array<double, 16> kFlowQueueDurationBuckets = {
    0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0};
// GAIE's QueueOutcome values we produce, in proxy::FlowOutcome order.
inline constexpr std::array<std::string_view, 7> kFlowOutcomeNames = {
    "Dispatched",       "RejectedCapacity",    "EvictedTTL",        "EvictedContextCancelled",
    "EvictedDisplaced", "RejectedNoEndpoints", "EvictedNoEndpoints"};

// One flow (priority band, fairness id, model, target model) of this worker's flow-control
// queue and of its holding queues (proxy::ModelHold): llm-d's flow-control series carry the
// four labels. Keyed by flow_series_key().
struct FlowBandStats {
  SingleWriterGauge queued;        // requests waiting now (held for a model with no server included)
  SingleWriterGauge queued_bytes;  // their body bytes
  SingleWriterGauge held;          // of them, held for a model with no ready server (the wake hook reads it)
  std::array<SingleWriterHistogram<kFlowQueueDurationBuckets.size()>, kFlowOutcomeNames.size()> queue_duration;
};

// Rate-limit refusals keyed by (tenant, "tokens" | "requests"); the tenant is bounded
// by the caller (length), the table by its capacity (past it: "other").
inline std::string_view rate_limit_key(std::string_view tenant, bool tokens, std::string& scratch) {
  scratch.clear();
  append_key_part(scratch, tenant);
  append_key_part(scratch, tokens ? "tokens" : "requests");
  return scratch;
}

// Key of a flow-control series: (priority in decimal, fairness_id, model_name, target_model_name).
inline std::string_view flow_series_key(int32_t priority, std::string_view fairness, std::string_view model,
                                        std::string_view target, std::string& scratch) {
  scratch.clear();
  append_key_number(scratch, priority);
  append_key_part(scratch, fairness);
  append_key_part(scratch, model);
  append_key_part(scratch, target);
  return scratch;
}

// The pause a client saw: from the last bytes before the break to the first of the continuation.
inline constexpr std::array<double, 14> kMigrationPauseBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
struct MigrationStats {
  std::array<std::array<SingleWriterCounter, kMigrationReasons.size()>, kMigrationOutcomes.size()> count;
  SingleWriterCounter& of(MigrationOutcome outcome, MigrationReason reason) {
    return count[size_t(outcome)][size_t(reason)];
  }
  SingleWriterHistogram<kMigrationPauseBuckets.size()> pause;
};

// Prefill/decode disaggregation. llm-d's decision counters
// (llm_d_inference_scheduler_pd_decision_total / disagg_decision_total{model_name,
// decision_type}) keyed by pd_decision_key(); ringgate's own: prefill legs that failed by
// why (proxy::PrefillFailure's order), requests served decode-only after a failed
// prefill, and each leg's duration.
inline constexpr std::array<std::string_view, 2> kPdDecisionTypes = {"decode-only", "prefill-decode"};
inline constexpr std::array<std::string_view, 7> kPrefillFailureNames = {
    "connect_failed", "timeout", "reset", "error_status", "client_error", "malformed", "no_kv_transfer_params"};
inline constexpr std::array<std::string_view, 2> kPdLegs = {"prefill", "decode"};
inline constexpr std::array<double, 16> kPdLegDurationBuckets = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160, 320};
inline std::string_view pd_decision_key(std::string_view model, bool split, std::string& scratch) {
  scratch.clear();
  append_key_part(scratch, model);
  append_key_part(scratch, kPdDecisionTypes[split]);
  return scratch;
}
struct DisaggregationStats {
  util::SingleWriterTable<SingleWriterCounter, 256> decisions;  // by pd_decision_key()
  std::array<SingleWriterCounter, kPrefillFailureNames.size()> prefill_failures;
  SingleWriterCounter decode_only_fallbacks;
  std::array<SingleWriterHistogram<kPdLegDurationBuckets.size()>, kPdLegs.size()> leg_duration;
};

struct WorkerStats {
  DisaggregationStats disaggregation;
  util::SingleWriterTable<ObjectiveStats, 256> objectives;  // by objective_key()
  MigrationStats migrations;
  // inference_extension_model_rewrite_decisions_total{model_rewrite_name, model_name, target_model}
  // keyed by rewrite_decision_key().
  util::SingleWriterTable<SingleWriterCounter, 256> rewrite_decisions;
  SingleWriterHistogram<kSchedulerDurationBuckets.size()> scheduler_duration;
  // plugin_duration_seconds, one histogram per sched::kPluginSteps entry (the scorers and
  // the picker; room for kMaxPluginSteps, a static_assert in the router checks it).
  std::array<SingleWriterHistogram<kSchedulerDurationBuckets.size()>, kMaxPluginSteps> plugin_duration;
  // One per request's first scheduling decision (retries are not new attempts); see attempt_key().
  util::SingleWriterTable<SingleWriterCounter, 256> scheduler_attempts;
  SingleWriterHistogram<kHitRatioBuckets.size()> prefix_hit_ratio;
  // Requests placed past the best priority level serving their model (locality: that
  // level was saturated); counted once per request, on its first attempt.
  SingleWriterCounter priority_overflows;
  SingleWriterHistogram<kHitBytesBuckets.size()> prefix_hit_bytes;
  // EPP mode, per ext-proc stream: from its request headers until the request's answer (the
  // pick or an immediate response; a hold's wait included), and its response's handling.
  SingleWriterHistogram<kEppRequestProcessingBuckets.size()> epp_request_processing;
  SingleWriterHistogram<kEppResponseProcessingBuckets.size()> epp_response_processing;
  // The structured access log's records (enabled only when the log is on).
  AccessLogRing access_log;
  // OpenTelemetry spans for the control thread's exporter (enabled only when tracing is on),
  // and the clock offset their times are encoded with.
  SpanRing spans;
  SpanClock span_clock;
  // Flow control: per (priority band, fairness id, model, target model), keyed by
  // flow_series_key(). Bands come from the config, fairness ids and model names are
  // bounded process-wide (LabelBounds, the catalog's labels).
  util::SingleWriterTable<FlowBandStats, 512> flow_bands;
  // The models requests are held for (a pool at zero), by name: the wake hook reads them.
  HeldModels held_models;
  // Label values counted as "other" by metrics::LabelBounds, by LabelFamily.
  std::array<SingleWriterCounter, kLabelFamilyCount> label_overflow;
  util::SingleWriterTable<SingleWriterCounter, 256> rate_limit_rejections;  // by rate_limit_key()
  // Chat content parts by how the prefix hashing read them (ringgate_media_parts_total).
  openai::MediaPartCounters media_parts;
};

// The series a queued request of (priority, fairness label, model labels) is counted in (worker thread).
inline FlowBandStats& flow_series(WorkerStats& stats, int32_t priority, std::string_view fairness,
                                  std::string_view model, std::string_view target, std::string& scratch) {
  return stats.flow_bands.find_or_add(flow_series_key(priority, fairness, model, target, scratch));
}

// `value` as a label of `family`: itself when `bounds` (null: no bound) holds it or, with
// `may_add`, takes it; else "other", counted in the worker's label_overflow. The values
// every request may carry (the default fairness id, "other") pass as they are.
inline std::string_view bounded_label(LabelBounds* bounds, WorkerStats& stats, LabelFamily family,
                                      std::string_view value, bool may_add) {
  if (bounds == nullptr || value == kOtherModelLabel || value == kDefaultFairnessId) return value;
  if (bounds->of(family).admit(value, may_add)) return value;
  stats.label_overflow[size_t(family)].add();
  return kOtherModelLabel;
}

}  // namespace ringgate::metrics
