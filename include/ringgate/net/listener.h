#pragma once
// Listening and connecting TCP sockets (non-blocking, close-on-exec).
#include <sys/socket.h>

#include <string>

#include "ringgate/net/address.h"

namespace ringgate::net {

struct ListenResult {
  int fd = -1;           // -1 on failure
  std::string error;     // why, when fd == -1
};

// Binds and listens. reuse_port lets one socket per worker share the address
// (the kernel spreads connections across them).
ListenResult listen_tcp(const Address& address, bool reuse_port, int backlog = 4096);

// The two halves: bind_tcp takes the address (a bad or taken one fails here) but queues
// no connection until start_listening (with reuse_port, the kernel hands new connections
// only to the sockets of the group that listen). start_listening: empty string = success.
ListenResult bind_tcp(const Address& address, bool reuse_port);
std::string start_listening(int fd, int backlog = 4096);

// A fresh non-blocking TCP socket for an outgoing connection, TCP_NODELAY set; -1 on failure.
int new_client_socket(int family = AF_INET);

// Small responses and SSE chunks must not wait for Nagle.
void set_nodelay(int fd);

}  // namespace ringgate::net
