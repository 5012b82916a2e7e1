#include "ringgate/discovery/endpointslice_watch.h"

#include <pthread.h>

#include <algorithm>
#include <signal.h>

#include <map>
#include <optional>

#include "ringgate/discovery/backoff.h"
#include "ringgate/discovery/endpoint_merge.h"
#include "ringgate/discovery/endpointslice_paths.h"
#include "ringgate/discovery/json_object_framer.h"
#include "ringgate/discovery/kube_client.h"
#include "ringgate/discovery/watch_event.h"

namespace ringgate::discovery {
namespace {

using Clock = std::chrono::steady_clock;

// An established watch (HTTP 200) that delivered nothing and ended this fast
// counts as a failure (client-go calls it a "very short watch") so a server
// that closes at once is not hammered. Error answers always count as failures.
constexpr auto kShortWatch = std::chrono::seconds(1);

std::string describe(const KubeStatus& status) {
  std::string text = "watch ERROR event: " + std::to_string(status.code);
  if (!status.reason.empty()) text += " " + status.reason;
  if (!status.message.empty()) text += ": " + status.message;
  return text;
}

// Why a watch request ended, beyond "ended".
struct WatchOutcome {
  int events = 0;                    // ADDED/MODIFIED/DELETED/BOOKMARK seen
  bool streaming = false;            // the server answered 200: the watch was established
  bool relist = false;               // 410, another ERROR event, or a bad event: state may be stale
  std::optional<Error> error;        // what to report
};

}  // namespace

EndpointSliceWatch::EndpointSliceWatch(KubeApiConfig api, EndpointSliceWatchOptions options,
                                       EndpointSliceWatchCallbacks callbacks)
    : api_(std::move(api)), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

EndpointSliceWatch::~EndpointSliceWatch() { stop(); }

Result<void> EndpointSliceWatch::start() {
  if (thread_.joinable()) return Error{"EndpointSlice watch already started"};
  if (abort_.fd() < 0) return Error{"EndpointSlice watch: eventfd() failed"};
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
  thread_ = std::thread([this] { run(); });
  return {};
}

void EndpointSliceWatch::stop() {
  abort_.trigger();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void EndpointSliceWatch::run() {
  // A peer that closes while we write must not kill the process with SIGPIPE
  // (OpenSSL writes with write(2)); the mask is this thread's own.
  sigset_t pipe_only;
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);

  const KubeClient client(api_, &abort_);
  const std::string& ns = options_.namespace_name;
  const std::string& service = options_.service;
  const std::string list_path = endpointslice_list_path(ns, service);
  const GetOptions list_options{options_.connect_timeout, options_.list_timeout};
  // No byte for watch_idle_timeout (at most the server's own watch timeout plus
  // slack) means a dead connection: re-watch from the last resourceVersion.
  const GetOptions watch_options{
      options_.connect_timeout,
      std::min<std::chrono::milliseconds>(options_.watch_idle_timeout,
                                          std::chrono::seconds(options_.watch_timeout_seconds + 30))};

  std::map<std::string, EndpointSlice> slices;
  std::vector<DiscoveredEndpoint> published;
  bool have_published = false;
  std::string resource_version;
  bool need_list = true;
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  int failures_in_a_row = 0;  // watches that failed fast since the last productive one
  bool resumed_from_list = false;  // the next watch starts at a LIST's resourceVersion

  auto publish = [&] {
    auto merged = merge_slices(slices, options_.port);
    if (have_published && merged == published) return;
    published = std::move(merged);
    have_published = true;
    if (callbacks_.on_change) callbacks_.on_change(published);
  };
  auto report = [&](const Error& error) {
    if (callbacks_.on_error && !abort_.triggered()) callbacks_.on_error(error);
  };
  auto belongs = [&](const EndpointSlice& slice) {
    return slice.service_name.empty() || slice.service_name == service;
  };

  while (!abort_.triggered()) {
    if (need_list) {
      auto body = client.get_body(list_path, list_options);
      if (!body) {
        report(body.error());
        if (!abort_.sleep_for(backoff.next())) break;
        continue;
      }
      auto list = parse_endpoint_slice_list(body.value());
      if (!list) {
        report(Error{"LIST " + list_path + ": " + list.error().message});
        if (!abort_.sleep_for(backoff.next())) break;
        continue;
      }
      slices.clear();
      for (EndpointSlice& slice : list.value().items)
        if (belongs(slice)) slices[slice.name] = std::move(slice);
      resource_version = list.value().resource_version;
      need_list = false;
      resumed_from_list = true;
      synced_.store(true, std::memory_order_release);
      publish();
    }

    const auto started = Clock::now();
    const bool watch_follows_list = resumed_from_list;
    resumed_from_list = false;
    WatchOutcome outcome;
    JsonObjectFramer framer;
    auto on_object = [&](std::string_view text) {
      auto event = parse_watch_event(text);
      if (!event) {
        outcome.error = Error{"watch: " + event.error().message};
        outcome.relist = true;
        return false;
      }
      WatchEvent& e = event.value();
      if (e.type != WatchEventType::error) ++outcome.events;
      switch (e.type) {
        case WatchEventType::added:
        case WatchEventType::modified:
          if (belongs(e.slice)) slices[e.slice.name] = std::move(e.slice);
          else slices.erase(e.slice.name);
          break;
        case WatchEventType::deleted:
          slices.erase(e.slice.name);
          break;
        case WatchEventType::bookmark:
          break;
        case WatchEventType::error:
          outcome.error = Error{describe(e.status), e.status.code};
          outcome.relist = true;  // 410 Expired/Gone, or anything else: start over from a LIST
          return false;
      }
      if (!e.resource_version.empty()) resource_version = e.resource_version;
      if (e.type != WatchEventType::bookmark) publish();
      return true;
    };
    auto done = client.get(endpointslice_watch_path(ns, service, resource_version, options_.watch_timeout_seconds),
                           watch_options, [&](std::string_view bytes) {
                             auto fed = framer.feed(bytes, on_object);
                             if (!fed) {
                               outcome.error = fed.error();
                               outcome.relist = true;
                               return false;
                             }
                             return !outcome.error;
                           },
                           [&](int status) { outcome.streaming = status == 200; });
    if (abort_.triggered()) break;
    if (!done) {
      outcome.error = done.error();
      if (done.error().http_status == 410) outcome.relist = true;
    }
    if (outcome.error) report(*outcome.error);
    if (outcome.relist) need_list = true;

    // A watch that delivered events or lasted a while worked: go again at once
    // from the last resourceVersion. After one that failed fast (refused,
    // dropped, 401, 410 …) the first retry is immediate too — a lone drop or
    // 410 costs no delay — and further consecutive failures back off.
    const bool productive =
        outcome.events > 0 || (outcome.streaming && Clock::now() - started >= kShortWatch);
    if (productive) {
      backoff.reset();
      failures_in_a_row = 0;
      continue;
    }
    // 410 from a watch resumed at an older resourceVersion: relist at once. A
    // 410 right after a fresh LIST means a confused server: treat as a failure.
    const bool expired = outcome.relist && outcome.error && outcome.error->http_status == 410;
    if (expired && !watch_follows_list) continue;
    if (failures_in_a_row++ == 0) continue;
    if (!abort_.sleep_for(backoff.next())) break;
  }
}

}  // namespace ringgate::discovery
