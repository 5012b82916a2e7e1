#pragma once
// Responses the gateway writes itself: OpenAI-style error bodies
// {"error":{"message","type","code"}} with the status the error contract gives.
#include <string>
#include <string_view>

namespace ringgate::http {

// "Bad Request" for 400, etc.; "Unknown" for codes the gateway never sends.
std::string_view reason_phrase(int status);

// The OpenAI error type for a status: invalid_request_error (4xx), rate_limit_error
// (429), timeout_error (408, 504), server_error (other 5xx).
std::string_view error_type(int status);

// {"error":{"message":...,"type":...,"code":...}} with the message JSON-escaped.
std::string error_body(int status, std::string_view code, std::string_view message);

// A complete HTTP/1.1 response: status line, content-type/length, optional
// `connection: close`, extra header lines (each ending in \r\n), then the body.
void append_response(std::string& out, int status, std::string_view content_type, std::string_view body,
                     bool close, std::string_view extra_headers = {});

// append_response with an error_body and application/json.
void append_error(std::string& out, int status, std::string_view code, std::string_view message, bool close,
                  std::string_view extra_headers = {});


}  // namespace ringgate::http
