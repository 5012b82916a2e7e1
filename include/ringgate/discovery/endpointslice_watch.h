#pragma once
// Keeps the endpoint set of one Kubernetes service up to date from its
// discovery.k8s.io/v1 EndpointSlices, through the generic ObjectWatch (object_watch.h,
// the same list/watch loop as the InferencePool, Pod and rule watches): LIST, then WATCH from the list's
// resourceVersion with bookmarks; re-watch from the last seen resourceVersion
// when a watch ends or drops; relist on 410 (Expired/Gone) or another ERROR
// event; capped exponential backoff on failures.
//
// Retry policy: a watch that delivered events (or stayed open ≥ 1 s) is
// resumed at once; after a lone fast failure the first retry is immediate,
// then consecutive failures wait backoff_initial·2^n (capped, +≤20% jitter).
// A 410 on a resumed watch relists at once.
//
// API permissions used: `list` and `watch` on `endpointslices` in API group
// `discovery.k8s.io`, in the one namespace (nothing else; no `get`).
//
// A slice that cannot be read fails its LIST (retried after backoff) or, in a watch
// event, forces a relist: the set is never published from a partial read.
//
// Threading: start() spawns one thread that does all the I/O and runs the
// callbacks (hand the set over to your own thread from on_change). stop()
// (any other thread; also the destructor) aborts the I/O in progress via an
// eventfd and joins — it returns promptly, not after a timeout. Do not call
// stop() or destroy the watch from inside a callback. The thread blocks
// SIGPIPE for itself.
#include <atomic>
#include <map>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ringgate/discovery/discovered_endpoint.h"
#include "ringgate/discovery/endpoint_slice.h"
#include "ringgate/discovery/kube_api_config.h"
#include "ringgate/discovery/object_watch.h"
#include "ringgate/discovery/result.h"
#include "ringgate/discovery/target_port.h"

namespace ringgate::discovery {

struct EndpointSliceWatchOptions {
  std::string namespace_name;  // empty: KubeApiConfig::namespace_name, else "default"
  std::string service;
  TargetPort port;
  int watch_timeout_seconds = 300;  // timeoutSeconds on each watch request
  // An open watch that brings no byte (event or bookmark) for this long is
  // presumed dead (a peer or middlebox gone without a FIN) and is replaced by a
  // new watch from the last resourceVersion: no relist. The API server sends
  // watchers that allow bookmarks one about every minute (its cacher's
  // bookmarkFrequency), so 90 s is silence a live server does not produce; a
  // quiet server without bookmarks costs one re-watch per 90 s. Capped by the
  // watch's own timeoutSeconds + 30 s.
  std::chrono::milliseconds watch_idle_timeout{90000};
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds list_timeout{30000};  // idle timeout while listing
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{30000};
};

struct EndpointSliceWatchCallbacks {
  // The full merged set (see merge_slices), after the first successful LIST
  // (even if empty: that marks "synced") and then only when it changed.
  std::function<void(const std::vector<DiscoveredEndpoint>&)> on_change;
  // A failure the watcher will retry after backoff (401, TLS, refused, 410 …).
  std::function<void(const Error&)> on_error;
};

class EndpointSliceWatch {
 public:
  EndpointSliceWatch(KubeApiConfig api, EndpointSliceWatchOptions options,
                     EndpointSliceWatchCallbacks callbacks);
  ~EndpointSliceWatch();
  EndpointSliceWatch(const EndpointSliceWatch&) = delete;
  EndpointSliceWatch& operator=(const EndpointSliceWatch&) = delete;

  // Checks the options (names, port) and starts the thread. Call once.
  Result<void> start();
  void stop();
  // True once the first LIST has been published.
  bool synced() const { return watch_ && watch_->synced(); }

 private:
  Result<void> take(std::vector<RawObject>&& items);
  Result<void> take(WatchEventType type, RawObject&& object);
  void publish();

  KubeApiConfig api_;
  EndpointSliceWatchOptions options_;
  EndpointSliceWatchCallbacks callbacks_;
  std::unique_ptr<ObjectWatch> watch_;
  // The watch's thread only:
  std::map<std::string, EndpointSlice> slices_;
  std::vector<DiscoveredEndpoint> published_;
  bool have_published_ = false;
};

}  // namespace ringgate::discovery
