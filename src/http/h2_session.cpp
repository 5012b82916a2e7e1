#include "ringgate/http/h2_session.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <vector>

#include "ringgate/http/headers.h"

namespace ringgate::http {

namespace {

// The HPACK dynamic table each side may keep (RFC 9113 §6.5.2's default): the client's
// SETTINGS cannot make ours larger, and ours says so to the client.
constexpr uint32_t kHpackTableBytes = 4096;

std::string_view as_view(const uint8_t* p, size_t n) { return {reinterpret_cast<const char*>(p), n}; }

// Fields the encoder must not add to the HPACK dynamic table: a value new on every answer
// (x-request-id) only pushes out what repeats, and nghttp2 files every entry of one name in one
// bucket, so each later lookup walked ~50 of them (111 memcmp calls an answer; 9% of a small
// request's instructions, perf/proxy/README.md). Secrets are never indexed either (RFC 7541 §7.1.3).
uint8_t hpack_flags(std::string_view name) {
  return iequals(name, "x-request-id") || iequals(name, "set-cookie") ? NGHTTP2_NV_FLAG_NO_INDEX : NGHTTP2_NV_FLAG_NONE;
}

// The methods an HTTP/1.1 request may carry here (llhttp's numbering); others are refused.
bool method_of(std::string_view name, llhttp_method_t& out) {
  struct Known {
    std::string_view name;
    llhttp_method_t method;
  };
  static constexpr Known kKnown[] = {{"GET", HTTP_GET},    {"POST", HTTP_POST},     {"HEAD", HTTP_HEAD},
                                     {"PUT", HTTP_PUT},    {"DELETE", HTTP_DELETE}, {"OPTIONS", HTTP_OPTIONS},
                                     {"PATCH", HTTP_PATCH}};
  for (const Known& k : kKnown)
    if (k.name == name) {
      out = k.method;
      return true;
    }
  return false;
}

}  // namespace

bool H2Session::RateWindow::over(uint64_t now_ms, uint32_t limit) {
  if (count == 0 || now_ms - started_ms >= 1000) {  // a window opens at its first event
    started_ms = now_ms;
    count = 0;
  }
  return ++count > limit;
}

struct H2Callbacks {
  static H2Session& self(void* user) { return *static_cast<H2Session*>(user); }
  static H2Stream* stream_of(nghttp2_session* s, int32_t id) {
    return static_cast<H2Stream*>(nghttp2_session_get_stream_user_data(s, id));
  }

  static void refuse(H2Stream& st, int status, std::string_view reason) {
    if (st.refused_status) return;
    st.refused_status = status;
    st.refused_reason = reason;
  }

  static void report(H2Session& me, H2Stream& st) {
    if (st.reported) return;
    st.reported = true;
    st.request.content_length = int64_t(st.request.body.size());
    me.streams_.h2_request(st);
  }

  static int on_begin_headers(nghttp2_session* s, const nghttp2_frame* frame, void* user) {
    H2Session& me = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
    const int32_t id = frame->hd.stream_id;
    H2Stream* st = me.streams_.h2_open(id);
    if (st == nullptr) {
      nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_REFUSED_STREAM);
      me.our_resets_[me.gateway_resets_ % me.our_resets_.size()] = id;
      ++me.gateway_resets_;
      return 0;
    }
    st->id = id;
    st->request.version_major = 2;
    st->request.version_minor = 0;
    st->request.keep_alive = true;
    ++me.open_streams_;
    ++me.streams_opened_;
    nghttp2_session_set_stream_user_data(s, id, st);
    return 0;
  }

  static int on_header(nghttp2_session* s, const nghttp2_frame* frame, const uint8_t* name_p, size_t name_len,
                       const uint8_t* value_p, size_t value_len, uint8_t /*flags*/, void* user) {
    H2Session& me = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;  // trailers: dropped
    H2Stream* st = stream_of(s, frame->hd.stream_id);
    if (st == nullptr || st->refused_status) return 0;
    // Counted as the HTTP/1.1 field line it stands for, against the same limit.
    st->header_bytes += name_len + value_len + 4;
    if (st->header_bytes > me.limits_.request.max_header_bytes) {
      ++me.bounds_hit_[size_t(H2Bound::HeaderBytes)];
      refuse(*st, 431, "request header fields too large");
      st->request.headers.clear();
      return 0;
    }
    const std::string_view name = as_view(name_p, name_len);
    const std::string_view value = trim_field_value(as_view(value_p, value_len));
    Request& r = st->request;
    if (name.empty()) return 0;
    if (name[0] != ':') {
      r.headers.push_back({std::string(name), std::string(value)});
      return 0;
    }
    if (name == ":method") {
      st->has_method = true;
      if (!method_of(value, r.method)) refuse(*st, 405, "method not allowed");
    } else if (name == ":path") {
      st->has_path = true;
      r.target.assign(value);
    } else if (name == ":authority") {
      r.headers.push_back({"host", std::string(value)});
    }
    return 0;
  }

  static int on_data_chunk(nghttp2_session* s, uint8_t /*flags*/, int32_t id, const uint8_t* data, size_t len,
                           void* user) {
    H2Session& me = self(user);
    H2Stream* st = stream_of(s, id);
    if (st == nullptr || st->refused_status) return 0;
    if (me.limits_.stream_bodies) {
      if (st->reported) me.streams_.h2_body(*st, reinterpret_cast<const char*>(data), len);
      return 0;
    }
    if (st->request.body.size() + len > me.limits_.request.max_body_bytes) {
      ++me.bounds_hit_[size_t(H2Bound::BodyBytes)];
      refuse(*st, 413, "request body too large");
      st->request.body.release();
      report(me, *st);  // answered now; the rest of the body is read and dropped
      return 0;
    }
    st->request.body.append(reinterpret_cast<const char*>(data), len);
    return 0;
  }

  static int on_frame_recv(nghttp2_session* s, const nghttp2_frame* frame, void* user) {
    H2Session& me = self(user);
    const bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
    switch (frame->hd.type) {
      case NGHTTP2_HEADERS:
      case NGHTTP2_DATA: {
        H2Stream* st = stream_of(s, frame->hd.stream_id);
        if (st == nullptr) break;
        if (end_stream) st->request_ended = true;
        if (me.limits_.stream_bodies && !st->refused_status) {
          const bool head = frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST;
          if (head && !(st->has_method && st->has_path)) {
            refuse(*st, 400, "a request needs :method and :path");
            report(me, *st);
            break;
          }
          if (head) report(me, *st);
          if (end_stream && st->reported) me.streams_.h2_body_end(*st);
          break;
        }
        // A refused head is answered once it is whole; a request, once its body is.
        if (st->refused_status || (st->request_ended && !(st->has_method && st->has_path) && !st->reported)) {
          refuse(*st, 400, "a request needs :method and :path");
          report(me, *st);
        } else if (st->request_ended) {
          report(me, *st);
        }
        break;
      }
      case NGHTTP2_RST_STREAM:
        ++me.client_resets_;
        if (me.resets_.over(*me.now_ms_, me.limits_.max_resets_per_second))
          me.fail_connection(NGHTTP2_ENHANCE_YOUR_CALM, H2Bound::Resets);
        break;
      case NGHTTP2_SETTINGS:
      case NGHTTP2_PING:
        if (frame->hd.flags & NGHTTP2_FLAG_ACK) break;
        if (me.control_frames_.over(*me.now_ms_, me.limits_.max_control_frames_per_second))
          me.fail_connection(NGHTTP2_ENHANCE_YOUR_CALM, H2Bound::ControlFrames);
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_frame_send(nghttp2_session* s, const nghttp2_frame* frame, void* user) {
    H2Session& me = self(user);
    if (frame->hd.type == NGHTTP2_GOAWAY) {
      const uint32_t code = frame->goaway.error_code;
      const H2GoawayReason why = code == NGHTTP2_NO_ERROR            ? me.goaway_reason_
                                 : code == NGHTTP2_ENHANCE_YOUR_CALM ? H2GoawayReason::EnhanceYourCalm
                                                                     : H2GoawayReason::ProtocolError;
      ++me.goaways_[size_t(why)];
      return 0;
    }
    // An answer that ended before its request did: the client may stop sending (RFC 9113 §8.1).
    if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
        (frame->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
      H2Stream* st = stream_of(s, frame->hd.stream_id);
      if (st != nullptr && !st->request_ended)
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_NO_ERROR);
    }
    return 0;
  }

  static int on_stream_close(nghttp2_session* s, int32_t id, uint32_t error_code, void* user) {
    H2Session& me = self(user);
    H2Stream* st = stream_of(s, id);
    if (st == nullptr) return 0;
    me.settle(*st);  // (its owner may free it now)
    nghttp2_session_set_stream_user_data(s, id, nullptr);
    --me.open_streams_;
    me.streams_.h2_closed(*st, error_code);
    return 0;
  }

  // nghttp2 keeps SETTINGS_MAX_CONCURRENT_STREAMS itself: a stream past it is refused
  // (REFUSED_STREAM) until the client acknowledged the setting, a connection error
  // (PROTOCOL_ERROR) after, as RFC 9113 §5.1.2 allows; counted here.
  static int on_invalid_frame(nghttp2_session*, const nghttp2_frame* frame, int, void* user) {
    H2Session& me = self(user);
    if (frame->hd.type == NGHTTP2_HEADERS && me.open_streams_ >= me.limits_.max_concurrent_streams)
      ++me.bounds_hit_[size_t(H2Bound::Streams)];
    return 0;
  }

  // HEADERS that would open a stream whose id is not above every id the client used
  // (RFC 9113 §5.1.1): a connection error. nghttp2 ignores such a block when it no longer
  // remembers the stream; trailers of an open stream, and HEADERS racing a RST_STREAM the
  // gateway sent, are not this.
  static int on_begin_frame(nghttp2_session* s, const nghttp2_frame_hd* hd, void* user) {
    H2Session& me = self(user);
    if (hd->type != NGHTTP2_HEADERS || hd->stream_id % 2 == 0) return 0;  // even ids: nghttp2's own error
    if (hd->stream_id > me.highest_stream_id_) {
      me.highest_stream_id_ = hd->stream_id;
      return 0;
    }
    if (stream_of(s, hd->stream_id) != nullptr || me.reset_by_us(hd->stream_id)) return 0;
    if (!me.failed_) {
      me.failed_ = true;
      nghttp2_session_terminate_session(s, NGHTTP2_PROTOCOL_ERROR);
    }
    return 0;
  }

  static ssize_t send_frames(nghttp2_session*, const uint8_t* data, size_t len, int, void* user) {
    self(user).out_.append(reinterpret_cast<const char*>(data), len);
    return ssize_t(len);
  }

  // DATA from the stream's own buffer, written straight into the connection's output
  // after its frame header (NO_COPY: no copy through nghttp2's buffer).
  static ssize_t read_answer(nghttp2_session* session, int32_t, uint8_t*, size_t length, uint32_t* flags,
                             nghttp2_data_source* source, void*) {
    H2Stream& st = *static_cast<H2Stream*>(source->ptr);
    const size_t n = std::min(length, st.pending());
    if (n == 0 && !st.answer_ended) {
      st.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
    *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == st.pending() && st.answer_ended) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (!st.trailers.empty()) {
        std::array<nghttp2_nv, 8> nva;
        size_t count = 0;
        for (const Header& h : st.trailers) {
          if (count == nva.size()) break;
          nva[count++] = nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(h.name.data())),
                                    reinterpret_cast<uint8_t*>(const_cast<char*>(h.value.data())), h.name.size(),
                                    h.value.size(), NGHTTP2_NV_FLAG_NONE};
        }
        if (nghttp2_submit_trailer(session, st.id, nva.data(), count) == 0) *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
      }
    }
    return ssize_t(n);
  }

  static int send_data(nghttp2_session*, nghttp2_frame* /*frame*/, const uint8_t* frame_head, size_t length,
                       nghttp2_data_source* source, void* user) {
    H2Session& me = self(user);
    if (me.output_size() >= me.send_room_) return NGHTTP2_ERR_WOULDBLOCK;  // this frame goes at the next send()
    H2Stream& st = *static_cast<H2Stream*>(source->ptr);
    // (Never padded: no padding callback is set, so frame->data.padlen is 0.)
    me.out_.append(reinterpret_cast<const char*>(frame_head), 9);
    me.put_payload(st, length);
    st.sent_at_ms = *me.now_ms_;
    me.streams_.h2_sent(st);
    return 0;
  }
};

H2Session::H2Session(const H2Limits& limits, H2Streams& streams, std::string& out, const uint64_t* now_ms)
    : limits_(limits), streams_(streams), out_(out), now_ms_(now_ms) {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_send_callback(cbs, H2Callbacks::send_frames);
  nghttp2_session_callbacks_set_send_data_callback(cbs, H2Callbacks::send_data);
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, H2Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, H2Callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, H2Callbacks::on_data_chunk);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, H2Callbacks::on_frame_recv);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, H2Callbacks::on_frame_send);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, H2Callbacks::on_stream_close);
  nghttp2_session_callbacks_set_on_invalid_frame_recv_callback(cbs, H2Callbacks::on_invalid_frame);
  nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, H2Callbacks::on_begin_frame);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_max_continuations(opt, limits_.max_continuation_frames);
  nghttp2_option_set_max_deflate_dynamic_table_size(opt, kHpackTableBytes);
  // nghttp2's own Rapid Reset guard stays behind ours (ours counts and names the bound).
  const uint64_t resets = 2 * uint64_t(limits_.max_resets_per_second) + 16;
  nghttp2_option_set_stream_reset_rate_limit(opt, resets, resets);
  nghttp2_session_server_new2(&session_, cbs, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cbs);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits_.stream_window_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, uint32_t(limits_.request.max_header_bytes)},
      {NGHTTP2_SETTINGS_HEADER_TABLE_SIZE, kHpackTableBytes},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, int32_t(limits_.connection_window_bytes));
}

H2Session::~H2Session() { nghttp2_session_del(session_); }

void H2Session::fail_connection(uint32_t error_code, H2Bound bound) {
  if (failed_) return;
  ++bounds_hit_[size_t(bound)];
  failed_ = true;
  nghttp2_session_terminate_session(session_, error_code);
}

bool H2Session::receive(const char* data, size_t len) {
  if (failed_) return false;
  const ssize_t n = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), len);
  if (n < 0) {
    if (n == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS)
      fail_connection(NGHTTP2_ENHANCE_YOUR_CALM, H2Bound::Continuations);
    else if (n == NGHTTP2_ERR_FLOODED)
      fail_connection(NGHTTP2_ENHANCE_YOUR_CALM, H2Bound::ControlFrames);
    else if (!failed_) {
      failed_ = true;
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
    }
  }
  return !failed_;
}

bool H2Session::send(size_t room) {
  send_room_ = room;
  const bool ok = nghttp2_session_send(session_) == 0;
  for (H2Stream* stream : lenders_)
    if (stream != nullptr) settle(*stream);
  lenders_.clear();
  return ok;
}

// A gather names at most this many payloads a send (sendmsg's iovecs: two a payload);
// past it they are copied.
constexpr size_t kMaxGatheredPayloads = 256;

void H2Session::put_payload(H2Stream& stream, size_t length) {
  const bool gathered = gather_ != nullptr && gather_->payloads.size() < kMaxGatheredPayloads &&
                        (stream.lent != UINT32_MAX || length >= kMinGatheredPayloadBytes);
  if (!gathered) {
    out_.append(stream.out, stream.out_at, length);
    stream.out_at += length;
    if (stream.out_at == stream.out.size()) {
      stream.out.clear();
      stream.out_at = 0;
    }
    return;
  }
  if (stream.lent == UINT32_MAX) {
    stream.lent = gather_->lent++;
    if (gather_->buffers.size() < gather_->lent) gather_->add_buffer();
    if (lenders_.size() < gather_->lent) lenders_.resize(gather_->lent, nullptr);
    lenders_[stream.lent] = &stream;
  }
  gather_->payloads.push_back({out_.size(), stream.lent, stream.out_at, length});
  gather_->payload_bytes += length;
  stream.out_at += length;
}

void H2Session::settle(H2Stream& stream) {
  if (stream.lent == UINT32_MAX) return;
  std::string& lent = gather_->buffers[stream.lent];
  if (stream.lent < lenders_.size()) lenders_[stream.lent] = nullptr;
  stream.lent = UINT32_MAX;
  lent.swap(stream.out);                   // (the spare was empty)
  stream.out.append(lent, stream.out_at);  // what no frame took yet
  stream.out_at = 0;
}

void H2Gather::add_buffer() {
  if (pool == nullptr || pool->empty()) {
    buffers.emplace_back();
    return;
  }
  buffers.push_back(std::move(pool->back()));
  pool->pop_back();
}

void H2Gather::release(size_t kept) {
  constexpr size_t kKeptSpareBytes = 64 * 1024;  // the most a stream keeps for its answer
  for (std::string& buffer : buffers) {
    buffer.clear();
    if (buffer.capacity() > kKeptSpareBytes) std::string().swap(buffer);
  }
  while (buffers.size() > kept) {
    if (pool != nullptr && pool->size() < pool_limit && buffers.back().capacity() >= kMinGatheredPayloadBytes)
      pool->push_back(std::move(buffers.back()));
    buffers.pop_back();
  }
  payloads.clear();
  lent = 0;
  payload_bytes = 0;
}

bool H2Session::done() const { return !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_); }

void H2Session::submit_head(H2Stream& stream, int status, std::span<const Header> fields, bool end_stream) {
  char status_text[4] = {char('0' + status / 100 % 10), char('0' + status / 10 % 10), char('0' + status % 10), 0};
  // On the stack for any head the gateway writes; a vector only past that.
  std::array<nghttp2_nv, 32> on_stack;
  std::vector<nghttp2_nv> on_heap;
  std::span<nghttp2_nv> nva(on_stack);
  if (fields.size() + 1 > on_stack.size()) {
    on_heap.resize(fields.size() + 1);
    nva = on_heap;
  }
  size_t count = 0;
  auto nv = [](std::string_view name, std::string_view value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
                      hpack_flags(name)};
  };
  nva[count++] = nv(":status", std::string_view(status_text, 3));
  for (const Header& h : fields) nva[count++] = nv(h.name, h.value);
  stream.answer_started = true;
  stream.sent_at_ms = *now_ms_;
  if (end_stream) {
    stream.answer_ended = true;
    nghttp2_submit_response(session_, stream.id, nva.data(), count, nullptr);
    return;
  }
  nghttp2_data_provider provider;
  provider.source.ptr = &stream;
  provider.read_callback = H2Callbacks::read_answer;
  nghttp2_submit_response(session_, stream.id, nva.data(), count, &provider);
}

void H2Session::resume(H2Stream& stream) {
  if (!stream.deferred) return;
  stream.deferred = false;
  // It waited for bytes, not for its client: a stall is counted from now.
  stream.sent_at_ms = *now_ms_;
  nghttp2_session_resume_data(session_, stream.id);
}

bool H2Session::reset_by_us(int32_t id) const {
  return std::find(our_resets_.begin(), our_resets_.end(), id) != our_resets_.end();
}

void H2Session::reset(H2Stream& stream, uint32_t error_code) {
  our_resets_[gateway_resets_ % our_resets_.size()] = stream.id;
  ++gateway_resets_;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream.id, error_code);
}

void H2Session::goaway(H2GoawayReason why) {
  if (going_away_) return;
  going_away_ = true;
  goaway_reason_ = why;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                        NGHTTP2_NO_ERROR, nullptr, 0);
}

}  // namespace ringgate::http
