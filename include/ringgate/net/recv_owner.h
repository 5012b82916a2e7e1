#pragma once
// What a Recv completion of a multishot receive means to the connection that armed it,
// decided in one place for every kind of connection: bytes, the end of the stream
// (EOF or a socket error), or a multishot that merely stopped (the owner's own cancel;
// on io_uring also the provided buffers running dry, or a CQ overflow) and is re-armed
// by its owner if it still wants to read.
#include <cstddef>
#include <cstdint>

#include "ringgate/net/io_handler.h"

namespace ringgate::net {

class RecvOwner {
 public:
  virtual void on_recv_data(const char* data, size_t len) = 0;
  // res 0: the peer's FIN; res < 0: a socket error. No re-arm follows.
  virtual void on_recv_end(int32_t res) = 0;
  // The multishot is over without an end of stream; ran_dry: -ENOBUFS (io_uring had
  // no free provided buffer), not a connection error.
  virtual void on_recv_stopped(bool ran_dry) = 0;

 protected:
  ~RecvOwner() = default;
};

// Hands one Recv completion to its owner (data first, then, if this was the
// multishot's final completion, the stop).
void dispatch_recv(const Completion& completion, RecvOwner& owner);

}  // namespace ringgate::net
