#include "ringgate/sim/trace_export.h"

#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <random>

#include "opentelemetry/proto/collector/trace/v1/trace_service.pb.h"

namespace ringgate::sim {

namespace otlp = opentelemetry::proto;

namespace {
constexpr size_t kMaxQueued = 4096;
constexpr size_t kMaxBatch = 256;

void attribute(otlp::trace::v1::Span* span, const char* key, std::string_view value) {
  auto* kv = span->add_attributes();
  kv->set_key(key);
  kv->mutable_value()->set_string_value(std::string(value));
}
void attribute(otlp::trace::v1::Span* span, const char* key, int64_t value) {
  auto* kv = span->add_attributes();
  kv->set_key(key);
  kv->mutable_value()->set_int_value(value);
}
void attribute(otlp::trace::v1::Span* span, const char* key, double value) {
  auto* kv = span->add_attributes();
  kv->set_key(key);
  kv->mutable_value()->set_double_value(value);
}
}  // namespace

SimTraceExporter::SimTraceExporter(std::string_view url, std::string service_name)
    : service_name_(std::move(service_name)), ids_(std::random_device{}() ^ uint64_t(::getpid()) << 32) {
  if (!url.starts_with("http://")) {
    error_ = "--otlp-traces-endpoint must be an http:// URL";
    return;
  }
  std::string_view rest = url.substr(7);
  const size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  path_ = slash == std::string_view::npos ? "/v1/traces" : std::string(rest.substr(slash));
  const size_t colon = authority.rfind(':');
  host_ = std::string(authority.substr(0, colon));
  if (colon != std::string_view::npos) {
    const std::string_view digits = authority.substr(colon + 1);
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port_);
    if (ec != std::errc() || end != digits.data() + digits.size()) error_ = "--otlp-traces-endpoint: bad port";
  }
  if (host_.empty()) error_ = "--otlp-traces-endpoint: no host";
  if (error_.empty()) thread_ = std::thread([this] { run(); });
}

SimTraceExporter::~SimTraceExporter() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void SimTraceExporter::record(SimSpan span) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kMaxQueued) return;
    queue_.push_back(std::move(span));
  }
  wake_.notify_one();
}

void SimTraceExporter::run() {
  std::unique_lock lock(mutex_);
  while (true) {
    wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) {
      if (stop_) return;
      continue;
    }
    otlp::collector::trace::v1::ExportTraceServiceRequest request;
    auto* resource = request.add_resource_spans();
    auto* name = resource->mutable_resource()->add_attributes();
    name->set_key("service.name");
    name->mutable_value()->set_string_value(service_name_);
    auto* scope = resource->add_scope_spans();
    scope->mutable_scope()->set_name("vllm.llm_engine");
    for (size_t n = 0; n < kMaxBatch && !queue_.empty(); ++n) {
      SimSpan s = std::move(queue_.front());
      queue_.pop_front();
      auto* span = scope->add_spans();
      const util::TraceId trace = s.has_parent ? s.parent.trace_id : ids_.trace_id();
      const util::SpanId id = ids_.span_id();
      span->set_trace_id(trace.data(), trace.size());
      span->set_span_id(id.data(), id.size());
      if (s.has_parent) span->set_parent_span_id(s.parent.parent_id.data(), s.parent.parent_id.size());
      span->set_flags(s.has_parent ? s.parent.flags : util::kTraceFlagSampled);
      span->set_name("llm_request");
      span->set_kind(otlp::trace::v1::Span::SPAN_KIND_SERVER);
      span->set_start_time_unix_nano(s.start_unix_ns);
      span->set_end_time_unix_nano(s.end_unix_ns);
      // vLLM's SpanAttributes (vllm/tracing.py).
      attribute(span, "gen_ai.request.id", s.request_id);
      attribute(span, "gen_ai.response.model", s.model);
      attribute(span, "gen_ai.usage.prompt_tokens", int64_t(s.prompt_tokens));
      attribute(span, "gen_ai.usage.completion_tokens", int64_t(s.completion_tokens));
      if (s.first_token_unix_ns > s.start_unix_ns)
        attribute(span, "gen_ai.latency.time_to_first_token", double(s.first_token_unix_ns - s.start_unix_ns) / 1e9);
      attribute(span, "gen_ai.latency.e2e", double(s.end_unix_ns - s.start_unix_ns) / 1e9);
      if (s.error) span->mutable_status()->set_code(otlp::trace::v1::Status::STATUS_CODE_ERROR);
    }
    std::string body;
    request.SerializeToString(&body);
    lock.unlock();
    post(body);
    lock.lock();
  }
}

// One blocking POST on a new connection (2 s to connect, send and read the answer's head).
void SimTraceExporter::post(const std::string& body) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(port_);
  if (getaddrinfo(host_.c_str(), port.c_str(), &hints, &found) != 0 || found == nullptr) return;
  const int fd = ::socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    freeaddrinfo(found);
    return;
  }
  timeval tv{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  const bool connected = ::connect(fd, found->ai_addr, found->ai_addrlen) == 0;
  freeaddrinfo(found);
  if (connected) {
    std::string wire = "POST " + path_ + " HTTP/1.1\r\nHost: " + host_ + ":" + port +
                       "\r\nContent-Type: application/x-protobuf\r\nConnection: close\r\nContent-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body;
    size_t sent = 0;
    while (sent < wire.size()) {
      const ssize_t n = ::send(fd, wire.data() + sent, wire.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) break;
      sent += size_t(n);
    }
    char buffer[1024];
    while (::recv(fd, buffer, sizeof buffer, 0) > 0) {
    }
  }
  ::close(fd);
}

}  // namespace ringgate::sim
