#pragma once
// Keeps a local copy of one Kubernetes collection (any kind, one namespace, optional
// label and field selectors) up to date: LIST, then WATCH from the list's
// resourceVersion with bookmarks; re-watch from the last seen resourceVersion when a
// watch ends or drops; relist on 410 (Expired/Gone), another ERROR event or a
// malformed event; capped exponential backoff on failures. Objects are handed over
// as JSON text (RawObject) for the caller's own parser: the same loop serves Pods,
// InferencePools, InferenceModelRewrites and InferenceObjectives.
//
// Retry policy (as EndpointSliceWatch): a watch that delivered events (or stayed open
// ≥ 1 s) is resumed at once; after a lone fast failure the first retry is immediate,
// then consecutive failures wait backoff_initial·2^n (capped, +≤20% jitter). A 410 on
// a resumed watch relists at once.
//
// API permissions used: `list` and `watch` on the resource, in the one namespace.
//
// Threading: start() spawns one thread that does all the I/O and runs the callbacks.
// stop() (any other thread; also the destructor) aborts the I/O in progress and joins.
// Do not call stop() or destroy the watch from inside its own callbacks.
#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "ringgate/discovery/abort_signal.h"
#include "ringgate/discovery/kube_api_config.h"
#include "ringgate/discovery/raw_object.h"
#include "ringgate/discovery/result.h"

namespace ringgate::discovery {

struct ObjectWatchOptions {
  std::string what;            // for messages, e.g. "pods" or "inferencemodelrewrites"
  // The collection: /api/v1/namespaces/NS/pods or /apis/GROUP/VERSION/namespaces/NS/RESOURCE.
  std::string collection_path;
  std::string label_selector;  // already in selector syntax (k=v,k2=v2); empty = none
  std::string field_selector;  // e.g. metadata.name=vllm; empty = none
  std::size_t max_objects = 10000;          // a LIST with more is an error (retried)
  std::size_t max_object_bytes = 2u << 20;  // one watch event
  std::size_t max_list_bytes = 64u << 20;
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds watch_idle_timeout{90000};  // see EndpointSliceWatchOptions
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds list_timeout{30000};
  std::chrono::milliseconds backoff_initial{200};
  std::chrono::milliseconds backoff_max{30000};
};

struct ObjectWatchCallbacks {
  // After every successful LIST: the whole collection (replaces what was known). An
  // Error fails the LIST (reported, retried after backoff): for a kind whose objects
  // must all be readable (EndpointSlices); kinds that keep the last good version of a
  // bad object return ok.
  std::function<Result<void>(std::vector<RawObject>&&)> on_reset;
  // ADDED / MODIFIED / DELETED, in order. An Error is reported and forces a relist.
  std::function<Result<void>(WatchEventType, RawObject&&)> on_event;
  // A failure the watch will retry (401, refused, 410, a malformed event …).
  std::function<void(const Error&)> on_error;
};

// "/api/v1/namespaces/NS/RESOURCE" (empty group) or "/apis/GROUP/VERSION/namespaces/NS/RESOURCE".
std::string collection_path(std::string_view group, std::string_view version, std::string_view namespace_name,
                            std::string_view resource);
// Percent-encodes a query parameter value (selectors contain '=', ',' and '/').
std::string query_escape(std::string_view value);

class ObjectWatch {
 public:
  ObjectWatch(KubeApiConfig api, ObjectWatchOptions options, ObjectWatchCallbacks callbacks);
  ~ObjectWatch();
  ObjectWatch(const ObjectWatch&) = delete;
  ObjectWatch& operator=(const ObjectWatch&) = delete;

  Result<void> start();
  void stop();
  bool synced() const { return synced_.load(std::memory_order_acquire); }

 private:
  void run();
  std::string list_target() const;
  std::string watch_target(const std::string& resource_version) const;

  KubeApiConfig api_;
  ObjectWatchOptions options_;
  ObjectWatchCallbacks callbacks_;
  AbortSignal abort_;
  std::atomic<bool> synced_{false};
  std::thread thread_;
};

}  // namespace ringgate::discovery
