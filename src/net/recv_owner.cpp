#include "ringgate/net/recv_owner.h"

#include <cerrno>

namespace ringgate::net {

void dispatch_recv(const Completion& c, RecvOwner& owner) {
  if (c.res > 0) {
    if (c.data != nullptr) owner.on_recv_data(c.data, size_t(c.res));
  } else if (c.res != -ECANCELED && c.res != -ENOBUFS) {
    return owner.on_recv_end(c.res);
  }
  if (!c.more) owner.on_recv_stopped(c.res == -ENOBUFS);
}

}  // namespace ringgate::net
