#include "ringgate/control/admin_server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "ringgate/http/error_response.h"
#include "ringgate/http/request_parser.h"

namespace ringgate::control {
namespace {
constexpr auto kSweepEvery = std::chrono::milliseconds(100);

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 417: return "Expectation Failed";
    case 431: return "Request Header Fields Too Large";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}

// The data path's error codes for a request it could not parse.
std::string_view parse_error_code(int status) {
  switch (status) {
    case 408: return "request_timeout";
    case 413: return "body_too_large";
    case 417: return "expectation_failed";
    case 431: return "headers_too_large";
    default: return "bad_request";
  }
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }
}  // namespace

class AdminServer::Connection final : public EpollHandler {
 public:
  Connection(AdminServer& server, int fd, size_t index)
      : server_(server),
        fd_(fd),
        index_(index),
        parser_(http::RequestLimits{server.limits_.max_request_bytes, server.limits_.max_body_bytes}),
        last_active_(Clock::now()) {}
  ~Connection() {
    release_input();
    release_output();
    close(fd_);
  }
  int fd() const { return fd_; }
  size_t index() const { return index_; }
  void set_index(size_t i) { index_ = i; }
  Clock::time_point last_active() const { return last_active_; }
  bool is_closed() const { return closed_; }
  void mark_closed() { closed_ = true; }

  // Past a deadline: the request took too long to arrive, or nothing moved for too long.
  bool expired(Clock::time_point now, const AdminLimits& limits) const {
    if (now - last_active_ > limits.idle_timeout) return true;
    return parser_.started() && out_.empty() && now - request_started_ > limits.request_timeout;
  }

  void on_event(uint32_t events) override {
    if (closed_) return;  // closed earlier in this dispatch batch
    if (!out_.empty()) {
      flush();
      return;
    }
    if (events & (EPOLLERR | EPOLLHUP)) { server_.closed(this); return; }
    char buf[4096];
    for (;;) {
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n == 0) { server_.closed(this); return; }
      if (n < 0) {
        if (errno != EAGAIN) server_.closed(this);
        return;
      }
      last_active_ = Clock::now();
      if (!parser_.started()) request_started_ = last_active_;
      // Bodies (POST routes) are the only large input: all of them together are capped.
      input_counted_ += size_t(n);
      server_.input_bytes_ += size_t(n);
      if (server_.input_bytes_ > server_.limits_.max_input_bytes) {
        release_input();
        respond({503, "text/plain; charset=utf-8", "admin input queue full, retry\n"}, false);
        return;
      }
      if (consume(buf, size_t(n))) return;
    }
  }

 private:
  // Feeds request bytes; true once the connection has an answer to send (or closed).
  bool consume(const char* data, size_t len) {
    const http::ParseResult r = parser_.feed(data, len);
    if (r.state == http::ParseState::NeedMore) return false;
    release_input();  // the request is complete (or refused): its bytes are no longer waiting
    if (r.state == http::ParseState::Error) {
      const int status = r.status ? r.status : 400;
      // A POST route speaks the API's error format (its clients send API bodies).
      if (server_.is_post_route(parser_.request().target))
        respond({status, "application/json", http::error_body(status, parse_error_code(status), r.reason)}, false);
      else
        respond({status, "text/plain; charset=utf-8", std::string(r.reason) + "\n"}, false);
      return true;
    }
    // Pipelined bytes after this request wait until its answer is sent (bounded:
    // the next request's own limit applies when they are fed).
    pending_.assign(data + r.consumed, len - r.consumed);
    answer();
    return true;
  }

  void answer() {
    const http::Request& request = parser_.request();
    bool keep = request.keep_alive;
    auto method = request.method;
    AdminResponse r = server_.dispatch(request);
    head_only_ = method == HTTP_HEAD;
    if (!head_only_ && server_.output_bytes_ + r.body.size() > server_.limits_.max_output_bytes) {
      // Slow readers hold too much already: a short answer instead of more memory.
      r = {503, "text/plain; charset=utf-8", "admin output queue full, retry\n"};
      keep = false;
    }
    respond(r, keep);
  }

  void respond(const AdminResponse& r, bool keep_alive) {
    keep_alive_ = keep_alive;
    out_ = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) +
           "\r\nContent-Type: " + r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) +
           "\r\n" + r.headers + (keep_alive ? "\r\n" : "Connection: close\r\n\r\n");
    if (!head_only_) out_ += r.body;
    counted_ = out_.size();
    server_.output_bytes_ += counted_;
    flush();
  }

  void release_input() {
    server_.input_bytes_ -= input_counted_;
    input_counted_ = 0;
  }

  void release_output() {
    server_.output_bytes_ -= counted_;
    counted_ = 0;
  }

  void flush() {
    while (sent_ < out_.size()) {
      ssize_t n = send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
      if (n > 0) {
        sent_ += static_cast<size_t>(n);
        last_active_ = Clock::now();
        continue;
      }
      if (n < 0 && errno == EAGAIN) {
        server_.loop_.modify(fd_, EPOLLOUT, this);
        return;
      }
      server_.closed(this);
      return;
    }
    release_output();
    if (!keep_alive_) { server_.closed(this); return; }
    std::string().swap(out_);  // a large /metrics answer does not stay allocated
    sent_ = 0;
    parser_.next();
    server_.loop_.modify(fd_, EPOLLIN | EPOLLRDHUP, this);
    if (!pending_.empty()) {
      request_started_ = Clock::now();
      const std::string pipelined = std::move(pending_);
      pending_.clear();
      consume(pipelined.data(), pipelined.size());
    }
  }

  AdminServer& server_;
  int fd_;
  size_t index_;
  bool closed_ = false;
  http::RequestParser parser_;  // the gateway's strict HTTP/1.1 parser, admin-sized limits
  std::string pending_;         // pipelined bytes after the request being answered
  Clock::time_point last_active_, request_started_{};
  std::string out_;
  size_t sent_ = 0;
  size_t counted_ = 0;  // bytes of out_ counted in server_.output_bytes_
  size_t input_counted_ = 0;  // bytes of the unfinished request counted in server_.input_bytes_
  bool keep_alive_ = true;
  bool head_only_ = false;
};

AdminServer::AdminServer(EpollLoop& loop, int listen_fd, AdminLimits limits)
    : loop_(loop), listen_fd_(listen_fd), limits_(limits) {
  loop_.add(listen_fd_, EPOLLIN, this);
}

AdminServer::~AdminServer() {
  for (auto& c : connections_) loop_.remove(c->fd());
  connections_.clear();
  graveyard_.clear();
  loop_.remove(listen_fd_);
  close(listen_fd_);
}

void AdminServer::reap() {
  graveyard_.clear();
  const Clock::time_point now = Clock::now();
  if (now >= next_sweep_) {
    next_sweep_ = now + kSweepEvery;
    sweep(now);
  }
}

void AdminServer::sweep(Clock::time_point now) {
  for (size_t i = 0; i < connections_.size();) {
    Connection* c = connections_[i].get();
    if (c->expired(now, limits_)) {
      ++timed_out_;
      closed(c);  // swaps the last connection into slot i
      continue;
    }
    ++i;
  }
}

void AdminServer::route(std::string path, Route render) {
  routes_[std::move(path)] = [render = std::move(render)](std::string_view) { return render(); };
}

void AdminServer::route_query(std::string path, QueryRoute render) { routes_[std::move(path)] = std::move(render); }

void AdminServer::route_post(std::string path, PostRoute handle) { post_routes_[std::move(path)] = std::move(handle); }

bool AdminServer::is_post_route(std::string_view target) const {
  return post_routes_.count(std::string(path_of(target))) > 0;
}

void AdminServer::evict_idlest() {
  auto idlest = std::min_element(connections_.begin(), connections_.end(), [](auto& a, auto& b) {
    return a->last_active() < b->last_active();
  });
  if (idlest == connections_.end()) return;
  ++evicted_;
  closed(idlest->get());
}

void AdminServer::on_event(uint32_t) {
  // Bounded per turn so a connect storm cannot keep the loop here.
  for (int accepted = 0; accepted < 256; ++accepted) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    // Full: the newest connection is the one most likely to be a probe; the one idle
    // longest is the one least likely to be missed.
    if (connections_.size() >= limits_.max_connections) evict_idlest();
    auto c = std::make_unique<Connection>(*this, fd, connections_.size());
    if (!loop_.add(fd, EPOLLIN | EPOLLRDHUP, c.get())) continue;
    connections_.push_back(std::move(c));
  }
}

AdminResponse AdminServer::dispatch(const http::Request& request) const {
  const std::string_view url = request.target;
  const std::string path(path_of(url));
  const std::string_view query = path.size() < url.size() ? url.substr(path.size() + 1) : std::string_view();
  if (gate_)
    if (std::optional<AdminResponse> refused = gate_(request, path)) return std::move(*refused);
  if (auto post = post_routes_.find(path); post != post_routes_.end()) {
    if (request.method != HTTP_POST) return {405, "text/plain; charset=utf-8", "method not allowed: use POST\n"};
    return post->second(request, query);
  }
  auto it = routes_.find(path);
  if (it == routes_.end()) return {404, "text/plain; charset=utf-8", "not found\n"};
  if (request.method != HTTP_GET && request.method != HTTP_HEAD)
    return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  return it->second(query);
}

void AdminServer::closed(Connection* c) {
  if (c->is_closed()) return;
  c->mark_closed();
  const size_t i = c->index();
  if (i >= connections_.size() || connections_[i].get() != c) return;
  loop_.remove(c->fd());
  graveyard_.push_back(std::move(connections_[i]));  // may be executing inside c: free it later
  if (i + 1 != connections_.size()) {
    connections_[i] = std::move(connections_.back());
    connections_[i]->set_index(i);
  }
  connections_.pop_back();
}

}  // namespace ringgate::control
