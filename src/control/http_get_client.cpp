#include "ringgate/control/http_get_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringgate::control {
namespace {
// Bytes read per readiness event: a server streaming a huge response cannot keep the
// control thread (and the admin port it serves) in one loop; epoll calls us again.
constexpr size_t kReadBudgetPerEvent = 256u << 10;
}  // namespace

HttpGetClient::HttpGetClient(EpollLoop& loop, const sockaddr_storage& addr, socklen_t addr_len,
                             std::string_view host_header, std::string_view path, Callback on_done,
                             GetLimits limits)
    : loop_(loop), addr_(addr), addr_len_(addr_len), on_done_(std::move(on_done)), limits_(limits) {
  request_.append("GET ").append(path).append(" HTTP/1.1\r\nHost: ").append(host_header);
  request_.append("\r\nUser-Agent: ringgate-control\r\n\r\n");
}

HttpGetClient::~HttpGetClient() { close_connection(); }

void HttpGetClient::start(uint64_t deadline_ns) {
  if (busy()) return;
  deadline_ns_ = deadline_ns;
  body_.clear();
  head_bytes_ = 0;
  over_limit_ = false;
  sent_ = request_from_;
  parser_.reset();
  reused_ = fd_ >= 0;
  got_bytes_ = false;
  if (reused_) {
    state_ = State::kSending;
    send_request();
    return;
  }
  open_connection();
}

bool HttpGetClient::open_connection() {
  fd_ = socket(addr_.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) {
    state_ = State::kConnecting;  // so fail() reports and resets
    fail("socket() failed");
    return false;
  }
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ++connects_;
  state_ = State::kConnecting;
  int rc = connect(fd_, reinterpret_cast<const sockaddr*>(&addr_), addr_len_);
  if (rc == 0) {
    state_ = State::kSending;
    if (!loop_.add(fd_, EPOLLOUT, this)) { fail("epoll add failed"); return false; }
    send_request();
    return true;
  }
  if (errno != EINPROGRESS) {
    fail(std::strerror(errno));
    return false;
  }
  if (!loop_.add(fd_, EPOLLOUT, this)) { fail("epoll add failed"); return false; }
  return true;
}

void HttpGetClient::close_connection() {
  if (fd_ < 0) return;
  loop_.remove(fd_);
  close(fd_);
  fd_ = -1;
}

void HttpGetClient::watch(uint32_t events) { loop_.modify(fd_, events, this); }

void HttpGetClient::on_event(uint32_t events) {
  switch (state_) {
    case State::kIdle:
      // The server closed an idle keep-alive connection (or sent junk): drop it.
      close_connection();
      return;
    case State::kConnecting: {
      int err = 0;
      socklen_t len = sizeof err;
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) { fail(std::strerror(err)); return; }
      state_ = State::kSending;
      send_request();
      return;
    }
    case State::kSending:
      if (events & (EPOLLERR | EPOLLHUP)) { fail("connection closed while sending"); return; }
      send_request();
      return;
    case State::kReceiving:
      receive();
      return;
  }
}

void HttpGetClient::send_request() {
  while (sent_ < request_.size()) {
    ssize_t n = send(fd_, request_.data() + sent_, request_.size() - sent_, MSG_NOSIGNAL);
    if (n > 0) { sent_ += static_cast<size_t>(n); continue; }
    if (n < 0 && errno == EAGAIN) { watch(EPOLLOUT); return; }
    fail(n == 0 ? "send returned 0" : std::strerror(errno));
    return;
  }
  state_ = State::kReceiving;
  watch(EPOLLIN | EPOLLRDHUP);
}

void HttpGetClient::receive() {
  char buf[16384];
  for (size_t read = 0; read < kReadBudgetPerEvent;) {
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n > 0) {
      got_bytes_ = true;
      read += size_t(n);
      const bool head_was_complete = parser_.head_complete();
      const http::ResponseFeed feed = parser_.feed(buf, static_cast<size_t>(n), &body_);
      if (!head_was_complete && !parser_.head_complete()) head_bytes_ += size_t(n);
      if (const char* why = over_limit()) {
        over_limit_ = true;
        fail(why);
        return;
      }
      if (feed.state == http::ResponseState::Complete) { finish_ok(); return; }
      if (feed.state == http::ResponseState::Error) {
        const std::string_view why = parser_.error() ? parser_.error() : "bad HTTP response";
        // The parser's own per-header bounds (count, name and value sizes) refuse in a callback.
        if (!parser_.head_complete() && why.find("callback") != std::string_view::npos) {
          over_limit_ = true;
          fail("response headers larger than the limit");
          return;
        }
        fail(why);
        return;
      }
      continue;
    }
    if (n == 0) {
      // EOF ends a response that had no length (read-until-close).
      if (parser_.finish() == http::ResponseState::Complete && !over_limit()) { finish_ok(); return; }
      fail("connection closed before the response completed");
      return;
    }
    if (errno == EAGAIN) return;
    fail(std::strerror(errno));
    return;
  }
}

const char* HttpGetClient::over_limit() const {
  // Counted around the parser (its own bounds are per header); a recv buffer past the limit at most.
  if (head_bytes_ > limits_.max_header_bytes) return "response headers larger than the limit";
  // A declared length past the limit fails before the body is read.
  if (parser_.head_complete() && parser_.content_length() > 0 &&
      uint64_t(parser_.content_length()) > limits_.max_body_bytes)
    return "response body larger than the limit";
  if (body_.size() > limits_.max_body_bytes) return "response body larger than the limit";
  return nullptr;
}

void HttpGetClient::finish_ok() {
  int status = parser_.status();
  bool keep = parser_.keep_alive();
  state_ = State::kIdle;
  if (keep) watch(EPOLLRDHUP);  // notice the server closing the idle connection
  else close_connection();
  GetResult r;
  r.ok = status == 200;
  r.status = status;
  r.body = body_;
  r.retry_after = http::find_header(parser_.headers(), "retry-after");
  if (!r.ok) r.error = "endpoint answered a non-200 status";
  on_done_(r);
}

void HttpGetClient::fail(std::string_view why) {
  close_connection();
  if (reused_ && !got_bytes_) {
    // The server closed the idle keep-alive connection as we reused it: that says
    // nothing about the endpoint's health, so try once on a fresh connection.
    reused_ = false;
    sent_ = request_from_;
    open_connection();
    return;
  }
  state_ = State::kIdle;
  GetResult r;
  r.error = why;
  r.over_limit = over_limit_;
  on_done_(r);
}

void HttpGetClient::check_deadline(uint64_t now_ns) {
  if (busy() && now_ns >= deadline_ns_) fail("timed out");
}

std::string resolve_http_target(const std::string& host, uint16_t port, HttpTarget& out) {
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port_text = std::to_string(port);
  if (const int rc = getaddrinfo(host.c_str(), port_text.c_str(), &hints, &found); rc != 0 || found == nullptr)
    return rc != 0 ? gai_strerror(rc) : "no address";
  std::memcpy(&out.address, found->ai_addr, found->ai_addrlen);
  out.length = socklen_t(found->ai_addrlen);
  freeaddrinfo(found);
  out.host_header = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  out.host_header += ':' + port_text;
  return "";
}

}  // namespace ringgate::control
