#pragma once
// Strict incremental HTTP/1.1 request parser on llhttp (lenient flags all off).
// Bytes go in as they arrive; the parser stops after each complete request so
// pipelined requests are answered one at a time, in order. Content-Length and
// chunked bodies are both decoded into Request::body. Conflicting or duplicate
// framing headers, Transfer-Encoding on HTTP/1.0, bad chunk sizes, an HTTP/1.1 request
// without Host and any request with two are errors (400): the connection must close.
// Header values are handed over without the whitespace around them (RFC 9110 §5.5).
#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "ringgate/http/body_buffer.h"
#include "ringgate/http/headers.h"

namespace ringgate::http {

struct RequestLimits {
  size_t max_header_bytes = 16 * 1024;    // request line + fields → 431 beyond
  size_t max_body_bytes = 8 * 1024 * 1024;  // decoded body → 413 beyond
};

struct Request {
  llhttp_method_t method = HTTP_GET;
  std::string target;
  uint8_t version_major = 1;
  uint8_t version_minor = 1;
  Headers headers;
  BodyBuffer body;  // decoded; may be received in place (BodyBuffer::spare)
  int64_t content_length = -1;  // -1 when absent
  bool chunked = false;
  bool keep_alive = true;
  bool expect_continue = false;  // "Expect: 100-continue" on an HTTP/1.1 request

  std::string_view header(std::string_view lower_name) const { return find_header(headers, lower_name); }
};

enum class ParseState { NeedMore, Complete, Error };

struct ParseResult {
  ParseState state = ParseState::NeedMore;
  size_t consumed = 0;       // bytes of the input that belong to this request (all of it on NeedMore)
  int status = 0;            // on Error: 400, 413, 417 or 431
  std::string_view reason;   // on Error: what was wrong, for the error body
};

class RequestParser {
 public:
  explicit RequestParser(RequestLimits limits = {});
  RequestParser(const RequestParser&) = delete;
  RequestParser& operator=(const RequestParser&) = delete;

  // `data` may lie in request().body's spare room (a receive straight into the body):
  // its body bytes are then taken in place (moved down over chunk framing at most),
  // and bytes past the request's end stay where they are for the caller to save
  // before it touches the body.
  ParseResult feed(const char* data, size_t len);
  // After Complete: forget the request and accept the next one on the connection.
  void next();

  const Request& request() const { return request_; }
  Request& request() { return request_; }
  bool started() const { return started_; }          // a byte of the current request arrived
  bool head_complete() const { return head_complete_; }
  size_t max_body_bytes() const { return limits_.max_body_bytes; }

 private:
  friend struct RequestCallbacks;
  int fail(int status, std::string_view reason) noexcept;
  int count_head_bytes(size_t n) noexcept;
  std::string_view scan_head(const char* data, size_t len) noexcept;  // what is wrong, or empty

  llhttp_t parser_{};
  llhttp_settings_t settings_{};
  RequestLimits limits_;
  Request request_;
  size_t head_bytes_ = 0;
  bool started_ = false;
  bool head_complete_ = false;
  bool last_was_value_ = false;
  int content_length_headers_ = 0;
  int host_headers_ = 0;
  int error_status_ = 0;
  std::string_view error_reason_;
  bool failed_ = false;
  char head_scan_prev_ = 0;
  bool head_scan_done_ = false;
  bool head_scan_seen_line_ = false;  // the request line has begun
  bool head_scan_in_name_ = false;    // inside a field name (before its colon)
  FoldWatch fold_;                    // obs-fold in the trailers: a 400
  const char* feed_begin_ = nullptr;  // the bytes feed() is parsing
  ParseResult failure_;
};

}  // namespace ringgate::http
