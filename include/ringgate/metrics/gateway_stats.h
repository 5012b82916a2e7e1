#pragma once
// What the gateway counts about requests, per model and per scheduling decision,
// per worker thread (the byte/connection counters are proxy::WorkerCounters): written by
// that worker only (single-writer cells, no read-modify-write atomics on the hot
// path), summed across workers when /metrics is scraped. Bucket layouts follow
// the llm-d / Gateway API Inference Extension EPP so existing dashboards work.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/metrics/access_log_ring.h"
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
inline constexpr std::array<double, 10> kSchedulerDurationBuckets = {
    0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1};
inline constexpr std::array<double, 11> kHitRatioBuckets = {
    0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0};

// Error codes counted by inference_objective_request_error_total{error_code}.
inline constexpr std::array<int, 11> kErrorStatuses = {400, 404, 405, 408, 413, 429, 431, 500, 502, 503, 504};
inline constexpr size_t kOtherErrorIndex = kErrorStatuses.size();  // any other status >= 400
inline size_t error_index(int status) {
  for (size_t i = 0; i < kErrorStatuses.size(); ++i)
    if (kErrorStatuses[i] == status) return i;
  return kOtherErrorIndex;
}

// One (model_name, target_model_name) pair: the labels of the inference_objective_* series.
struct ObjectiveStats {
  SingleWriterCounter requests;
  SingleWriterGauge running;
  std::array<SingleWriterCounter, kErrorStatuses.size() + 1> errors;
  SingleWriterHistogram<kRequestDurationBuckets.size()> duration;
  SingleWriterHistogram<kRequestDurationBuckets.size()> ttft;
  SingleWriterHistogram<kNtpotBuckets.size()> ntpot;
  SingleWriterHistogram<kInputTokenBuckets.size()> input_tokens;
  SingleWriterHistogram<kOutputTokenBuckets.size()> output_tokens;
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

// Key of a (model_name, target_model_name) pair: the labels of inference_objective_*.
inline std::string_view objective_key(std::string_view model, std::string_view target, std::string& scratch) {
  scratch.clear();
  append_key_part(scratch, model);
  append_key_part(scratch, target);
  return scratch;
}
// The table's overflow entry (SingleWriterTable::kOverflowKey) is not a built key:
// it reads as ("other", "other").
inline std::pair<std::string_view, std::string_view> split_objective_key(std::string_view key) {
  std::array<std::string_view, 2> parts;
  if (!split_key(key, parts)) return {key, key};
  return {parts[0], parts[1]};
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

struct WorkerStats {
  util::SingleWriterTable<ObjectiveStats, 256> objectives;  // by objective_key()
  // inference_extension_model_rewrite_decisions_total{model_rewrite_name, model_name, target_model}
  // keyed by rewrite_decision_key().
  util::SingleWriterTable<SingleWriterCounter, 256> rewrite_decisions;
  SingleWriterHistogram<kSchedulerDurationBuckets.size()> scheduler_duration;
  SingleWriterCounter scheduler_success, scheduler_failure;
  SingleWriterHistogram<kHitRatioBuckets.size()> prefix_hit_ratio;
  // The structured access log's records (enabled only when the log is on).
  AccessLogRing access_log;
};

}  // namespace ringgate::metrics
