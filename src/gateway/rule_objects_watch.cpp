#include "ringgate/gateway/rule_objects_watch.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <map>
#include <optional>
#include <tuple>

#include "ringgate/config/gaie_object.h"

namespace ringgate::gateway {
namespace {

constexpr std::string_view kGroup = "inference.networking.x-k8s.io";
constexpr std::string_view kVersion = "v1alpha2";
constexpr std::string_view kApiVersion = "inference.networking.x-k8s.io/v1alpha2";
// A namespace holding more of one kind than this is not a config: LIST fails (and retries).
constexpr size_t kMaxObjects = 1000;

size_t kind_index(config::GaieKind kind) {
  for (size_t i = 0; i < control::kube_object_kinds.size(); ++i)
    if (control::kube_object_kinds[i] == config::gaie_kind_name(kind)) return i;
  return control::kube_object_kinds.size();
}

bool for_pool(const std::optional<config::PoolRef>& ref, const std::string& pool) {
  return !ref || ref->name == pool;
}

// The last good version of each object of one kind, keyed by namespace/name.
template <class T>
struct Entry {
  T object;
  std::string created;
};

template <class T>
class KindState {
 public:
  using Extract = std::function<std::optional<T>(config::GaieObject&)>;
  using Publish = std::function<void(std::vector<T>)>;
  KindState(config::GaieKind kind, std::string pool, control::ControlPlane& control, Extract extract, Publish publish)
      : kind_(kind), pool_(std::move(pool)), control_(control), extract_(std::move(extract)), publish_(std::move(publish)) {}

  void reset(std::vector<discovery::RawObject>&& items) {
    std::map<std::string, std::optional<Entry<T>>> next;
    for (discovery::RawObject& raw : items) {
      const std::string key = raw.key();
      Read r = read(raw);
      if (r.ok) {
        next[key] = std::move(r.entry);
      } else if (auto old = good_.find(key); old != good_.end()) {
        next[key] = old->second;  // malformed now: keep the last good version
      }
    }
    good_.clear();
    for (auto& [key, entry] : next)
      if (entry) good_.emplace(key, std::move(*entry));
    publish();
  }

  void event(discovery::WatchEventType type, discovery::RawObject&& raw) {
    const std::string key = raw.key();
    if (type == discovery::WatchEventType::deleted) {
      good_.erase(key);
      publish();
      return;
    }
    Read r = read(raw);
    if (!r.ok) return;  // reported; the last good version (if any) stays
    if (r.entry) good_[key] = std::move(*r.entry);
    else good_.erase(key);  // now for another pool
    publish();
  }

 private:
  struct Read {
    bool ok = false;                // false: malformed (reported)
    std::optional<Entry<T>> entry;  // empty when ok: fine, but for another pool
  };
  Read read(const discovery::RawObject& raw) {
    config::GaieObjectResult parsed = config::parse_gaie_object(raw.json, kind_, kApiVersion);
    if (!parsed.ok()) {
      std::string text;
      for (size_t i = 0; i < parsed.errors.size() && i < 5; ++i) text += (i ? "; " : "") + parsed.errors[i].message;
      std::fprintf(stderr, "ringgate: kubernetes: %s %s rejected (the last good version stays): %s\n",
                   std::string(config::gaie_kind_name(kind_)).c_str(), raw.key().c_str(), text.c_str());
      control_.count_kube_rejected(kind_index(kind_));
      return Read{};
    }
    std::optional<T> object = extract_(parsed.object);
    if (!object || !for_pool(object->pool, pool_)) return Read{true, std::nullopt};
    return Read{true, Entry<T>{std::move(*object), parsed.object.creation_timestamp}};
  }

  void publish() {
    std::vector<std::pair<std::tuple<std::string, std::string>, const T*>> order;
    for (const auto& [key, entry] : good_) order.push_back({{entry.created, key}, &entry.object});
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<T> out;
    out.reserve(order.size());
    for (const auto& item : order) out.push_back(*item.second);
    publish_(std::move(out));
  }

  config::GaieKind kind_;
  std::string pool_;
  control::ControlPlane& control_;
  Extract extract_;
  Publish publish_;
  std::map<std::string, Entry<T>> good_;
};

}  // namespace

struct RuleObjectsWatch::RewriteState : KindState<config::ModelRewrite> {
  using KindState::KindState;
};
struct RuleObjectsWatch::ObjectiveState : KindState<config::InferenceObjective> {
  using KindState::KindState;
};

RuleObjectsWatch::RuleObjectsWatch(discovery::KubeApiConfig api, std::string namespace_name, std::string pool_name,
                                   RulesSource& rules, control::ControlPlane& control)
    : api_(std::move(api)), namespace_name_(std::move(namespace_name)), pool_name_(std::move(pool_name)),
      rules_(rules), control_(control) {}

RuleObjectsWatch::~RuleObjectsWatch() { stop(); }

std::string RuleObjectsWatch::start() {
  const std::string ns = namespace_name_.empty() ? (api_.namespace_name.empty() ? "default" : api_.namespace_name)
                                                 : namespace_name_;
  rewrites_ = std::make_unique<RewriteState>(
      config::GaieKind::ModelRewrite, pool_name_, control_,
      [](config::GaieObject& o) { return std::move(o.rewrite); },
      [this](std::vector<config::ModelRewrite> v) { rules_.set_api_rewrites(std::move(v)); });
  objectives_ = std::make_unique<ObjectiveState>(
      config::GaieKind::InferenceObjective, pool_name_, control_,
      [](config::GaieObject& o) { return std::move(o.objective); },
      [this](std::vector<config::InferenceObjective> v) { rules_.set_api_objectives(std::move(v)); });

  auto make = [&](const char* resource, auto* state) {
    discovery::ObjectWatchOptions options;
    options.what = resource;
    options.collection_path = discovery::collection_path(kGroup, kVersion, ns, resource);
    options.max_objects = kMaxObjects;
    options.max_object_bytes = config::max_api_object_bytes + 4096;  // the event wrapper
    options.max_list_bytes = 64u << 20;  // a LIST of kMaxObjects small objects fits many times over
    discovery::ObjectWatchCallbacks callbacks;
    // A malformed object never fails the LIST or forces a relist: its last good version stays.
    callbacks.on_reset = [state](std::vector<discovery::RawObject>&& items) -> discovery::Result<void> {
      state->reset(std::move(items));
      return {};
    };
    callbacks.on_event = [state](discovery::WatchEventType t, discovery::RawObject&& o) -> discovery::Result<void> {
      state->event(t, std::move(o));
      return {};
    };
    callbacks.on_error = [resource](const discovery::Error& e) {
      std::fprintf(stderr, "ringgate: kubernetes %s: %s (retrying)\n", resource, e.message.c_str());
    };
    return std::make_unique<discovery::ObjectWatch>(api_, std::move(options), std::move(callbacks));
  };
  rewrite_watch_ = make("inferencemodelrewrites", rewrites_.get());
  objective_watch_ = make("inferenceobjectives", objectives_.get());
  if (auto s = rewrite_watch_->start(); !s) return s.error().message;
  if (auto s = objective_watch_->start(); !s) return s.error().message;
  return {};
}

void RuleObjectsWatch::stop() {
  if (rewrite_watch_) rewrite_watch_->stop();
  if (objective_watch_) objective_watch_->stop();
}

}  // namespace ringgate::gateway
