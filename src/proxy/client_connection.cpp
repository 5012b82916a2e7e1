#include "ringgate/proxy/client_connection.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "ringgate/http/error_response.h"
#include "ringgate/proxy/forward_head.h"
#include "ringgate/proxy/request_gate.h"

namespace ringgate::proxy {

namespace {

constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
constexpr uint64_t kDrainIdleGraceMs = 1000;  // draining: idle keep-alive connections stay open this long
constexpr uint64_t kLingerMs = 5000;          // a refused request's rest is read and dropped this long at most
constexpr size_t kKeepCapacity = 64 * 1024;   // larger input/output buffers go back to the allocator after use
// A request body buffer up to this size is kept for the connection's next request (a
// client sending 200 KB prompts would otherwise regrow it every time); a larger one
// (a burst of multi-MB bodies) is freed as soon as its request is done.
constexpr size_t kKeepBodyCapacity = 1024 * 1024;
// A body with at least this much still to come is received straight into its own
// buffer (one receive per socket-buffer's worth, no copy out of a 16 KB receive
// buffer); a smaller rest is not worth switching receives (a cancel and a re-arm).
constexpr size_t kDirectMinBytes = 32 * 1024;
// A chunked body (length unknown) goes direct once this much of it has come; each
// direct receive takes at most kDirectChunkedBytes (framing included), so what a
// pipelining client sends past the body's end and must be copied out stays small.
constexpr size_t kDirectChunkedAfter = 16 * 1024;
constexpr size_t kDirectChunkedBytes = 256 * 1024;
// A Content-Length body is received in pieces of this size, each complete before its
// one completion (MSG_WAITALL: the kernel, not the loop, waits for the segments of a
// piece). Parsing and hashing still follow the body piece by piece, while each is in
// cache; one receive per segment cost a submission and a poll re-arm each.
constexpr size_t kDirectPieceBytes = 64 * 1024;
// HTTP/2: the streams' frames are taken into the output while it holds less than this,
// so that a client reading slowly holds its streams' bytes in their own buffers (each
// one's exchange pausing its upstream) rather than here.
constexpr size_t kH2OutputRoom = 256 * 1024;
// The spare buffers an HTTP/2 connection keeps for its streams to swap with the ones they
// lend to a send (http::H2Gather): one an open stream, up to this; the rest go to the
// worker's, up to kH2PooledSpares (each up to 64 KiB), for its other connections.
constexpr size_t kH2KeptSpares = 32;
constexpr size_t kH2PooledSpares = 64;

std::string_view status_code_name(int status) {
  switch (status) {
    case 408: return "request_timeout";
    case 413: return "body_too_large";
    case 417: return "expectation_failed";
    case 431: return "headers_too_large";
    case 505: return "http_version_not_supported";
    default: return "bad_request";
  }
}

}  // namespace

ClientConnection::ClientConnection(ClientRuntime& runtime, int fd, SSL_CTX* tls)
    : rt_(runtime),
      fd_(fd),
      parser_(runtime.options->limits),
      exchange_(*runtime.exchange_env, *this),
      h2_possible_(runtime.options->http2_enabled && tls == nullptr) {
  if (tls) tls_ = std::make_unique<net::TlsSession>(tls);
  ++rt_.clients;
  next = rt_.all;
  if (rt_.all) rt_.all->prev = this;
  rt_.all = this;
}

ClientConnection::~ClientConnection() {
  exchange_.client_gone();  // records the request if one was still running
  rt_.buffered_request_bytes -= accounted_;
  // Only when the worker tears down a stopped loop can a direct receive still be in
  // flight: its buffer is left to the kernel (the ring is closed right after), not
  // freed under it.
  if (direct_armed_) {
    rt_.direct_receiving_bytes -= direct_len_;
    parser_.request().body.abandon();
  }
  if (prev) prev->next = next;
  else rt_.all = next;
  if (next) next->prev = prev;
  --rt_.clients;
  rt_.counters->connections_closed.add();
  if (fd_ >= 0) ::close(fd_);
}

void ClientConnection::start() {
  set_deadline(tls_ ? Deadline::Handshake : Deadline::Idle);
  arm_recv();
}

void ClientConnection::close() {
  if (closing_) return;
  closing_ = true;
  deadline_.cancel();
  write_timer_.cancel();
  exchange_.client_gone();
  h2_.reset();  // its streams' exchanges end as their client's
  shutdown(fd_, SHUT_RDWR);
  rt_.loop->cancel_fd(fd_, this);
  rt_.loop->retire(this);
}

uint64_t ClientConnection::idle_duration() const {
  if (!rt_.draining) return rt_.options->client_idle_timeout_ms;
  return std::min<uint64_t>(kDrainIdleGraceMs, rt_.options->drain_timeout_ms);
}

// Each deadline is armed once when its phase begins (header: the request's first
// byte; body: the end of its head), so it bounds the phase, not the gap between bytes.
void ClientConnection::set_deadline(Deadline kind) {
  uint64_t duration = 0;
  switch (kind) {
    case Deadline::None: break;
    case Deadline::Idle: duration = idle_duration(); break;  // shorter once draining
    case Deadline::Header: duration = rt_.options->header_timeout_ms; break;
    case Deadline::Body: duration = rt_.options->body_timeout_ms; break;
    case Deadline::Linger: duration = kLingerMs; break;
    case Deadline::Handshake: duration = rt_.options->tls_handshake_timeout_ms; break;
  }
  if (kind == deadline_kind_ && deadline_.armed() && duration == deadline_duration_) return;
  deadline_kind_ = kind;
  deadline_duration_ = duration;
  rt_.loop->timers().arm(deadline_, duration, rt_.loop->now_ms());
}

void ClientConnection::arm_recv() {
  if (closing_ || !recv_wanted_ || peer_closed_ || direct_armed_) return;
  if (wants_direct()) {
    if (!recv_armed_) return arm_direct();
    // The multishot ends first; its final completion comes back here.
    if (!multishot_stopping_) {
      multishot_stopping_ = true;
      rt_.loop->cancel_recv(fd_, this);
    }
    return;
  }
  if (recv_armed_) return;
  recv_armed_ = true;
  rt_.loop->recv(fd_, this);
}

// A request's head is in and a large part of its body is still to come, with nothing
// else buffered: the body can be received in place.
bool ClientConnection::wants_direct() const {
  if (tls_) return false;  // records must be opened first: they go through the multishot
  if (phase_ != Phase::Reading || !parser_.head_complete() || in_pos_ != in_.size()) return false;
  // The socket held more when this receive completed: the multishot took it in the same
  // pass (its completions are already posted; a 200 KB body sent at once is all there).
  // Stopping it now would only add a cancel and a re-arm. The pass's last completion
  // decides, if the body goes on past it.
  if (multishot_ahead_) return false;
  // What direct receives may fill before their completions are seen counts against the
  // worker's buffered-bytes cap up front; without room, the multishot reads (and the
  // cap answers 503 as it always did).
  if (direct_room() < kDirectMinBytes) return false;
  const http::Request& request = parser_.request();
  if (request.content_length >= 0) {
    return size_t(request.content_length) > request.body.size() &&
           size_t(request.content_length) - request.body.size() >= kDirectMinBytes;
  }
  return request.chunked && request.body.size() >= kDirectChunkedAfter;
}

size_t ClientConnection::direct_room() const {
  const size_t held = rt_.buffered_request_bytes + rt_.direct_receiving_bytes;
  return held < rt_.options->max_buffered_body_bytes ? rt_.options->max_buffered_body_bytes - held : 0;
}

void ClientConnection::arm_direct() {
  http::Request& request = parser_.request();
  http::BodyBuffer& body = request.body;
  size_t want = 0;
  if (request.content_length >= 0) {
    // The head reserved the whole body (Content-Length ≤ the body limit); asking for
    // exactly the rest means no byte of a pipelined request lands in the body's room.
    want = std::min({size_t(request.content_length) - body.size(), body.spare_capacity(), kDirectPieceBytes});
  } else {
    // Chunked: room for the next run of framing and data, never more than the body
    // limit (plus a run's worth of framing) in all; the parser refuses a body past it.
    const size_t limit = parser_.max_body_bytes() + kDirectChunkedBytes;
    if (body.spare_capacity() < kDirectChunkedBytes && body.capacity() < limit) {
      try {
        body.reserve(std::min(limit, std::max(body.size() + kDirectChunkedBytes, 2 * body.capacity())));
      } catch (const std::exception&) {  // no memory for it: the multishot reads on
      }
    }
    want = std::min(body.spare_capacity(), kDirectChunkedBytes);
  }
  want = std::min(want, direct_room());
  if (want == 0) {  // (cannot happen with a reserved body) the multishot reads on
    recv_armed_ = true;
    return rt_.loop->recv(fd_, this);
  }
  direct_armed_ = true;
  direct_at_ = body.spare();
  direct_len_ = want;
  rt_.direct_receiving_bytes += want;
  rt_.counters->direct_body_receives.add();
  // Chunked: the body's end is unknown, so no waiting for a full piece.
  rt_.loop->recv_into(fd_, direct_at_, want, /*wait_all=*/request.content_length >= 0, this);
}

void ClientConnection::on_direct_done(int32_t res) {
  if (res == -ECANCELED || res == -EAGAIN || res == -EINTR) return arm_recv();  // paused, or to be re-armed
  if (res < 0) return close();        // a socket error: the client is gone (as for the multishot)
  if (res == 0) return on_eof();      // the peer's FIN
  if (lingering_) return arm_recv();  // the refused request's rest: dropped
  http::Request& request = parser_.request();
  if (phase_ != Phase::Reading || !parser_.head_complete() || direct_at_ != request.body.spare()) {
    return close();  // bytes the connection no longer expected (see direct_armed_): cannot happen
  }
  rt_.counters->bytes_from_clients.add(uint64_t(res));
  parsing_ = true;
  direct_parse_ = true;
  parse_span(direct_at_, size_t(res));
  direct_parse_ = false;
  parsing_ = false;
  if (closing_) return;
  // A pipelined request saved from the body's room (chunked only) is read at once
  // when the request was answered without proxying.
  if (phase_ == Phase::Reading && in_pos_ != in_.size()) process_input();
  if (closing_) return;
  if (phase_ != Phase::Reading && in_.size() - in_pos_ > rt_.options->limits.max_header_bytes + 64 * 1024) pause_recv();
  account_buffered();
  if (closing_) return;
  arm_recv();
}

void ClientConnection::pause_recv() {
  recv_wanted_ = false;
  if (closing_) return;
  if (recv_armed_) rt_.loop->cancel_recv(fd_, this);
  if (direct_armed_) rt_.loop->cancel_recv_into(fd_, this);
}

void ClientConnection::resume_recv() {
  recv_wanted_ = true;
  arm_recv();
}

void ClientConnection::on_completion(const net::Completion& c) {
  switch (c.op) {
    case net::IoOp::Recv:
      if (!c.more) recv_armed_ = false;
      multishot_ahead_ = c.more && c.queued;
      if (!closing_) net::dispatch_recv(c, *this);
      return;
    case net::IoOp::RecvInto:
      direct_armed_ = false;
      rt_.direct_receiving_bytes -= direct_len_;
      direct_len_ = 0;
      if (closing_) return;
      return on_direct_done(c.res);
    case net::IoOp::Send:
    case net::IoOp::SendMsg:
      send_in_flight_ = false;
      write_timer_.cancel();
      if (closing_) return;
      return on_sent(c.res);
    default:
      return;
  }
}

void ClientConnection::on_recv_stopped(bool ran_dry) {
  if (ran_dry) rt_.counters->enobufs_rearms.add();  // not a connection error: the multishot ran dry
  const bool switching = multishot_stopping_;       // our own cancel, for the direct receive
  multishot_stopping_ = false;
  if (closing_ || !recv_wanted_) return;            // closed meanwhile, or paused
  if (!ran_dry && !switching) rt_.counters->multishot_rearms.add();
  arm_recv();
}

void ClientConnection::on_data(const char* data, size_t len) {
  if (direct_armed_) return close();  // (cannot happen: the multishot ended before the direct receive began)
  rt_.counters->bytes_from_clients.add(len);
  if (lingering_) return;  // the refused request's rest: dropped
  if (h2_) return on_h2_data(data, len);
  if (h2_possible_ && took_as_h2(data, len)) return;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
    if (phase_ == Phase::Reading) {
      // Nothing buffered: parse straight from the receive buffer and keep only what a
      // pipelining client sent beyond the request now being answered.
      parsing_ = true;
      const size_t used = parse_span(data, len);
      parsing_ = false;
      if (used < len && phase_ != Phase::Closing && !closing_) in_.append(data + used, len - used);
      if (!closing_) account_buffered();
      if (!closing_ && wants_direct()) arm_recv();  // a large body follows: receive it in place
      return;
    }
  }
  in_.append(data, len);
  if (phase_ == Phase::Reading) process_input();
  if (closing_) return;
  // Bounded memory: stop reading a client that sends far ahead of its answers.
  if (phase_ != Phase::Reading && in_.size() - in_pos_ > rt_.options->limits.max_header_bytes + 64 * 1024) pause_recv();
  account_buffered();
  if (!closing_ && wants_direct()) arm_recv();
}

void ClientConnection::on_tls_data(const char* data, size_t len) {
  if (lingering_) {  // the refused request's rest: dropped unopened
    rt_.counters->bytes_from_clients.add(len);
    return;
  }
  const bool was_established = tls_->established();
  if (!tls_->receive(data, len)) {
    return tls_failed(tls_->failure() == net::TlsFailure::TooLarge ? TlsHandshakeFailure::TooLarge
                                                                  : TlsHandshakeFailure::Protocol);
  }
  if (!tls_->established()) return send_output();  // the handshake's next messages
  if (!was_established) {
    rt_.counters->tls_handshakes.add();
    set_deadline(Deadline::Idle);
    if (tls_->alpn() == "h2" && rt_.options->http2_enabled) start_h2();
  }
  char plain[16384];
  while (!closing_) {
    const int n = tls_->read(plain, sizeof plain);
    if (n == 0) break;
    if (n < 0) {  // close_notify: the client's EOF; a broken record: the connection is done
      if (tls_->failure() != net::TlsFailure::None) return close();
      return on_eof();
    }
    on_data(plain, size_t(n));
  }
  send_output();
}

// A handshake that failed: its alert goes out, then the connection closes. (Once
// established, records that fail to open close the connection at once: see above.)
void ClientConnection::tls_failed(TlsHandshakeFailure why) {
  if (tls_->established()) return close();
  rt_.counters->tls_handshake_failures[size_t(why)].add();
  keep_alive_ = false;
  phase_ = Phase::Closing;
  set_deadline(Deadline::None);
  pause_recv();
  send_output();
}

void ClientConnection::account_buffered() {
  const size_t now = (in_.size() - in_pos_) + parser_.request().body.size();
  rt_.buffered_request_bytes += now;
  rt_.buffered_request_bytes -= accounted_;
  accounted_ = now;
  if (rt_.buffered_request_bytes > rt_.options->max_buffered_body_bytes && phase_ == Phase::Reading &&
      parser_.started()) {
    // The worker holds too many unfinished request bytes: this one, still growing, is refused.
    refuse_unfinished(503, "overloaded", "the gateway is holding too many request bytes; retry later",
                      "retry-after: 1\r\n");
  }
}

bool ClientConnection::took_as_h2(const char* data, size_t len) {
  // Bytes kept so far (in_) and these: still the preface's start?
  const size_t kept = in_.size() - in_pos_;
  const size_t n = std::min(len, http::kH2Preface.size() - std::min(kept, http::kH2Preface.size()));
  const std::string_view seen(in_.data() + in_pos_, std::min(kept, http::kH2Preface.size()));
  if (!http::kH2Preface.starts_with(seen) || http::kH2Preface.substr(seen.size(), n) != std::string_view(data, n)) {
    h2_possible_ = false;
    return false;
  }
  if (kept + len < http::kH2Preface.size()) {  // the preface's start: wait for the rest
    in_.append(data, len);
    return true;
  }
  std::string first = in_.substr(in_pos_);
  first.append(data, len);
  in_.clear();
  in_pos_ = 0;
  start_h2();
  on_h2_data(first.data(), first.size());
  return true;
}

void ClientConnection::start_h2() {
  h2_possible_ = false;
  h2_gather_.pool = &rt_.h2_spare_buffers;
  h2_gather_.pool_limit = kH2PooledSpares;
  h2_ = std::make_unique<H2Connection>(rt_, *this);
}

void ClientConnection::on_h2_data(const char* data, size_t len) {
  if (!h2_->receive(data, len)) {
    // A connection error: its GOAWAY goes out, then the close.
    phase_ = Phase::Closing;
    pause_recv();
  }
  set_deadline(h2_->open_streams() == 0 ? Deadline::Idle : Deadline::None);
}

void ClientConnection::on_eof() {
  if (h2_) return close();  // every stream's client went with it
  if (phase_ == Phase::Proxying && !exchange_.response_started() && !exchange_.queued()) {
    // A half-close (shutdown(SHUT_WR)) after a complete request: answer it, then close.
    // (After the response began, EOF is taken as the client leaving: see below. So is
    // EOF while the request waits in the flow-control queue: a client that went away
    // must leave the queue at once, not hold its place until the TTL.)
    peer_closed_ = true;
    return;
  }
  if (phase_ == Phase::Closing || (phase_ == Phase::Reading && !parser_.started() &&
                                   (send_in_flight_ || !out_.empty()))) {
    // Answers are still queued for a client that half-closed: they go out, then the close.
    peer_closed_ = true;
    phase_ = Phase::Closing;
    send_output();
    return;
  }
  // The client went away mid-response (or idle): drop the upstream at once so the
  // server stops generating.
  close();
}

void ClientConnection::process_input() {
  parsing_ = true;
  const size_t used = parse_span(in_.data() + in_pos_, in_.size() - in_pos_);
  parsing_ = false;
  if (closing_) return;
  in_pos_ += used;
  if (in_pos_ == in_.size()) {
    in_.clear();
    in_pos_ = 0;
  }
}

// Parses requests from `data` while the connection is reading; returns the bytes used
// (the rest belongs to a pipelined request that must wait for its turn). The bytes
// must stay put meanwhile: nothing called from here touches in_.
size_t ClientConnection::parse_span(const char* data, size_t len) {
  size_t offset = 0;
  while (phase_ == Phase::Reading && !closing_) {
    if (offset == len) {
      if (!parser_.started()) {
        if (peer_closed_) {  // nothing more will come
          phase_ = Phase::Closing;
          send_output();
          return offset;
        }
        set_deadline(Deadline::Idle);
      }
      return offset;
    }
    const bool was_started = parser_.started();
    const http::ParseResult result = parser_.feed(data + offset, len - offset);
    offset += result.consumed;
    if (result.state == http::ParseState::Complete && direct_parse_ && offset < len) {
      // Bytes past the body that landed in its room: a pipelining client's next
      // request (chunked bodies only). Saved before this request is handled: from
      // then on the exchange owns the body.
      in_.append(data + offset, len - offset);
      len = offset;
    }
    if (!was_started && parser_.started()) {
      body_digest_started_ = false;
      request_started_ms_ = rt_.loop->now_ms();
      set_deadline(Deadline::Header);
    }
    if (result.state == http::ParseState::Error) {
      refuse_unfinished(result.status, status_code_name(result.status), result.reason);
      return len;
    }
    if (parser_.head_complete() && parser_.request().method == HTTP_POST) {
      // Read and hash the body while its bytes are still in cache.
      exchange_.body_arrived(parser_.request(), !body_digest_started_);
      body_digest_started_ = true;
    }
    if (result.state == http::ParseState::NeedMore) {
      if (parser_.head_complete()) {
        if (parser_.request().expect_continue && !continue_sent_) {
          continue_sent_ = true;
          out_ += kContinue;
          send_output();
        }
        set_deadline(Deadline::Body);
      }
      continue;  // offset reached len: the loop returns above
    }
    set_deadline(Deadline::None);
    handle_request();
  }
  return offset;
}

void ClientConnection::handle_request() {
  rt_.counters->requests.add();
  http::Request& request = parser_.request();
  keep_alive_ = request.keep_alive && !rt_.draining;
  http11_ = request.version_minor >= 1;
  GateAnswer gate = gate_request(request, *rt_.exchange_env, *rt_.counters);
  if (gate.proxy) {
    phase_ = Phase::Proxying;
    return exchange_.start(request, http11_, keep_alive_, request_started_ms_, gate.key);
  }
  if (gate.status >= 400) return respond_error(gate.status, gate.code, gate.message, !keep_alive_, gate.headers);
  rt_.counters->responses_by_class[2].add();  // the model list
  const size_t head_start = out_.size();
  http::append_response(out_, 200, "application/json", gate.body(), !keep_alive_);
  if (request.method == HTTP_HEAD) out_.resize(out_.size() - gate.body().size());
  if (!http11_ && keep_alive_) insert_keep_alive(out_, head_start);
  request_done();
}

void ClientConnection::respond_error(int status, std::string_view code, std::string_view message, bool close,
                                     std::string_view extra_headers) {
  rt_.counters->gateway_errors.add();
  rt_.counters->responses_by_class[status / 100].add();
  if (close) keep_alive_ = false;
  const size_t head_start = out_.size();
  http::append_error(out_, status, code, message, !keep_alive_, extra_headers);
  if (!http11_ && keep_alive_) insert_keep_alive(out_, head_start);
  request_done();
}

void ClientConnection::refuse_unfinished(int status, std::string_view code, std::string_view message,
                                         std::string_view extra_headers) {
  linger_ = true;
  respond_error(status, code, message, /*close=*/true, extra_headers);
}

void ClientConnection::finish() {
  if (!linger_ || peer_closed_) return close();
  if (lingering_) return;
  lingering_ = true;
  shutdown(fd_, SHUT_WR);  // the answer, then our FIN; the client's bytes still come in
  set_deadline(Deadline::Linger);
  resume_recv();
}

void ClientConnection::exchange_finished(bool keep_alive) {
  keep_alive_ = keep_alive;
  request_done();
}

void ClientConnection::exchange_aborted() {
  // The response was cut: send what is queued, then close without ending the body.
  keep_alive_ = false;
  request_done();
}

void ClientConnection::release_memory() {
  http::BodyBuffer& body = parser_.request().body;
  // (Never while a direct receive may still write into it: see direct_armed_.)
  if (body.capacity() > kKeepBodyCapacity && !direct_armed_) body.release();
  if (in_pos_ == in_.size() && in_.capacity() > kKeepCapacity) {
    std::string().swap(in_);
    in_pos_ = 0;
  }
}

// The response is queued: read the next pipelined request, or close once sent.
void ClientConnection::request_done() {
  continue_sent_ = false;
  parser_.next();
  release_memory();
  account_buffered();
  if (!keep_alive_) {
    phase_ = Phase::Closing;
    pause_recv();
    send_output();
    return;
  }
  phase_ = Phase::Reading;
  send_output();
  if (!recv_wanted_) resume_recv();
  // parse_span() loops on by itself. From anywhere else (an upstream completion, a timer,
  // another connection's exchange dispatched from the flow queue) the next pipelined
  // request starts at the loop's turn end, never inside this request's call stack.
  if (!parsing_) {
    parse_at_turn_end_ = true;
    rt_.loop->at_turn_end(this);
  }
}

void ClientConnection::on_turn_end() {
  if (parse_at_turn_end_ && !closing_) {
    parse_at_turn_end_ = false;
    if (phase_ == Phase::Reading) process_input();
    if (closing_) return;
  }
  send_output();
}

void ClientConnection::send_output() {
  if (send_in_flight_ || closing_) return;
  if (h2_) {
    if (!h2_->send(kH2OutputRoom)) return close();
    if (h2_->done() && phase_ != Phase::Closing) phase_ = Phase::Closing;
    if (phase_ != Phase::Closing) set_deadline(h2_->open_streams() == 0 ? Deadline::Idle : Deadline::None);
  }
  take_output();
  if (sending_.empty() && phase_ == Phase::Closing && tls_ && !close_notify_sent_) {
    close_notify_sent_ = true;  // the answer is out: TLS ends with close_notify, then FIN
    tls_->shutdown();
    tls_->take_output(sending_);
  }
  if (sending_.empty()) {
    if (phase_ == Phase::Closing) finish();
    return;
  }
  sending_offset_ = 0;
  submit_send();
}

void ClientConnection::take_output() {
  // (sending_ is empty: no send is in flight.)
  if (!tls_) {
    std::swap(out_, sending_);
    out_.clear();
    if (!h2_gather_.empty()) gather_iovecs();
    return;
  }
  if (!h2_gather_.empty()) {  // the payloads where their frames put them: a record copies them anyway
    size_t from = 0;
    for (const http::H2Gather::Payload& p : h2_gather_.payloads) {
      tls_->write(std::string_view(out_).substr(from, p.after - from));
      tls_->write(std::string_view(h2_gather_.buffers[p.buffer]).substr(p.at, p.len));
      from = p.after;
    }
    if (from < out_.size()) tls_->write(std::string_view(out_).substr(from));
    out_.clear();
    h2_gather_.release(kept_h2_spares());
  }
  if (!out_.empty()) tls_->write(out_);
  out_.clear();
  tls_->take_output(sending_);
}

size_t ClientConnection::kept_h2_spares() const { return h2_ ? std::min(h2_->open_streams(), kH2KeptSpares) : 0; }

void ClientConnection::gather_iovecs() {
  iovecs_.clear();
  iovec_at_ = 0;
  auto add = [this](const char* data, size_t len) {
    if (len > 0) iovecs_.push_back({const_cast<char*>(data), len});
  };
  size_t from = 0;
  for (const http::H2Gather::Payload& p : h2_gather_.payloads) {
    add(sending_.data() + from, p.after - from);
    add(h2_gather_.buffers[p.buffer].data() + p.at, p.len);
    from = p.after;
  }
  add(sending_.data() + from, sending_.size() - from);
}

void ClientConnection::submit_send() {
  send_in_flight_ = true;
  // A client that takes no bytes for this long is gone (or hostile): its exchange and
  // upstream close with it.
  rt_.loop->timers().arm(write_timer_, rt_.options->client_write_timeout_ms, rt_.loop->now_ms());
  if (iovecs_.empty())
    return rt_.loop->send(fd_, sending_.data() + sending_offset_, sending_.size() - sending_offset_, this);
  msg_ = {};
  msg_.msg_iov = iovecs_.data() + iovec_at_;
  msg_.msg_iovlen = iovecs_.size() - iovec_at_;
  rt_.loop->sendmsg(fd_, &msg_, this);
}

void ClientConnection::on_sent(int32_t res) {
  if (res <= 0) return close();  // the exchange counts the disconnect (Exchange::client_gone)
  rt_.counters->bytes_to_clients.add(uint64_t(res));
  if (!iovecs_.empty()) {
    for (size_t left = size_t(res); left > 0 && iovec_at_ < iovecs_.size();) {
      iovec& v = iovecs_[iovec_at_];
      const size_t n = std::min(left, v.iov_len);
      v.iov_base = static_cast<char*>(v.iov_base) + n;
      v.iov_len -= n;
      left -= n;
      if (v.iov_len == 0) ++iovec_at_;
    }
    if (iovec_at_ < iovecs_.size()) return submit_send();  // short send
    iovecs_.clear();
    h2_gather_.release(kept_h2_spares());
  } else {
    sending_offset_ += size_t(res);
    if (sending_offset_ < sending_.size()) return submit_send();  // short send
  }
  sending_.clear();
  if (sending_.capacity() > kKeepCapacity) std::string().swap(sending_);
  if (exchange_.active() && out_.size() <= rt_.options->max_client_buffer_bytes / 2) exchange_.client_drained();
  send_output();
}

void ClientConnection::on_timer(net::Timer& timer) {
  if (closing_) return;
  if (&timer == &write_timer_) return close();  // the exchange and its upstream go with it
  if (lingering_) return close();
  if (deadline_kind_ == Deadline::Handshake) {
    rt_.counters->tls_handshake_failures[size_t(TlsHandshakeFailure::Timeout)].add();
    return close();
  }
  deadline_kind_ = Deadline::None;
  if (phase_ != Phase::Reading) return;
  if (h2_) {  // no stream open for clientIdle (or the drain's grace): GOAWAY says why, then the close
    h2_->idle_timeout();
    phase_ = Phase::Closing;
    pause_recv();
    return send_output();
  }
  if (parser_.started()) {
    refuse_unfinished(408, "request_timeout", "request not received in time");
  } else {
    close();  // idle keep-alive connection
  }
}

void ClientConnection::drain_started() {
  if (closing_) return;
  if (h2_) {
    h2_->drain_started();
    if (h2_->open_streams() == 0) set_deadline(Deadline::Idle);
    return;
  }
  if (phase_ == Phase::Proxying) {
    exchange_.drain_started();
  } else {
    keep_alive_ = false;
  }
  if (phase_ == Phase::Reading && !parser_.started() && !send_in_flight_ && out_.empty()) {
    // Idle keep-alive connection: a request may be on the wire already; closing now
    // would fail it. Answer whatever comes (with `connection: close`) for a short
    // grace, then close it if it stayed idle.
    set_deadline(Deadline::Idle);
  }
}

void ClientConnection::cut_at_shutdown() {
  if (closing_) return;
  if (h2_) {
    h2_->cut_at_shutdown();
    phase_ = Phase::Closing;  // what the streams were sent goes out, then the close
    pause_recv();
    return send_output();
  }
  if (lingering_) return close();  // its answer is out
  keep_alive_ = false;
  if (phase_ == Phase::Proxying) return exchange_.cut_at_shutdown();  // ends in request_done(): flush, close
  if (phase_ == Phase::Closing) return;                                // its last bytes are on their way
  phase_ = Phase::Closing;  // reading: an unfinished request gets nothing; queued answers still go
  pause_recv();
  send_output();
}

}  // namespace ringgate::proxy
