#include "ringgate/sim/api_error.h"

#include "ringgate/util/json_text.h"

namespace ringgate::sim {

const char* reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Request Entity Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
  }
  return "Unknown";
}

const char* error_type_for_status(int status) {
  switch (status) {
    case 400: return "BadRequestError";
    case 404: return "NotFoundError";
    case 422: return "UnprocessableEntityError";
    case 500: return "InternalServerError";
    case 501: return "NotImplementedError";
  }
  return reason_phrase(status);
}

std::string error_body(const ApiError& e) {
  std::string out;
  out.reserve(96 + e.message.size());
  out += "{\"error\":{\"message\":";
  util::append_json_string(out, e.message);
  out += ",\"type\":";
  util::append_json_string(out, error_type_for_status(e.status));
  out += ",\"param\":";
  if (e.param.empty()) out += "null";
  else util::append_json_string(out, e.param);
  out += ",\"code\":";
  util::append_uint(out, static_cast<uint64_t>(e.status));
  out += "}}";
  return out;
}

}  // namespace ringgate::sim
