#include "ringgate/sim/http_session.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <strings.h>

#include "ringgate/sim/api_error.h"
#include "ringgate/http/error_response.h"
#include "ringgate/util/json_text.h"
#include "ringgate/sim/monotonic_clock.h"

namespace ringgate::sim {
namespace {

HttpSession& session_of(llhttp_t* p) { return *static_cast<HttpSession*>(p->data); }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// Bytes read in one go; a session yields to others after this many per wakeup.
constexpr size_t kReadChunk = 16 * 1024;
constexpr size_t kMaxReadPerWakeup = 1024 * 1024;
// Input buffered while a response is running (pipelined requests) before we give up on the client.
constexpr size_t kMaxBufferedInput = 4 * 1024 * 1024;

}  // namespace

HttpSession::HttpSession(int fd, RequestHandler& handler, std::vector<int>& touched)
    : fd_(fd), handler_(handler), touched_list_(touched), last_activity_ns_(monotonic_ns()) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = on_message_begin;
  settings_.on_url = on_url;
  settings_.on_header_field = on_header_field;
  settings_.on_header_field_complete = on_header_field_complete;
  settings_.on_header_value = on_header_value;
  settings_.on_header_value_complete = on_header_value_complete;
  settings_.on_headers_complete = on_headers_complete;
  settings_.on_body = on_body;
  settings_.on_message_complete = on_message_complete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

HttpSession::~HttpSession() {
  in_flight_.reset();  // cancels a running sequence before the socket goes
  ::close(fd_);
}

void HttpSession::touch() {
  if (touched_) return;
  touched_ = true;
  touched_list_.push_back(fd_);
}

// ---- llhttp callbacks ----

int HttpSession::on_message_begin(llhttp_t* p) {
  HttpSession& s = session_of(p);
  s.request_.path.clear();
  s.request_.body.clear();
  s.request_.return_error.clear();
  s.request_.content_type.clear();
  s.request_.request_id.clear();
  s.header_name_.clear();
  s.header_bytes_ = 0;
  s.expect_continue_ = false;
  return 0;
}

bool HttpSession::count_header_bytes(size_t n) {
  header_bytes_ += n;
  if (header_bytes_ <= kMaxHeaderBytes) return true;
  parse_error_status_ = 431;
  return false;
}

int HttpSession::on_url(llhttp_t* p, const char* at, size_t n) {
  HttpSession& s = session_of(p);
  if (!s.count_header_bytes(n)) return HPE_USER;
  s.request_.path.append(at, n);
  return 0;
}

int HttpSession::on_header_field(llhttp_t* p, const char* at, size_t n) {
  HttpSession& s = session_of(p);
  if (!s.count_header_bytes(n)) return HPE_USER;
  s.header_name_.append(at, n);
  return 0;
}

int HttpSession::on_header_field_complete(llhttp_t* p) {
  HttpSession& s = session_of(p);
  s.header_is_return_error_ = iequals(s.header_name_, "x-return-error");
  s.header_is_expect_ = iequals(s.header_name_, "expect");
  s.header_is_content_type_ = iequals(s.header_name_, "content-type");
  s.header_is_request_id_ = iequals(s.header_name_, "x-request-id");
  s.header_name_.clear();
  return 0;
}

int HttpSession::on_header_value(llhttp_t* p, const char* at, size_t n) {
  HttpSession& s = session_of(p);
  if (!s.count_header_bytes(n)) return HPE_USER;
  if (s.header_is_return_error_) s.request_.return_error.append(at, n);
  if (s.header_is_content_type_) s.request_.content_type.append(at, n);
  if (s.header_is_request_id_) s.request_.request_id.append(at, n);
  if (s.header_is_expect_ && iequals(std::string_view(at, n), "100-continue")) s.expect_continue_ = true;
  return 0;
}

int HttpSession::on_header_value_complete(llhttp_t* p) {
  HttpSession& s = session_of(p);
  s.header_is_return_error_ = false;
  s.header_is_expect_ = false;
  s.header_is_content_type_ = false;
  s.header_is_request_id_ = false;
  return 0;
}

int HttpSession::on_headers_complete(llhttp_t* p) {
  HttpSession& s = session_of(p);
  if (p->content_length > kMaxBodyBytes && (p->flags & F_CONTENT_LENGTH)) {
    s.parse_error_status_ = 413;
    return HPE_USER;
  }
  if (s.expect_continue_) {
    s.out_ += "HTTP/1.1 100 Continue\r\n\r\n";
    s.touch();
  }
  return 0;
}

int HttpSession::on_body(llhttp_t* p, const char* at, size_t n) {
  HttpSession& s = session_of(p);
  if (s.request_.body.size() + n > kMaxBodyBytes) {
    s.parse_error_status_ = 413;
    return HPE_USER;
  }
  s.request_.body.append(at, n);
  return 0;
}

int HttpSession::on_message_complete(llhttp_t* p) {
  HttpSession& s = session_of(p);
  s.request_.method = static_cast<llhttp_method_t>(p->method);
  s.keep_alive_ = llhttp_should_keep_alive(p) != 0;
  s.http_1_0_ = p->http_major == 1 && p->http_minor == 0;
  s.message_complete_ = true;
  return HPE_PAUSED;  // answer this one before parsing the next (pipelining)
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

void HttpSession::parse_pending() {
  size_t pos = 0;
  while (!responding_ && !broken_ && !close_after_response_ && pos < in_.size()) {
    message_complete_ = false;
    const char* start = in_.data() + pos;
    llhttp_errno_t err = llhttp_execute(&parser_, start, in_.size() - pos);
    if (err == HPE_OK) {
      pos = in_.size();
      break;
    }
    if (err == HPE_PAUSED) {
      pos += size_t(llhttp_get_error_pos(&parser_) - start);
      llhttp_resume(&parser_);
      if (message_complete_) dispatch();
      continue;
    }
    int status = parse_error_status_ ? parse_error_status_ : 400;
    std::string message = status == 400 ? std::string("Invalid HTTP request: ") + llhttp_get_error_reason(&parser_)
                          : status == 413 ? "Request body too large"
                                          : "Request header fields too large";
    pos = in_.size();
    fail_request(status, message);
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
  if (!responding_ && close_after_response_ && !wants_write()) return SessionState::close;
  return SessionState::open;
}

}  // namespace ringgate::sim
