#pragma once
// The admin listener (:9090): HTTP/1.1 on the control thread, never on the API port.
// Routes are exact paths bound to functions that render a response: GET (and HEAD)
// pages, and POST routes that read the request (/debug/pick).
//
// The control thread never waits on an admin client: sockets are non-blocking, each
// connection holds at most one response, all queued response bytes together are
// capped, and connections are bounded in number and in time. When the table is full a
// new connection evicts the one idle longest, so idle or slow clients can never lock
// the kubelet's /healthz probe out.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ringgate/control/epoll_loop.h"
#include "ringgate/http/request_parser.h"

namespace ringgate::control {

struct AdminResponse {
  AdminResponse(int status = 200, std::string content_type = "text/plain; charset=utf-8", std::string body = {},
                std::string headers = {})
      : status(status), content_type(std::move(content_type)), body(std::move(body)), headers(std::move(headers)) {}
  int status;
  std::string content_type;
  std::string body;
  std::string headers;  // more header lines, each ending in \r\n (the status page's policy)
};

struct AdminLimits {
  size_t max_connections = 4096;
  size_t max_request_bytes = 16384;       // request line + headers (a GET is only that)
  size_t max_body_bytes = 16384;          // a request body (POST routes): 413 beyond
  size_t max_input_bytes = 64u << 20;     // unfinished request bytes over all connections: 503 beyond
  size_t max_output_bytes = 64u << 20;    // response bytes queued over all connections
  std::chrono::milliseconds idle_timeout{15000};    // no byte either way for this long: closed
  std::chrono::milliseconds request_timeout{5000};  // first byte of a request → its end
};

class AdminServer final : public EpollHandler {
 public:
  using Route = std::function<AdminResponse()>;
  // A GET page that reads the target's query string (/debug/events?since=N).
  using QueryRoute = std::function<AdminResponse(std::string_view query)>;
  // A POST route: the whole request (headers, body) and the target's query string.
  using PostRoute = std::function<AdminResponse(const http::Request& request, std::string_view query)>;
  using Clock = std::chrono::steady_clock;

  // Takes ownership of a bound, listening, non-blocking socket.
  AdminServer(EpollLoop& loop, int listen_fd, AdminLimits limits = {});
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  void route(std::string path, Route render);
  void route_query(std::string path, QueryRoute render);
  void route_post(std::string path, PostRoute handle);
  // Runs before every route (admin.auth): an answer refuses the request, nothing lets it through.
  using Gate = std::function<std::optional<AdminResponse>(const http::Request& request, std::string_view path)>;
  void set_gate(Gate gate) { gate_ = std::move(gate); }
  void on_event(uint32_t events) override;  // accept
  size_t open_connections() const { return connections_.size(); }
  // Frees connections closed during earlier dispatches and closes the ones past
  // their timeouts; call between loop turns.
  void reap();
  uint64_t evicted() const { return evicted_; }
  uint64_t timed_out() const { return timed_out_; }

  class Connection;

 private:
  friend class Connection;
  AdminResponse dispatch(const http::Request& request) const;
  bool is_post_route(std::string_view target) const;
  void closed(Connection* c);
  void evict_idlest();
  void sweep(Clock::time_point now);

  EpollLoop& loop_;
  int listen_fd_;
  AdminLimits limits_;
  std::unordered_map<std::string, QueryRoute> routes_;
  std::unordered_map<std::string, PostRoute> post_routes_;
  Gate gate_;
  std::vector<std::unique_ptr<Connection>> connections_;  // a Connection knows its index
  std::vector<std::unique_ptr<Connection>> graveyard_;    // freed outside their own callback
  size_t output_bytes_ = 0;
  size_t input_bytes_ = 0;  // request bytes received for requests not yet complete
  Clock::time_point next_sweep_{};
  uint64_t evicted_ = 0, timed_out_ = 0;
};

}  // namespace ringgate::control
