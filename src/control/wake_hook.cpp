#include "ringgate/control/wake_hook.h"

#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "ringgate/util/json_text.h"

#include "metric_family_build.h"
#include "metrics_text.h"

namespace ringgate::control {

std::string parse_wake_url(std::string_view url, WakeHookOptions& out) {
  if (url.starts_with("https://")) return "https is not supported (use http://): " + std::string(url);
  if (!url.starts_with("http://")) return "must be an http:// URL: " + std::string(url);
  std::string_view rest = url.substr(7);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  const std::string_view path = slash == std::string_view::npos ? std::string_view("/") : rest.substr(slash);
  std::string_view host = authority, digits;
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return "bad host: " + std::string(url);
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return "bad host: " + std::string(url);
    if (!after.empty()) digits = after.substr(1);
    if (after == ":") return "bad port: " + std::string(url);
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    digits = authority.substr(colon + 1);
    if (digits.empty()) return "bad port: " + std::string(url);
  }
  uint16_t port = 80;
  if (!digits.empty()) {
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0) return "bad port: " + std::string(url);
  }
  if (host.empty()) return "no host: " + std::string(url);
  const auto bad = [](char c) { return c <= ' ' || c == 0x7f; };
  if (std::any_of(url.begin(), url.end(), bad)) return "a URL has no spaces or control characters";
  out.url = std::string(url);
  out.host = std::string(host);
  out.port = port;
  out.path = std::string(path);
  return {};
}

WakeHook::WakeHook(EpollLoop& loop, WakeHookOptions options) : options_(std::move(options)) {
  HttpTarget target;
  if (std::string why = resolve_http_target(options_.host, options_.port, target); !why.empty()) {
    error_ = "scaleFromZero.wakeUrl: cannot resolve " + options_.host + ": " + why;
    return;
  }
  const std::string& host_header = target.host_header;
  GetLimits limits;
  limits.max_header_bytes = 16u << 10;
  limits.max_body_bytes = 16u << 10;  // the answer is not read; a hook has no reason to say much
  client_ = std::make_unique<HttpGetClient>(
      loop, target.address, target.length, host_header, options_.path, [this](const GetResult& r) { done(r); }, limits);
  head_ = "POST " + options_.path + " HTTP/1.1\r\nHost: " + host_header +
          "\r\nUser-Agent: ringgate\r\nContent-Type: application/json\r\nContent-Length: ";
  options_.timeout = std::min(options_.timeout, options_.interval);
}

WakeHook::~WakeHook() = default;

void WakeHook::tick(std::span<const metrics::WorkerStats* const> workers, uint64_t now_ns) {
  if (!client_) return;
  client_->check_deadline(now_ns);
  if (now_ns >= next_scan_ns_) {
    next_scan_ns_ = now_ns + kScanIntervalNs;
    scan(workers, now_ns);
  }
  if (!client_->busy() && !due_.empty()) send(now_ns);
}

void WakeHook::scan(std::span<const metrics::WorkerStats* const> workers, uint64_t now_ns) {
  for (auto& [name, m] : models_) m.held = 0;
  bool pruned = false;
  for (const metrics::WorkerStats* w : workers) {
    if (w == nullptr) continue;
    w->held_models.for_each([&](std::string_view model, int64_t held) {
      auto it = models_.find(model);
      if (it == models_.end()) {
        if (models_.size() >= kMaxModels && !pruned) {
          // Held before this scan and not seen in it yet counts as nothing held: pruned once per scan.
          pruned = true;
          std::erase_if(models_, [](const auto& entry) { return entry.second.held <= 0 && !entry.second.queued; });
        }
        if (models_.size() >= kMaxModels) return;
        it = models_.emplace(std::string(model), Model{}).first;
      }
      it->second.held += held;
    });
  }
  const uint64_t interval = uint64_t(std::chrono::nanoseconds(options_.interval).count());
  for (auto& [name, m] : models_) {
    if (m.held <= 0 || m.queued) continue;
    if (m.sent_once && now_ns - m.last_sent_ns < interval) continue;
    m.queued = true;
    due_.push_back(name);
  }
}

void WakeHook::send(uint64_t now_ns) {
  const std::string name = std::move(due_.front());
  due_.pop_front();
  Model& m = models_[name];
  m.queued = false;
  if (m.held <= 0) return;  // released while it waited for the connection
  m.sent_once = true;
  m.last_sent_ns = now_ns;
  ++m.wakes;
  std::string body = "{\"model\":";
  util::append_json_string(body, name);
  body += ",\"held\":";
  util::append_uint(body, uint64_t(m.held));
  body += "}";
  std::string request = head_;
  util::append_uint(request, body.size());
  request += "\r\n\r\n";
  request += body;
  client_->set_request(std::move(request));
  client_->start(now_ns + uint64_t(std::chrono::nanoseconds(options_.timeout).count()));
}

void WakeHook::done(const GetResult& r) {
  if (r.status >= 200 && r.status < 300) return;
  ++failures_;
}

void append_wake_hook_families(std::string& out, std::span<const std::pair<std::string, uint64_t>> wakes,
                               uint64_t failures) {
  using metric_build::add_value;
  using metric_build::family;
  std::vector<prometheus::MetricFamily> families;
  families.push_back(family("ringgate_scale_from_zero_wakes_total",
                            "POSTs to scaleFromZero.wakeUrl, by the model whose requests wait for a server "
                            "(at most one per model per scaleFromZero.wakeInterval).",
                            prometheus::MetricType::Counter));
  for (const auto& [name, n] : wakes) add_value(families.back(), {{"model", name}}, double(n));
  families.push_back(family("ringgate_scale_from_zero_wake_failures_total",
                            "POSTs to scaleFromZero.wakeUrl that failed: a non-2xx answer, a timeout or no "
                            "connection (the model's next interval sends again).",
                            prometheus::MetricType::Counter));
  add_value(families.back(), {}, double(failures));
  append_text_exposition(out, families);
}

void WakeHook::append_metrics(std::string& out) const {
  std::vector<std::pair<std::string, uint64_t>> wakes;
  for (const auto& [name, m] : models_)
    if (m.wakes > 0) wakes.emplace_back(name, m.wakes);
  append_wake_hook_families(out, wakes, failures_);
}

}  // namespace ringgate::control
