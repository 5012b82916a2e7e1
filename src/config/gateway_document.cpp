// Reads `kind: Gateway` into GatewayConfig, range-checking every value.

#include <algorithm>
#include <array>

#include "ringgate/config/duration.h"
#include "ringgate/config/gateway_schema.h"
#include "ringgate/metrics/label_bounds.h"
#include "ringgate/sched/prefix_hasher.h"

#include "document_readers.h"

namespace ringgate::config::detail {

namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// Calls `read(value_node, path)` when `key` is present in `fields`.
template <typename Read>
void with_field(const MapFields& fields, std::string_view parent, std::string_view key, Read read) {
  if (const YAML::Node* value = fields.find(key)) read(*value, join_path(parent, key));
}

template <typename T, typename U>
void assign(T& target, const std::optional<U>& value) {
  if (value) target = static_cast<T>(*value);
}

// listen.tls: {certFile, keyFile, clientCAFile?, handshakeTimeout?}
void read_listen_tls(YamlFieldReader& r, const YAML::Node& node, const std::string& path, TlsListenConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kListenTls);
  if (!fields) return;
  auto file = [&](const char* key, std::string& target) {
    with_field(*fields, path, key, [&](const YAML::Node& v, const std::string& p) { assign(target, r.read_string(v, p)); });
  };
  file("certFile", out.cert_file);
  file("keyFile", out.key_file);
  file("clientCAFile", out.client_ca_file);
  with_field(*fields, path, "handshakeTimeout", [&](const YAML::Node& v, const std::string& p) {
    assign(out.handshake_timeout, r.read_duration(v, p, milliseconds(10), std::chrono::minutes(1)));
  });
  for (const char* key : {"certFile", "keyFile"})
    if (!fields->find(key)) r.error(node, join_path(path, key), "required: listen.tls needs certFile and keyFile");
}

// listen.http2: {enabled, maxConcurrentStreams, streamWindowBytes, connectionWindowBytes,
// maxResetsPerSecond, maxContinuationFrames, maxControlFramesPerSecond}
void read_listen_http2(YamlFieldReader& r, const YAML::Node& node, const std::string& path, Http2ListenConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kListenHttp2);
  if (!fields) return;
  with_field(*fields, path, "enabled",
             [&](const YAML::Node& v, const std::string& p) { assign(out.enabled, r.read_bool(v, p)); });
  auto count = [&](const char* key, int64_t max, uint32_t& target) {
    with_field(*fields, path, key,
               [&](const YAML::Node& v, const std::string& p) { assign(target, r.read_int(v, p, 1, max)); });
  };
  count("maxConcurrentStreams", 10000, out.max_concurrent_streams);
  count("maxResetsPerSecond", 1000000, out.max_resets_per_second);
  count("maxContinuationFrames", 1024, out.max_continuation_frames);
  count("maxControlFramesPerSecond", 1000000, out.max_control_frames_per_second);
  auto window = [&](const char* key, uint64_t& target) {
    with_field(*fields, path, key, [&](const YAML::Node& v, const std::string& p) {
      assign(target, r.read_byte_size(v, p, 64u << 10, 1u << 30));
    });
  };
  window("streamWindowBytes", out.stream_window_bytes);
  window("connectionWindowBytes", out.connection_window_bytes);
}

void read_listen(YamlFieldReader& r, const YAML::Node& node, const std::string& path, ListenConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kListen);
  if (!fields) return;
  with_field(*fields, path, "api",
             [&](const YAML::Node& v, const std::string& p) { assign(out.api, r.read_host_port(v, p, true)); });
  with_field(*fields, path, "admin",
             [&](const YAML::Node& v, const std::string& p) { assign(out.admin, r.read_host_port(v, p, true)); });
  with_field(*fields, path, "epp",
             [&](const YAML::Node& v, const std::string& p) { assign(out.epp, r.read_host_port(v, p, true)); });
  with_field(*fields, path, "eppHealth",
             [&](const YAML::Node& v, const std::string& p) { assign(out.epp_health, r.read_host_port(v, p, true)); });
  with_field(*fields, path, "tls", [&](const YAML::Node& v, const std::string& p) {
    out.tls.emplace();
    read_listen_tls(r, v, p, *out.tls);
  });
  with_field(*fields, path, "http2",
             [&](const YAML::Node& v, const std::string& p) { read_listen_http2(r, v, p, out.http2); });
  if (out.api == out.admin) {
    const bool admin_given = fields->find("admin") != nullptr;
    r.error(admin_given ? *fields->find("admin") : *fields->find("api"), join_path(path, admin_given ? "admin" : "api"),
            admin_given ? "must differ from listen.api" : "must differ from listen.admin");
  }
}

bool is_service_port_name(std::string_view name) {
  // IANA service name as Kubernetes validates it: 1-15 chars, [a-z0-9-], a letter somewhere,
  // no leading/trailing/double hyphen.
  if (name.empty() || name.size() > 15 || name.front() == '-' || name.back() == '-') return false;
  bool letter = false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    if (c >= 'a' && c <= 'z')
      letter = true;
    else if (!(c >= '0' && c <= '9') && c != '-')
      return false;
    if (c == '-' && i > 0 && name[i - 1] == '-') return false;
  }
  return letter;
}

bool is_dns_label(std::string_view name) {
  if (name.empty() || name.size() > 63 || name.front() == '-' || name.back() == '-') return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

void read_kubernetes(YamlFieldReader& r, const YAML::Node& node, const std::string& path, KubernetesDiscovery& out) {
  auto fields = r.read_map(node, path, gateway_schema::kKubernetes);
  if (!fields) return;
  with_field(*fields, path, "namespace", [&](const YAML::Node& v, const std::string& p) {
    auto name = r.read_string(v, p);
    if (name && !is_dns_label(*name))
      r.error(v, p, "\"" + *name + "\" is not a valid namespace name");
    else
      assign(out.namespace_name, name);
  });
  const YAML::Node* service = fields->find("service");
  const YAML::Node* pool = fields->find("inferencePool");
  if (service && pool) {
    r.error(*pool, join_path(path, "inferencePool"), "give either 'service' (with 'port') or 'inferencePool', not both");
    return;
  }
  if (pool) {
    std::string p = join_path(path, "inferencePool");
    auto name = r.read_string(*pool, p);
    if (name && !is_dns_label(*name))
      r.error(*pool, p, "\"" + *name + "\" is not a valid InferencePool name");
    else
      assign(out.inference_pool, name);
    if (const YAML::Node* v = fields->find("port"))
      r.error(*v, join_path(path, "port"), "not used with 'inferencePool' (its spec.targetPorts name the port)");
    with_field(*fields, path, "inferencePoolGroup", [&](const YAML::Node& v, const std::string& p) {
      auto group = r.read_string(v, p);
      if (group && *group != kInferencePoolGroup && *group != kInferencePoolGroupX)
        r.error(v, p, "must be " + std::string(kInferencePoolGroup) + " or " + std::string(kInferencePoolGroupX));
      else
        assign(out.inference_pool_group, group);
    });
  } else if (service) {
    if (const YAML::Node* v = fields->find("inferencePoolGroup"))
      r.error(*v, join_path(path, "inferencePoolGroup"), "only with 'inferencePool'");
    std::string p = join_path(path, "service");
    auto name = r.read_string(*service, p);
    if (name && !is_dns_label(*name))
      r.error(*service, p, "\"" + *name + "\" is not a valid Service name");
    else
      assign(out.service, name);
  } else {
    r.error(node, path, "missing required field 'service' (or 'inferencePool')");
  }
  with_field(*fields, path, "watchRules", [&](const YAML::Node& v, const std::string& p) {
    if (auto flag = r.read_bool(v, p)) out.watch_rules = *flag;
  });
  if (pool) {
    // the port comes from the InferencePool
  } else if (const YAML::Node* v = fields->find("port")) {
    std::string p = join_path(path, "port");
    if (v->IsScalar() && !v->Scalar().empty() && v->Tag() != "!" &&
        std::all_of(v->Scalar().begin(), v->Scalar().end(), [](char c) { return c >= '0' && c <= '9'; })) {
      assign(out.port_number, r.read_int(*v, p, 1, 65535));
    } else {
      auto name = r.read_string(*v, p);
      if (name && !is_service_port_name(*name))
        r.error(*v, p, "\"" + *name + "\" is neither a port number (1-65535) nor a valid port name");
      else
        assign(out.port_name, name);
    }
  } else {
    r.error(node, path, "missing required field 'port' (the Service port's name or number)");
  }
  with_field(*fields, path, "apiServer", [&](const YAML::Node& v, const std::string& p) {
    auto url = r.read_string(v, p);
    if (!url) return;
    bool http = url->starts_with("http://"), https = url->starts_with("https://");
    size_t host_start = http ? 7 : 8;
    if ((!http && !https) || url->size() <= host_start || (*url)[host_start] == '/')
      r.error(v, p, "expected a URL such as http://127.0.0.1:8001, got \"" + *url + "\"");
    else
      out.api_server = *url;
  });
}

// pool.discovery.static[i]: "host:port" (role both) or {address: host:port, role: prefill|decode|both}.
std::optional<StaticEndpoint> read_static_endpoint(YamlFieldReader& r, const YAML::Node& item,
                                                   const std::string& path) {
  if (!item.IsMap()) {
    auto address = r.read_host_port(item, path, false);
    if (!address) return std::nullopt;
    return StaticEndpoint{*address, sched::EndpointRole::Both};
  }
  auto fields = r.read_map(item, path, gateway_schema::kStaticEndpoint);
  if (!fields) return std::nullopt;
  StaticEndpoint out;
  bool ok = true;
  if (const YAML::Node* address = fields->find("address")) {
    auto hp = r.read_host_port(*address, join_path(path, "address"), false);
    if (hp)
      out.address = *hp;
    else
      ok = false;
  } else {
    r.error(item, path, "missing required field 'address' (host:port)");
    ok = false;
  }
  with_field(*fields, path, "role", [&](const YAML::Node& v, const std::string& p) {
    auto text = r.read_string(v, p);
    auto role = text ? sched::parse_endpoint_role(*text) : std::nullopt;
    if (text && !role) r.error(v, p, "must be prefill, decode or both (got \"" + text->substr(0, 64) + "\")");
    if (role)
      out.role = *role;
    else
      ok = false;
  });
  with_field(*fields, path, "contextLengthRange", [&](const YAML::Node& v, const std::string& p) {
    auto text = r.read_string(v, p);
    auto range = text ? sched::parse_context_length_range(*text) : std::nullopt;
    if (text && !range)
      r.error(v, p, "must be \"min-max\" in tokens, min <= max <= 1000000000 (got \"" + text->substr(0, 64) + "\")");
    if (range)
      out.context_range = *range;
    else
      ok = false;
  });
  // One data-parallel rank per port (vLLM's external load balancing), as an InferencePool's targetPorts.
  with_field(*fields, path, "targetPorts", [&](const YAML::Node& v, const std::string& p) {
    if (!r.expect_sequence(v, p)) return void(ok = false);
    if (v.size() == 0 || v.size() > kMaxTargetPorts) {
      r.error(v, p, "must list 1 to 8 ports (one per data-parallel rank), not " + std::to_string(v.size()));
      return void(ok = false);
    }
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string item = index_path(p, i);
      auto port = r.read_int(v[i], item, 1, 65535);
      if (!port) {
        ok = false;
        continue;
      }
      auto same = std::find(out.target_ports.begin(), out.target_ports.end(), uint16_t(*port));
      if (same != out.target_ports.end()) {
        r.error(v[i], item, "duplicate port " + std::to_string(*port) + " (also " +
                                index_path(p, size_t(same - out.target_ports.begin())) + ")");
        ok = false;
        continue;
      }
      out.target_ports.push_back(uint16_t(*port));
    }
    if (ok && out.target_ports.front() != out.address.port)
      r.error(v[0], index_path(p, 0), "must be the address's port (rank 0), " + std::to_string(out.address.port)), ok = false;
  });
  with_field(*fields, path, "kind", [&](const YAML::Node& v, const std::string& p) {
    auto text = r.read_string(v, p);
    if (text && *text != "server" && *text != "gateway")
      r.error(v, p, "must be server or gateway (got \"" + text->substr(0, 64) + "\")"), ok = false;
    else if (text)
      out.gateway = *text == "gateway";
    else
      ok = false;
  });
  with_field(*fields, path, "admin", [&](const YAML::Node& v, const std::string& p) {
    auto hp = r.read_host_port(v, p, false);
    if (hp)
      out.admin = *hp;
    else
      ok = false;
  });
  with_field(*fields, path, "adminKeyFile", [&](const YAML::Node& v, const std::string& p) {
    auto text = r.read_string(v, p);
    if (text)
      out.admin_key_file = *text;
    else
      ok = false;
  });
  with_field(*fields, path, "priority", [&](const YAML::Node& v, const std::string& p) {
    if (auto n = r.read_int(v, p, 0, 255))
      out.priority = uint32_t(*n);
    else
      ok = false;
  });
  if (ok && out.gateway && !out.admin)
    r.error(item, path, "kind gateway needs 'admin' (the leaf's admin host:port)"), ok = false;
  if (ok && !out.gateway && (out.admin || !out.admin_key_file.empty()))
    r.error(item, path, "'admin' and 'adminKeyFile' are for kind gateway"), ok = false;
  // Ranks behind the one port (vLLM's internal load balancing; each request names its rank).
  with_field(*fields, path, "dataParallelSize", [&](const YAML::Node& v, const std::string& p) {
    if (auto n = r.read_int(v, p, 1, kMaxDataParallelSize)) out.data_parallel_size = uint32_t(*n);
    else ok = false;
    if (fields->find("targetPorts"))
      r.error(v, p, "give either targetPorts (a port per rank) or dataParallelSize (ranks behind one port), not both"), ok = false;
  });
  if (!ok) return std::nullopt;
  return out;
}

void read_pool(YamlFieldReader& r, const YAML::Node& node, const std::string& path, PoolConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kPool);
  if (!fields) return;
  with_field(*fields, path, "name",
             [&](const YAML::Node& v, const std::string& p) { assign(out.name, r.read_string(v, p)); });
  const YAML::Node* discovery_node = fields->find("discovery");
  std::string discovery_path = join_path(path, "discovery");
  if (!discovery_node) {
    r.error(node, path, "missing required field 'discovery' (static: [host:port, ...] or kubernetes: {...})");
    return;
  }
  auto discovery = r.read_map(*discovery_node, discovery_path, gateway_schema::kDiscovery);
  if (!discovery) return;
  const YAML::Node* static_node = discovery->find("static");
  const YAML::Node* kubernetes_node = discovery->find("kubernetes");
  with_field(*discovery, discovery_path, "resolveInterval", [&](const YAML::Node& v, const std::string& p) {
    assign(out.resolve_interval, r.read_duration(v, p, std::chrono::seconds(1), std::chrono::hours(1)));
  });
  if (static_node && kubernetes_node) {
    r.error(*kubernetes_node, join_path(discovery_path, "kubernetes"),
            "give either 'static' or 'kubernetes', not both");
    return;
  }
  if (!static_node && !kubernetes_node) {
    r.error(*discovery_node, discovery_path, "needs 'static: [host:port, ...]' or 'kubernetes: {...}'");
    return;
  }
  if (static_node) {
    std::string p = join_path(discovery_path, "static");
    if (!r.expect_sequence(*static_node, p)) return;
    if (static_node->size() == 0) {
      r.error(*static_node, p, "needs at least one host:port endpoint");
      return;
    }
    for (size_t i = 0; i < static_node->size(); ++i) {
      YAML::Node item = (*static_node)[i];
      std::string item_path = index_path(p, i);
      auto endpoint = read_static_endpoint(r, item, item_path);
      if (!endpoint) continue;
      // Each host:port once, a rank's port included.
      auto ports_of = [](const StaticEndpoint& e) {
        return e.target_ports.empty() ? std::vector<uint16_t>{e.address.port} : e.target_ports;
      };
      std::optional<HostPort> taken;
      for (uint16_t port : ports_of(*endpoint))
        for (const StaticEndpoint& e : out.static_endpoints)
          for (uint16_t other : ports_of(e))
            if (!taken && e.address.host == endpoint->address.host && other == port) taken = HostPort{e.address.host, port};
      if (taken) {
        r.error(item, item_path, "duplicate endpoint " + format_host_port(*taken));
        continue;
      }
      out.static_endpoints.push_back(*endpoint);
    }
  } else {
    KubernetesDiscovery k;
    read_kubernetes(r, *kubernetes_node, join_path(discovery_path, "kubernetes"), k);
    out.kubernetes = std::move(k);
  }
}

void read_kv_events(YamlFieldReader& r, const YAML::Node& node, const std::string& path, KvEventsConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kKvEvents);
  if (!fields) return;
  with_field(*fields, path, "port", [&](const YAML::Node& v, const std::string& p) {
    assign(out.port, r.read_int(v, p, 1, 65535));
  });
  with_field(*fields, path, "replayPort", [&](const YAML::Node& v, const std::string& p) {
    assign(out.replay_port, r.read_int(v, p, 0, 65535));
  });
  with_field(*fields, path, "topic", [&](const YAML::Node& v, const std::string& p) {
    auto topic = r.read_string(v, p, true);
    if (topic && topic->size() > 256) r.error(v, p, "at most 256 characters");
    else assign(out.topic, topic);
  });
  with_field(*fields, path, "maxBlocksPerEndpoint", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_blocks_per_endpoint, r.read_int(v, p, 1, int64_t(1) << 26));
  });
  with_field(*fields, path, "endpoints", [&](const YAML::Node& v, const std::string& p) {
    if (!r.expect_sequence(v, p)) return;
    if (v.size() > 4096) {
      r.error(v, p, "at most 4096 entries");
      return;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string ip = p + "[" + std::to_string(i) + "]";
      auto item = r.read_map(v[i], ip, gateway_schema::kKvEventsEndpoint);
      if (!item) continue;
      KvEventsEndpoint e;
      bool ok = true;
      auto address_field = [&](std::string_view key, std::string& target, bool required) {
        bool seen = false;
        with_field(*item, ip, key, [&](const YAML::Node& x, const std::string& xp) {
          seen = true;
          auto a = r.read_string(x, xp);
          if (a && (!a->starts_with("tcp://") || a->size() > 256)) r.error(x, xp, "must be tcp://host:port");
          else if (a) target = *a;
          else ok = false;
        });
        if (required && !seen) {
          r.error(v[i], ip, "missing required field '" + std::string(key) + "'");
          ok = false;
        }
      };
      bool has_endpoint = false;
      with_field(*item, ip, "endpoint", [&](const YAML::Node& x, const std::string& xp) {
        auto hp = r.read_host_port(x, xp, false);
        if (hp) {
          e.endpoint = *hp;
          has_endpoint = true;
        }
      });
      if (!has_endpoint) {
        r.error(v[i], ip, "needs 'endpoint: host:port' (a pool endpoint)");
        ok = false;
      }
      address_field("address", e.address, true);
      address_field("replay", e.replay, false);
      if (ok) out.endpoints.push_back(std::move(e));
    }
  });
}

// A scorer's key given as a map: its weight and parameters (only the scorers of
// gateway_schema's scheduler.scorers.<name> maps have some; the others are an error).
void read_scorer_parameters(YamlFieldReader& r, const YAML::Node& node, const std::string& path, size_t slot,
                            SchedulerConfig& out) {
  const std::string_view name = sched::kScorers[slot].name;
  gateway_schema::Keys keys;
  if (name == "token-load") keys = gateway_schema::kTokenLoadScorer;
  else if (name == "active-request") keys = gateway_schema::kActiveRequestScorer;
  else if (name == "no-hit-lru") keys = gateway_schema::kNoHitLruScorer;
  else return r.error(node, path, "must be a weight (a number): this scorer has no parameters");
  auto fields = r.read_map(node, path, keys);
  if (!fields) return;
  with_field(*fields, path, "weight", [&](const YAML::Node& v, const std::string& p) {
    assign(out.scorers[slot], r.read_number(v, p, 0.0, 1000.0));
  });
  with_field(*fields, path, "queueThresholdTokens", [&](const YAML::Node& v, const std::string& p) {
    assign(out.token_load.queue_threshold_tokens, r.read_int(v, p, 1, 1'000'000'000'000));
  });
  with_field(*fields, path, "addEstimatedOutputTokens", [&](const YAML::Node& v, const std::string& p) {
    assign(out.token_load.add_estimated_output_tokens, r.read_bool(v, p));
  });
  with_field(*fields, path, "idleThreshold", [&](const YAML::Node& v, const std::string& p) {
    assign(out.active_request.idle_threshold, r.read_int(v, p, 0, 1'000'000));
  });
  with_field(*fields, path, "maxBusyScore", [&](const YAML::Node& v, const std::string& p) {
    assign(out.active_request.max_busy_score, r.read_number(v, p, 0.0, 1.0));
  });
  with_field(*fields, path, "lruSize", [&](const YAML::Node& v, const std::string& p) {
    assign(out.no_hit_lru.lru_size, r.read_int(v, p, 1, 1'000'000));
  });
}

// scheduler.filters: each filter `true` / `false`, or the map of its parameters (runs it).
void read_filters(YamlFieldReader& r, const YAML::Node& node, const std::string& path, SchedulerConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kFilters);
  if (!fields) return;
  with_field(*fields, path, "context-length", [&](const YAML::Node& v, const std::string& p) {
    assign(out.filters[sched::kContextLengthFilterSlot], r.read_bool(v, p));
  });
  const size_t slot = sched::kPrefixAffinityFilterSlot;
  with_field(*fields, path, "prefix-cache-affinity", [&](const YAML::Node& v, const std::string& p) {
    if (!v.IsMap()) return assign(out.filters[slot], r.read_bool(v, p));
    auto params = r.read_map(v, p, gateway_schema::kPrefixAffinityFilter);
    if (!params) return;
    out.filters[slot] = true;
    with_field(*params, p, "enabled", [&](const YAML::Node& x, const std::string& xp) {
      assign(out.filters[slot], r.read_bool(x, xp));
    });
    sched::PrefixAffinityConfig& c = out.prefix_affinity;
    with_field(*params, p, "affinityThreshold", [&](const YAML::Node& x, const std::string& xp) {
      assign(c.affinity_threshold, r.read_number(x, xp, 0.0, 1.0));
    });
    with_field(*params, p, "explorationProbability", [&](const YAML::Node& x, const std::string& xp) {
      assign(c.exploration_probability, r.read_number(x, xp, 0.0, 1.0));
    });
    with_field(*params, p, "maxTTFTPenaltyMs", [&](const YAML::Node& x, const std::string& xp) {
      assign(c.max_ttft_penalty_ms, r.read_number(x, xp, 0.0, 3'600'000.0));
    });
  });
}

void read_scheduler(YamlFieldReader& r, const YAML::Node& node, const std::string& path, SchedulerConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kScheduler);
  if (!fields) return;
  with_field(*fields, path, "filters", [&](const YAML::Node& v, const std::string& p) { read_filters(r, v, p, out); });
  with_field(*fields, path, "scorers", [&](const YAML::Node& v, const std::string& p) {
    auto scorers = r.read_map(v, p, gateway_schema::kScorers);
    if (!scorers) return;
    // Every scorer's key is its weight; the prefix scorer's may also be a map of its
    // parameters (below). A map of weights lists the scorers that run, as an llm-d
    // profile lists its plugins: `{latency: 1, prefix: 3}` runs those two and no other.
    // Only the prefix scorer's parameter map given alone (`prefix: {mode: precise}`)
    // keeps the other scorers' defaults.
    std::array<bool, sched::kScorerCount> given{};
    bool lists_weights = false;
    for (size_t slot = 0; slot < sched::kScorerCount; ++slot) {
      if (slot == sched::kPrefixScorerSlot) continue;
      with_field(*scorers, p, sched::kScorers[slot].name, [&](const YAML::Node& w, const std::string& wp) {
        given[slot] = lists_weights = true;
        if (w.IsMap()) read_scorer_parameters(r, w, wp, slot, out);
        else assign(out.scorers[slot], r.read_number(w, wp, 0.0, 1000.0));
      });
    }
    double& prefix_weight = out.scorers[sched::kPrefixScorerSlot];
    with_field(*scorers, p, "prefix", [&](const YAML::Node& w, const std::string& wp) {
      if (!w.IsMap()) {
        assign(prefix_weight, r.read_number(w, wp, 0.0, 1000.0));
        given[sched::kPrefixScorerSlot] = lists_weights = true;
        return;
      }
      auto prefix = r.read_map(w, wp, gateway_schema::kPrefixScorer);
      if (!prefix) return;
      with_field(*prefix, wp, "weight", [&](const YAML::Node& x, const std::string& xp) {
        assign(prefix_weight, r.read_number(x, xp, 0.0, 1000.0));
        given[sched::kPrefixScorerSlot] = true;
      });
      with_field(*prefix, wp, "mode", [&](const YAML::Node& x, const std::string& xp) {
        auto mode = r.read_string(x, xp);
        if (mode && *mode != "approximate" && *mode != "precise") r.error(x, xp, "must be approximate or precise");
        else assign(out.prefix.mode, mode);
      });
      with_field(*prefix, wp, "maxTokenizeBytes", [&](const YAML::Node& x, const std::string& xp) {
        assign(out.prefix.max_tokenize_bytes, r.read_byte_size(x, xp, 1ull << 10, 64ull << 20));
      });
      with_field(*prefix, wp, "tokenCacheBytes", [&](const YAML::Node& x, const std::string& xp) {
        assign(out.prefix.token_cache_bytes, r.read_byte_size(x, xp, 0, 16ull << 30));
      });
      // After maxTokenizeBytes and tokenCacheBytes: the tokenizer is loaded here, once,
      // with its bounds.
      with_field(*prefix, wp, "tokenizer", [&](const YAML::Node& x, const std::string& xp) {
        auto tokenizer = r.read_string(x, xp);
        if (!tokenizer) return;
        if (tokenizer->empty() || tokenizer->size() > 4096) {
          r.error(x, xp, "must be sim-bytes or a directory holding tokenizer.json");
          return;
        }
        if (*tokenizer != "sim-bytes") {
          auto loaded = openai::HfPromptTokenizer::load_shared(*tokenizer, out.prefix.max_tokenize_bytes,
                                                              out.prefix.token_cache_bytes);
          if (!loaded) {
            r.error(x, xp, "cannot load the tokenizer (sim-bytes or a directory holding tokenizer.json): " +
                               loaded.error().message);
            return;
          }
          out.prefix.hf_tokenizer = std::move(loaded.value());
        }
        out.prefix.tokenizer = *tokenizer;
      });
      with_field(*prefix, wp, "blockSize", [&](const YAML::Node& x, const std::string& xp) {
        assign(out.prefix.block_size, r.read_int(x, xp, 1, 1 << 16));
      });
      with_field(*prefix, wp, "hashSeed", [&](const YAML::Node& x, const std::string& xp) {
        auto seed = r.read_string(x, xp, true);
        if (seed && seed->size() > 256) r.error(x, xp, "at most 256 characters");
        else assign(out.prefix.hash_seed, seed);
      });
      with_field(*prefix, wp, "standDownShare", [&](const YAML::Node& x, const std::string& xp) {
        assign(out.prefix.stand_down_share, r.read_number(x, xp, 0.0, 1.0));
      });
      with_field(*prefix, wp, "tierWeights", [&](const YAML::Node& x, const std::string& xp) {
        auto entries = r.read_open_map(x, xp);
        if (!entries) return;
        for (const auto& entry : entries->entries()) {
          const std::string field_path = xp + "." + entry.key;
          std::optional<double> weight = r.read_number(entry.value, field_path, 0.0, 1.0);
          if (!weight) continue;
          if (std::string why = out.prefix.tier_weights.set(entry.key, *weight); !why.empty())
            r.error(entry.value, field_path, why);
        }
      });
    });
    if (lists_weights)
      for (size_t slot = 0; slot < sched::kScorerCount; ++slot)
        if (!given[slot]) out.scorers[slot] = 0;
    if (std::all_of(out.scorers.begin(), out.scorers.end(), [](double w) { return w == 0; }))
      r.error(v, p, "at least one scorer weight must be above 0");
  });
  with_field(*fields, path, "prefixBlockBytes", [&](const YAML::Node& v, const std::string& p) {
    assign(out.prefix_block_bytes, r.read_int(v, p, 1, 1 << 20));
  });
  with_field(*fields, path, "tokensPerImage", [&](const YAML::Node& v, const std::string& p) {
    assign(out.tokens_per_image, r.read_int(v, p, 1, sched::kMaxMediaTokens));
  });
  with_field(*fields, path, "tokensPerAudio", [&](const YAML::Node& v, const std::string& p) {
    assign(out.tokens_per_audio, r.read_int(v, p, 1, sched::kMaxMediaTokens));
  });
  with_field(*fields, path, "prefixIndexMemoryBytes", [&](const YAML::Node& v, const std::string& p) {
    assign(out.prefix_index_memory_bytes, r.read_byte_size(v, p, 1ull << 20, 1ull << 40));
  });
  with_field(*fields, path, "loadGuard", [&](const YAML::Node& v, const std::string& p) {
    auto guard = r.read_map(v, p, gateway_schema::kLoadGuard);
    if (!guard) return;
    with_field(*guard, p, "enabled",
               [&](const YAML::Node& g, const std::string& gp) { assign(out.load_guard.enabled, r.read_bool(g, gp)); });
    with_field(*guard, p, "ratio", [&](const YAML::Node& g, const std::string& gp) {
      auto ratio = r.read_number(g, gp, 1.0, 1000.0);
      if (ratio && *ratio <= 1.0)
        r.error(g, gp, "must be above 1 (a multiple of the pool's mean load)");
      else
        assign(out.load_guard.ratio, ratio);
    });
    with_field(*guard, p, "minLoad", [&](const YAML::Node& g, const std::string& gp) {
      assign(out.load_guard.min_load, r.read_int(g, gp, 0, 1'000'000));
    });
  });
  with_field(*fields, path, "loadSignal", [&](const YAML::Node& v, const std::string& p) {
    auto signal = r.read_map(v, p, gateway_schema::kLoadSignal);
    if (!signal) return;
    with_field(*signal, p, "mode", [&](const YAML::Node& x, const std::string& xp) {
      auto mode = r.read_string(x, xp);
      if (mode && *mode != "local" && *mode != "shared") r.error(x, xp, "must be local or shared");
      else assign(out.load_signal.mode, mode);
    });
    with_field(*signal, p, "step", [&](const YAML::Node& x, const std::string& xp) {
      assign(out.load_signal.step, r.read_number(x, xp, 1.0, 1e6));
    });
    with_field(*signal, p, "kvStep", [&](const YAML::Node& x, const std::string& xp) {
      assign(out.load_signal.kv_step, r.read_number(x, xp, 0.01, 1.0));
    });
    with_field(*signal, p, "noiseBand", [&](const YAML::Node& x, const std::string& xp) {
      assign(out.load_signal.noise_band, r.read_bool(x, xp));
    });
  });
  with_field(*fields, path, "headroomSelectionStrategy", [&](const YAML::Node& v, const std::string& p) {
    auto strategy = r.read_string(v, p);
    if (strategy && *strategy != "least" && *strategy != "most") r.error(v, p, "must be least or most");
    else assign(out.headroom_strategy, strategy);
  });
  with_field(*fields, path, "sessionHeader", [&](const YAML::Node& v, const std::string& p) {
    auto name = r.read_string(v, p, true);
    if (!name) return;
    bool token = std::all_of(name->begin(), name->end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
    if (!token)
      r.error(v, p, "\"" + *name + "\" is not a valid HTTP header name");
    else
      out.session_header = *name;
  });
  with_field(*fields, path, "metricsStaleAfter", [&](const YAML::Node& v, const std::string& p) {
    assign(out.metrics_stale_after, r.read_duration(v, p, milliseconds(1), hours(1)));
  });
  // The keys that pin a conversation, first found first (sched/session_keys.h); [] = none.
  with_field(*fields, path, "sessionKeys", [&](const YAML::Node& v, const std::string& p) {
    if (!v.IsSequence()) return r.error(v, p, "expected a list of session keys ([] for none)");
    if (v.size() > sched::kSessionSourceCount) {
      r.error(v, p, "lists at most 4 keys (prompt_cache_key, safety_identifier, user, header), not " +
                        std::to_string(v.size()));
      return;
    }
    sched::SessionKeyOrder order;
    order.count = 0;
    bool ok = true;
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string item = index_path(p, i);
      auto name = r.read_string(v[i], item);
      if (!name) {
        ok = false;
        continue;
      }
      const std::optional<sched::SessionSource> source = sched::session_source_named(*name);
      if (!source) {
        r.error(v[i], item, "\"" + *name + "\" is not a session key (prompt_cache_key, safety_identifier, user, header)");
        ok = false;
      } else if (std::find(order.keys.begin(), order.keys.begin() + order.count, *source) !=
                 order.keys.begin() + order.count) {
        r.error(v[i], item, "\"" + *name + "\" is listed twice");
        ok = false;
      } else {
        order.keys[order.count++] = *source;
      }
    }
    if (!ok) return;
    out.session_keys = order;
    r.note_set(p);  // [] reads no scalar, yet the file set it
  });
}

void read_limits(YamlFieldReader& r, const YAML::Node& node, const std::string& path, LimitsConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kLimits);
  if (!fields) return;
  with_field(*fields, path, "maxHeaderBytes", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_header_bytes, r.read_byte_size(v, p, 1024, 1ull << 20));
  });
  with_field(*fields, path, "maxBodyBytes", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_body_bytes, r.read_byte_size(v, p, 1024, 1ull << 30));
  });
}

void read_timeouts(YamlFieldReader& r, const YAML::Node& node, const std::string& path, TimeoutsConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kTimeouts);
  if (!fields) return;
  struct TimeoutField {
    std::string_view key;
    nanoseconds* target;
    nanoseconds min;
  };
  const nanoseconds day = hours(24);
  for (TimeoutField f :
       {TimeoutField{"headerRead", &out.header_read, milliseconds(1)},
        TimeoutField{"clientIdle", &out.client_idle, milliseconds(1)},
        TimeoutField{"upstreamConnect", &out.upstream_connect, milliseconds(1)},
        TimeoutField{"upstreamFirstByte", &out.upstream_first_byte, milliseconds(1)},
        TimeoutField{"upstreamIdle", &out.upstream_idle, milliseconds(1)},
        TimeoutField{"upstreamReadIdle", &out.upstream_read_idle, milliseconds(1)},
        TimeoutField{"clientWrite", &out.client_write, milliseconds(1)},
        TimeoutField{"request", &out.request, nanoseconds(0)}, TimeoutField{"drain", &out.drain, nanoseconds(0)}}) {
    with_field(*fields, path, f.key, [&](const YAML::Node& v, const std::string& p) {
      assign(*f.target, r.read_duration(v, p, f.min, day));
    });
  }
}

void read_metrics(YamlFieldReader& r, const YAML::Node& node, const std::string& path, MetricsConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kMetrics);
  if (!fields) return;
  with_field(*fields, path, "names", [&](const YAML::Node& v, const std::string& p) {
    auto names = r.read_string(v, p);
    if (!names) return;
    if (*names != "both" && *names != "gaie" && *names != "llm-d")
      return r.error(v, p, "\"" + *names + "\" is not one of both, gaie, llm-d");
    out.names = *names;
  });
  with_field(*fields, path, "pollInterval", [&](const YAML::Node& v, const std::string& p) {
    assign(out.poll_interval, r.read_duration(v, p, milliseconds(5), hours(1)));
  });
  with_field(*fields, path, "scrapeTimeout", [&](const YAML::Node& v, const std::string& p) {
    assign(out.scrape_timeout, r.read_duration(v, p, milliseconds(1), std::chrono::minutes(10)));
  });
  with_field(*fields, path, "maxLabelValues", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_label_values, r.read_int(v, p, 1, int64_t(metrics::LabelValueSet::kMaxLimit)));
  });
}

void read_health(YamlFieldReader& r, const YAML::Node& node, const std::string& path, HealthConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kHealth);
  if (!fields) return;
  with_field(*fields, path, "ejectAfterFailures", [&](const YAML::Node& v, const std::string& p) {
    assign(out.eject_after_failures, r.read_int(v, p, 1, 1000));
  });
  with_field(*fields, path, "ejectBase", [&](const YAML::Node& v, const std::string& p) {
    assign(out.eject_base, r.read_duration(v, p, milliseconds(1), hours(1)));
  });
  with_field(*fields, path, "ejectMax", [&](const YAML::Node& v, const std::string& p) {
    assign(out.eject_max, r.read_duration(v, p, milliseconds(1), hours(24)));
  });
  if (out.eject_max < out.eject_base) {
    if (const YAML::Node* max_node = fields->find("ejectMax"))
      r.error(*max_node, join_path(path, "ejectMax"),
              "must not be below health.ejectBase (" + format_duration(out.eject_base) + ")");
    else if (const YAML::Node* base_node = fields->find("ejectBase"))
      r.error(*base_node, join_path(path, "ejectBase"),
              "must not be above health.ejectMax (" + format_duration(out.eject_max) + ")");
  }
}

void read_retries(YamlFieldReader& r, const YAML::Node& node, const std::string& path, RetriesConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kRetries);
  if (!fields) return;
  with_field(*fields, path, "budget",
             [&](const YAML::Node& v, const std::string& p) { assign(out.budget, r.read_int(v, p, 0, 10)); });
  with_field(*fields, path, "deadline", [&](const YAML::Node& v, const std::string& p) {
    assign(out.deadline, r.read_duration(v, p, nanoseconds(0), hours(1)));
  });
}

void read_migration(YamlFieldReader& r, const YAML::Node& node, const std::string& path, MigrationConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kMigration);
  if (!fields) return;
  with_field(*fields, path, "enabled",
             [&](const YAML::Node& v, const std::string& p) { assign(out.enabled, r.read_bool(v, p)); });
  with_field(*fields, path, "stallTimeout", [&](const YAML::Node& v, const std::string& p) {
    assign(out.stall_timeout, r.read_duration(v, p, milliseconds(100), hours(1)));
  });
  with_field(*fields, path, "maxPerRequest",
             [&](const YAML::Node& v, const std::string& p) { assign(out.max_per_request, r.read_int(v, p, 1, 10)); });
  with_field(*fields, path, "maxTokens", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_tokens, r.read_int(v, p, 1, 1000000));
  });
}

// hedging: {enabled, maxExtraLoad, headroom}
void read_hedging(YamlFieldReader& r, const YAML::Node& node, const std::string& path, HedgingConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kHedging);
  if (!fields) return;
  with_field(*fields, path, "enabled",
             [&](const YAML::Node& v, const std::string& p) { assign(out.enabled, r.read_bool(v, p)); });
  with_field(*fields, path, "maxExtraLoad", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_extra_load, r.read_number(v, p, 0.0, 1.0));
  });
  with_field(*fields, path, "headroom",
             [&](const YAML::Node& v, const std::string& p) { assign(out.headroom, r.read_number(v, p, 0.0, 1.0)); });
}

// disaggregation: {enabled, nonCachedTokens, prefillTimeout}
void read_disaggregation(YamlFieldReader& r, const YAML::Node& node, const std::string& path,
                         DisaggregationConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kDisaggregation);
  if (!fields) return;
  with_field(*fields, path, "enabled", [&](const YAML::Node& v, const std::string& p) {
    if (auto flag = r.read_bool(v, p)) out.enabled = *flag;
  });
  with_field(*fields, path, "nonCachedTokens", [&](const YAML::Node& v, const std::string& p) {
    assign(out.non_cached_tokens, r.read_int(v, p, 0, 1'000'000));
  });
  with_field(*fields, path, "prefillTimeout", [&](const YAML::Node& v, const std::string& p) {
    assign(out.prefill_timeout, r.read_duration(v, p, milliseconds(1), hours(1)));
  });
}

void read_access_log(YamlFieldReader& r, const YAML::Node& node, const std::string& path, AccessLogConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kAccessLog);
  if (!fields) return;
  with_field(*fields, path, "enabled",
             [&](const YAML::Node& v, const std::string& p) { assign(out.enabled, r.read_bool(v, p)); });
  with_field(*fields, path, "path",
             [&](const YAML::Node& v, const std::string& p) { assign(out.path, r.read_string(v, p)); });
}

// tracing: {endpoint, sampleRatio, serviceName, headers, timeout, maxQueueSpans}
void read_tracing(YamlFieldReader& r, const YAML::Node& node, const std::string& path, TracingConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kTracing);
  if (!fields) return;
  with_field(*fields, path, "endpoint", [&](const YAML::Node& v, const std::string& p) {
    std::optional<std::string> text = r.read_string(v, p, /*allow_empty=*/true);
    if (!text) return;
    if (!text->empty() && !text->starts_with("http://")) {
      r.error(v, p, "must be an http:// URL (got \"" + *text + "\")");
      return;
    }
    out.endpoint = *text;
  });
  with_field(*fields, path, "sampleRatio",
             [&](const YAML::Node& v, const std::string& p) { assign(out.sample_ratio, r.read_number(v, p, 0.0, 1.0)); });
  with_field(*fields, path, "serviceName",
             [&](const YAML::Node& v, const std::string& p) { assign(out.service_name, r.read_string(v, p)); });
  with_field(*fields, path, "headers", [&](const YAML::Node& v, const std::string& p) {
    auto entries = r.read_open_map(v, p);
    if (!entries) return;
    for (const auto& entry : entries->entries()) {
      const std::string field_path = p + "." + entry.key;
      std::optional<std::string> value = r.read_string(entry.value, field_path, true);
      if (!value) continue;
      const auto bad = [](char c) { return c == '\r' || c == '\n' || c == '\0'; };
      if (entry.key.empty() || std::any_of(entry.key.begin(), entry.key.end(), [](char c) { return c <= ' ' || c == ':'; }) ||
          std::any_of(value->begin(), value->end(), bad)) {
        r.error(entry.value, field_path, "not a valid HTTP header");
        continue;
      }
      out.headers.emplace_back(entry.key, *value);
    }
  });
  with_field(*fields, path, "timeout", [&](const YAML::Node& v, const std::string& p) {
    assign(out.timeout, r.read_duration(v, p, milliseconds(1), std::chrono::minutes(10)));
  });
  with_field(*fields, path, "maxQueueSpans", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_queue_spans, r.read_int(v, p, 1, 1'000'000));
  });
}

// io: {backend: auto | io_uring | epoll}
// scaleFromZero: {wakeUrl, wakeInterval}
void read_scale_from_zero(YamlFieldReader& r, const YAML::Node& node, const std::string& path,
                          ScaleFromZeroConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kScaleFromZero);
  if (!fields) return;
  with_field(*fields, path, "wakeUrl", [&](const YAML::Node& v, const std::string& p) {
    std::optional<std::string> text = r.read_string(v, p, /*allow_empty=*/true);
    if (!text) return;
    const std::string_view rest = std::string_view(*text).substr(std::min<size_t>(7, text->size()));
    const std::string_view authority = rest.substr(0, rest.find('/'));
    const bool bad_char = std::any_of(text->begin(), text->end(), [](char c) { return c <= ' ' || c == 0x7f; });
    if (!text->empty() && (!text->starts_with("http://") || authority.empty() || authority.front() == ':' ||
                           authority.back() == ':' || bad_char)) {
      r.error(v, p, "must be an http://host[:port][/path] URL (got \"" + *text + "\")");
      return;
    }
    out.wake_url = *text;
  });
  with_field(*fields, path, "wakeInterval", [&](const YAML::Node& v, const std::string& p) {
    assign(out.wake_interval, r.read_duration(v, p, milliseconds(100), hours(1)));
  });
}

void read_io(YamlFieldReader& r, const YAML::Node& node, const std::string& path, IoConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kIo);
  if (!fields) return;
  with_field(*fields, path, "backend", [&](const YAML::Node& v, const std::string& p) {
    std::optional<std::string> text = r.read_string(v, p);
    if (!text) return;
    if (*text != "auto" && *text != "io_uring" && *text != "epoll") {
      r.error(v, p, "must be one of auto, io_uring, epoll (got \"" + *text + "\")");
      return;
    }
    out.backend = *text;
  });
}

bool is_header_token(std::string_view name) {
  return !name.empty() && name.size() <= 128 && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

// saturationDetector: GAIE's field names and ranges.
void read_saturation_detector(YamlFieldReader& r, const YAML::Node& node, const std::string& path,
                              SaturationDetectorConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kSaturationDetector);
  if (!fields) return;
  with_field(*fields, path, "queueDepthThreshold", [&](const YAML::Node& v, const std::string& p) {
    assign(out.queue_depth_threshold, r.read_int(v, p, 1, 1'000'000));
  });
  with_field(*fields, path, "kvCacheUtilThreshold", [&](const YAML::Node& v, const std::string& p) {
    auto kv = r.read_number(v, p, 0.0, 1.0);
    if (kv && *kv <= 0.0)
      r.error(v, p, "must be above 0 (a fraction of the KV cache, at most 1)");
    else
      assign(out.kv_cache_util_threshold, kv);
  });
  with_field(*fields, path, "metricsStalenessThreshold", [&](const YAML::Node& v, const std::string& p) {
    assign(out.metrics_staleness_threshold, r.read_duration(v, p, milliseconds(1), hours(1)));
  });
  with_field(*fields, path, "maxConcurrency", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_concurrency, r.read_int(v, p, 0, 1'000'000));
  });
  with_field(*fields, path, "sheddableHeadroom", [&](const YAML::Node& v, const std::string& p) {
    auto headroom = r.read_int(v, p, 0, 1'000'000);
    // Slots kept free below maxConcurrency: meaningless without it, and at or past it
    // no sheddable request would ever be sent.
    if (headroom && *headroom > 0 && (out.max_concurrency == 0 || *headroom >= out.max_concurrency))
      r.error(v, p, "must be below saturationDetector.maxConcurrency (which must be set)");
    else
      assign(out.sheddable_headroom, headroom);
  });
}

void read_band_bounds(YamlFieldReader& r, const MapFields& fields, const std::string& path, PriorityBandConfig& out) {
  with_field(fields, path, "maxBytes", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_bytes, r.read_byte_size(v, p, 1, 1ull << 40));
  });
  with_field(fields, path, "maxRequests", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_requests, r.read_int(v, p, 1, 10'000'000));
  });
}

// flowControl: {enabled, maxBytes, maxRequests, defaultRequestTTL,
//               defaultPriorityBand: {maxBytes, maxRequests}, priorityBands: [{priority, maxBytes, maxRequests}]}
void read_flow_control(YamlFieldReader& r, const YAML::Node& node, const std::string& path, FlowControlConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kFlowControl);
  if (!fields) return;
  with_field(*fields, path, "enabled",
             [&](const YAML::Node& v, const std::string& p) { assign(out.enabled, r.read_bool(v, p)); });
  with_field(*fields, path, "maxBytes", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_bytes, r.read_byte_size(v, p, 1, 1ull << 40));
  });
  with_field(*fields, path, "maxRequests", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_requests, r.read_int(v, p, 1, 10'000'000));
  });
  with_field(*fields, path, "defaultRequestTTL", [&](const YAML::Node& v, const std::string& p) {
    assign(out.default_request_ttl, r.read_duration(v, p, milliseconds(1), hours(1)));
  });
  with_field(*fields, path, "noEndpointRequestTTL", [&](const YAML::Node& v, const std::string& p) {
    assign(out.no_endpoint_request_ttl, r.read_duration(v, p, nanoseconds(0), hours(1)));
  });
  with_field(*fields, path, "defaultPriorityBand", [&](const YAML::Node& v, const std::string& p) {
    auto band = r.read_map(v, p, gateway_schema::kDefaultPriorityBand);
    if (band) read_band_bounds(r, *band, p, out.default_band);
  });
  with_field(*fields, path, "priorityBands", [&](const YAML::Node& v, const std::string& p) {
    if (!r.expect_sequence(v, p)) return;
    if (v.size() > 64) return r.error(v, p, "at most 64 priority bands");
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string bp = index_path(p, i);
      auto band = r.read_map(v[i], bp, gateway_schema::kPriorityBand);
      if (!band) continue;
      PriorityBandConfig b = out.default_band;
      const YAML::Node* priority = band->find("priority");
      if (priority == nullptr) {
        r.error(v[i], bp, "missing required field 'priority'");
        continue;
      }
      auto value = r.read_int(*priority, join_path(bp, "priority"), -1'000'000, 1'000'000);
      if (!value) continue;
      b.priority = int32_t(*value);
      if (std::any_of(out.priority_bands.begin(), out.priority_bands.end(),
                      [&](const PriorityBandConfig& o) { return o.priority == b.priority; })) {
        r.error(*priority, join_path(bp, "priority"), "duplicate priority " + std::to_string(b.priority));
        continue;
      }
      read_band_bounds(r, *band, bp, b);
      out.priority_bands.push_back(b);
    }
  });
}

// rateLimits: {tenantHeader, tokensPerMinute, requestsPerMinute, maxTenants}
void read_rate_limits(YamlFieldReader& r, const YAML::Node& node, const std::string& path, RateLimitConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kRateLimits);
  if (!fields) return;
  with_field(*fields, path, "tenantHeader", [&](const YAML::Node& v, const std::string& p) {
    auto name = r.read_string(v, p);
    if (!name) return;
    if (!is_header_token(*name)) return r.error(v, p, "\"" + *name + "\" is not a valid HTTP header name");
    out.tenant_header = *name;
    std::transform(out.tenant_header.begin(), out.tenant_header.end(), out.tenant_header.begin(),
                   [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
  });
  with_field(*fields, path, "tokensPerMinute", [&](const YAML::Node& v, const std::string& p) {
    assign(out.tokens_per_minute, r.read_int(v, p, 0, int64_t(1) << 50));
  });
  with_field(*fields, path, "requestsPerMinute", [&](const YAML::Node& v, const std::string& p) {
    assign(out.requests_per_minute, r.read_int(v, p, 0, int64_t(1) << 40));
  });
  with_field(*fields, path, "maxTenants", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_tenants, r.read_int(v, p, 1, 1'000'000));
  });
}

// sharedState: {redis: {address: HOST:PORT, passwordFile: PATH}, syncInterval}
void read_shared_state(YamlFieldReader& r, const YAML::Node& node, const std::string& path, SharedStateConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kSharedState);
  if (!fields) return;
  with_field(*fields, path, "redis", [&](const YAML::Node& v, const std::string& p) {
    auto redis = r.read_map(v, p, gateway_schema::kSharedStateRedis);
    if (!redis) return;
    RedisConfig c;
    const YAML::Node* address = redis->find("address");
    if (!address) return r.error(v, p, "needs address: HOST:PORT");
    auto hp = r.read_host_port(*address, join_path(p, "address"), false);
    if (!hp) return;
    c.address = *hp;
    with_field(*redis, p, "passwordFile", [&](const YAML::Node& f, const std::string& fp) {
      assign(c.password_file, r.read_string(f, fp));
    });
    out.redis = std::move(c);
  });
  with_field(*fields, path, "syncInterval", [&](const YAML::Node& v, const std::string& p) {
    assign(out.sync_interval, r.read_duration(v, p, milliseconds(5), seconds(10)));
  });
}

// responses: {maxEntries, maxBytes}
void read_responses(YamlFieldReader& r, const YAML::Node& node, const std::string& path, ResponsesConfig& out) {
  auto fields = r.read_map(node, path, gateway_schema::kResponses);
  if (!fields) return;
  with_field(*fields, path, "maxEntries", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_entries, r.read_int(v, p, 1, 100'000'000));
  });
  with_field(*fields, path, "maxBytes", [&](const YAML::Node& v, const std::string& p) {
    assign(out.max_bytes, r.read_byte_size(v, p, 1ull << 10, 1ull << 40));
  });
}

// "pool.discovery.static[2]" → "pool.discovery.static"; drops apiVersion/kind/metadata.
std::vector<std::string> settable_paths(const std::vector<std::string>& leaves) {
  std::vector<std::string> out;
  for (const std::string& leaf : leaves) {
    std::string path = leaf.substr(0, leaf.find('['));
    if (path == "apiVersion" || path == "kind" || path.starts_with("metadata")) continue;
    out.push_back(std::move(path));
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

GatewayDocument read_gateway_document(YamlFieldReader& r, const MapFields& doc) {
  GatewayDocument out;
  GatewayConfig& c = out.config;
  read_object_meta(r, doc, false);
  with_field(doc, "", "listen", [&](const YAML::Node& v, const std::string& p) { read_listen(r, v, p, c.listen); });
  with_field(doc, "", "mode", [&](const YAML::Node& v, const std::string& p) {
    std::optional<std::string> text = r.read_string(v, p);
    if (!text) return;
    if (*text != "gateway" && *text != "epp") {
      r.error(v, p, "must be gateway or epp (got \"" + *text + "\")");
      return;
    }
    c.mode = *text;
  });
  with_field(doc, "", "workers",
             [&](const YAML::Node& v, const std::string& p) { assign(c.workers, r.read_int(v, p, 0, 1024)); });
  with_field(doc, "", "pool", [&](const YAML::Node& v, const std::string& p) {
    out.has_pool = true;
    read_pool(r, v, p, c.pool);
  });
  with_field(doc, "", "scheduler",
             [&](const YAML::Node& v, const std::string& p) { read_scheduler(r, v, p, c.scheduler); });
  with_field(doc, "", "kvEvents",
             [&](const YAML::Node& v, const std::string& p) { read_kv_events(r, v, p, c.kv_events); });
  with_field(doc, "", "limits", [&](const YAML::Node& v, const std::string& p) { read_limits(r, v, p, c.limits); });
  with_field(doc, "", "timeouts",
             [&](const YAML::Node& v, const std::string& p) { read_timeouts(r, v, p, c.timeouts); });
  with_field(doc, "", "metrics", [&](const YAML::Node& v, const std::string& p) { read_metrics(r, v, p, c.metrics); });
  with_field(doc, "", "health", [&](const YAML::Node& v, const std::string& p) { read_health(r, v, p, c.health); });
  with_field(doc, "", "retries", [&](const YAML::Node& v, const std::string& p) { read_retries(r, v, p, c.retries); });
  with_field(doc, "", "migration",
             [&](const YAML::Node& v, const std::string& p) { read_migration(r, v, p, c.migration); });
  with_field(doc, "", "disaggregation",
             [&](const YAML::Node& v, const std::string& p) { read_disaggregation(r, v, p, c.disaggregation); });
  with_field(doc, "", "hedging", [&](const YAML::Node& v, const std::string& p) { read_hedging(r, v, p, c.hedging); });
  with_field(doc, "", "accessLog",
             [&](const YAML::Node& v, const std::string& p) { read_access_log(r, v, p, c.access_log); });
  with_field(doc, "", "io", [&](const YAML::Node& v, const std::string& p) { read_io(r, v, p, c.io); });
  with_field(doc, "", "tracing", [&](const YAML::Node& v, const std::string& p) { read_tracing(r, v, p, c.tracing); });
  with_field(doc, "", "scaleFromZero",
             [&](const YAML::Node& v, const std::string& p) { read_scale_from_zero(r, v, p, c.scale_from_zero); });
  with_field(doc, "", "saturationDetector", [&](const YAML::Node& v, const std::string& p) {
    read_saturation_detector(r, v, p, c.saturation_detector);
  });
  with_field(doc, "", "flowControl",
             [&](const YAML::Node& v, const std::string& p) { read_flow_control(r, v, p, c.flow_control); });
  with_field(doc, "", "rateLimits",
             [&](const YAML::Node& v, const std::string& p) { read_rate_limits(r, v, p, c.rate_limits); });
  with_field(doc, "", "auth", [&](const YAML::Node& v, const std::string& p) {
    auto fields = r.read_map(v, p, gateway_schema::kAuth);
    if (!fields) return;
    with_field(*fields, p, "apiKeysFile",
               [&](const YAML::Node& f, const std::string& fp) { assign(c.auth.api_keys_file, r.read_string(f, fp)); });
  });
  with_field(doc, "", "admin", [&](const YAML::Node& v, const std::string& p) {
    auto fields = r.read_map(v, p, gateway_schema::kAdmin);
    if (!fields) return;
    with_field(*fields, p, "auth", [&](const YAML::Node& f, const std::string& fp) {
      assign(c.admin.auth, r.read_bool(f, fp));
      if (c.admin.auth && c.auth.api_keys_file.empty())
        r.error(f, fp, "needs auth.apiKeysFile: the admin port takes the keys marked admin: true");
    });
  });
  with_field(doc, "", "hub", [&](const YAML::Node& v, const std::string& p) {
    auto fields = r.read_map(v, p, gateway_schema::kHub);
    if (!fields) return;
    with_field(*fields, p, "maxHops",
               [&](const YAML::Node& f, const std::string& fp) { assign(c.hub.max_hops, r.read_int(f, fp, 0, 16)); });
  });
  with_field(doc, "", "sharedState",
             [&](const YAML::Node& v, const std::string& p) { read_shared_state(r, v, p, c.shared_state); });
  with_field(doc, "", "responses",
             [&](const YAML::Node& v, const std::string& p) { read_responses(r, v, p, c.responses); });
  c.set_by_file = settable_paths(r.leaves_read());
  return out;
}

}  // namespace ringgate::config::detail
