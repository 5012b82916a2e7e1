#include "ringgate/gateway/model_fetch.h"

#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <simdjson.h>

#include "ringgate/http/response_parser.h"
#include "ringgate/net/listener.h"

namespace ringgate::gateway {

namespace {

int64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

bool wait_for(int fd, short events, int64_t deadline) {
  const int64_t left = deadline - now_ms();
  if (left <= 0) return false;
  pollfd p{fd, events, 0};
  return poll(&p, 1, int(left)) == 1;
}

}  // namespace

std::optional<std::vector<std::string>> fetch_models(const net::Address& endpoint, int timeout_ms) {
  const int64_t deadline = now_ms() + timeout_ms;
  const int fd = net::new_client_socket();
  if (fd < 0) return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  if (connect(fd, reinterpret_cast<const sockaddr*>(&endpoint.sin), sizeof endpoint.sin) != 0) {
    if (errno != EINPROGRESS || !wait_for(fd, POLLOUT, deadline)) return std::nullopt;
    int error = 0;
    socklen_t len = sizeof error;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) return std::nullopt;
  }
  const std::string request = "GET /v1/models HTTP/1.1\r\nhost: " + endpoint.to_string() +
                              "\r\naccept: application/json\r\nconnection: close\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != ssize_t(request.size())) return std::nullopt;

  http::ResponseParser parser;
  std::string body;
  char buffer[16384];
  for (;;) {
    if (!wait_for(fd, POLLIN, deadline)) return std::nullopt;
    const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) {
      if (parser.finish() != http::ResponseState::Complete) return std::nullopt;
      break;
    }
    const http::ResponseFeed feed = parser.feed(buffer, size_t(n), &body);
    if (feed.state == http::ResponseState::Error || body.size() > (4 << 20)) return std::nullopt;
    if (feed.state == http::ResponseState::Complete) break;
  }
  if (parser.status() != 200) return std::nullopt;

  simdjson::dom::parser json;
  simdjson::dom::element root;
  if (json.parse(body).get(root) != simdjson::SUCCESS) return std::nullopt;
  simdjson::dom::array data;
  if (root["data"].get_array().get(data) != simdjson::SUCCESS) return std::nullopt;
  std::vector<std::string> models;
  for (simdjson::dom::element item : data) {
    std::string_view id;
    if (item["id"].get_string().get(id) == simdjson::SUCCESS) models.emplace_back(id);
  }
  return models;
}

}  // namespace ringgate::gateway
