#include "ringgate/control/otlp_exporter.h"

#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <ctime>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"
#include "ringgate/util/json_text.h"

namespace ringgate::control {

namespace otlp = opentelemetry::proto;

namespace {

uint64_t clock_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

void set_string(otlp::common::v1::KeyValue* kv, std::string_view key, std::string_view value) {
  kv->set_key(std::string(key));
  kv->mutable_value()->set_string_value(std::string(value));
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

OtlpExporter::OtlpExporter(EpollLoop& loop, OtlpExporterOptions options) : loop_(loop), options_(std::move(options)) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(options_.port);
  if (const int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &found); rc != 0 || found == nullptr) {
    error_ = "cannot resolve the OTLP endpoint's host " + options_.host + ": " + gai_strerror(rc);
    return;
  }
  sockaddr_storage addr{};
  std::memcpy(&addr, found->ai_addr, found->ai_addrlen);
  const socklen_t length = socklen_t(found->ai_addrlen);
  freeaddrinfo(found);
  std::string host_header = options_.host.find(':') != std::string::npos ? "[" + options_.host + "]" : options_.host;
  host_header += ':' + port;
  GetLimits limits;
  limits.max_body_bytes = 64u << 10;  // a collector's answer is small (a partial-success message at most)
  client_ = std::make_unique<HttpGetClient>(loop_, addr, length, host_header, options_.path,
                                            [this](const GetResult& r) { done(r); }, limits);
  head_ = "POST " + options_.path + " HTTP/1.1\r\nHost: " + host_header +
          "\r\nUser-Agent: ringgate\r\nContent-Type: application/x-protobuf\r\n";
  for (const auto& [name, value] : options_.headers) head_ += name + ": " + value + "\r\n";
  head_ += "Content-Length: ";
}

OtlpExporter::~OtlpExporter() = default;

uint64_t OtlpExporter::dropped(size_t reason, std::span<const metrics::WorkerStats* const> workers) const {
  uint64_t n = dropped_[reason];
  if (reason == 0)
    for (const metrics::WorkerStats* w : workers)
      if (w) n += w->spans.dropped();
  return n;
}

void OtlpExporter::take(const metrics::SpanRecord& r, uint64_t offset) {
  if (queue_.size() + in_flight_ >= options_.max_queue_spans) {
    ++dropped_[1];
    return;
  }
  auto span = std::make_unique<otlp::trace::v1::Span>();
  span->set_trace_id(r.trace_id.data(), r.trace_id.size());
  span->set_span_id(r.span_id.data(), r.span_id.size());
  if (r.has_parent) span->set_parent_span_id(r.parent_id.data(), r.parent_id.size());
  if (r.tracestate_length) span->set_trace_state(std::string(r.tracestate()));
  span->set_flags(r.flags);
  span->set_name(std::string(r.name()));
  span->set_kind(otlp::trace::v1::Span::SpanKind(r.kind));
  span->set_start_time_unix_nano(r.start_ns + offset);
  span->set_end_time_unix_nano(std::max(r.end_ns, r.start_ns) + offset);
  for (size_t i = 0; i < r.attribute_count; ++i) {
    const metrics::SpanAttribute& a = r.attributes[i];
    otlp::common::v1::KeyValue* kv = span->add_attributes();
    kv->set_key(a.key);
    otlp::common::v1::AnyValue* v = kv->mutable_value();
    switch (a.type) {
      case metrics::SpanAttribute::Type::String: v->set_string_value(std::string(r.string_of(a))); break;
      case metrics::SpanAttribute::Type::Int: v->set_int_value(a.int_value); break;
      case metrics::SpanAttribute::Type::Double: v->set_double_value(a.double_value); break;
      case metrics::SpanAttribute::Type::Bool: v->set_bool_value(a.int_value != 0); break;
      case metrics::SpanAttribute::Type::StringList:
        v->mutable_array_value()->add_values()->set_string_value(std::string(r.string_of(a)));
        break;
    }
  }
  if (r.dropped_attributes) span->set_dropped_attributes_count(r.dropped_attributes);
  if (r.event_name != nullptr) {
    otlp::trace::v1::Span::Event* e = span->add_events();
    e->set_name(r.event_name);
    e->set_time_unix_nano(r.event_ns + offset);
  }
  if (r.status != metrics::SpanStatus::Unset)
    span->mutable_status()->set_code(otlp::trace::v1::Status::StatusCode(r.status));
  if (queue_.empty()) oldest_ns_ = now_ns_;
  queue_.push_back(std::move(span));
}

void OtlpExporter::tick(std::span<const metrics::WorkerStats* const> workers, uint64_t now_ns) {
  now_ns_ = now_ns;
  // Monotonic to Unix time, once per turn (the access log does the same).
  const uint64_t offset = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
  for (const metrics::WorkerStats* w : workers)
    if (w) w->spans.drain([&](const metrics::SpanRecord& r) { take(r, offset); });
  if (!client_) {
    // No collector to send to: whatever was taken is dropped as a full queue would.
    dropped_[1] += queue_.size();
    queue_.clear();
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
  if (queue_.empty()) return;
  const uint64_t delay = uint64_t(std::chrono::nanoseconds(options_.batch_delay).count());
  if (queue_.size() < options_.max_batch_spans && now_ns - oldest_ns_ < delay) return;
  send_batch(now_ns);
}

void OtlpExporter::send_batch(uint64_t now_ns) {
  otlp::collector::trace::v1::ExportTraceServiceRequest request;
  otlp::trace::v1::ResourceSpans* resource = request.add_resource_spans();
  set_string(resource->mutable_resource()->add_attributes(), "service.name", options_.service_name);
  if (!options_.service_version.empty())
    set_string(resource->mutable_resource()->add_attributes(), "service.version", options_.service_version);
  otlp::trace::v1::ScopeSpans* scope = resource->add_scope_spans();
  scope->mutable_scope()->set_name("ringgate");
  if (!options_.service_version.empty()) scope->mutable_scope()->set_version(options_.service_version);
  const size_t n = std::min(queue_.size(), options_.max_batch_spans);
  for (size_t i = 0; i < n; ++i) {
    scope->mutable_spans()->AddAllocated(queue_.front().release());
    queue_.pop_front();
  }
  in_flight_ = n;
  if (!queue_.empty()) oldest_ns_ = now_ns;
  body_.clear();
  request.SerializeToString(&body_);
  std::string wire = head_;
  util::append_uint(wire, body_.size());
  wire += "\r\n\r\n";
  wire += body_;
  client_->set_request(std::move(wire));
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
