#pragma once
// Incremental HTTP/1.1 response parser for upstream replies (llhttp, strict).
// The body is handed over decoded (chunk framing removed) so the proxy can frame it
// for its own client, and so a broken stream can still be ended cleanly.
#include <llhttp.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "ringgate/http/headers.h"

namespace ringgate::http {

enum class ResponseState { NeedMore, Complete, Error };

struct ResponseFeed {
  ResponseState state = ResponseState::NeedMore;
  size_t consumed = 0;
};

class ResponseParser {
 public:
  ResponseParser();
  ResponseParser(const ResponseParser&) = delete;
  ResponseParser& operator=(const ResponseParser&) = delete;

  // Forget everything; the next byte starts a new response.
  void reset();
  // Parses; decoded body bytes are appended to *body.
  ResponseFeed feed(const char* data, size_t len, std::string* body);
  // The peer closed: completes a close-delimited body, else the response was cut short.
  ResponseState finish();

  bool started() const { return started_; }
  bool head_complete() const { return head_complete_; }
  int status() const { return status_; }
  const std::string& reason() const { return reason_; }
  std::span<const Header> headers() const { return {headers_.data(), header_count_}; }
  int64_t content_length() const { return content_length_; }  // -1 when absent
  bool chunked() const { return chunked_; }
  bool keep_alive() const { return keep_alive_; }
  const char* error() const { return llhttp_get_error_reason(&parser_); }

 private:
  friend struct ResponseCallbacks;
  llhttp_t parser_{};
  llhttp_settings_t settings_{};
  std::string* body_ = nullptr;
  static constexpr size_t kKeptFields = 32;
  static constexpr size_t kKeptFieldBytes = 256;
  Headers headers_;          // the first header_count_ are this response's
  size_t header_count_ = 0;
  std::string reason_;
  int status_ = 0;
  int64_t content_length_ = -1;
  bool started_ = false;
  bool head_complete_ = false;
  bool chunked_ = false;
  bool keep_alive_ = false;
  bool last_was_value_ = false;
  bool interim_ = false;        // parsing a 1xx head, skipped
  uint32_t interim_count_ = 0;
  FoldWatch fold_;                    // obs-fold in the head or the trailers: an error
  const char* feed_begin_ = nullptr;  // the bytes feed() is parsing
};

}  // namespace ringgate::http
