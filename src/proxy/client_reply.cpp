#include "ringgate/proxy/client_reply.h"

#include "ringgate/http/error_response.h"
#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/hedge_race.h"

namespace ringgate::proxy {

namespace {

// The last two bytes relayed when they end an event (or nothing was relayed yet).
constexpr uint16_t kEventBoundary = uint16_t('\n') << 8 | '\n';

}  // namespace

void ClientReply::begin(bool http11, bool keep_alive) {
  response_ = {};
  http11_ = http11;
  keep_alive_ = keep_alive;
  head_.clear();
}

void ClientReply::hold_head(const http::ResponseParser& head, bool event_stream, const ReplyHeadExtras& extras) {
  response_.started = true;
  response_.tail = kEventBoundary;
  response_.framing = client_.frames_body() ? ClientFraming::Frames : choose_framing(head, http11_);
  if (response_.framing == ClientFraming::CloseDelimited) keep_alive_ = false;
  response_.event_stream = event_stream;
  response_.status = head.status();
  head_.clear();
  build_client_head(head_, head, response_.framing, !keep_alive_, extras.request_id, extras.destination);
  if (!extras.headers.empty()) head_.insert(head_.size() - 2, extras.headers);  // before the head's blank line
  if (!extras.prefill_endpoint.empty()) {
    std::string line = "x-gateway-prefill-endpoint: ";
    line.append(extras.prefill_endpoint).append("\r\n");
    head_.insert(head_.size() - 2, line);
  }
  if (!http11_ && keep_alive_) insert_keep_alive(head_, 0);
}

void ClientReply::drop_head() {
  if (response_.committed) return;
  response_.started = false;
  head_.clear();
}

void ClientReply::park(RaceSide& side) {
  side.response = response_;
  side.head.swap(head_);
  drop_head();
}

void ClientReply::resume(RaceSide& side) {
  response_ = side.response;
  response_.started = true;
  head_.swap(side.head);
}

void ClientReply::commit() {
  if (response_.committed) return;
  response_.committed = true;
  response_.from_model_server = true;
  const int status = response_.status;
  counters_.responses_by_class[status >= 100 && status < 600 ? status / 100 : 5].add();
  client_.output() += head_;
  head_.clear();
}

void ClientReply::note_tail(std::string_view data) {
  // Where the relayed bytes end, so that an error event can start an event of its own.
  if (data.size() >= 2)
    response_.tail = uint16_t((uint8_t(data[data.size() - 2]) << 8) | uint8_t(data.back()));
  else if (!data.empty())
    response_.tail = uint16_t((response_.tail << 8) | uint8_t(data.back()));
}

void ClientReply::append(std::string_view data) {
  commit();
  if (data.empty()) return;
  frame(data);
  note_tail(data);
}

void ClientReply::frame(std::string_view data) {
  std::string& out = client_.output();
  if (response_.framing == ClientFraming::Chunked)
    append_chunk(out, data);
  else
    out += data;
}

std::string* ClientReply::open_in_place(std::string_view held) {
  std::string& out = client_.output();
  in_place_.open(out, response_.framing == ClientFraming::Chunked);
  out += held;
  return &out;
}

std::string_view ClientReply::in_place_bytes() const {
  return std::string_view(client_.output()).substr(in_place_.body_at());
}

void ClientReply::close_in_place(size_t kept) {
  std::string& out = client_.output();
  const size_t at = in_place_.body_at();
  in_place_.close(out, kept);
  if (kept > 0) note_tail(std::string_view(out).substr(at, kept));
}

void ClientReply::end_in_place() {
  if (response_.framing == ClientFraming::Chunked) OutputSlot::append_chunk_end(client_.output());
}

void ClientReply::end_body() {
  if (response_.framing == ClientFraming::Chunked) client_.output() += "0\r\n\r\n";
}

ReplyEnd ClientReply::fail(int status, std::string_view code, std::string_view message, std::string_view headers) {
  if (!response_.committed) {
    drop_head();
    counters_.gateway_errors.add();
    counters_.responses_by_class[status / 100].add();
    response_.status = status;
    std::string& out = client_.output();
    const size_t head_start = out.size();
    http::append_error(out, status, code, message, !keep_alive_, headers);
    if (!http11_ && keep_alive_) insert_keep_alive(out, head_start);
    return ReplyEnd::Complete;
  }
  counters_.streams_broken.add();
  const bool ends_cleanly = response_.framing == ClientFraming::Chunked || response_.framing == ClientFraming::Frames;
  if (ends_cleanly && response_.event_stream) {
    // A stream ends with an error event and a proper end of its chunked body: the
    // connection stays usable (the client saw the body end cleanly, it may pool it).
    // A stream cut mid-event: a blank line first, so that an SSE client reads the error
    // as an event of its own, not as the tail of the cut one.
    std::string event = response_.tail == kEventBoundary ? "data: " : "\n\ndata: ";
    event += http::error_body(status, code, message);
    event += "\n\n";
    frame(event);
    end_body();
    return ReplyEnd::Complete;
  }
  // Any other body was cut: it must look cut (no terminating chunk, fewer bytes than its
  // Content-Length, then the connection aborted), never complete.
  return ReplyEnd::Cut;
}

size_t ClientReply::buffered() const { return client_.output().size(); }

void ClientReply::flush() { client_.flush(); }

void ClientReply::resumed() { client_.exchange_resumed(); }

void ClientReply::finished(ReplyEnd how) {
  if (how == ReplyEnd::Complete)
    client_.exchange_finished(keep_alive_);
  else
    client_.exchange_aborted();
}

}  // namespace ringgate::proxy
