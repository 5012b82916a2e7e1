#include "ringgate/control/prefix_capacity.h"

#include <algorithm>
#include <cmath>

#include "ringgate/util/json_text.h"

namespace ringgate::control {

double next_capacity_factor(double factor, double promised, double delivered, bool queued) {
  const double over = promised - delivered;
  if (queued && over > kOverPromise)
    factor *= kShrinkStep;
  else if (!queued || over < kKeptPromise)
    factor *= kGrowStep;
  return std::clamp(factor, kMinCapacityFactor, kMaxCapacityFactor);
}

size_t PrefixCapacity::update(const sched::EndpointState& e, const sched::PrefixForecast& routed) {
  if (!e.num_gpu_blocks) return 0;
  if (e.id >= states_.size()) states_.resize(size_t(e.id) + 1);
  State& s = states_[e.id];
  const metrics::ModelLoad& m = e.metrics.all;
  if (!e.has_metrics || !m.has_prefix_cache) return capacity_of(e, s.factor);
  const double queries = m.prefix_cache_queries;
  const double hits = m.prefix_cache_hits + m.external_prefix_cache_hits;
  // A counter that went back (the server restarted) opens a new window rather than
  // judging a negative one.
  const bool restart = queries < s.queries || hits < s.hits || routed.requests < s.routed.requests;
  if (s.open && !restart) {
    s.queued |= m.has_waiting && m.waiting >= 1;
    if (routed.requests - s.routed.requests < kWindowRequests || queries <= s.queries ||
        routed.prompt_tokens <= s.routed.prompt_tokens)
      return capacity_of(e, s.factor);
    s.promised = double(routed.promised_tokens - s.routed.promised_tokens) /
                 double(routed.prompt_tokens - s.routed.prompt_tokens);
    s.delivered = std::min(1.0, (hits - s.hits) / (queries - s.queries));
    s.queued_then = s.queued;
    s.factor = next_capacity_factor(s.factor, s.promised, s.delivered, s.queued);
    ++s.windows;
  }
  s.open = true;
  s.queued = false;
  s.queries = queries;
  s.hits = hits;
  s.routed = routed;
  return capacity_of(e, s.factor);
}

// The server's KV in the index's blocks (its tokens at 4 bytes each, the index's rule), times `factor`.
size_t PrefixCapacity::capacity_of(const sched::EndpointState& e, double factor) const {
  const uint64_t tokens_per_block = e.block_size ? e.block_size : 16;
  const double kv_bytes = double(e.num_gpu_blocks + e.num_cpu_blocks) * double(tokens_per_block) * 4.0;
  return size_t(std::max(1.0, std::floor(factor * kv_bytes / double(block_bytes_))));
}

void PrefixCapacity::reset(sched::EndpointId id) {
  if (id < states_.size()) states_[id] = State{};
}

void PrefixCapacity::append_json(std::string& out, sched::EndpointId id) const {
  const State none;
  const State& s = id < states_.size() ? states_[id] : none;
  out += "{\"factor\":";
  util::append_json_double(out, s.factor);
  out += ",\"promised\":";
  util::append_json_double(out, s.promised);
  out += ",\"delivered\":";
  util::append_json_double(out, s.delivered);
  out += s.queued_then ? ",\"queued\":true" : ",\"queued\":false";
  out += ",\"windows\":";
  util::append_uint(out, s.windows);
  out.push_back('}');
}

}  // namespace ringgate::control
