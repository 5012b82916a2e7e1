#include "ringgate/gateway/pool_source.h"

#include <cstdio>

#include "ringgate/config/gaie_object.h"
#include "ringgate/discovery/endpointslice_paths.h"
#include "ringgate/discovery/kube_api_config.h"
#include "ringgate/discovery/target_port.h"

namespace ringgate::gateway {
namespace {

constexpr size_t kMaxPods = 10000;  // one pool; a LIST with more fails (and retries)

size_t kind_index(std::string_view kind) {
  for (size_t i = 0; i < control::kube_object_kinds.size(); ++i)
    if (control::kube_object_kinds[i] == kind) return i;
  return control::kube_object_kinds.size();
}

}  // namespace

std::vector<control::DesiredEndpoint> pool_members(const std::vector<discovery::DiscoveredEndpoint>& found) {
  std::vector<control::DesiredEndpoint> members;
  members.reserve(found.size());
  for (const discovery::DiscoveredEndpoint& e : found)
    members.push_back({e.address, e.port, discovery::is_routable(e),
                       e.rank >= 0 ? e.pod_name + "-rank-" + std::to_string(e.rank) : e.pod_name, e.kv_events.port,
                       e.kv_events.replay_port, e.kv_events.problem, e.role, e.terminating, e.pod_name, e.rank,
                       e.data_parallel_size, e.context_range});
  return members;
}

std::string PoolSource::start(const Settings& settings, control::ControlPlane& control, RulesSource* rules) {
  control_ = &control;
  if (!settings.kubernetes) {
    set_static(settings);
    return {};
  }
  const config::KubernetesDiscovery& k = *settings.kubernetes;
  auto api = k.api_server.empty() ? discovery::in_cluster_config() : discovery::api_url_config(k.api_server);
  if (!api) return "kubernetes discovery: " + api.error().message;
  api_ = api.value();
  namespace_name_ = !k.namespace_name.empty() ? k.namespace_name
                                              : (api_.namespace_name.empty() ? "default" : api_.namespace_name);
  if (auto valid = discovery::validate_object_name("namespace", namespace_name_); !valid)
    return "kubernetes discovery: " + valid.error().message;

  const bool watch_rules = k.watch_rules.value_or(!k.inference_pool.empty());
  if (watch_rules && rules) {
    rules_watch_ = std::make_unique<RuleObjectsWatch>(api_, namespace_name_, settings.pool_name, *rules, control);
    if (std::string error = rules_watch_->start(); !error.empty()) return "kubernetes rules watch: " + error;
  }

  if (!k.inference_pool.empty()) {
    // The group's served version, and the schema its objects follow (--pool-group).
    const bool x_group = k.inference_pool_group == config::kInferencePoolGroupX;
    const std::string_view pool_api_version = x_group ? config::inference_x_api_version : config::inference_v1_api_version;
    discovery::ObjectWatchOptions options;
    options.what = "inferencepools";
    options.collection_path = discovery::collection_path(x_group ? config::kInferencePoolGroupX : config::kInferencePoolGroup,
                                                         x_group ? "v1alpha2" : "v1", namespace_name_, "inferencepools");
    options.field_selector = "metadata.name=" + k.inference_pool;
    options.max_objects = 1;  // a field selector on the name: one at most
    options.max_object_bytes = config::max_api_object_bytes + 4096;
    options.max_list_bytes = config::max_api_object_bytes + 4096;
    discovery::ObjectWatchCallbacks callbacks;
    // nullopt: rejected (reported, the current selection stays).
    auto read = [this, pool_api_version](const discovery::RawObject& raw) -> std::optional<Selection> {
      config::GaieObjectResult parsed =
          config::parse_gaie_object(raw.json, config::GaieKind::InferencePool, pool_api_version);
      std::optional<Selection> selection;
      std::string problem;
      if (parsed.ok() && parsed.object.pool) {
        auto text = discovery::label_selector_text(parsed.object.pool->selector);
        if (text) selection = Selection{text.value(), parsed.object.pool->target_ports};
        else problem = "spec.selector: " + text.error().message;
      } else {
        for (size_t i = 0; i < parsed.errors.size() && i < 5; ++i) problem += (i ? "; " : "") + parsed.errors[i].message;
      }
      if (!selection) {
        std::fprintf(stderr, "ringgate: kubernetes: InferencePool %s rejected (the last good version stays): %s\n",
                     raw.key().c_str(), problem.c_str());
        control_->count_kube_rejected(kind_index("InferencePool"));
        return std::nullopt;
      }
      return selection;
    };
    callbacks.on_reset = [this, read](std::vector<discovery::RawObject>&& items) -> discovery::Result<void> {
      if (items.empty()) on_pool(std::nullopt);
      else if (auto s = read(items.front())) on_pool(*s);
      return {};
    };
    callbacks.on_event = [this, read](discovery::WatchEventType type, discovery::RawObject&& raw) -> discovery::Result<void> {
      if (type == discovery::WatchEventType::deleted) on_pool(std::nullopt);
      else if (auto s = read(raw)) on_pool(*s);
      return {};
    };
    callbacks.on_error = [](const discovery::Error& e) {
      std::fprintf(stderr, "ringgate: kubernetes inferencepools: %s (retrying)\n", e.message.c_str());
    };
    pool_watch_ = std::make_unique<discovery::ObjectWatch>(api_, std::move(options), std::move(callbacks));
    if (auto started = pool_watch_->start(); !started) return "kubernetes discovery: " + started.error().message;
    return {};
  }

  discovery::EndpointSliceWatchOptions options;
  options.namespace_name = namespace_name_;
  options.service = k.service;
  if (!k.port_name.empty()) options.port.name = k.port_name;
  else options.port.number = k.port_number;
  discovery::EndpointSliceWatchCallbacks callbacks;
  callbacks.on_change = [&control](const std::vector<discovery::DiscoveredEndpoint>& found) {
    control.set_endpoints(pool_members(found), /*synced=*/true);
  };
  callbacks.on_error = [](const discovery::Error& e) {
    std::fprintf(stderr, "ringgate: kubernetes discovery: %s (retrying)\n", e.message.c_str());
  };
  watch_ = std::make_unique<discovery::EndpointSliceWatch>(api_, options, callbacks);
  if (auto started = watch_->start(); !started) return "kubernetes discovery: " + started.error().message;
  return {};
}

// On pool_watch_'s thread.
void PoolSource::on_pool(std::optional<Selection> selection) {
  if (pool_seen_ && selection == selection_) return;
  if (pod_watch_) pod_watch_->stop();
  pod_watch_.reset();
  pool_seen_ = true;
  selection_ = selection;
  pods_.clear();
  have_published_ = false;
  if (!selection) {
    // No InferencePool (not created yet, or deleted): no endpoints, as GAIE's EPP.
    std::fprintf(stderr, "ringgate: kubernetes: no InferencePool: the pool has no endpoints\n");
    publish_pods();
    return;
  }
  std::fprintf(stderr, "ringgate: kubernetes: InferencePool selects pods %s on port %u%s\n",
               selection->label_selector.c_str(), unsigned(selection->ports.front()),
               selection->ports.size() > 1 ? " and more (one data-parallel rank each)" : "");
  discovery::ObjectWatchOptions options;
  options.what = "pods";
  options.collection_path = discovery::collection_path("", "v1", namespace_name_, "pods");
  options.label_selector = selection->label_selector;
  options.max_objects = kMaxPods;
  discovery::ObjectWatchCallbacks callbacks;
  auto read = [this](const discovery::RawObject& raw) -> std::optional<discovery::PodState> {
    auto pod = discovery::parse_pod(raw.json);
    if (!pod) {
      std::fprintf(stderr, "ringgate: kubernetes: Pod %s rejected: %s\n", raw.key().c_str(), pod.error().message.c_str());
      control_->count_kube_rejected(kind_index("Pod"));
      return std::nullopt;
    }
    // A bad role label is said once per pod and value, not at every update of the pod
    // (status changes, relists).
    if (const std::string& problem = pod.value().problem; !problem.empty()) {
      auto old = pods_.find(raw.name);
      if (old == pods_.end() || old->second.problem != problem)
        std::fprintf(stderr, "ringgate: kubernetes: Pod %s: %s\n", raw.key().c_str(), problem.c_str());
    }
    return pod.value();
  };
  // A malformed pod is counted and keeps its last good state; it fails nothing else.
  callbacks.on_reset = [this, read](std::vector<discovery::RawObject>&& items) -> discovery::Result<void> {
    std::map<std::string, discovery::PodState> next;
    for (const discovery::RawObject& raw : items) {
      if (auto pod = read(raw)) next[raw.name] = std::move(*pod);
      else if (auto old = pods_.find(raw.name); old != pods_.end()) next[raw.name] = old->second;
    }
    pods_ = std::move(next);
    publish_pods();
    return {};
  };
  callbacks.on_event = [this, read](discovery::WatchEventType type, discovery::RawObject&& raw) -> discovery::Result<void> {
    if (type == discovery::WatchEventType::deleted) {
      pods_.erase(raw.name);
    } else if (auto pod = read(raw)) {
      pods_[raw.name] = std::move(*pod);
    } else {
      return {};
    }
    publish_pods();
    return {};
  };
  callbacks.on_error = [](const discovery::Error& e) {
    std::fprintf(stderr, "ringgate: kubernetes pods: %s (retrying)\n", e.message.c_str());
  };
  pod_watch_ = std::make_unique<discovery::ObjectWatch>(api_, std::move(options), std::move(callbacks));
  if (auto started = pod_watch_->start(); !started)
    std::fprintf(stderr, "ringgate: kubernetes pods: %s\n", started.error().message.c_str());
}

void PoolSource::publish_pods() {
  auto found = selection_ ? discovery::pod_endpoints(pods_, selection_->ports) : std::vector<discovery::DiscoveredEndpoint>{};
  if (have_published_ && found == published_) return;
  published_ = std::move(found);
  have_published_ = true;
  control_->set_endpoints(pool_members(published_), /*synced=*/true);
}

void PoolSource::set_static(const Settings& settings) {
  if (control_) static_resolver_.set(settings.static_endpoints, settings.static_resolve_interval, *control_);
}

void PoolSource::stop() {
  static_resolver_.stop();
  if (rules_watch_) rules_watch_->stop();
  if (watch_) watch_->stop();
  watch_.reset();
  if (pool_watch_) pool_watch_->stop();  // first: it is the one that restarts the pod watch
  if (pod_watch_) pod_watch_->stop();
}

}  // namespace ringgate::gateway
