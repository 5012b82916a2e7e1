#include "ringgate/sched/endpoint_snapshot.h"

#include <xxhash.h>

#include <algorithm>
#include <utility>

namespace ringgate::sched {

std::string EndpointAddress::text() const {
  std::string s;
  bool v6 = host.find(':') != std::string::npos;
  if (v6) s.push_back('[');
  s.append(host);
  if (v6) s.push_back(']');
  s.push_back(':');
  s.append(std::to_string(port));
  return s;
}

uint64_t address_hash(std::string_view host, uint16_t port, DataParallelRank dp) {
  EndpointAddress a;
  a.host.assign(host);
  a.port = port;
  std::string text = a.text();
  if (dp.header) text += '#' + std::to_string(dp.rank);
  return XXH3_64bits(text.data(), text.size());
}

void same_server(const EndpointSnapshot& snapshot, EndpointId id, std::vector<EndpointId>& out) {
  const ptrdiff_t at = snapshot.index_of(id);
  if (at < 0) return;
  const EndpointState& self = snapshot.at(size_t(at));
  if (!self.dp.header) {
    out.push_back(id);
    return;
  }
  for (const EndpointState& e : snapshot.endpoints())
    if (e.address.port == self.address.port && e.address.host == self.address.host) out.push_back(e.id);
}

void apply_scrape(EndpointState& endpoint, const metrics::VllmMetrics& scraped, Clock::time_point scraped_at,
                  std::span<const std::string> known_adapters) {
  endpoint.metrics = scraped;
  endpoint.has_metrics = true;
  endpoint.scraped_at = scraped_at;
  if (scraped.cache.present) {
    if (scraped.cache.num_gpu_blocks) endpoint.num_gpu_blocks = scraped.cache.num_gpu_blocks;
    endpoint.num_cpu_blocks = scraped.cache.num_cpu_blocks;
    if (scraped.cache.block_size) endpoint.block_size = scraped.cache.block_size;
  }
  endpoint.lora_adapters.assign(known_adapters.begin(), known_adapters.end());
  auto add = [&](std::string_view name) {
    if (std::find(endpoint.lora_adapters.begin(), endpoint.lora_adapters.end(), name) == endpoint.lora_adapters.end())
      endpoint.lora_adapters.emplace_back(name);
  };
  if (scraped.lora.present) {
    metrics::for_each_adapter(scraped.lora.running_adapters, add);
    metrics::for_each_adapter(scraped.lora.waiting_adapters, add);
  }
  endpoint.loras.assign(scraped.lora);
}

namespace {

// Sorted and unique, for the lora-affinity scorer's binary search (the parser bounded
// the count: ScrapeLimits::max_adapters).
void fill_set(std::vector<std::string>& set, std::string_view csv) {
  set.clear();
  metrics::for_each_adapter(csv, [&](std::string_view name) { set.emplace_back(name); });
  std::sort(set.begin(), set.end());
  set.erase(std::unique(set.begin(), set.end()), set.end());
}

bool sorted_contains(const std::vector<std::string>& set, std::string_view name) {
  auto it = std::lower_bound(set.begin(), set.end(), name,
                             [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
  return it != set.end() && *it == name;
}

}  // namespace

void EndpointLoras::assign(const metrics::LoraInfo& info) {
  reported = info.present;
  max_lora = info.present ? info.max_lora : 0;
  fill_set(running, info.present ? std::string_view(info.running_adapters) : std::string_view());
  fill_set(waiting, info.present ? std::string_view(info.waiting_adapters) : std::string_view());
}

bool EndpointLoras::is_running(std::string_view adapter) const { return sorted_contains(running, adapter); }
bool EndpointLoras::is_waiting(std::string_view adapter) const { return sorted_contains(waiting, adapter); }

EndpointSnapshot::EndpointSnapshot(std::vector<EndpointState> endpoints) : endpoints_(std::move(endpoints)) {
  scoring_views_.reserve(endpoints_.size());
  for (const EndpointState& e : endpoints_) {
    EndpointScoringView v;
    v.id = e.id;
    v.has_metrics = e.has_metrics;
    v.scraped_at = e.scraped_at;
    v.waiting = e.metrics.all.waiting;
    v.running = e.metrics.all.running;
    v.kv_cache_usage = e.metrics.all.kv_cache_usage;
    v.address_hash = e.address_hash;
    v.role = e.role;
    v.context_range = e.context_range;
    v.priority = e.priority;
    v.remote_inflight = e.remote_inflight;
    v.remote_prefill_tokens = e.remote_prefill_tokens;
    v.slots = e.slots;
    v.latency = e.latency;
    scoring_views_.push_back(v);
  }
  for (const EndpointState& e : endpoints_)
    if (e.id != kNoEndpoint) id_limit_ = std::max<EndpointId>(id_limit_, e.id + 1);
  index_by_id_.assign(id_limit_, -1);
  for (size_t i = 0; i < endpoints_.size(); ++i)
    if (endpoints_[i].id != kNoEndpoint) index_by_id_[endpoints_[i].id] = int32_t(i);
  has_routable_prefill_ = std::any_of(endpoints_.begin(), endpoints_.end(), [](const EndpointState& e) {
    return e.routable && e.role == EndpointRole::Prefill;
  });

  // (name, endpoint index) for every model and adapter, then grouped by name.
  std::vector<std::pair<std::string_view, uint32_t>> pairs;
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    for (const std::string& m : endpoints_[i].models) pairs.emplace_back(m, uint32_t(i));
    for (const std::string& m : endpoints_[i].lora_adapters) pairs.emplace_back(m, uint32_t(i));
  }
  std::sort(pairs.begin(), pairs.end());
  pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
  for (size_t i = 0; i < pairs.size();) {
    size_t j = i;
    while (j < pairs.size() && pairs[j].first == pairs[i].first) ++j;
    Range r;
    r.begin = uint32_t(model_members_.size());
    for (size_t k = i; k < j; ++k)
      if (endpoints_[pairs[k].second].routable) model_members_.push_back(pairs[k].second);
    r.routable_end = uint32_t(model_members_.size());
    for (size_t k = i; k < j; ++k)
      if (!endpoints_[pairs[k].second].routable) model_members_.push_back(pairs[k].second);
    r.serving_end = uint32_t(model_members_.size());
    model_names_.emplace_back(pairs[i].first);
    model_ranges_.push_back(r);
    i = j;
  }
}

ptrdiff_t EndpointSnapshot::index_of(EndpointId id) const {
  if (id >= index_by_id_.size()) return -1;
  return index_by_id_[id];
}

EndpointSnapshot::ModelEndpoints EndpointSnapshot::endpoints_for(std::string_view model) const {
  auto it = std::lower_bound(model_names_.begin(), model_names_.end(), model,
                             [](const std::string& a, std::string_view b) { return std::string_view(a) < b; });
  if (it == model_names_.end() || *it != model) return {};
  const Range& r = model_ranges_[size_t(it - model_names_.begin())];
  std::span<const uint32_t> all(model_members_);
  return {all.subspan(r.begin, r.serving_end - r.begin), all.subspan(r.begin, r.routable_end - r.begin)};
}

}  // namespace ringgate::sched
