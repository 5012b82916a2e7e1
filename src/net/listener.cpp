#include "ringgate/net/listener.h"

#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ringgate::net {

ListenResult listen_tcp(const Address& address, bool reuse_port, int backlog) {
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
  if (listen(fd, backlog) != 0) {
    result.error = "listen " + address.to_string() + ": " + std::strerror(errno);
    close(fd);
    return result;
  }
  result.fd = fd;
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
