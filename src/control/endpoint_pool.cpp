#include "ringgate/control/endpoint_pool.h"

#include <arpa/inet.h>
#include <netdb.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include <simdjson.h>

#include "ringgate/control/load_summary.h"

#include <unordered_map>
#include <unordered_set>

namespace ringgate::control {

// One engine: a scheduling endpoint (the whole server, or one data-parallel rank of it).
struct EndpointPool::Engine {
  sched::EndpointId id = sched::kNoEndpoint;
  sched::DataParallelRank dp;
  uint64_t address_hash = 0;
  std::string name;
  double max_running = 0;  // the most a scrape saw running
  bool queued = false;     // a scrape saw requests waiting (then max_running is its slots)
};

// One address (a server): its polls, its health and what it serves are its engines'.
struct EndpointPool::Member {
  sched::EndpointAddress address;
  std::string name;
  std::string pod;
  sched::EndpointRole role = sched::EndpointRole::Both;  // discovery's latest word (a relabelled pod changes it)
  sched::ContextLengthRange context_range;               // as role
  int32_t port_rank = -1;         // DesiredEndpoint::rank
  uint32_t declared_size = 0;     // DesiredEndpoint::data_parallel_size (0: learnt)
  uint32_t learned_size = 1;      // engines its /metrics names (when it names two or more)
  std::vector<Engine> engines;
  EndpointHealth health;
  std::vector<std::string> models, adapters;  // from /v1/models
  metrics::VllmMetrics metrics;               // last good scrape
  bool has_metrics = false;
  Clock::time_point scraped_at{};
  Clock::time_point next_scrape{}, next_models{};
  std::unique_ptr<HttpGetClient> metrics_client, models_client;  // models_client: none for a leaf gateway
  // A leaf gateway (DesiredEndpoint::gateway): metrics_client reads its /debug/load, whose
  // last accepted summary set `metrics`, `models` and `leaf_draining`; `summary_ok` until
  // one is refused or its reads fail.
  bool gateway = false;
  bool summary_ok = false;
  bool leaf_draining = false;
  uint32_t priority = 0;
  // Models its summary lists with no ready server (scaled to zero there): offered only when
  // no other routable member serves them (build_snapshot), so the leaf holds or refuses
  // such a request as it is configured to, instead of the hub answering 404.
  std::vector<std::string> zero_models;
  std::string key_problem;  // its adminKeyFile could not be read (then it is read without a key)

  // Ranks behind this one port (1: the whole server is one endpoint).
  uint32_t header_ranks() const {
    if (port_rank >= 0) return 1;
    return declared_size ? declared_size : learned_size;
  }
};

namespace {
uint64_t to_ns(Clock::time_point t) {
  return uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
}

// The load an engine is scored on: its rank's own series when ranks share the port, else
// the whole page's (a port of its own serves one engine, whatever its label says).
const metrics::ModelLoad& engine_load(const metrics::VllmMetrics& page, sched::DataParallelRank dp) {
  static const metrics::ModelLoad kNone;
  if (!dp.header) return page.all;
  const auto engines = page.engines();
  return size_t(dp.rank) < engines.size() ? engines[size_t(dp.rank)] : kNone;
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
  std::unordered_map<std::string, size_t> current;
  current.reserve(members_.size());
  for (size_t i = 0; i < members_.size(); ++i)
    current.emplace(members_[i]->address.text() + (members_[i]->gateway ? "#gateway" : ""), i);
  std::unordered_set<std::string> taken;
  std::vector<std::unique_ptr<Member>> next;
  for (const DesiredEndpoint& d : desired) {
    sched::EndpointAddress address;
    address.host = d.host;
    address.port = d.port;
    // A leaf gateway is read elsewhere than a server on the same address: another member.
    std::string key = address.text() + (d.gateway ? "#gateway" : "");
    if (!taken.insert(key).second) continue;
    auto it = current.find(key);
    std::unique_ptr<Member> m;
    if (it != current.end()) {
      m = std::move(members_[it->second]);
    } else {
      m = std::make_unique<Member>();
      m->address = std::move(address);
      if (!resolve_address(d.host, d.port, m->address.sockaddr, m->address.sockaddr_len)) {
        std::fprintf(stderr, "ringgate: cannot resolve endpoint %s:%u, skipped\n", d.host.c_str(), unsigned(d.port));
        continue;
      }
      std::string host_header = m->address.text();
      Member* raw = m.get();
      if (d.gateway && !start_leaf_reads(*m, d)) continue;
      if (!d.gateway) {
        m->metrics_client = std::make_unique<HttpGetClient>(
            loop_, m->address.sockaddr, m->address.sockaddr_len, host_header, "/metrics",
            [this, raw](const GetResult& r) { on_metrics(*raw, r); },
            GetLimits{.max_body_bytes = parser_.limits().max_page_bytes});
        m->models_client = std::make_unique<HttpGetClient>(
            loop_, m->address.sockaddr, m->address.sockaddr_len, host_header, "/v1/models",
            [this, raw](const GetResult& r) { on_models(*raw, r); }, GetLimits{.max_body_bytes = kMaxModelsBodyBytes});
      }
    }
    const bool ready = d.ready && !d.terminating;  // a terminating endpoint never takes new requests
    std::string name = d.name.empty() ? m->address.text() : d.name;
    std::string pod = d.pod.empty() ? d.host : d.pod;
    const uint32_t declared = std::min(d.data_parallel_size, kMaxDataParallelSize);
    if (m->health.discovered_ready != ready || m->health.terminating != d.terminating || m->name != name ||
        m->role != d.role || m->context_range != d.context_range || m->pod != pod || m->port_rank != d.rank ||
        m->declared_size != declared || m->priority != d.priority)
      set_changed();
    m->priority = d.priority;
    m->health.discovered_ready = ready;
    m->health.terminating = d.terminating;
    m->role = d.role;
    m->context_range = d.context_range;
    m->name = std::move(name);
    m->pod = std::move(pod);
    m->port_rank = std::clamp(d.rank, -1, sched::kMaxDataParallelRank);
    m->declared_size = declared;
    if (!options_.declared_models.empty() && !m->health.has_models) {
      m->models = options_.declared_models;
      m->health.has_models = true;
    }
    shape_engines(*m);
    if (m->engines.empty()) continue;  // no id to be had (logged): its polls go with it
    next.push_back(std::move(m));
  }
  for (auto& old : members_)
    if (old) {
      // Its ids may serve a new address later (after the registry's quarantine): pod
      // churn over weeks must not exhaust ids.
      for (const Engine& e : old->engines) {
        removed_.push_back(e.id);
        registry_.release(e.id);
      }
      set_changed();
    }
  members_ = std::move(next);
  index_members();
}

bool EndpointPool::start_leaf_reads(Member& m, const DesiredEndpoint& d) {
  sched::EndpointAddress admin;
  admin.host = d.admin_host;
  admin.port = d.admin_port;
  if (d.admin_port == 0 || !resolve_address(d.admin_host, d.admin_port, admin.sockaddr, admin.sockaddr_len)) {
    std::fprintf(stderr, "ringgate: cannot resolve leaf gateway admin %s:%u, %s skipped\n", d.admin_host.c_str(),
                 unsigned(d.admin_port), m.address.text().c_str());
    return false;
  }
  m.gateway = true;
  Member* raw = &m;
  // The summary's own bound is its size limit here: a longer body is refused unread.
  m.metrics_client = std::make_unique<HttpGetClient>(
      loop_, admin.sockaddr, admin.sockaddr_len, admin.text(), kLoadSummaryPath,
      [this, raw](const GetResult& r) { on_summary(*raw, r); },
      GetLimits{.max_body_bytes = LoadSummaryLimits{}.max_bytes});
  if (!d.admin_key_file.empty()) {
    util::Result<std::string> key = read_admin_key_file(d.admin_key_file);
    if (!key) {
      // Read without: the leaf answers 401 and stays unscheduled; say why.
      std::fprintf(stderr, "ringgate: leaf gateway %s: %s\n", m.address.text().c_str(), key.error().message.c_str());
      m.key_problem = key.error().message;
      return true;
    }
    std::string request = "GET ";
    request.append(kLoadSummaryPath).append(" HTTP/1.1\r\nHost: ").append(admin.text());
    request.append("\r\nAuthorization: Bearer ").append(key.value()).append("\r\n\r\n");
    m.metrics_client->set_request(std::move(request));
  }
  return true;
}

void EndpointPool::on_summary(Member& m, const GetResult& r) {
  const bool was_routable = routable(m);
  if (!m.health.probed) {
    m.health.probed = true;
    set_changed();
  }
  if (r.ok && r.status == 200) {
    util::Result<LoadSummary> parsed = parse_load_summary(r.body);
    if (parsed) {
      const LoadSummary& summary = parsed.value();
      m.metrics.clear();
      m.metrics.all.waiting = summary.waiting;
      m.metrics.all.running = summary.running;
      m.metrics.all.kv_cache_usage = summary.kv_usage;
      m.metrics.all.has_waiting = m.metrics.all.has_running = m.metrics.all.has_kv_cache_usage = true;
      m.has_metrics = true;
      m.scraped_at = Clock::now();
      // A model whose servers in the leaf are all gone is not served there now.
      std::vector<std::string> models, zero;
      std::unordered_set<std::string_view> seen, seen_zero;
      for (const LeafModel& model : summary.models)
        if (model.ready > 0)
          add_unique(models, seen, model.name);
        else
          add_unique(zero, seen_zero, model.name);
      if (zero != m.zero_models) set_changed();
      m.zero_models = std::move(zero);
      for (const std::string& declared : options_.declared_models) add_unique(models, seen, declared);
      if (models != m.models || !m.health.has_models || summary.draining != m.leaf_draining) set_changed();
      m.models = std::move(models);
      m.health.has_models = true;
      m.leaf_draining = summary.draining;
      m.summary_ok = true;
      m.health.failed_scrapes = 0;
      m.health.last_error = summary.draining ? "the leaf is draining" : "";
      ++m.health.scrapes_ok;
      ++scrapes_ok_;
      set_changed();
      if (routable(m) != was_routable) set_changed();
      return;
    }
    m.health.last_error = parsed.error().message;
  } else if (r.over_limit) {
    m.health.last_error = "load summary refused: " + std::string(r.error);
  } else {
    m.health.last_error = r.status ? "/debug/load answered " + std::to_string(r.status) : std::string(r.error);
    if (!m.key_problem.empty()) m.health.last_error += " (" + m.key_problem + ")";
  }
  // Not answered, refused by the leaf (401, 403, 5xx) or by its content: never trusted,
  // unscheduled at once (a hostile or broken summary is not a blip to ride out).
  if (r.over_limit || (r.ok && r.status == 200)) {
    ++summaries_refused_;
    m.next_scrape = Clock::now() + options_.refused_page_backoff;
  }
  m.summary_ok = false;
  ++m.health.failed_scrapes;
  ++m.health.scrapes_failed;
  ++scrapes_failed_;
  if (routable(m) != was_routable) set_changed();
}

void EndpointPool::shape_engines(Member& m) {
  const uint32_t ranks = m.header_ranks();
  std::vector<Engine> engines;
  engines.reserve(ranks);
  for (uint32_t r = 0; r < ranks; ++r) {
    sched::DataParallelRank dp;
    if (m.port_rank >= 0) dp.rank = m.port_rank;       // a port of its own
    else if (ranks > 1) dp = {int32_t(r), true};       // one port, the rank in a header
    auto same = std::find_if(m.engines.begin(), m.engines.end(), [&](const Engine& e) { return e.dp == dp; });
    if (same != m.engines.end()) {
      engines.push_back(std::move(*same));
      same->id = sched::kNoEndpoint;  // kept: not released below
    } else {
      Engine e;
      e.dp = dp;
      e.id = registry_.id_for(m.address.host, m.address.port, dp.header ? dp.rank : -1);
      if (e.id == sched::kNoEndpoint) {
        std::fprintf(stderr, "ringgate: more than %zu endpoints at once, %s rank %d skipped\n", registry_.max_ids(),
                     m.address.text().c_str(), int(dp.rank));
        continue;
      }
      e.address_hash = sched::address_hash(m.address.host, m.address.port, dp);
      engines.push_back(std::move(e));
      set_changed();
    }
  }
  for (const Engine& gone : m.engines)
    if (gone.id != sched::kNoEndpoint) {
      removed_.push_back(gone.id);
      registry_.release(gone.id);
      set_changed();
    }
  for (Engine& e : engines) e.name = e.dp.rank >= 0 ? m.name + "-rank-" + std::to_string(e.dp.rank) : m.name;
  m.engines = std::move(engines);
}

void EndpointPool::index_members() {
  by_id_.clear();
  for (auto& m : members_)
    for (size_t i = 0; i < m->engines.size(); ++i) by_id_.emplace(m->engines[i].id, EngineRef{m.get(), i});
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
    if (!m->models_client) {  // a leaf gateway: its summary says its models
      if (now >= m->next_scrape && !m->metrics_client->busy()) {
        m->next_scrape = next_wall_aligned(now, options_.poll_interval, std::chrono::system_clock::now());
        m->metrics_client->start(to_ns(now + options_.scrape_timeout));
      }
      continue;
    }
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
    if (m->models_client && !m->models_client->busy()) due = std::min(due, m->next_models);
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
    // A server behind one port learns its ranks from the engines its page names (vLLM
    // labels every engine's gauges engine="N"), unless its entry declared them.
    if (m.port_rank < 0 && m.declared_size == 0) {
      const size_t named = m.metrics.engines_named();
      const uint32_t learned = named >= 2 ? uint32_t(std::min<size_t>(m.metrics.engines().size(), kMaxDataParallelSize)) : 1;
      if (learned != m.learned_size) {
        m.learned_size = learned;
        shape_engines(m);
        index_members();
      }
    }
    const std::span<const metrics::ModelLoad> per_engine = m.metrics.engines();
    m.health.undeclared_engine_samples += m.metrics.unreadable_engine_samples;
    for (size_t i = m.header_ranks(); i < per_engine.size() && m.header_ranks() > 1; ++i)
      m.health.undeclared_engine_samples += metrics::has_load(per_engine[i]) ? 1 : 0;
    for (Engine& e : m.engines) {
      const metrics::ModelLoad& load = engine_load(m.metrics, e.dp);
      // The parser refuses non-finite gauges; a hostile count is bounded as every feature is.
      e.max_running = std::clamp(load.running, e.max_running, sched::kMaxCount);
      e.queued |= load.waiting > 0;
    }
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
  // A leaf gateway: only on a summary accepted last time, and never while it drains.
  if (m.gateway && (!m.summary_ok || m.leaf_draining)) return false;
  return m.health.discovered_ready && m.health.has_models &&
         m.health.failed_scrapes < options_.failed_scrapes_to_unroutable;
}

bool EndpointPool::all_probed() const {
  return std::all_of(members_.begin(), members_.end(), [](auto& m) { return m->health.probed; });
}

size_t EndpointPool::routable_count() const {
  size_t n = 0;
  for (const auto& m : members_) n += routable(*m) ? m->engines.size() : 0;
  return n;
}

const EndpointHealth* EndpointPool::health(sched::EndpointId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &it->second.member->health;
}

std::string_view EndpointPool::name(sched::EndpointId id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? std::string_view() : std::string_view(it->second.member->engines[it->second.engine].name);
}

std::unique_ptr<sched::EndpointSnapshot> EndpointPool::build_snapshot(const sched::LatencyModel* latency) {
  std::vector<sched::EndpointState> states;
  states.reserve(members_.size());
  // Models some routable member serves now: a leaf's models at zero are offered only beyond these.
  std::unordered_set<std::string_view> served;
  for (auto& m : members_)
    if (routable(*m)) served.insert(m->models.begin(), m->models.end());
  for (auto& m : members_) {
    sched::EndpointState s;
    s.address = m->address;
    s.pod = m->pod;
    s.models = m->models;
    for (const std::string& zero : m->zero_models)
      if (!served.count(zero)) s.models.push_back(zero);
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
    s.num_cpu_blocks = m->metrics.cache.num_cpu_blocks;
    s.block_size = m->metrics.cache.block_size;
    s.role = m->role;
    s.context_range = m->context_range;
    s.priority = m->priority;
    s.gateway = m->gateway;
    for (const Engine& e : m->engines) {
      sched::EndpointState& state = states.emplace_back(s);
      state.id = e.id;
      state.dp = e.dp;
      state.address_hash = e.address_hash;
      // A rank behind a shared port is scored on its own engine's series.
      if (e.dp.header) state.metrics.all = engine_load(m->metrics, e.dp);
      state.slots = e.queued ? e.max_running : 0;
      if (auto it = remote_load_.find(e.address_hash); it != remote_load_.end()) {
        state.remote_inflight = it->second.inflight;
        state.remote_prefill_tokens = it->second.prefill_tokens;
      }
      if (latency) state.latency = latency->coefficients(e.id);
    }
  }
  changed_ = false;
  auto snapshot = std::make_unique<sched::EndpointSnapshot>(std::move(states));
  snapshot->set_gateway_replicas(gateway_replicas_, prefix_index_shared_);
  return snapshot;
}

}  // namespace ringgate::control
