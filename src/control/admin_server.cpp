#include "ringgate/control/admin_server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <llhttp.h>

namespace ringgate::control {
namespace {
constexpr size_t kMaxRequestBytes = 16384;  // admin requests are one short GET
constexpr size_t kMaxOpenConnections = 64;

const char* reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 503: return "Service Unavailable";
    default: return "Status";
  }
}
}  // namespace

class AdminServer::Connection final : public EpollHandler {
 public:
  Connection(AdminServer& server, int fd) : server_(server), fd_(fd) {
    llhttp_settings_init(&settings_);
    settings_.on_url = [](llhttp_t* p, const char* at, size_t len) {
      static_cast<Connection*>(p->data)->url_.append(at, len);
      return 0;
    };
    settings_.on_message_complete = [](llhttp_t* p) {
      static_cast<Connection*>(p->data)->complete_ = true;
      return static_cast<int>(HPE_PAUSED);
    };
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    parser_.data = this;
  }
  ~Connection() {
    server_.loop_.remove(fd_);
    close(fd_);
  }
  int fd() const { return fd_; }

  void on_event(uint32_t events) override {
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
      received_ += static_cast<size_t>(n);
      llhttp_errno_t err = llhttp_execute(&parser_, buf, static_cast<size_t>(n));
      if (complete_) { answer(); return; }
      if (err != HPE_OK || received_ > kMaxRequestBytes) {
        respond({400, "text/plain; charset=utf-8", "bad request\n"}, false);
        return;
      }
    }
  }

 private:
  void answer() {
    std::string_view url = url_;
    std::string_view path = url.substr(0, url.find('?'));
    bool keep = llhttp_should_keep_alive(&parser_);
    auto method = static_cast<llhttp_method_t>(parser_.method);
    AdminResponse r = server_.dispatch(llhttp_method_name(method), path);
    head_only_ = method == HTTP_HEAD;
    respond(r, keep);
  }

  void respond(const AdminResponse& r, bool keep_alive) {
    keep_alive_ = keep_alive;
    out_ = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) +
           "\r\nContent-Type: " + r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) +
           (keep_alive ? "\r\n\r\n" : "\r\nConnection: close\r\n\r\n");
    if (!head_only_) out_ += r.body;
    flush();
  }

  void flush() {
    while (sent_ < out_.size()) {
      ssize_t n = send(fd_, out_.data() + sent_, out_.size() - sent_, MSG_NOSIGNAL);
      if (n > 0) { sent_ += static_cast<size_t>(n); continue; }
      if (n < 0 && errno == EAGAIN) {
        server_.loop_.modify(fd_, EPOLLOUT, this);
        return;
      }
      server_.closed(this);
      return;
    }
    if (!keep_alive_) { server_.closed(this); return; }
    out_.clear();
    sent_ = 0;
    url_.clear();
    complete_ = false;
    received_ = 0;
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    parser_.data = this;
    server_.loop_.modify(fd_, EPOLLIN | EPOLLRDHUP, this);
  }

  AdminServer& server_;
  int fd_;
  llhttp_t parser_;
  llhttp_settings_t settings_;
  std::string url_;
  bool complete_ = false;
  size_t received_ = 0;
  std::string out_;
  size_t sent_ = 0;
  bool keep_alive_ = true;
  bool head_only_ = false;
};

AdminServer::AdminServer(EpollLoop& loop, int listen_fd) : loop_(loop), listen_fd_(listen_fd) {
  loop_.add(listen_fd_, EPOLLIN, this);
}

AdminServer::~AdminServer() {
  connections_.clear();
  graveyard_.clear();
  loop_.remove(listen_fd_);
  close(listen_fd_);
}

void AdminServer::reap() { graveyard_.clear(); }

void AdminServer::route(std::string path, Route render) { routes_[std::move(path)] = std::move(render); }

void AdminServer::on_event(uint32_t) {
  for (;;) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) return;
    if (connections_.size() >= kMaxOpenConnections) {
      close(fd);  // an admin port is not a public service: shed instead of queueing
      continue;
    }
    auto c = std::make_unique<Connection>(*this, fd);
    if (!loop_.add(fd, EPOLLIN | EPOLLRDHUP, c.get())) continue;
    connections_.push_back(std::move(c));
  }
}

AdminResponse AdminServer::dispatch(std::string_view method, std::string_view path) const {
  auto it = routes_.find(std::string(path));
  if (it == routes_.end()) return {404, "text/plain; charset=utf-8", "not found\n"};
  if (method != "GET" && method != "HEAD") return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  return it->second();
}

void AdminServer::closed(Connection* c) {
  auto it = std::find_if(connections_.begin(), connections_.end(), [c](auto& p) { return p.get() == c; });
  if (it == connections_.end()) return;
  loop_.remove(c->fd());
  graveyard_.push_back(std::move(*it));  // still executing inside c: free it later
  connections_.erase(it);
}

}  // namespace ringgate::control
