#pragma once
// The body the current leg of a request sends when it is not the client's: a prefill or
// decode leg's rewritten request, a continuation (the text so far appended). Built in
// `scratch`, then taken as the leg's body, padded for the JSON reader. Its buffers keep
// their capacity from request to request.
#include <string>

#include "ringgate/http/body_buffer.h"
#include "ringgate/openai/request_body.h"

namespace ringgate::proxy {

struct LegBody {
  http::BodyBuffer body;
  std::string scratch;  // such a body as it is built
  bool own = false;     // the current leg sends `body`, not the client's

  // What `scratch` holds is the current leg's body from now on.
  void take_scratch() {
    body.assign(scratch);
    openai::BodyReader::pad(body);
    own = true;
  }
  http::BodyBuffer& of(http::BodyBuffer& client_body) { return own ? body : client_body; }
};

}  // namespace ringgate::proxy
