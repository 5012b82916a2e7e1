#pragma once
// A small blocking HTTP/1.1 GET client for the Kubernetes API: one connection
// per request (Connection: close), bearer token read from config.token_file at
// each request, response parsed with llhttp (chunked or Content-Length).
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "ringgate/discovery/abort_signal.h"
#include "ringgate/discovery/kube_api_config.h"
#include "ringgate/discovery/result.h"

namespace ringgate::discovery {

struct GetOptions {
  std::chrono::milliseconds connect_timeout{5000};
  // Longest wait for the next byte once connected (headers or body).
  std::chrono::milliseconds idle_timeout{30000};
  std::size_t max_header_bytes = 64 * 1024;
};

// Receives the 2xx body piece by piece as it arrives; return false to stop reading.
using BodySink = std::function<bool(std::string_view)>;

class KubeClient {
 public:
  // `abort` (may be null) must outlive the client; triggering it makes a
  // request in progress on any thread return an Error promptly.
  explicit KubeClient(KubeApiConfig config, const AbortSignal* abort = nullptr);

  // GET `target` (path + query). 2xx: streams the body to `sink` and returns ok
  // once the response is complete or the sink returned false. Non-2xx: Error
  // with http_status set and the Status object's message. Transport failure,
  // a connection closed mid-response or a malformed response: Error with
  // http_status 0.
  // `on_status`, if set, is called with the status code once the response head is in.
  Result<void> get(std::string_view target, const GetOptions& options, const BodySink& sink,
                   const std::function<void(int status)>& on_status = {}) const;

  // GET and collect the whole 2xx body (at most max_body_bytes).
  Result<std::string> get_body(std::string_view target, const GetOptions& options,
                               std::size_t max_body_bytes = 64 << 20) const;

  const KubeApiConfig& config() const { return config_; }

 private:
  KubeApiConfig config_;
  const AbortSignal* abort_;
};

}  // namespace ringgate::discovery
