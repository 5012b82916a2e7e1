#include "ringgate/sched/endpoint_report.h"

#include "ringgate/util/json_text.h"

#include <chrono>
#include <cstdio>

#include "ringgate/metrics/vllm_metrics.h"
#include "ringgate/sched/inflight_counters.h"
#include "ringgate/sched/prefix_index.h"

namespace ringgate::sched {

std::vector<EndpointReport> describe_endpoints(const EndpointSnapshot& snapshot, const InflightCounters& inflight,
                                               const PrefixIndex& index, Clock::time_point now,
                                               const SchedulerConfig& config) {
  std::vector<EndpointReport> reports;
  reports.reserve(snapshot.size());
  size_t total_entries = 0;
  for (const EndpointState& e : snapshot.endpoints()) total_entries += index.entries(e.id);
  for (const EndpointState& e : snapshot.endpoints()) {
    EndpointReport r;
    r.id = e.id;
    r.address = e.address.text();
    r.pod = e.pod;
    r.dp = e.dp;
    r.role = e.role;
    r.context_range = e.context_range;
    r.routable = e.routable;
    r.metrics_fresh = e.metrics_fresh(now, config.stale_after);
    if (e.has_metrics) r.metrics_age_seconds = std::chrono::duration<double>(now - e.scraped_at).count();
    r.waiting = e.metrics.all.waiting;
    r.running = e.metrics.all.running;
    r.kv_cache_usage = e.metrics.all.kv_cache_usage;
    r.slots = e.slots;
    r.inflight = inflight.get(e.id);
    r.inflight_tokens = inflight.get_tokens(e.id);
    r.inflight_prefill_tokens = inflight.get_prefill_tokens(e.id);
    r.awaiting = inflight.get_awaiting(e.id);
    r.models = e.models;
    r.lora_adapters = e.lora_adapters;
    r.loras = e.loras;
    r.num_gpu_blocks = e.num_gpu_blocks;
    r.num_cpu_blocks = e.num_cpu_blocks;
    r.block_size = e.block_size;
    r.index_entries = index.entries(e.id);
    r.index_capacity = index.capacity(e.id);
    r.index_share = total_entries ? double(r.index_entries) / double(total_entries) : 0.0;
    reports.push_back(std::move(r));
  }
  return reports;
}

namespace {

void append_list(std::string& out, const std::vector<std::string>& items) {
  out.push_back('[');
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out.push_back(',');
    util::append_json_string(out, items[i]);
  }
  out.push_back(']');
}

}  // namespace

std::string to_json(const std::vector<EndpointReport>& reports) {
  std::string out = "[";
  for (size_t i = 0; i < reports.size(); ++i) {
    const EndpointReport& r = reports[i];
    if (i) out.push_back(',');
    out += "{\"id\":" + std::to_string(r.id) + ",\"address\":";
    util::append_json_string(out, r.address);
    // The pod it fails with, and its data-parallel rank (null: not a rank); rank_header:
    // requests name the rank in X-data-parallel-rank (several ranks behind one port).
    out += ",\"pod\":";
    util::append_json_string(out, r.pod);
    out += ",\"data_parallel_rank\":";
    out += r.dp.rank >= 0 ? std::to_string(r.dp.rank) : "null";
    out += ",\"rank_header\":";
    out += r.dp.header ? "true" : "false";
    out += ",\"role\":\"";
    out += to_string(r.role);
    out += "\",\"context_length_range\":";
    if (r.context_range.state == ContextRangeState::Valid)
      out += "\"" + std::to_string(r.context_range.min) + "-" + std::to_string(r.context_range.max) + "\"";
    else
      out += r.context_range.state == ContextRangeState::Malformed ? "\"malformed\"" : "null";
    out += ",\"routable\":";
    out += r.routable ? "true" : "false";
    out += ",\"metrics_fresh\":";
    out += r.metrics_fresh ? "true" : "false";
    out += ",\"metrics_age_seconds\":";
    util::append_json_double(out, r.metrics_age_seconds);
    out += ",\"waiting\":";
    util::append_json_double(out, r.waiting);
    out += ",\"running\":";
    util::append_json_double(out, r.running);
    out += ",\"kv_cache_usage\":";
    util::append_json_double(out, r.kv_cache_usage);
    out += ",\"slots\":";
    util::append_json_double(out, r.slots);
    out += ",\"inflight\":" + std::to_string(r.inflight);
    out += ",\"inflight_tokens\":" + std::to_string(r.inflight_tokens);
    out += ",\"inflight_prefill_tokens\":" + std::to_string(r.inflight_prefill_tokens);
    out += ",\"awaiting\":" + std::to_string(r.awaiting);
    out += ",\"models\":";
    append_list(out, r.models);
    out += ",\"lora_adapters\":";
    append_list(out, r.lora_adapters);
    // vllm:lora_requests_info as the lora-affinity scorer reads it (null: not reported).
    out += ",\"lora\":";
    if (r.loras.reported) {
      out += "{\"max_lora\":" + std::to_string(r.loras.max_lora) + ",\"running\":";
      append_list(out, r.loras.running);
      out += ",\"waiting\":";
      append_list(out, r.loras.waiting);
      out += '}';
    } else {
      out += "null";
    }
    out += ",\"num_gpu_blocks\":" + std::to_string(r.num_gpu_blocks);
    out += ",\"num_cpu_blocks\":" + std::to_string(r.num_cpu_blocks);
    out += ",\"block_size\":" + std::to_string(r.block_size);
    out += ",\"prefix_index_entries\":" + std::to_string(r.index_entries);
    out += ",\"prefix_index_capacity\":" + std::to_string(r.index_capacity);
    out += ",\"prefix_index_share\":";
    util::append_json_double(out, r.index_share);
    out.push_back('}');
  }
  out.push_back(']');
  return out;
}

void append_load_signal_json(std::string& out, const SchedulerConfig& config) {
  out += "{\"mode\":\"";
  out += to_string(config.load_signal);
  out += "\",\"step\":";
  util::append_json_double(out, config.shared_load.step);
  out += ",\"kv_step\":";
  util::append_json_double(out, config.shared_load.kv_step);
  out += "}";
}

void append_scorers_json(std::string& out, const ScorerWeights& weights) {
  out += '[';
  bool first = true;
  for (size_t slot = 0; slot < kScorerCount; ++slot) {
    if (weights[slot] == 0) continue;
    if (!first) out += ',';
    first = false;
    out += "{\"name\":\"";
    out += kScorers[slot].name;  // registry literals: nothing to escape
    out += "\",\"plugin_type\":\"";
    out += kScorers[slot].plugin_type;
    out += "\",\"weight\":";
    util::append_json_double(out, weights[slot]);
    out += '}';
  }
  out += ']';
}

}  // namespace ringgate::sched
