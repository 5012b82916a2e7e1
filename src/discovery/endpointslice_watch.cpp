#include "ringgate/discovery/endpointslice_watch.h"

#include "ringgate/discovery/endpoint_merge.h"
#include "ringgate/discovery/endpointslice_paths.h"

namespace ringgate::discovery {
namespace {

constexpr std::string_view kServiceLabel = "kubernetes.io/service-name";
// A service with more slices than this (100 endpoints each by default) is not a pool.
constexpr std::size_t kMaxSlices = 10000;

}  // namespace

EndpointSliceWatch::EndpointSliceWatch(KubeApiConfig api, EndpointSliceWatchOptions options,
                                       EndpointSliceWatchCallbacks callbacks)
    : api_(std::move(api)), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

EndpointSliceWatch::~EndpointSliceWatch() { stop(); }

Result<void> EndpointSliceWatch::start() {
  if (watch_) return Error{"EndpointSlice watch already started"};
  if (options_.namespace_name.empty())
    options_.namespace_name = api_.namespace_name.empty() ? "default" : api_.namespace_name;
  if (auto valid = validate_object_name("namespace", options_.namespace_name); !valid) return valid;
  if (auto valid = validate_object_name("service", options_.service); !valid) return valid;
  if (options_.port.number <= 0 && options_.port.name.empty())
    return Error{"EndpointSlice watch: no target port (give a number or a name)"};
  if (options_.port.number > 65535) return Error{"EndpointSlice watch: target port out of range"};
  if (options_.watch_timeout_seconds <= 0) return Error{"EndpointSlice watch: watch timeout must be positive"};
  if (options_.watch_idle_timeout.count() <= 0) return Error{"EndpointSlice watch: watch idle timeout must be positive"};
  if (api_.host.empty() || api_.port == 0) return Error{"EndpointSlice watch: no API server address"};

  ObjectWatchOptions o;
  o.what = "endpointslices";
  o.collection_path = collection_path("discovery.k8s.io", "v1", options_.namespace_name, "endpointslices");
  o.label_selector = std::string(kServiceLabel) + "=" + options_.service;  // a validated DNS label
  o.max_objects = kMaxSlices;
  o.max_object_bytes = 16u << 20;
  o.watch_timeout_seconds = options_.watch_timeout_seconds;
  o.watch_idle_timeout = options_.watch_idle_timeout;
  o.connect_timeout = options_.connect_timeout;
  o.list_timeout = options_.list_timeout;
  o.backoff_initial = options_.backoff_initial;
  o.backoff_max = options_.backoff_max;
  ObjectWatchCallbacks callbacks;
  callbacks.on_reset = [this](std::vector<RawObject>&& items) { return take(std::move(items)); };
  callbacks.on_event = [this](WatchEventType type, RawObject&& object) { return take(type, std::move(object)); };
  callbacks.on_error = [this](const Error& error) {
    if (callbacks_.on_error) callbacks_.on_error(error);
  };
  watch_ = std::make_unique<ObjectWatch>(api_, std::move(o), std::move(callbacks));
  return watch_->start();
}

void EndpointSliceWatch::stop() {
  if (watch_) watch_->stop();
}

Result<void> EndpointSliceWatch::take(std::vector<RawObject>&& items) {
  std::map<std::string, EndpointSlice> next;
  for (const RawObject& raw : items) {
    auto slice = parse_endpoint_slice(raw.json);
    if (!slice) return slice.error();  // the LIST fails and is retried: no partial set
    if (slice.value().service_name.empty() || slice.value().service_name == options_.service)
      next[slice.value().name] = std::move(slice.value());
  }
  slices_ = std::move(next);
  publish();
  return {};
}

Result<void> EndpointSliceWatch::take(WatchEventType type, RawObject&& object) {
  if (type == WatchEventType::deleted) {
    slices_.erase(object.name);
    publish();
    return {};
  }
  auto slice = parse_endpoint_slice(object.json);
  if (!slice) return slice.error();  // relist
  if (slice.value().service_name.empty() || slice.value().service_name == options_.service)
    slices_[slice.value().name] = std::move(slice.value());
  else
    slices_.erase(slice.value().name);  // relabeled away from the service
  publish();
  return {};
}

void EndpointSliceWatch::publish() {
  auto merged = merge_slices(slices_, options_.port);
  if (have_published_ && merged == published_) return;
  published_ = std::move(merged);
  have_published_ = true;
  if (callbacks_.on_change) callbacks_.on_change(published_);
}

}  // namespace ringgate::discovery
