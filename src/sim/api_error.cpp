#include "ringgate/sim/api_error.h"

#include "ringgate/http/error_response.h"
#include "ringgate/util/json_text.h"

namespace ringgate::sim {

const char* error_type_for_status(int status) {
  switch (status) {
    case 400: return "BadRequestError";
    case 404: return "NotFoundError";
    case 422: return "UnprocessableEntityError";
    case 500: return "InternalServerError";
    case 501: return "NotImplementedError";
  }
  return http::reason_phrase(status).data();  // a literal: NUL-terminated
}

std::string error_body(const ApiError& e) {
  std::string out;
  out.reserve(96 + e.message.size());
  out += "{\"error\":{\"message\":";
  util::append_json_string(out, e.message);
  out += ",\"type\":";
  util::append_json_string(out, e.type.empty() ? std::string_view(error_type_for_status(e.status)) : e.type);
  out += ",\"param\":";
  if (e.param.empty()) out += "null";
  else util::append_json_string(out, e.param);
  out += ",\"code\":";
  util::append_uint(out, static_cast<uint64_t>(e.status));
  out += "}}";
  return out;
}

}  // namespace ringgate::sim
