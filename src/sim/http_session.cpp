#include "ringgate/sim/http_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

#include "ringgate/sim/api_error.h"
#include "ringgate/http/error_response.h"
#include "ringgate/util/json_text.h"
#include "ringgate/sim/monotonic_clock.h"

namespace ringgate::sim {
namespace {

// Bytes read in one go; a session yields to others after this many per wakeup.
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxReadPerWakeup = 1024 * 1024;
// Input buffered while a response is running (pipelined requests) before we give up on the client.
constexpr size_t kMaxBufferedInput = 4 * 1024 * 1024;

}  // namespace

HttpSession::HttpSession(int fd, RequestHandler& handler, std::vector<int>& touched)
    : fd_(fd),
      handler_(handler),
      touched_list_(touched),
      parser_(http::RequestLimits{kMaxHeaderBytes, kMaxBodyBytes}),
      last_activity_ns_(monotonic_ns()) {}

HttpSession::~HttpSession() {
  in_flight_.reset();  // cancels a running sequence before the socket goes
  ::close(fd_);
}

void HttpSession::touch() {
  if (touched_) return;
  touched_ = true;
  touched_list_.push_back(fd_);
}

// ---- input ----

SessionState HttpSession::on_readable() {
  char buf[kReadChunk];
  size_t total = 0;
  while (total < kMaxReadPerWakeup) {
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n > 0) {
      in_.append(buf, size_t(n));
      total += size_t(n);
      if (size_t(n) < sizeof buf) break;
      continue;
    }
    if (n == 0) {
      peer_closed_ = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return SessionState::close;
  }
  // A client that leaves mid-request is gone: its sequence is cancelled when we close.
  if (peer_closed_) return SessionState::close;
  if (in_.size() > kMaxBufferedInput) return SessionState::close;
  last_activity_ns_ = monotonic_ns();
  touch();
  return SessionState::open;
}

// The gateway's strict HTTP/1.1 parser (http::RequestParser) reads the requests: one
// HTTP/1 parsing wrapper for every reader in the project.
void HttpSession::parse_pending() {
  size_t pos = 0;
  while (!responding_ && !broken_ && !close_after_response_ && pos < in_.size()) {
    const http::ParseResult r = parser_.feed(in_.data() + pos, in_.size() - pos);
    if (parser_.head_complete() && parser_.request().expect_continue && !continue_sent_) {
      out_ += "HTTP/1.1 100 Continue\r\n\r\n";
      continue_sent_ = true;
      touch();
    }
    if (r.state == http::ParseState::NeedMore) {
      pos = in_.size();
      break;
    }
    if (r.state == http::ParseState::Error) {
      const int status = r.status ? r.status : 400;
      std::string message = status == 400   ? "Invalid HTTP request: " + std::string(r.reason)
                            : status == 413 ? std::string("Request body too large")
                            : status == 431 ? std::string("Request header fields too large")
                                            : std::string(r.reason);
      pos = in_.size();
      fail_request(status, message);
      break;
    }
    pos += r.consumed;
    http::Request& parsed = parser_.request();
    request_.method = parsed.method;
    request_.path = std::move(parsed.target);
    request_.body.assign(parsed.body.data(), parsed.body.size());
    request_.return_error.assign(parsed.header("x-return-error"));
    request_.content_type.assign(parsed.header("content-type"));
    request_.request_id.assign(parsed.header("x-request-id"));
    request_.data_parallel_rank.assign(parsed.header("x-data-parallel-rank"));
    request_.traceparent.assign(parsed.header("traceparent"));
    keep_alive_ = parsed.keep_alive;
    http_1_0_ = parsed.version_major == 1 && parsed.version_minor == 0;
    parser_.next();
    continue_sent_ = false;
    dispatch();
  }
  in_.erase(0, pos);
}

void HttpSession::dispatch() {
  responding_ = true;
  if (auto q = request_.path.find('?'); q != std::string::npos) request_.path.resize(q);
  handler_.handle(*this, request_);
}

void HttpSession::fail_request(int status, std::string_view message) {
  keep_alive_ = false;
  responding_ = true;
  respond(status, "application/json", error_body(ApiError{status, std::string(message), {}}));
}

// ---- output ----

void HttpSession::append_head(int status, std::string_view content_type, std::string_view extra_headers) {
  out_ += "HTTP/1.1 ";
  util::append_uint(out_, uint64_t(status));
  out_ += ' ';
  out_ += http::reason_phrase(status);
  out_ += "\r\nserver: ringgate-sim\r\ncontent-type: ";
  out_ += content_type;
  out_ += "\r\n";
  out_ += extra_headers;
  out_ += next_headers_;
  next_headers_.clear();
  if (!keep_alive_ || close_after_response_) out_ += "connection: close\r\n";
}

void HttpSession::respond(int status, std::string_view content_type, std::string_view body,
                          std::string_view extra_headers) {
  append_head(status, content_type, extra_headers);
  out_ += "content-length: ";
  util::append_uint(out_, body.size());
  out_ += "\r\n\r\n";
  out_ += body;
  response_complete();
}

void HttpSession::begin_stream(int status, std::string_view content_type) {
  raw_stream_ = http_1_0_;
  if (raw_stream_) keep_alive_ = false;  // HTTP/1.0 has no chunked encoding: the stream ends at close
  append_head(status, content_type, raw_stream_ ? "" : "transfer-encoding: chunked\r\n");
  out_ += "\r\n";
  touch();
}

void HttpSession::stream_data(std::string_view data) {
  if (data.empty()) return;  // an empty chunk would end the stream
  if (raw_stream_) {
    out_ += data;
    touch();
    return;
  }
  char hex[16];
  auto [end, ec] = std::to_chars(hex, hex + sizeof hex, data.size(), 16);
  (void)ec;
  out_.append(hex, end);
  out_ += "\r\n";
  out_ += data;
  out_ += "\r\n";
  touch();
}

void HttpSession::end_stream() {
  if (!raw_stream_) out_ += "0\r\n\r\n";
  raw_stream_ = false;
  response_complete();
}

void HttpSession::response_complete() {
  responding_ = false;
  last_activity_ns_ = monotonic_ns();
  if (!keep_alive_) close_after_response_ = true;
  touch();
}

SessionState HttpSession::flush() {
  while (out_offset_ < out_.size()) {
    ssize_t n = ::send(fd_, out_.data() + out_offset_, out_.size() - out_offset_, MSG_NOSIGNAL);
    if (n > 0) {
      out_offset_ += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return SessionState::open;
    broken_ = true;
    return SessionState::close;
  }
  out_.clear();
  out_offset_ = 0;
  return SessionState::open;
}

SessionState HttpSession::after_events() {
  touched_ = false;
  if (broken_) return SessionState::close;
  if (!responding_) {
    in_flight_.reset();
    parse_pending();
  }
  if (flush() == SessionState::close) return SessionState::close;
  if (drop_ && !wants_write()) return SessionState::close;
  if (!responding_ && close_after_response_ && !wants_write()) return SessionState::close;
  return SessionState::open;
}

}  // namespace ringgate::sim
