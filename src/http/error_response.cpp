#include "ringgate/http/error_response.h"

#include "ringgate/util/json_text.h"

#include <cstdio>

namespace ringgate::http {

std::string_view reason_phrase(int status) {
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
    case 411: return "Length Required";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 417: return "Expectation Failed";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 508:
      return "Loop Detected";
    default: return "Unknown";
  }
}

std::string_view error_type(int status) {
  if (status == 408 || status == 504) return "timeout_error";
  if (status == 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

std::string error_body(int status, std::string_view code, std::string_view message) {
  std::string body = "{\"error\":{\"message\":\"";
  util::append_json_escaped(body, message);
  body += "\",\"type\":\"";
  body += error_type(status);
  body += "\",\"code\":\"";
  util::append_json_escaped(body, code);
  body += "\"}}";
  return body;
}

void append_response(std::string& out, int status, std::string_view content_type, std::string_view body,
                     bool close, std::string_view extra_headers) {
  char line[96];
  std::snprintf(line, sizeof line, "HTTP/1.1 %d ", status);
  out += line;
  out += reason_phrase(status);
  out += "\r\ncontent-type: ";
  out += content_type;
  std::snprintf(line, sizeof line, "\r\ncontent-length: %zu\r\n", body.size());
  out += line;
  if (close) out += "connection: close\r\n";
  out += extra_headers;
  out += "\r\n";
  out += body;
}

void append_error(std::string& out, int status, std::string_view code, std::string_view message, bool close,
                  std::string_view extra_headers) {
  append_response(out, status, "application/json", error_body(status, code, message), close, extra_headers);
}

}  // namespace ringgate::http
