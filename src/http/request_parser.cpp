#include "ringgate/http/request_parser.h"

#include <new>
#include <stdexcept>

namespace ringgate::http {

// llhttp calls these from C frames: an exception must never unwind through them
// (undefined behaviour). Every callback goes through guard(), which is noexcept and
// turns what the callback threw (std::string growth failing) into a parse error.
struct RequestCallbacks {
  static RequestParser& self(llhttp_t* p) { return *static_cast<RequestParser*>(p->data); }

  static int on_message_begin(llhttp_t* p) {
    RequestParser& s = self(p);
    // A fresh request, but the header list and target keep their storage: on a
    // keep-alive connection every request would otherwise regrow them (1, 2, 4, 8...).
    Headers headers = std::move(s.request_.headers);
    std::string target = std::move(s.request_.target);
    headers.clear();
    target.clear();
    s.request_ = Request{};
    s.request_.headers = std::move(headers);
    s.request_.target = std::move(target);
    s.started_ = true;
    s.head_complete_ = false;
    s.last_was_value_ = false;
    s.content_length_headers_ = 0;
    s.host_headers_ = 0;
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
    // After the head, fields are chunked trailers: counted against the head limit and
    // dropped, never merged into the request's headers (a trailer Host or X-Session-Id
    // must not route; RFC 9110 §6.5.1 forbids using trailers that way).
    if (s.head_complete_) {
      if (s.fold_.folded(s.feed_begin_, at, len)) return s.fail(400, "obsolete line folding in the trailer section");
      return s.count_head_bytes(len + 4);
    }
    if (s.request_.headers.empty() || s.last_was_value_) {
      if (s.request_.headers.size() >= 100) return s.fail(431, "too many header fields");
      s.request_.headers.emplace_back();
    }
    s.last_was_value_ = false;
    std::string& name = s.request_.headers.back().name;
    append_lower(name, at, len);
    return s.count_head_bytes(len + 4);  // ": " and CRLF count too
  }

  static int on_header_value(llhttp_t* p, const char* at, size_t len) {
    RequestParser& s = self(p);
    if (s.head_complete_) {  // a trailer: dropped
      if (s.fold_.folded(s.feed_begin_, at, len)) return s.fail(400, "obsolete line folding in the trailer section");
      return s.count_head_bytes(len);
    }
    s.last_was_value_ = true;
    s.request_.headers.back().value.append(at, len);
    return s.count_head_bytes(len);
  }

  static int on_header_value_complete(llhttp_t* p) {
    RequestParser& s = self(p);
    if (s.head_complete_) return 0;  // a trailer
    if (s.request_.headers.empty()) return 0;
    Header& header = s.request_.headers.back();
    // llhttp skips the whitespace before a value but keeps what follows it (a value may
    // arrive in pieces: only now is its end known). An obs-fold never gets here (400).
    trim_field_value(header.value);
    // llhttp already refuses a second Content-Length; this keeps the rule explicit.
    if (header.name == "content-length" && ++s.content_length_headers_ > 1)
      return s.fail(400, "duplicate Content-Length");
    if (header.name == "host") ++s.host_headers_;
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
    // RFC 9112 §6.1: Transfer-Encoding on HTTP/1.0 is faulty framing (a front proxy may
    // read the body by its close or Content-Length, and the next request elsewhere):
    // refused, and the connection closes, so no request after it is ever read.
    if (r.version_minor == 0 && (p->flags & F_TRANSFER_ENCODING))
      return s.fail(400, "Transfer-Encoding in an HTTP/1.0 request");
    // RFC 9112 §3.2: one Host on HTTP/1.1, and never two (which one would route?).
    if (s.host_headers_ > 1) return s.fail(400, "more than one Host header field");
    if (s.host_headers_ == 0 && r.version_minor >= 1)
      return s.fail(400, "an HTTP/1.1 request needs a Host header field");
    const std::string_view expect = r.header("expect");
    if (!expect.empty()) {
      if (!iequals(expect, "100-continue")) return s.fail(417, "unsupported Expect value");
      r.expect_continue = r.version_minor >= 1;
    }
    if (p->upgrade) r.keep_alive = false;  // no protocol switch: answer, then close
    s.head_complete_ = true;
    return 0;
  }

  // The chunk size is known before its data: refuse at once what could not fit, rather
  // than read (and buffer) up to the limit first. p->content_length holds the size.
  static int on_chunk_header(llhttp_t* p) {
    RequestParser& s = self(p);
    if (p->content_length > s.limits_.max_body_bytes - s.request_.body.size()) {
      return s.fail(413, "request body too large");
    }
    return 0;
  }

  static int on_body(llhttp_t* p, const char* at, size_t len) {
    RequestParser& s = self(p);
    BodyBuffer& body = s.request_.body;
    if (body.size() + len > s.limits_.max_body_bytes) return s.fail(413, "request body too large");
    // Bytes received straight into the body's spare room (the caller fed the parser
    // from there) are taken in place: the body's bytes land once.
    if (body.in_spare(at, len)) body.commit(at, len);
    else body.append(at, len);
    return 0;
  }

  static int on_message_complete(llhttp_t* p) {
    RequestParser& s = self(p);
    if (p->upgrade) s.request_.keep_alive = false;
    return HPE_PAUSED;  // one request at a time: the caller resumes with next()
  }

  static int failed_by(llhttp_t* p, std::exception_ptr e) noexcept {
    try {
      std::rethrow_exception(e);
    } catch (const std::bad_alloc&) {
      return self(p).fail(503, "out of memory while reading the request");
    } catch (const std::length_error&) {
      return self(p).fail(413, "request too large to buffer");
    } catch (...) {
      return self(p).fail(400, "request could not be read");
    }
  }

  template <int (*F)(llhttp_t*)>
  static int guard(llhttp_t* p) noexcept {
    try {
      return F(p);
    } catch (...) {
      return failed_by(p, std::current_exception());
    }
  }

  template <int (*F)(llhttp_t*, const char*, size_t)>
  static int guard(llhttp_t* p, const char* at, size_t len) noexcept {
    try {
      return F(p, at, len);
    } catch (...) {
      return failed_by(p, std::current_exception());
    }
  }
};

RequestParser::RequestParser(RequestLimits limits) : limits_(limits) {
  llhttp_settings_init(&settings_);
  using C = RequestCallbacks;
  settings_.on_message_begin = C::guard<C::on_message_begin>;
  settings_.on_url = C::guard<C::on_url>;
  settings_.on_header_field = C::guard<C::on_header_field>;
  settings_.on_header_value = C::guard<C::on_header_value>;
  settings_.on_header_value_complete = C::guard<C::on_header_value_complete>;
  settings_.on_headers_complete = C::guard<C::on_headers_complete>;
  settings_.on_chunk_header = C::guard<C::on_chunk_header>;
  settings_.on_body = C::guard<C::on_body>;
  settings_.on_message_complete = C::guard<C::on_message_complete>;
  llhttp_init(&parser_, HTTP_REQUEST, &settings_);
  parser_.data = this;
}

int RequestParser::fail(int status, std::string_view reason) noexcept {
  error_status_ = status;
  error_reason_ = reason;
  return -1;
}

int RequestParser::count_head_bytes(size_t n) noexcept {
  head_bytes_ += n;
  if (head_bytes_ > limits_.max_header_bytes) return fail(431, "request header fields too large");
  return 0;
}

ParseResult RequestParser::feed(const char* data, size_t len) {
  if (failed_) return failure_;
  const bool head_was_complete = head_complete_;
  if (!head_was_complete) {
    if (const std::string_view bad = scan_head(data, len); !bad.empty()) {
      failed_ = true;
      failure_ = ParseResult{ParseState::Error, 0, 400, bad};
      return failure_;
    }
  }
  feed_begin_ = data;
  const llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  // (the head's folds are scan_head's; the trailers' are seen in the callbacks)
  fold_.after_feed(data, err == HPE_PAUSED ? size_t(llhttp_get_error_pos(&parser_) - data) : len);
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

// Two things llhttp 8 accepts that RFC 9112 lets a server refuse, and we do:
// - obs-fold (§5.2: a line starting with whitespace continues the previous value),
//   which llhttp hands over joined; refusing it keeps every header one line;
// - whitespace between a field name and its colon (§5.1: MUST be rejected with 400),
//   which llhttp drops, so "Host : x" would be read as Host;
// - a bare CR (§2.2: MAY be rejected), which llhttp takes as a line end, so the rest
//   of that line would be read as a field name the whitespace rule never saw.
// Scans the head only, across reads: it stops at the blank line.
std::string_view RequestParser::scan_head(const char* data, size_t len) noexcept {
  for (size_t i = 0; i < len && !head_scan_done_; ++i) {
    const char c = data[i];
    if (head_scan_prev_ == '\r' && c != '\n') return "bare CR in the header section";
    if (head_scan_prev_ == '\n') {
      if (c == ' ' || c == '\t') return "obsolete line folding in the header section";
      if (c == '\r' || c == '\n') {
        head_scan_done_ = head_scan_seen_line_;  // CRLFs before the request line are not the end
      } else {
        head_scan_in_name_ = head_scan_seen_line_;  // the request line has no field name
        head_scan_seen_line_ = true;
      }
    } else if (head_scan_in_name_) {
      if (c == ':' || c == '\r' || c == '\n') {
        head_scan_in_name_ = false;
      } else if (c == ' ' || c == '\t') {
        return "whitespace between a header field name and its colon";
      }
    }
    if (head_scan_prev_ == 0 && c != '\r' && c != '\n') head_scan_seen_line_ = true;
    head_scan_prev_ = c;
  }
  return {};
}

void RequestParser::next() {
  fold_.reset();
  head_scan_prev_ = 0;
  head_scan_done_ = false;
  head_scan_seen_line_ = false;
  head_scan_in_name_ = false;
  llhttp_resume(&parser_);
  started_ = false;
  head_complete_ = false;
  head_bytes_ = 0;
  request_.body.clear();
}

}  // namespace ringgate::http
