#include "ringgate/control/otlp_exporter.h"

#include <sys/socket.h>

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstring>

#include "opentelemetry/proto/common/v1/common.pb.h"
#include "opentelemetry/proto/resource/v1/resource.pb.h"
#include "ringgate/util/json_text.h"

namespace ringgate::control {

namespace otlp = opentelemetry::proto;

namespace {

void set_string(otlp::common::v1::KeyValue* kv, std::string_view key, std::string_view value) {
  kv->set_key(std::string(key));
  kv->mutable_value()->set_string_value(std::string(value));
}

// The Resource (service.name, service.version) and the scope, encoded once.
OtlpBatchFrame make_frame(const OtlpExporterOptions& o) {
  otlp::resource::v1::Resource resource;
  set_string(resource.add_attributes(), "service.name", o.service_name);
  if (!o.service_version.empty()) set_string(resource.add_attributes(), "service.version", o.service_version);
  otlp::common::v1::InstrumentationScope scope;
  scope.set_name("ringgate");
  if (!o.service_version.empty()) scope.set_version(o.service_version);
  OtlpBatchFrame frame;
  resource.SerializeToString(&frame.resource);
  scope.SerializeToString(&frame.scope);
  return frame;
}

// Retry-After in seconds (the HTTP-date form is not used by collectors we know: ignored).
uint64_t retry_after_ns(std::string_view value) {
  uint64_t seconds = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
  if (ec != std::errc() || end != value.data() + value.size() || seconds > 3600) return 0;
  return seconds * 1000000000ull;
}

}  // namespace

std::string parse_otlp_endpoint(std::string_view url, bool exact, OtlpExporterOptions& out) {
  if (url.starts_with("https://")) return "https OTLP endpoints are not supported (use http://): " + std::string(url);
  if (!url.starts_with("http://")) return "the OTLP endpoint must be an http:// URL: " + std::string(url);
  std::string_view rest = url.substr(7);
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  uint16_t port = 80;
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {  // [v6]:port
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return "bad OTLP endpoint: " + std::string(url);
    host = authority.substr(1, close - 1);
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') return "bad OTLP endpoint: " + std::string(url);
    if (!authority.empty()) authority.remove_prefix(1);
    else authority = {};
    if (!authority.empty()) {
      const auto [end, ec] = std::from_chars(authority.data(), authority.data() + authority.size(), port);
      if (ec != std::errc() || end != authority.data() + authority.size() || port == 0)
        return "bad port in OTLP endpoint: " + std::string(url);
    }
  } else if (const size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    const std::string_view digits = authority.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
    if (ec != std::errc() || end != digits.data() + digits.size() || port == 0)
      return "bad port in OTLP endpoint: " + std::string(url);
  }
  if (host.empty()) return "no host in OTLP endpoint: " + std::string(url);
  out.host = std::string(host);
  out.port = port;
  if (exact) {
    out.path = path.empty() ? "/" : std::string(path);
  } else {
    while (path.ends_with('/')) path.remove_suffix(1);
    out.path = std::string(path) + "/v1/traces";
  }
  return {};
}

OtlpExporter::OtlpExporter(EpollLoop& loop, OtlpExporterOptions options)
    : loop_(loop), options_(std::move(options)), frame_(make_frame(options_)) {
  HttpTarget target;
  if (std::string why = resolve_http_target(options_.host, options_.port, target); !why.empty()) {
    error_ = "cannot resolve the OTLP endpoint's host " + options_.host + ": " + why;
    return;
  }
  const std::string& host_header = target.host_header;
  GetLimits limits;
  limits.max_body_bytes = 64u << 10;  // a collector's answer is small (a partial-success message at most)
  client_ = std::make_unique<HttpGetClient>(
      loop_, target.address, target.length, host_header, options_.path, [this](const GetResult& r) { done(r); },
      limits);
  head_ = "POST " + options_.path + " HTTP/1.1\r\nHost: " + host_header +
          "\r\nUser-Agent: ringgate\r\nContent-Type: application/x-protobuf\r\n";
  for (const auto& [name, value] : options_.headers) head_ += name + ": " + value + "\r\n";
  head_ += "Content-Length: ";
  // The head, a Content-Length of up to 20 digits and the blank line, and the frame's
  // three lengths and tags (10 bytes each at most) around the resource and the scope.
  room_ = head_.size() + 20 + 4 + 3 * 10 + 2 * 10 + frame_.resource.size() + frame_.scope.size();
}

OtlpExporter::~OtlpExporter() = default;

uint64_t OtlpExporter::dropped(size_t reason, std::span<const metrics::WorkerStats* const> workers) const {
  uint64_t n = dropped_[reason];
  if (reason == 0)
    for (const metrics::WorkerStats* w : workers)
      if (w) n += w->spans.dropped();
  return n;
}

void OtlpExporter::take(const metrics::SpanRecord& r) {
  if (queued_spans_ + in_flight_ >= options_.max_queue_spans) {
    ++dropped_[1];
    return;
  }
  if (queued_spans_ == 0) oldest_ns_ = now_ns_;
  if (batches_.empty() || batches_.back().spans >= options_.max_batch_spans) {
    batches_.emplace_back();
    // As large as the largest batch so far: a batch's buffer grows without a copy.
    batches_.back().bytes.reserve(batch_capacity_);
    batches_.back().bytes.resize(room_);
  }
  Batch& batch = batches_.back();
  batch.bytes.append(r.field());
  ++batch.spans;
  ++queued_spans_;
}

void OtlpExporter::tick(std::span<const metrics::WorkerStats* const> workers, uint64_t now_ns) {
  now_ns_ = now_ns;
  for (const metrics::WorkerStats* w : workers) {
    if (w == nullptr) continue;
    w->span_clock.refresh();  // the workers encode Unix times: a wall clock step shows within a turn
    w->spans.drain([&](const metrics::SpanRecord& r) { take(r); });
  }
  if (!client_) {
    // No collector to send to: whatever was taken is dropped as a full queue would.
    dropped_[1] += queued_spans_;
    queued_spans_ = 0;
    batches_.clear();
    return;
  }
  client_->check_deadline(now_ns);
  if (client_->busy()) return;
  if (in_flight_ > 0) {
    if (waiting_retry_ && now_ns >= retry_at_ns_) {
      waiting_retry_ = false;
      client_->start(now_ns + uint64_t(std::chrono::nanoseconds(options_.timeout).count()));
    }
    return;
  }
  if (queued_spans_ == 0) return;
  const uint64_t delay = uint64_t(std::chrono::nanoseconds(options_.batch_delay).count());
  if (queued_spans_ < options_.max_batch_spans && now_ns - oldest_ns_ < delay) return;
  send_batch(now_ns);
}

void OtlpExporter::send_batch(uint64_t now_ns) {
  Batch batch = std::move(batches_.front());
  batches_.pop_front();
  in_flight_ = batch.spans;
  queued_spans_ -= batch.spans;
  if (queued_spans_ > 0) oldest_ns_ = now_ns;
  // The head and the frame, written into the room in front of the spans (the client keeps
  // the buffer for a retry).
  const size_t spans_bytes = batch.bytes.size() - room_;
  batch_capacity_ = std::max(batch_capacity_, std::min(batch.bytes.size(), kMaxBatchReserve));
  std::string prefix = head_;
  util::append_uint(prefix, export_request_size(frame_, spans_bytes));
  prefix += "\r\n\r\n";
  append_export_request_head(frame_, spans_bytes, prefix);
  assert(prefix.size() <= room_ && "the room in front of a batch holds its head and frame");
  const size_t from = room_ - prefix.size();
  std::memcpy(batch.bytes.data() + from, prefix.data(), prefix.size());
  client_->set_request(std::move(batch.bytes), from);
  backoff_ns_ = 0;
  client_->start(now_ns + uint64_t(std::chrono::nanoseconds(options_.timeout).count()));
}

void OtlpExporter::retry_later(uint64_t now_ns, std::string_view retry_after) {
  const uint64_t initial = uint64_t(std::chrono::nanoseconds(options_.backoff_initial).count());
  const uint64_t max = uint64_t(std::chrono::nanoseconds(options_.backoff_max).count());
  backoff_ns_ = backoff_ns_ == 0 ? initial : std::min(max, backoff_ns_ * 2);
  const uint64_t asked = retry_after_ns(retry_after);
  waiting_retry_ = true;
  retry_at_ns_ = now_ns + (asked ? std::min(asked, max) : backoff_ns_);
}

void OtlpExporter::done(const GetResult& r) {
  const uint64_t now = now_ns_;
  if (r.status >= 200 && r.status < 300) {
    exported_ += in_flight_;
    in_flight_ = 0;
    backoff_ns_ = 0;
    return;
  }
  if (r.status == 429 || r.status == 502 || r.status == 503 || r.status == 504) {
    ++failures_[0];
    return retry_later(now, r.retry_after);
  }
  if (r.status != 0) {
    // Any other answer (400 first): the batch is refused and would be refused again.
    ++failures_[1];
    dropped_[2] += in_flight_;
    in_flight_ = 0;
    return;
  }
  ++failures_[r.error == "timed out" ? 2 : 3];
  retry_later(now, {});
}

}  // namespace ringgate::control
