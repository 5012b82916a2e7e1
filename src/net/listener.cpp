#include "ringgate/net/listener.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringgate::net {

ListenResult bind_tcp(const Address& address, bool reuse_port) {
  ListenResult result;
  const int fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    result.error = std::string("socket: ") + std::strerror(errno);
    return result;
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    result.error = std::string("SO_REUSEPORT: ") + std::strerror(errno);
    close(fd);
    return result;
  }
  if (bind(fd, &address.sa, address.length()) != 0) {
    result.error = "bind " + address.to_string() + ": " + std::strerror(errno);
    close(fd);
    return result;
  }
  result.fd = fd;
  return result;
}

std::string start_listening(int fd, int backlog) {
  if (listen(fd, backlog) == 0) return {};
  const int error = errno;  // before getsockname can change it
  const std::optional<Address> at = local_address(fd);
  return "listen " + (at ? at->to_string() : std::string("?")) + ": " + std::strerror(error);
}

ListenResult listen_tcp(const Address& address, bool reuse_port, int backlog) {
  ListenResult result = bind_tcp(address, reuse_port);
  if (result.fd < 0) return result;
  if (std::string error = start_listening(result.fd, backlog); !error.empty()) {
    close(result.fd);
    return ListenResult{-1, std::move(error)};
  }
  return result;
}

int new_client_socket(int family) {
  const int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd >= 0) set_nodelay(fd);
  return fd;
}

void set_nodelay(int fd) {
  const int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

}  // namespace ringgate::net
