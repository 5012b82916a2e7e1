#include "ringgate/epp/grpc_connection.h"

#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "grpc/health/v1/health.pb.h"
#include "ringgate/epp/epp_worker.h"
#include "ringgate/epp/ext_proc_stream.h"
#include "ringgate/http/grpc_frame.h"
#include "ringgate/net/loop.h"

namespace ringgate::epp {

namespace {

namespace health = grpc::health::v1;
using http::GrpcStatus;

constexpr std::string_view kProcessPath = "/envoy.service.ext_proc.v3.ExternalProcessor/Process";
constexpr std::string_view kCheckPath = "/grpc.health.v1.Health/Check";
constexpr std::string_view kWatchPath = "/grpc.health.v1.Health/Watch";
constexpr size_t kMaxStatusMessageBytes = 512;  // grpc-message, percent-encoded
// Answers queued on a connection's streams and not yet taken by its client's windows. A
// Gateway reads its answers; one that has this much waiting (its duplex bodies echoed to
// it, unread) is closed rather than held in memory.
constexpr size_t kMaxQueuedAnswerBytes = 64u << 20;

enum class Method : uint8_t { Process, Check, Watch, Unknown };

Method grpc_method_of(std::string_view path) {
  if (path == kProcessPath) return Method::Process;
  if (path == kCheckPath) return Method::Check;
  if (path == kWatchPath) return Method::Watch;
  return Method::Unknown;
}

// grpc-message is percent-encoded (PROTOCOL-HTTP2.md): printable ASCII but '%' as is.
void append_status_message(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (char c : text) {
    if (out.size() + 3 > kMaxStatusMessageBytes) return;
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u <= 0x7e && u != '%') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
}

GrpcStatus status_of(const ExtProcStream& stream) {
  switch (stream.end()) {
    case StreamEnd::Open:
    case StreamEnd::Ok:
      return GrpcStatus::Ok;
    case StreamEnd::InvalidArgument:
      return GrpcStatus::InvalidArgument;
    case StreamEnd::Unimplemented:
      return GrpcStatus::Unimplemented;
  }
  return GrpcStatus::Ok;
}

}  // namespace

// One stream: its framing state, its method, its messages as they come, and for Process
// the ExtProcStream that decides them.
struct GrpcConnection::Call final : StreamOwner {
  Call(GrpcConnection& c, size_t max_message_bytes) : conn(c), reader(max_message_bytes) {}
  ~Call() = default;

  void stream_answered() override { conn_answered(); }
  void conn_answered();

  GrpcConnection& conn;
  http::H2Stream h2;
  Method method = Method::Unknown;
  http::GrpcMessageReader reader;
  std::unique_ptr<ExtProcStream> stream;  // Process
  std::vector<extproc::ProcessingResponse> out;
  std::string service;  // Check / Watch
  HealthBoard::Status sent = HealthBoard::Status::ServiceUnknown;
  bool sent_any = false;
  bool finished = false;  // its status is queued
  bool got_request = false;
  uint64_t deadline_ms = 0;  // 0: none
  http::Headers trailers;    // grpc-status, grpc-message (kept until the stream closes)
};

namespace {

google::protobuf::ArenaOptions parse_arena_options(char* block, size_t size) {
  google::protobuf::ArenaOptions options;
  options.initial_block = block;
  options.initial_block_size = size;
  return options;
}

// What a message's parse put on the thread's arena goes once the message is handled.
struct ArenaReset {
  google::protobuf::Arena& arena;
  ~ArenaReset() { arena.Reset(); }
};

}  // namespace

GrpcRuntime::GrpcRuntime() : parse_arena(parse_arena_options(parse_block, sizeof parse_block)) {}

GrpcConnection::GrpcConnection(GrpcRuntime& runtime, int fd, SSL_CTX* tls)
    : rt_(runtime), fd_(fd), session_(runtime.limits, *this, out_, &runtime.worker->now_ms_ref()) {
  if (tls) tls_ = std::make_unique<net::TlsSession>(tls);
  ++rt_.connections;
  next = rt_.all;
  if (rt_.all) rt_.all->prev = this;
  rt_.all = this;
}

GrpcConnection::~GrpcConnection() {
  end_calls();
  if (prev)
    prev->next = next;
  else
    rt_.all = next;
  if (next) next->prev = prev;
  --rt_.connections;
  if (fd_ >= 0) ::close(fd_);
}

// Every stream still open ends as its client's (the connection went): what it held goes.
void GrpcConnection::end_calls() {
  for (auto& [id, call] : calls_)
    if (call->stream) call->stream->on_peer_gone();
  for (auto& [id, call] : calls_) closed_.push_back(std::move(call));
  calls_.clear();
  closed_.clear();
}

void GrpcConnection::start() {
  // A connection that opens no stream in this time (no TLS handshake, no preface, silence)
  // is closed: nothing is held for it after.
  rt_.loop->timers().arm(first_stream_, rt_.first_stream_timeout_ms, rt_.loop->now_ms());
  if (rt_.draining) session_.goaway();
  recv_armed_ = true;
  rt_.loop->recv(fd_, this);
  flush();
}

void GrpcConnection::close() {
  if (closing_) return;
  closing_ = true;
  first_stream_.cancel();
  deadline_check_.cancel();
  end_calls();
  shutdown(fd_, SHUT_RDWR);
  rt_.loop->cancel_fd(fd_, this);
  rt_.loop->retire(this);
}

void GrpcConnection::drain_started() {
  if (closing_) return;
  session_.goaway();
  tick();
  flush();
}

void GrpcConnection::on_completion(const net::Completion& c) {
  switch (c.op) {
    case net::IoOp::Recv:
      if (!c.more) recv_armed_ = false;
      if (!closing_) net::dispatch_recv(c, *this);
      return;
    case net::IoOp::Send:
      send_in_flight_ = false;
      if (closing_) return;
      if (c.res <= 0) return close();
      sending_at_ += size_t(c.res);
      if (sending_at_ < sending_.size()) {
        send_in_flight_ = true;
        rt_.loop->send(fd_, sending_.data() + sending_at_, sending_.size() - sending_at_, this);
        return;
      }
      sending_.clear();
      sending_at_ = 0;
      return send_output();
    default:
      return;
  }
}

void GrpcConnection::on_recv_stopped(bool) {
  if (closing_ || recv_armed_) return;
  recv_armed_ = true;
  rt_.loop->recv(fd_, this);
}

void GrpcConnection::on_recv_data(const char* data, size_t len) {
  if (!tls_) return on_plain(data, len);
  if (!tls_->receive(data, len)) {  // its alert goes out, then the close
    flush();
    if (tls_->established()) return close();
    session_.goaway();
    closing_after_send_ = true;
    return;
  }
  if (!tls_->established()) return flush();  // the handshake's next messages
  char plain[16384];
  while (!closing_) {
    const int n = tls_->read(plain, sizeof plain);
    if (n == 0) break;
    if (n < 0) return close();  // close_notify, or a broken record
    on_plain(plain, size_t(n));
  }
  flush();
}

void GrpcConnection::on_plain(const char* data, size_t len) {
  if (!session_.receive(data, len)) closing_after_send_ = true;  // its GOAWAY goes out, then the close
  flush();
}

void GrpcConnection::flush() {
  if (!closing_) rt_.loop->at_turn_end(this);
}

void GrpcConnection::on_turn_end() {
  closed_.clear();
  send_output();
}

void GrpcConnection::send_output() {
  if (closing_ || send_in_flight_) return;
  if (!session_.send()) return close();
  closed_.clear();
  size_t queued = 0;
  for (const auto& [id, call] : calls_) queued += call->h2.pending();
  if (queued > kMaxQueuedAnswerBytes) return close();
  if (tls_) {
    if (!out_.empty() && tls_->established()) {
      tls_->write(out_);
      out_.clear();
    }
    tls_->take_output(sending_);
  } else {
    std::swap(out_, sending_);
    out_.clear();
  }
  if (sending_.empty()) {
    if (closing_after_send_ || session_.done()) close();
    return;
  }
  sending_at_ = 0;
  send_in_flight_ = true;
  rt_.loop->send(fd_, sending_.data(), sending_.size(), this);
}

void GrpcConnection::on_timer(net::Timer& timer) {
  if (closing_) return;
  if (&timer == &first_stream_) return close();
  // Streams past their deadline: DEADLINE_EXCEEDED, and what they held goes.
  const uint64_t now = rt_.loop->now_ms();
  for (auto& [id, call] : calls_) {
    if (call->finished || call->deadline_ms == 0 || now < call->deadline_ms) continue;
    if (call->stream) call->stream->on_peer_gone();
    ++rt_.deadlines_exceeded;
    finish(*call, GrpcStatus::DeadlineExceeded, "deadline exceeded before the decision was made");
  }
  arm_deadline_check();
  flush();
}

// The timer fires at the earliest open deadline (not on a period: a stream held for
// seconds costs no wake-ups before its deadline).
void GrpcConnection::arm_deadline_check() {
  uint64_t earliest = UINT64_MAX;
  for (auto& [id, call] : calls_)
    if (!call->finished && call->deadline_ms != 0) earliest = std::min(earliest, call->deadline_ms);
  if (earliest == UINT64_MAX || (deadline_check_.armed() && deadline_armed_for_ <= earliest)) return;
  deadline_check_.cancel();
  const uint64_t now = rt_.loop->now_ms();
  rt_.loop->timers().arm(deadline_check_, earliest > now ? earliest - now : 1, now);
  deadline_armed_for_ = earliest;
}

void GrpcConnection::tick() {
  for (auto& [id, call] : calls_)
    if (call->method == Method::Watch && call->got_request) push_health(*call);
  flush();
}

http::H2Stream* GrpcConnection::h2_open(int32_t id) {
  first_stream_.cancel();
  auto call = std::make_unique<Call>(*this, rt_.max_message_bytes);
  http::H2Stream* h2 = &call->h2;
  h2->owner = call.get();
  calls_.emplace(id, std::move(call));
  return h2;
}

void GrpcConnection::h2_request(http::H2Stream& h2) {
  Call& call = *static_cast<Call*>(h2.owner);
  if (h2.refused_status) {
    call.finished = true;
    session_.submit_head(h2, h2.refused_status, {}, /*end_stream=*/true);
    return flush();
  }
  call.method = grpc_method_of(h2.request.target);
  bool grpc_content = false;
  for (const http::Header& field : h2.request.headers) {
    if (field.name == "content-type") {
      grpc_content = field.value.starts_with("application/grpc");
    } else if (field.name == "grpc-timeout") {
      uint64_t ms = 0;
      // + 1: the loop's clock is in whole milliseconds, and a deadline is never early.
      if (http::parse_grpc_timeout(field.value, ms)) call.deadline_ms = rt_.loop->now_ms() + ms + 1;
    }
  }
  h2.request.headers.clear();
  if (!grpc_content) {  // not gRPC: HTTP's own answer (PROTOCOL-HTTP2.md)
    call.finished = true;
    session_.submit_head(h2, 415, {}, /*end_stream=*/true);
    return flush();
  }
  if (call.method == Method::Unknown) {
    std::string message = "unknown method ";
    message.append(h2.request.target, 0, std::min<size_t>(h2.request.target.size(), 200));
    return finish(call, GrpcStatus::Unimplemented, message);
  }
  if (call.method == Method::Process) call.stream = std::make_unique<ExtProcStream>(*rt_.worker, &call);
  if (call.deadline_ms != 0) arm_deadline_check();
}

void GrpcConnection::h2_body(http::H2Stream& h2, const char* data, size_t len) {
  Call& call = *static_cast<Call*>(h2.owner);
  if (call.finished) return;  // the rest of a stream already answered: dropped
  std::string_view bytes(data, len);
  std::string_view message;
  while (!call.finished && call.reader.next(bytes, message)) on_message(call, message);
  if (call.finished || call.reader.error() == http::GrpcFrameError::None) return;
  if (call.stream) call.stream->on_peer_gone();
  if (call.reader.error() == http::GrpcFrameError::TooLarge)
    return finish(call, GrpcStatus::ResourceExhausted, "message larger than the server's limit");
  finish(call, GrpcStatus::Unimplemented, "compressed messages are not accepted (no grpc-encoding)");
}

void GrpcConnection::on_message(Call& call, std::string_view message) {
  switch (call.method) {
    case Method::Process: {
      const ArenaReset reset{rt_.parse_arena};
      auto* in = google::protobuf::Arena::CreateMessage<extproc::ProcessingRequest>(&rt_.parse_arena);
      if (!in->ParseFromArray(message.data(), int(message.size()))) {
        call.stream->on_peer_gone();
        return finish(call, GrpcStatus::InvalidArgument, "malformed ProcessingRequest");
      }
      call.out.clear();
      call.stream->on_request(*in, call.out);
      for (const extproc::ProcessingResponse& r : call.out) write(call, r);
      call.out.clear();
      if (call.stream->end() != StreamEnd::Open) finish(call, status_of(*call.stream), call.stream->end_message());
      return;
    }
    case Method::Check:
    case Method::Watch: {
      health::HealthCheckRequest request;
      if (call.got_request || !request.ParseFromArray(message.data(), int(message.size())))
        return finish(call, GrpcStatus::InvalidArgument, "malformed HealthCheckRequest");
      call.got_request = true;
      call.service = request.service();
      if (call.method == Method::Watch) return push_health(call);
      const HealthBoard::Status status = rt_.health->status_of(call.service);
      if (status == HealthBoard::Status::ServiceUnknown) return finish(call, GrpcStatus::NotFound, "unknown service");
      health::HealthCheckResponse response;
      response.set_status(health::HealthCheckResponse::ServingStatus(status));
      write(call, response);
      return finish(call, GrpcStatus::Ok, {});
    }
    case Method::Unknown:
      return;
  }
}

// A Watch: its service's status when it differs from the last one sent; once the server
// stops, the stream ends (OK) after it.
void GrpcConnection::push_health(Call& call) {
  if (call.finished) return;
  const HealthBoard::Status status = rt_.health->status_of(call.service);
  if (!call.sent_any || status != call.sent) {
    call.sent_any = true;
    call.sent = status;
    health::HealthCheckResponse response;
    response.set_status(health::HealthCheckResponse::ServingStatus(status));
    write(call, response);
  }
  if (rt_.health->stopping.load(std::memory_order_relaxed)) finish(call, GrpcStatus::Ok, {});
}

void GrpcConnection::h2_body_end(http::H2Stream& h2) {
  Call& call = *static_cast<Call*>(h2.owner);
  if (call.finished) return;
  if (call.reader.partial()) {
    if (call.stream) call.stream->on_peer_gone();
    return finish(call, GrpcStatus::InvalidArgument, "the stream ended inside a message");
  }
  switch (call.method) {
    case Method::Process:
      // The Gateway half-closed: done, unless held (its answer is still to come).
      if (call.stream->on_peer_closed()) finish(call, status_of(*call.stream), call.stream->end_message());
      return;
    case Method::Check:
      if (!call.got_request) finish(call, GrpcStatus::InvalidArgument, "no HealthCheckRequest");
      return;
    case Method::Watch:
    case Method::Unknown:
      return;
  }
}

void GrpcConnection::h2_closed(http::H2Stream& h2, uint32_t) {
  Call& call = *static_cast<Call*>(h2.owner);
  // Reset by the client (or it went before its status): whatever the stream held goes now.
  if (call.stream) call.stream->on_peer_gone();
  auto it = calls_.find(h2.id);
  if (it == calls_.end()) return;
  closed_.push_back(std::move(it->second));
  calls_.erase(it);
  flush();
}

// A held stream got its answer from the hold (outside any of this connection's calls).
void GrpcConnection::Call::conn_answered() {
  if (finished) return;
  out.clear();
  stream->take_answers(out);
  for (const extproc::ProcessingResponse& r : out) conn.write(*this, r);
  out.clear();
  if (stream->end() != StreamEnd::Open) conn.finish(*this, status_of(*stream), stream->end_message());
  conn.flush();
}

void GrpcConnection::write(Call& call, const google::protobuf::MessageLite& message) {
  if (call.finished) return;
  http::H2Stream& h2 = call.h2;
  const size_t length = message.ByteSizeLong();
  std::string& out = h2.out;
  http::append_grpc_prefix(out, length);
  const size_t at = out.size();
  out.resize(at + length);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(out.data() + at));
  if (!h2.answer_started) {
    static const http::Header kGrpcContent{"content-type", "application/grpc"};
    session_.submit_head(h2, 200, std::span(&kGrpcContent, 1), /*end_stream=*/false);
  } else {
    session_.resume(h2);
  }
  flush();
}

void GrpcConnection::finish(Call& call, GrpcStatus status, std::string_view message) {
  if (call.finished) return;
  call.finished = true;
  http::H2Stream& h2 = call.h2;
  call.trailers.clear();
  char code[4];
  const auto [end, ec] = std::to_chars(code, code + sizeof code, int(status));
  if (!h2.answer_started) call.trailers.push_back({"content-type", "application/grpc"});
  call.trailers.push_back({"grpc-status", std::string(code, size_t(end - code))});
  if (!message.empty()) {
    http::Header& field = call.trailers.emplace_back();
    field.name = "grpc-message";
    append_status_message(field.value, message);
  }
  if (!h2.answer_started) {  // trailers only: one HEADERS frame that ends the stream
    session_.submit_head(h2, 200, call.trailers, /*end_stream=*/true);
  } else {
    h2.trailers = call.trailers;
    h2.answer_ended = true;
    session_.resume(h2);
  }
  flush();
}

}  // namespace ringgate::epp
