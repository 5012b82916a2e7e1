#include "ringgate/discovery/object_watch.h"

#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <optional>

#include "ringgate/discovery/backoff.h"
#include "ringgate/discovery/json_object_framer.h"
#include "ringgate/discovery/kube_client.h"

namespace ringgate::discovery {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kShortWatch = std::chrono::seconds(1);  // see endpointslice_watch.cpp

std::string describe(const std::string& what, const KubeStatus& status) {
  std::string text = what + " watch ERROR event: " + std::to_string(status.code);
  if (!status.reason.empty()) text += " " + status.reason;
  if (!status.message.empty()) text += ": " + status.message.substr(0, 512);
  return text;
}

struct WatchOutcome {
  int events = 0;
  bool streaming = false;
  bool relist = false;
  std::optional<Error> error;
};

}  // namespace

std::string collection_path(std::string_view group, std::string_view version, std::string_view namespace_name,
                            std::string_view resource) {
  std::string path = group.empty() ? "/api/" : "/apis/" + std::string(group) + "/";
  path += version;
  path += "/namespaces/";
  path += namespace_name;
  path += "/";
  path += resource;
  return path;
}

std::string query_escape(std::string_view value) {
  std::string out;
  for (char c : value) {
    bool plain = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_' ||
                 c == '.' || c == '~';
    if (plain) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      out += kHex[static_cast<unsigned char>(c) & 0xF];
    }
  }
  return out;
}

ObjectWatch::ObjectWatch(KubeApiConfig api, ObjectWatchOptions options, ObjectWatchCallbacks callbacks)
    : api_(std::move(api)), options_(std::move(options)), callbacks_(std::move(callbacks)) {}

ObjectWatch::~ObjectWatch() { stop(); }

std::string ObjectWatch::list_target() const {
  std::string target = options_.collection_path;
  char sep = '?';
  if (!options_.label_selector.empty()) {
    target += sep;
    target += "labelSelector=" + query_escape(options_.label_selector);
    sep = '&';
  }
  if (!options_.field_selector.empty()) {
    target += sep;
    target += "fieldSelector=" + query_escape(options_.field_selector);
  }
  return target;
}

std::string ObjectWatch::watch_target(const std::string& resource_version) const {
  std::string target = list_target();
  target += target.find('?') == std::string::npos ? '?' : '&';
  target += "watch=1&allowWatchBookmarks=true";
  if (!resource_version.empty()) target += "&resourceVersion=" + query_escape(resource_version);
  target += "&timeoutSeconds=" + std::to_string(options_.watch_timeout_seconds);
  return target;
}

Result<void> ObjectWatch::start() {
  if (thread_.joinable()) return Error{options_.what + " watch already started"};
  if (abort_.fd() < 0) return Error{options_.what + " watch: eventfd() failed"};
  if (options_.collection_path.empty() || options_.collection_path.front() != '/')
    return Error{options_.what + " watch: no collection path"};
  if (options_.watch_timeout_seconds <= 0 || options_.watch_idle_timeout.count() <= 0)
    return Error{options_.what + " watch: timeouts must be positive"};
  if (api_.host.empty() || api_.port == 0) return Error{options_.what + " watch: no API server address"};
  thread_ = std::thread([this] { run(); });
  return {};
}

void ObjectWatch::stop() {
  abort_.trigger();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void ObjectWatch::run() {
  sigset_t pipe_only;  // a peer closing while OpenSSL writes must not SIGPIPE the process
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_only, nullptr);

  const KubeClient client(api_, &abort_);
  const std::string list_path = list_target();
  const GetOptions list_options{options_.connect_timeout, options_.list_timeout};
  const GetOptions watch_options{
      options_.connect_timeout,
      std::min<std::chrono::milliseconds>(options_.watch_idle_timeout,
                                          std::chrono::seconds(options_.watch_timeout_seconds + 30))};

  std::string resource_version;
  bool need_list = true;
  Backoff backoff(options_.backoff_initial, options_.backoff_max);
  int failures_in_a_row = 0;
  bool resumed_from_list = false;
  auto report = [&](const Error& error) {
    if (callbacks_.on_error && !abort_.triggered()) callbacks_.on_error(error);
  };

  while (!abort_.triggered()) {
    if (need_list) {
      auto body = client.get_body(list_path, list_options, options_.max_list_bytes);
      if (!body) {
        report(Error{"LIST " + options_.what + ": " + body.error().message, body.error().http_status});
        if (!abort_.sleep_for(backoff.next())) break;
        continue;
      }
      auto list = parse_raw_object_list(body.value(), options_.max_objects);
      if (!list) {
        report(Error{"LIST " + options_.what + ": " + list.error().message});
        if (!abort_.sleep_for(backoff.next())) break;
        continue;
      }
      if (callbacks_.on_reset) {
        if (auto taken = callbacks_.on_reset(std::move(list.value().items)); !taken) {
          report(Error{"LIST " + options_.what + ": " + taken.error().message});
          if (!abort_.sleep_for(backoff.next())) break;
          continue;
        }
      }
      resource_version = list.value().resource_version;
      need_list = false;
      resumed_from_list = true;
      synced_.store(true, std::memory_order_release);
    }

    const auto started = Clock::now();
    const bool watch_follows_list = resumed_from_list;
    resumed_from_list = false;
    WatchOutcome outcome;
    JsonObjectFramer framer(options_.max_object_bytes);
    auto on_object = [&](std::string_view text) {
      auto event = parse_raw_watch_event(text);
      if (!event) {
        outcome.error = Error{options_.what + " watch: " + event.error().message};
        outcome.relist = true;
        return false;
      }
      RawWatchEvent& e = event.value();
      if (e.type == WatchEventType::error) {
        outcome.error = Error{describe(options_.what, e.status), e.status.code};
        outcome.relist = true;
        return false;
      }
      ++outcome.events;
      if (!e.object.resource_version.empty()) resource_version = e.object.resource_version;
      if (e.type != WatchEventType::bookmark && callbacks_.on_event) {
        if (auto taken = callbacks_.on_event(e.type, std::move(e.object)); !taken) {
          outcome.error = Error{options_.what + " watch: " + taken.error().message};
          outcome.relist = true;
          return false;
        }
      }
      return true;
    };
    auto done = client.get(watch_target(resource_version), watch_options,
                           [&](std::string_view bytes) {
                             auto fed = framer.feed(bytes, on_object);
                             if (!fed) {
                               outcome.error = Error{options_.what + " watch: " + fed.error().message};
                               outcome.relist = true;
                               return false;
                             }
                             return !outcome.error;
                           },
                           [&](int status) { outcome.streaming = status == 200; });
    if (abort_.triggered()) break;
    if (!done) {
      outcome.error = Error{options_.what + " watch: " + done.error().message, done.error().http_status};
      if (done.error().http_status == 410) outcome.relist = true;
    }
    if (outcome.error) report(*outcome.error);
    if (outcome.relist) need_list = true;

    const bool productive =
        outcome.events > 0 || (outcome.streaming && Clock::now() - started >= kShortWatch);
    if (productive) {
      backoff.reset();
      failures_in_a_row = 0;
      continue;
    }
    const bool expired = outcome.relist && outcome.error && outcome.error->http_status == 410;
    if (expired && !watch_follows_list) continue;
    if (failures_in_a_row++ == 0) continue;
    if (!abort_.sleep_for(backoff.next())) break;
  }
}

}  // namespace ringgate::discovery
