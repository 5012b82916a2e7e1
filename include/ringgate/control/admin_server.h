#pragma once
// The admin listener (:9090): GET-only HTTP/1.1 on the control thread, never on the
// API port. Routes are exact paths bound to functions that render a response.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringgate/control/epoll_loop.h"

namespace ringgate::control {

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class AdminServer final : public EpollHandler {
 public:
  using Route = std::function<AdminResponse()>;

  // Takes ownership of a bound, listening, non-blocking socket.
  AdminServer(EpollLoop& loop, int listen_fd);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  void route(std::string path, Route render);
  void on_event(uint32_t events) override;  // accept
  size_t open_connections() const { return connections_.size(); }
  // Frees connections closed during earlier dispatches; call between loop turns.
  void reap();

  class Connection;

 private:
  friend class Connection;
  AdminResponse dispatch(std::string_view method, std::string_view path) const;
  void closed(Connection* c);

  EpollLoop& loop_;
  int listen_fd_;
  std::unordered_map<std::string, Route> routes_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<std::unique_ptr<Connection>> graveyard_;  // freed outside their own callback
};

}  // namespace ringgate::control
