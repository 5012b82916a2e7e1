#include "ringgate/http/response_parser.h"


namespace ringgate::http {

struct ResponseCallbacks {
  static ResponseParser& self(llhttp_t* p) { return *static_cast<ResponseParser*>(p->data); }

  static int on_message_begin(llhttp_t* p) {
    self(p).started_ = true;
    return 0;
  }
  static int on_status(llhttp_t* p, const char* at, size_t len) {
    ResponseParser& s = self(p);
    if (s.reason_.size() + len > 256) return -1;
    s.reason_.append(at, len);
    return 0;
  }
  static int on_header_field(llhttp_t* p, const char* at, size_t len) {
    ResponseParser& s = self(p);
    if (s.fold_.folded(s.feed_begin_, at, len)) return -1;  // obs-fold: a 502, never relayed
    if (s.header_count_ == 0 || s.last_was_value_) {
      if (s.header_count_ >= 200) return -1;
      if (s.header_count_ == s.headers_.size()) s.headers_.emplace_back();
      Header& fresh = s.headers_[s.header_count_++];
      fresh.name.clear();
      fresh.value.clear();
    }
    s.last_was_value_ = false;
    std::string& name = s.headers_[s.header_count_ - 1].name;
    if (name.size() + len > 1024) return -1;
    append_lower(name, at, len);
    return 0;
  }
  static int on_header_value(llhttp_t* p, const char* at, size_t len) {
    ResponseParser& s = self(p);
    if (s.fold_.folded(s.feed_begin_, at, len)) return -1;
    s.last_was_value_ = true;
    std::string& value = s.headers_[s.header_count_ - 1].value;
    if (value.size() + len > 16384) return -1;
    value.append(at, len);
    return 0;
  }
  // RFC 9110 §5.5, as the request parser: the value without the whitespace around it
  // (llhttp keeps what follows it), before it is read or relayed.
  static int on_header_value_complete(llhttp_t* p) {
    ResponseParser& s = self(p);
    if (s.header_count_ > 0) trim_field_value(s.headers_[s.header_count_ - 1].value);
    return 0;
  }
  static int on_headers_complete(llhttp_t* p) {
    ResponseParser& s = self(p);
    // llhttp takes any three digits; below 100 is no HTTP status (RFC 9110 §15): a broken
    // server, never relayed (a client would read "HTTP/1.1 000").
    if (p->status_code < 100) return -1;
    if (p->status_code >= 100 && p->status_code < 200 && p->status_code != 101) {
      // An interim response (100 Continue, 103 Early Hints): not the answer. llhttp ends
      // it here (no body) and parses the next response head from the same bytes.
      if (++s.interim_count_ > 8) return -1;  // a server looping on 1xx is broken
      s.interim_ = true;
      return 1;  // never a body, whatever its headers say (RFC 9112 §6.3; fuzz_response)
    }
    s.status_ = p->status_code;
    s.chunked_ = (p->flags & F_CHUNKED) != 0;
    if (p->flags & F_CONTENT_LENGTH) s.content_length_ = int64_t(p->content_length);
    s.head_complete_ = true;
    // 204 and 304 end at the blank line whatever their headers say (RFC 9112 §6.3): bytes
    // after it are the next response, never this one's body (fuzz_response).
    if (p->status_code == 204 || p->status_code == 304) return 1;
    return 0;
  }
  static int on_body(llhttp_t* p, const char* at, size_t len) {
    ResponseParser& s = self(p);
    if (s.body_) s.body_->append(at, len);
    return 0;
  }
  static int on_message_complete(llhttp_t* p) {
    ResponseParser& s = self(p);
    if (s.interim_) {  // forget the interim head; the final one follows
      s.interim_ = false;
      s.header_count_ = 0;
      s.reason_.clear();
      s.last_was_value_ = false;
      return 0;
    }
    self(p).keep_alive_ = llhttp_should_keep_alive(p) != 0;
    return HPE_PAUSED;  // bytes past the response are not ours to read
  }
};

ResponseParser::ResponseParser() {
  llhttp_settings_init(&settings_);
  settings_.on_message_begin = ResponseCallbacks::on_message_begin;
  settings_.on_status = ResponseCallbacks::on_status;
  settings_.on_header_field = ResponseCallbacks::on_header_field;
  settings_.on_header_value = ResponseCallbacks::on_header_value;
  settings_.on_header_value_complete = ResponseCallbacks::on_header_value_complete;
  settings_.on_headers_complete = ResponseCallbacks::on_headers_complete;
  settings_.on_body = ResponseCallbacks::on_body;
  settings_.on_message_complete = ResponseCallbacks::on_message_complete;
  reset();
}

void ResponseParser::reset() {
  llhttp_init(&parser_, HTTP_RESPONSE, &settings_);
  parser_.data = this;
  // The fields' strings are kept for the next response (no allocation per header);
  // what one hostile head grew is given back.
  if (headers_.size() > kKeptFields) headers_.resize(kKeptFields);
  for (Header& h : headers_) {
    if (h.name.capacity() > kKeptFieldBytes) std::string().swap(h.name);
    if (h.value.capacity() > kKeptFieldBytes) std::string().swap(h.value);
  }
  header_count_ = 0;
  reason_.clear();
  status_ = 0;
  content_length_ = -1;
  started_ = head_complete_ = chunked_ = keep_alive_ = last_was_value_ = interim_ = false;
  interim_count_ = 0;
  fold_.reset();
}

ResponseFeed ResponseParser::feed(const char* data, size_t len, std::string* body) {
  body_ = body;
  feed_begin_ = data;
  const llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  body_ = nullptr;
  fold_.after_feed(data, err == HPE_PAUSED ? size_t(llhttp_get_error_pos(&parser_) - data) : len);
  ResponseFeed result;
  if (err == HPE_OK) {
    result.consumed = len;
  } else if (err == HPE_PAUSED) {
    result.state = ResponseState::Complete;
    result.consumed = size_t(llhttp_get_error_pos(&parser_) - data);
  } else {
    result.state = ResponseState::Error;
  }
  return result;
}

ResponseState ResponseParser::finish() {
  if (!head_complete_) return ResponseState::Error;
  const llhttp_errno_t err = llhttp_finish(&parser_);
  if (err == HPE_PAUSED) {  // on_message_complete ran for a close-delimited body
    keep_alive_ = false;
    return ResponseState::Complete;
  }
  return ResponseState::Error;
}

}  // namespace ringgate::http
