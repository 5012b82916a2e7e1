#pragma once
// The scale-from-zero wake hook (issue 66, config scaleFromZero.wakeUrl): while requests
// wait for a model with no ready server, the control thread POSTs {"model": M, "held": N}
// to the hook's URL, at most once per model per scaleFromZero.wakeInterval, whatever the
// number of held requests and of workers: it sums the workers' held counts by model
// (metrics::HeldModels, the models' own names) on its own 100 ms timer, never on the data path.
// One POST in flight at a time on one keep-alive connection, each bounded by a timeout;
// a model due while another's POST runs waits for it (each model queued once). Failures
// (a non-2xx answer, a timeout, a connection refused) are counted and not retried before
// the model's next interval.
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "ringgate/control/epoll_loop.h"
#include "ringgate/control/http_get_client.h"
#include "ringgate/metrics/gateway_stats.h"

namespace ringgate::control {

struct WakeHookOptions {
  std::string url;  // as configured (for messages)
  std::string host;
  uint16_t port = 80;
  std::string path = "/";
  std::chrono::milliseconds interval{10000};  // per model
  std::chrono::milliseconds timeout{5000};    // one POST (at most the interval)
};

// "http://host[:port][/path]" into `out`'s url, host, port and path. An error message, or empty.
std::string parse_wake_url(std::string_view url, WakeHookOptions& out);

// ringgate_scale_from_zero_wakes_total{model} (one sample per (model, POSTs)) and
// ringgate_scale_from_zero_wake_failures_total.
void append_wake_hook_families(std::string& out, std::span<const std::pair<std::string, uint64_t>> wakes,
                               uint64_t failures);

class WakeHook {
 public:
  // Models followed at once (clients choose the names a pool at zero holds: each worker
  // holds at most 64 at a time, but over time there may be any number). Past it, the
  // table is cleared of the models that hold nothing now; a model still past it is not woken.
  static constexpr size_t kMaxModels = 256;
  static constexpr uint64_t kScanIntervalNs = 100'000'000;

  WakeHook(EpollLoop& loop, WakeHookOptions options);
  ~WakeHook();
  WakeHook(const WakeHook&) = delete;
  WakeHook& operator=(const WakeHook&) = delete;

  // False when the hook's host could not be resolved (error() says why).
  bool ok() const { return client_ != nullptr; }
  const std::string& error() const { return error_; }

  // Each control-thread turn (CLOCK_MONOTONIC ns).
  void tick(std::span<const metrics::WorkerStats* const> workers, uint64_t now_ns);

  // ringgate_scale_from_zero_wakes_total{model}, ringgate_scale_from_zero_wake_failures_total.
  void append_metrics(std::string& out) const;

  uint64_t failures() const { return failures_; }

 private:
  struct Model {
    int64_t held = 0;
    bool sent_once = false;
    uint64_t last_sent_ns = 0;
    bool queued = false;
    uint64_t wakes = 0;
  };
  void scan(std::span<const metrics::WorkerStats* const> workers, uint64_t now_ns);
  void send(uint64_t now_ns);
  void done(const GetResult& result);

  WakeHookOptions options_;
  std::string error_;
  std::unique_ptr<HttpGetClient> client_;
  std::string head_;  // the POST's head up to Content-Length's value
  std::map<std::string, Model, std::less<>> models_;
  std::deque<std::string> due_;  // models whose POST waits for the connection
  uint64_t next_scan_ns_ = 0;
  uint64_t failures_ = 0;
};

}  // namespace ringgate::control
