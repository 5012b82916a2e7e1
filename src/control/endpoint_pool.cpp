#include "ringgate/control/endpoint_pool.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <simdjson.h>

#include <unordered_map>
#include <unordered_set>

namespace ringgate::control {

struct EndpointPool::Member {
  sched::EndpointId id = sched::kNoEndpoint;
  sched::EndpointAddress address;
  uint64_t address_hash = 0;
  std::string name;
  sched::EndpointRole role = sched::EndpointRole::Both;  // discovery's latest word (a relabelled pod changes it)
  EndpointHealth health;
  std::vector<std::string> models, adapters;  // from /v1/models
  metrics::VllmMetrics metrics;               // last good scrape
  bool has_metrics = false;
  double max_running = 0;  // the most a scrape saw running
  bool queued = false;     // a scrape saw requests waiting (then max_running is its slots)
  Clock::time_point scraped_at{};
  Clock::time_point next_scrape{}, next_models{};
  std::unique_ptr<HttpGetClient> metrics_client, models_client;
};

namespace {
uint64_t to_ns(Clock::time_point t) {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

// Appends `s` unless `seen` has it: linear in the list, however many adapters a page names.
void add_unique(std::vector<std::string>& v, std::unordered_set<std::string_view>& seen, std::string_view s) {
  if (seen.insert(s).second) v.emplace_back(s);
}
}  // namespace

bool resolve_address(const std::string& host, uint16_t port, sockaddr_storage& out, socklen_t& len) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* res = nullptr;
  char service[8];
  std::snprintf(service, sizeof service, "%u", unsigned(port));
  if (getaddrinfo(host.c_str(), service, &hints, &res) != 0 || !res) return false;
  // Prefer IPv4 for names like "localhost" that resolve to both.
  addrinfo* pick = res;
  for (addrinfo* a = res; a; a = a->ai_next)
    if (a->ai_family == AF_INET) { pick = a; break; }
  std::memcpy(&out, pick->ai_addr, pick->ai_addrlen);
  len = socklen_t(pick->ai_addrlen);
  freeaddrinfo(res);
  return true;
}

bool parse_model_list(std::string_view body, std::vector<std::string>& base_models,
                      std::vector<std::string>& adapters, std::string* why) {
  base_models.clear();
  adapters.clear();
  auto refuse = [&](const char* reason) {
    if (why) *why = reason;
    base_models.clear();
    adapters.clear();
    return false;
  };
  simdjson::ondemand::parser parser;
  simdjson::padded_string json(body);
  simdjson::ondemand::document doc;
  if (parser.iterate(json).get(doc)) return refuse("/v1/models is not JSON");
  simdjson::ondemand::array data;
  if (doc["data"].get_array().get(data)) return refuse("/v1/models has no \"data\" array");
  for (auto item : data) {
    simdjson::ondemand::object model;
    if (item.get_object().get(model)) return refuse("/v1/models: an entry is not an object");
    // Whether an id was seen is its own flag: an empty first id must not read as "none yet".
    bool has_id = false;
    bool has_parent = false;
    for (auto field : model) {
      std::string_view key;
      if (field.unescaped_key().get(key)) return refuse("/v1/models is not JSON");
      if (key == "id") {
        if (has_id) return refuse("/v1/models: an entry has two ids");
        has_id = true;
        std::string_view id;
        if (field.value().get_string().get(id)) return refuse("/v1/models: an id is not a string");
        if (id.empty()) return refuse("/v1/models: an entry has an empty id");
        // Longer than a client may ask for (openai::kMaxModelBytes): it could never be routed to.
        if (id.size() > kMaxModelNameBytes) return refuse("/v1/models: a model id is longer than 256 bytes");
        // copy now: the view dies with the next field
        base_models.emplace_back(id);
      } else if (key == "parent") {
        // The error-code form: the bool conversion of a simdjson result throws on bad JSON
        // (`"parent": nul`), and nothing may throw out of the control thread's scrape.
        bool is_null = false;
        if (field.value().is_null().get(is_null)) return refuse("/v1/models is not JSON");
        has_parent = !is_null;
      }
    }
    if (!has_id) return refuse("/v1/models: an entry has no id");
    if (has_parent) {
      adapters.push_back(std::move(base_models.back()));
      base_models.pop_back();
    }
    if (base_models.size() + adapters.size() > kMaxModelsPerEndpoint)
      return refuse("/v1/models lists more than 1024 models and adapters");
  }
  return true;
}

EndpointPool::EndpointPool(EpollLoop& loop, sched::EndpointRegistry& registry, PoolOptions options)
    : loop_(loop), registry_(registry), options_(options) {}

EndpointPool::~EndpointPool() = default;

void EndpointPool::set_members(const std::vector<DesiredEndpoint>& desired) {
  // Linear in the membership: a Kubernetes pool can list thousands of addresses.
  std::unordered_map<sched::EndpointId, size_t> current;
  current.reserve(members_.size());
  for (size_t i = 0; i < members_.size(); ++i) current.emplace(members_[i]->id, i);
  std::unordered_set<sched::EndpointId> taken;
  std::vector<std::unique_ptr<Member>> next;
  for (const DesiredEndpoint& d : desired) {
    sched::EndpointId id = registry_.id_for(d.host, d.port);
    if (id == sched::kNoEndpoint) {
      std::fprintf(stderr, "ringgate: more than %zu endpoints at once, %s:%u skipped\n", registry_.max_ids(),
                   d.host.c_str(), unsigned(d.port));
      continue;
    }
    if (!taken.insert(id).second) continue;
    auto it = current.find(id);
    std::unique_ptr<Member> m;
    if (it != current.end()) {
      m = std::move(members_[it->second]);
    } else {
      m = std::make_unique<Member>();
      m->id = id;
      m->address.host = d.host;
      m->address.port = d.port;
      m->address_hash = sched::address_hash(d.host, d.port);
      if (!resolve_address(d.host, d.port, m->address.sockaddr, m->address.sockaddr_len)) {
        std::fprintf(stderr, "ringgate: cannot resolve endpoint %s:%u, skipped\n", d.host.c_str(), unsigned(d.port));
        taken.erase(id);
        registry_.release(id);
        continue;
      }
      std::string host_header = m->address.text();
      Member* raw = m.get();
      m->metrics_client = std::make_unique<HttpGetClient>(
          loop_, m->address.sockaddr, m->address.sockaddr_len, host_header, "/metrics",
          [this, raw](const GetResult& r) { on_metrics(*raw, r); }, GetLimits{.max_body_bytes = parser_.limits().max_page_bytes});
      m->models_client = std::make_unique<HttpGetClient>(
          loop_, m->address.sockaddr, m->address.sockaddr_len, host_header, "/v1/models",
          [this, raw](const GetResult& r) { on_models(*raw, r); }, GetLimits{.max_body_bytes = kMaxModelsBodyBytes});
    }
    const bool ready = d.ready && !d.terminating;  // a terminating endpoint never takes new requests
    if (m->health.discovered_ready != ready || m->health.terminating != d.terminating || m->name != d.name ||
        m->role != d.role)
      set_changed();
    m->health.discovered_ready = ready;
    m->health.terminating = d.terminating;
    m->role = d.role;
    m->name = d.name.empty() ? m->address.text() : d.name;
    if (!options_.declared_models.empty() && !m->health.has_models) {
      m->models = options_.declared_models;
      m->health.has_models = true;
    }
    next.push_back(std::move(m));
  }
  for (auto& old : members_)
    if (old) {
      removed_.push_back(old->id);
      // Its id may serve a new address later (after the registry's quarantine): pod
      // churn over weeks must not exhaust ids.
      registry_.release(old->id);
      set_changed();
    }
  members_ = std::move(next);
  by_id_.clear();
  for (auto& m : members_) by_id_.emplace(m->id, m.get());
}

Clock::time_point next_wall_aligned(Clock::time_point now, Clock::duration interval,
                                    std::chrono::system_clock::time_point wall_now) {
  const int64_t step = std::chrono::duration_cast<std::chrono::nanoseconds>(interval).count();
  if (step <= 0) return now;
  const int64_t wall = std::chrono::duration_cast<std::chrono::nanoseconds>(wall_now.time_since_epoch()).count();
  int64_t into = wall % step;
  if (into < 0) into += step;  // a clock before 1970
  int64_t wait = step - into;
  if (wait < step / 2) wait += step;
  return now + std::chrono::nanoseconds(wait);
}

std::vector<sched::EndpointId> EndpointPool::take_removed() { return std::exchange(removed_, {}); }

void EndpointPool::tick(Clock::time_point now) {
  uint64_t now_ns = to_ns(now);
  for (auto& m : members_) {
    m->metrics_client->check_deadline(now_ns);
    m->models_client->check_deadline(now_ns);
    if (now >= m->next_scrape && !m->metrics_client->busy()) {
      m->next_scrape = next_wall_aligned(now, options_.poll_interval, std::chrono::system_clock::now());
      m->metrics_client->start(to_ns(now + options_.scrape_timeout));
    }
    if (now >= m->next_models && !m->models_client->busy()) {
      // Until the models are known, ask again at the poll rate.
      m->next_models = now + (m->health.has_models ? options_.models_refresh : options_.poll_interval);
      m->models_client->start(to_ns(now + options_.scrape_timeout));
    }
  }
}

Clock::time_point EndpointPool::next_due() const {
  Clock::time_point due = Clock::time_point::max();
  for (const auto& m : members_) {
    // A poll still running starts its successor when it ends, within that turn.
    if (!m->metrics_client->busy()) due = std::min(due, m->next_scrape);
    if (!m->models_client->busy()) due = std::min(due, m->next_models);
  }
  return due;
}

void EndpointPool::on_metrics(Member& m, const GetResult& r) {
  bool was_routable = routable(m);
  // Parse into scratch: a failed parse leaves its output half-filled.
  const bool answered = r.status != 0 && r.status < 500;
  metrics::ParseResult parsed;
  if (r.ok) parsed = parser_.parse(r.body, scratch_);
  if (r.ok && parsed.ok) {
    std::swap(m.metrics, scratch_);
    m.has_metrics = true;
    // The parser refuses non-finite gauges; a hostile count is bounded as every feature is.
    m.max_running = std::clamp(m.metrics.all.running, m.max_running, sched::kMaxCount);
    m.queued |= m.metrics.all.waiting > 0;
    m.scraped_at = Clock::now();
    m.health.failed_scrapes = 0;
    ++m.health.scrapes_ok;
    ++scrapes_ok_;
    set_changed();  // fresh load signals are a change the workers want
  } else if (r.over_limit || (r.ok && parsed.over_limit)) {
    // A page past a cap (size, models, adapters, labels, a non-finite gauge) is a
    // failed scrape: the server is broken or hostile. Ask it again only after a pause,
    // so a server that serves such pages every time costs the control thread little.
    ++m.health.failed_scrapes;
    ++m.health.scrapes_failed;
    ++scrapes_failed_;
    m.health.last_error = r.over_limit ? "/metrics refused: " + std::string(r.error)
                                       : "/metrics refused: " + parsed.describe();
    m.next_scrape = Clock::now() + options_.refused_page_backoff;
  } else if (answered) {
    // Alive, but no vLLM metrics to read: routable on in-flight counts alone.
    m.health.failed_scrapes = 0;
    if (r.ok) ++scrapes_unreadable_;  // llm-d's datalayer extract errors
    m.health.last_error = r.ok ? "/metrics is not vLLM's Prometheus text (" + parsed.describe() + ")"
                               : "/metrics answered " + std::to_string(r.status);
  } else {
    ++m.health.failed_scrapes;
    ++m.health.scrapes_failed;
    ++scrapes_failed_;
    m.health.last_error = r.status ? "/metrics answered " + std::to_string(r.status) : std::string(r.error);
  }
  if (routable(m) != was_routable) set_changed();
}

void EndpointPool::on_models(Member& m, const GetResult& r) {
  if (!m.health.probed) {
    m.health.probed = true;
    set_changed();
  }
  std::vector<std::string> models, adapters;
  if (r.over_limit) m.health.last_error = "/v1/models refused: " + std::string(r.error);
  if (!r.ok) return;
  std::string why;
  if (!parse_model_list(r.body, models, adapters, &why)) {
    m.health.last_error = why;
    return;
  }
  std::unordered_set<std::string_view> seen(models.begin(), models.end());
  for (const std::string& declared : options_.declared_models) add_unique(models, seen, declared);
  if (models != m.models || adapters != m.adapters || !m.health.has_models) set_changed();
  m.models = std::move(models);
  m.adapters = std::move(adapters);
  m.health.has_models = true;
}

bool EndpointPool::routable(const Member& m) const {
  return m.health.discovered_ready && m.health.has_models &&
         m.health.failed_scrapes < options_.failed_scrapes_to_unroutable;
}

bool EndpointPool::all_probed() const {
  return std::all_of(members_.begin(), members_.end(), [](auto& m) { return m->health.probed; });
}

size_t EndpointPool::routable_count() const {
  return size_t(std::count_if(members_.begin(), members_.end(), [this](auto& m) { return routable(*m); }));
}

const EndpointHealth* EndpointPool::health(sched::EndpointId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second->health;
}

std::string_view EndpointPool::name(sched::EndpointId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? std::string_view() : std::string_view(it->second->name);
}

std::unique_ptr<sched::EndpointSnapshot> EndpointPool::build_snapshot(const sched::LatencyModel* latency) {
  std::vector<sched::EndpointState> states;
  states.reserve(members_.size());
  for (auto& m : members_) {
    sched::EndpointState s;
    s.id = m->id;
    s.address = m->address;
    s.address_hash = m->address_hash;
    s.models = m->models;
    s.lora_adapters = m->adapters;
    // Adapters the server reports loaded or queued are servable too.
    std::unordered_set<std::string_view> seen(m->adapters.begin(), m->adapters.end());
    auto add = [&](std::string_view a) { add_unique(s.lora_adapters, seen, a); };
    metrics::for_each_adapter(m->metrics.lora.running_adapters, add);
    metrics::for_each_adapter(m->metrics.lora.waiting_adapters, add);
    s.loras.assign(m->metrics.lora);  // what runs and waits now (lora-affinity scorer)
    s.routable = routable(*m);
    s.has_metrics = m->has_metrics;
    s.scraped_at = m->scraped_at;
    s.metrics = m->metrics;
    s.num_gpu_blocks = m->metrics.cache.num_gpu_blocks;
    s.block_size = m->metrics.cache.block_size;
    s.role = m->role;
    s.slots = m->queued ? m->max_running : 0;
    if (auto it = remote_load_.find(m->address_hash); it != remote_load_.end()) {
      s.remote_inflight = it->second.inflight;
      s.remote_prefill_tokens = it->second.prefill_tokens;
    }
    if (latency) s.latency = latency->coefficients(m->id);
    states.push_back(std::move(s));
  }
  changed_ = false;
  auto snapshot = std::make_unique<sched::EndpointSnapshot>(std::move(states));
  snapshot->set_gateway_replicas(gateway_replicas_, prefix_index_shared_);
  return snapshot;
}

}  // namespace ringgate::control
