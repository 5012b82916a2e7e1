#pragma once
// Per-endpoint state for /debug/endpoints and the admin metrics
// (control thread, at request/scrape time; allocates).

#include <string>
#include <vector>

#include "ringgate/sched/endpoint_snapshot.h"
#include "ringgate/sched/scheduler_config.h"

namespace ringgate::sched {

class InflightCounters;
class PrefixIndex;

struct EndpointReport {
  EndpointId id = kNoEndpoint;
  std::string address;  // host:port
  std::string pod;      // EndpointState::pod
  DataParallelRank dp;  // EndpointState::dp
  EndpointRole role = EndpointRole::Both;
  ContextLengthRange context_range;  // "context_length_range": "min-max", "malformed" or null
  bool routable = false;
  bool metrics_fresh = false;
  double metrics_age_seconds = -1;  // -1 = never scraped
  double waiting = 0, running = 0, kv_cache_usage = 0;
  double slots = 0;  // EndpointState::slots (0: not known yet)
  int64_t inflight = 0;
  // What routed legs hold there besides their slot, raw (never clamped: a count given back
  // twice shows negative): token load, pending prefill tokens, requests awaiting a token.
  int64_t inflight_tokens = 0, inflight_prefill_tokens = 0, awaiting = 0;
  std::vector<std::string> models, lora_adapters;
  EndpointLoras loras;  // what the lora-affinity scorer reads: running, waiting, max_lora
  uint64_t num_gpu_blocks = 0, num_cpu_blocks = 0, block_size = 0;
  size_t index_entries = 0;  // prefix-index pairs held for it
  size_t index_capacity = 0;
  double index_share = 0;  // its entries / all entries
};

std::vector<EndpointReport> describe_endpoints(const EndpointSnapshot& snapshot, const InflightCounters& inflight,
                                               const PrefixIndex& index, Clock::time_point now,
                                               const SchedulerConfig& config);

// JSON array for /debug/endpoints.
std::string to_json(const std::vector<EndpointReport>& reports);

// {"mode":…,"step":…,"kv_step":…}: the scheduler's load signal, for /debug/endpoints
// and /debug/pick.
void append_load_signal_json(std::string& out, const SchedulerConfig& config);
// [{"name":"queue","plugin_type":"queue-scorer","weight":2},...]: the scorers of non-zero
// weight, in slot order.
void append_scorers_json(std::string& out, const ScorerWeights& weights);

}  // namespace ringgate::sched
