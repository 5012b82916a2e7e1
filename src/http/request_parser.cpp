#include "ringgate/http/request_parser.h"

#include <cctype>

namespace ringgate::http {

struct RequestCallbacks {
  static RequestParser& self(llhttp_t* p) { return *static_cast<RequestParser*>(p->data); }

  static int on_message_begin(llhttp_t* p) {
    RequestParser& s = self(p);
    s.request_ = Request{};
    s.started_ = true;
    s.head_complete_ = false;
    s.last_was_value_ = false;
    s.content_length_headers_ = 0;
    s.head_bytes_ = 0;
    return 0;
  }

  static int on_url(llhttp_t* p, const char* at, size_t len) {
    RequestParser& s = self(p);
    s.request_.target.append(at, len);
    return s.count_head_bytes(len);
  }

  static int on_header_field(llhttp_t* p, const char* at, size_t len) {
    RequestParser& s = self(p);
    if (s.request_.headers.empty() || s.last_was_value_) {
      if (s.request_.headers.size() >= 100) return s.fail(431, "too many header fields");
      s.request_.headers.emplace_back();
    }
    s.last_was_value_ = false;
    std::string& name = s.request_.headers.back().name;
    for (size_t i = 0; i < len; ++i) name += char(std::tolower(static_cast<unsigned char>(at[i])));
    return s.count_head_bytes(len + 4);  // ": " and CRLF count too
  }

  static int on_header_value(llhttp_t* p, const char* at, size_t len) {
    RequestParser& s = self(p);
    s.last_was_value_ = true;
    s.request_.headers.back().value.append(at, len);
    return s.count_head_bytes(len);
  }

  static int on_header_value_complete(llhttp_t* p) {
    RequestParser& s = self(p);

    // llhttp already refuses a second Content-Length; this keeps the rule explicit.
    if (!s.request_.headers.empty() && s.request_.headers.back().name == "content-length" &&
        ++s.content_length_headers_ > 1) {
      return s.fail(400, "duplicate Content-Length");
    }
    return 0;
  }

  static int on_headers_complete(llhttp_t* p) {
    RequestParser& s = self(p);
    Request& r = s.request_;
    r.method = static_cast<llhttp_method_t>(p->method);
    r.version_major = p->http_major;
    r.version_minor = p->http_minor;
    r.keep_alive = llhttp_should_keep_alive(p) != 0;
    r.chunked = (p->flags & F_CHUNKED) != 0;
    if (p->flags & F_CONTENT_LENGTH) {
      r.content_length = int64_t(p->content_length);
      if (p->content_length > s.limits_.max_body_bytes) return s.fail(413, "request body too large");
      // One allocation for the whole body, with room for the JSON reader's padding.
      r.body.reserve(size_t(p->content_length) + 64);
    }
    if (r.chunked && r.content_length >= 0) return s.fail(400, "both Content-Length and Transfer-Encoding");
    if (r.version_major != 1) return s.fail(505, "only HTTP/1.x is supported");
    const std::string_view expect = r.header("expect");
    if (!expect.empty()) {
      if (!iequals(expect, "100-continue")) return s.fail(417, "unsupported Expect value");
      r.expect_continue = r.version_minor >= 1;
    }
    if (p->upgrade) r.keep_alive = false;  // no protocol switch: answer, then close
    s.head_complete_ = true;
    return 0;
  }

  static int on_body(llhttp_t* p, const char* at, size_t len) {
    RequestParser& s = self(p);
    if (s.request_.body.size() + len > s.limits_.max_body_bytes) return s.fail(413, "request body too large");
    s.request_.body.append(at, len);
    return 0;
  }

  static int on_message_complete(llhttp_t* p) {
    RequestParser& s = self(p);
    if (p->upgrade) s.request_.keep_alive = false;
    return HPE_PAUSED;  // one request at a time: the caller resumes with next()
  }
};

RequestParser::RequestParser(RequestLimits limits) : limits_(limits) {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = RequestCallbacks::on_message_begin;
  settings_.on_url = RequestCallbacks::on_url;
  settings_.on_header_field = RequestCallbacks::on_header_field;
  settings_.on_header_value = RequestCallbacks::on_header_value;
  settings_.on_header_value_complete = RequestCallbacks::on_header_value_complete;
  settings_.on_headers_complete = RequestCallbacks::on_headers_complete;
  settings_.on_body = RequestCallbacks::on_body;
  settings_.on_message_complete = RequestCallbacks::on_message_complete;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

int RequestParser::fail(int status, std::string_view reason) {
  error_status_ = status;
  error_reason_ = reason;
  return -1;
}

int RequestParser::count_head_bytes(size_t n) {
  head_bytes_ += n;
  if (head_bytes_ > limits_.max_header_bytes) return fail(431, "request header fields too large");
  return 0;
}

ParseResult RequestParser::feed(const char* data, size_t len) {
  if (failed_) return failure_;
  const bool head_was_complete = head_complete_;
  if (!head_was_complete && has_obsolete_fold(data, len)) {
    failed_ = true;
    failure_ = ParseResult{ParseState::Error, 0, 400, "obsolete line folding in the header section"};
    return failure_;
  }
  const llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  ParseResult result;
  if (err == HPE_OK) {
    result.consumed = len;
    // Bytes of an unfinished head (CRLFs, blank padding, slow drip) count against the limit.
    if (!head_was_complete && !head_complete_ && started_) {
      head_bytes_ += len;
      if (head_bytes_ > limits_.max_header_bytes) {
        result.state = ParseState::Error;
        result.status = 431;
        result.reason = "request header fields too large";
        failed_ = true;
        failure_ = result;
      }
    }
    return result;
  }
  if (err == HPE_PAUSED) {
    result.state = ParseState::Complete;
    result.consumed = size_t(llhttp_get_error_pos(&parser_) - data);
    return result;
  }
  result.state = ParseState::Error;
  result.status = error_status_ ? error_status_ : 400;
  result.reason = error_status_ ? error_reason_ : std::string_view(llhttp_get_error_reason(&parser_));
  if (result.reason.empty()) result.reason = "malformed request";
  failed_ = true;
  failure_ = result;
  return result;
}

// llhttp 8 accepts obs-fold (a line starting with whitespace continues the previous
// value) and hands the pieces over joined; refusing it keeps every header one line,
// as RFC 9112 §5.2 allows. Scans the head only: it stops at the blank line.
bool RequestParser::has_obsolete_fold(const char* data, size_t len) {
  for (size_t i = 0; i < len && !head_scan_done_; ++i) {
    const char c = data[i];
    if (head_scan_prev_ == '\n') {
      if (c == ' ' || c == '\t') return true;
      if (c == '\r' || c == '\n') head_scan_done_ = true;
    }
    head_scan_prev_ = c;
  }
  return false;
}

void RequestParser::next() {
  head_scan_prev_ = 0;
  head_scan_done_ = false;
  llhttp_resume(&parser_);
  started_ = false;
  head_complete_ = false;
  head_bytes_ = 0;
  request_.body.clear();
}

}  // namespace ringgate::http
