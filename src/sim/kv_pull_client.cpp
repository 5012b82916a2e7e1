#include "ringgate/sim/kv_pull_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <vector>
#include <memory>

namespace ringgate::sim {
namespace {

// An IP address, or "localhost" as 127.0.0.1 (vLLM's VLLM_NIXL_SIDE_CHANNEL_HOST default).
bool numeric_address(const std::string& host, uint32_t port, sockaddr_storage& out, socklen_t& len) {
  std::string h = host == "localhost" ? "127.0.0.1" : host;
  if (h.size() > 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  out = {};
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  if (inet_pton(AF_INET, h.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(uint16_t(port));
    len = sizeof(sockaddr_in);
    return true;
  }
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (inet_pton(AF_INET6, h.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(uint16_t(port));
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

}  // namespace

KvPullClient::~KvPullClient() {
  for (auto& [fd, p] : by_fd_) ::close(fd);
}

uint64_t KvPullClient::start(const std::string& host, uint32_t port, const KvPullRequest& request, uint64_t now_ns,
                             std::string& error) {
  sockaddr_storage addr;
  socklen_t len = 0;
  if (port == 0 || port > 65535) {
    error = "remote_port " + std::to_string(port) + " is not a port";
    return 0;
  }
  if (!numeric_address(host, port, addr, len)) {
    error = "remote_host '" + host + "' is not an IP address or localhost (the sim looks up no names)";
    return 0;
  }
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::string("socket: ") + std::strerror(errno);
    return 0;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  auto p = std::make_unique<Pull>();
  p->id = next_id_++;
  p->fd = fd;
  p->deadline_ns = now_ns + timeout_ns_;
  const std::string body = kv_pull_request_body(request);
  p->out = "POST /nixl/pull HTTP/1.1\r\nhost: " + host + ":" + std::to_string(port) +
           "\r\ncontent-type: application/json\r\nconnection: close\r\ncontent-length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  // Refused or not, the outcome is reported from the loop, never from inside start().
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) == 0) p->connected = true;
  else if (errno != EINPROGRESS) p->deadline_ns = 0;  // fails at the next expire(): the loop wakes at once
  epoll_event ev{};
  ev.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP;
  ev.data.fd = fd;
  if (epoll_fd_ >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  const uint64_t id = p->id;
  fd_by_id_[id] = fd;
  by_fd_[fd] = std::move(p);
  return id;
}

void KvPullClient::cancel(uint64_t pull) {
  auto it = fd_by_id_.find(pull);
  if (it == fd_by_id_.end()) return;
  auto p = by_fd_.find(it->second);
  if (p != by_fd_.end()) {
    close_pull(*p->second);
    by_fd_.erase(p);
  }
  fd_by_id_.erase(it);
}

void KvPullClient::close_pull(Pull& p) {
  if (epoll_fd_ >= 0) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, p.fd, nullptr);
  ::close(p.fd);
}

void KvPullClient::finish(int fd, KvPullOutcome outcome) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  std::unique_ptr<Pull> p = std::move(it->second);
  by_fd_.erase(it);
  fd_by_id_.erase(p->id);
  close_pull(*p);
  done_(p->id, outcome);
}

void KvPullClient::on_event(int fd, uint32_t events) {
  auto it = by_fd_.find(fd);
  if (it == by_fd_.end()) return;
  Pull& p = *it->second;
  if (!p.connected && (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
    int err = 0;
    socklen_t len = sizeof err;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return finish(fd, {false, std::string("connect: ") + std::strerror(err)});
    p.connected = true;
  }
  if (!p.connected) return;
  while (p.out_offset < p.out.size()) {
    ssize_t n = ::send(fd, p.out.data() + p.out_offset, p.out.size() - p.out_offset, MSG_NOSIGNAL);
    if (n > 0) {
      p.out_offset += size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    return finish(fd, {false, std::string("send: ") + std::strerror(errno)});
  }
  if (p.out_offset == p.out.size() && epoll_fd_ >= 0) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &ev);
  }
  char buf[4096];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      if (p.body.size() + size_t(n) > kMaxAnswerBytes) return finish(fd, {false, "answer too long"});
      http::ResponseFeed feed = p.parser.feed(buf, size_t(n), &p.body);
      if (feed.state == http::ResponseState::Error) return finish(fd, {false, "unparsable answer"});
      if (feed.state == http::ResponseState::Complete) {
        if (p.parser.status() == 200) return finish(fd, {true, {}});
        return finish(fd, {false, "answered " + std::to_string(p.parser.status()) + ": " + p.body.substr(0, 512)});
      }
      continue;
    }
    if (n == 0) {
      if (p.parser.finish() == http::ResponseState::Complete && p.parser.status() == 200)
        return finish(fd, {true, {}});
      return finish(fd, {false, "connection closed before the answer"});
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    return finish(fd, {false, std::string("read: ") + std::strerror(errno)});
  }
}

uint64_t KvPullClient::next_deadline_ns() const {
  uint64_t due = std::numeric_limits<uint64_t>::max();
  for (const auto& [fd, p] : by_fd_) due = std::min(due, p->deadline_ns);
  return due;
}

void KvPullClient::expire(uint64_t now_ns) {
  std::vector<int> late;
  for (const auto& [fd, p] : by_fd_)
    if (p->deadline_ns <= now_ns) late.push_back(fd);
  for (int fd : late) {
    const bool refused = by_fd_.at(fd)->deadline_ns == 0;
    finish(fd, {false, refused ? std::string("connect failed") : std::string("no answer within --kv-pull-timeout")});
  }
}

}  // namespace ringgate::sim
