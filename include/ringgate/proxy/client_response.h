#pragma once
// What one request's client is sent: the head held until the first body byte (commit),
// then the body in the client's framing. Plain data, reset by assignment per request.
#include <cstdint>

#include "ringgate/proxy/forward_head.h"

namespace ringgate::proxy {

struct ClientResponse {
  bool started = false;    // a model server's head arrived (the client's head is held)
  bool committed = false;  // the head reached the client's output: failures are visible from now
  bool event_stream = false;
  bool from_model_server = false;  // status is the model server's answer, relayed
  int status = 0;
  ClientFraming framing = ClientFraming::ContentLength;
  uint16_t tail = 0;  // the last two body bytes relayed
};

}  // namespace ringgate::proxy
