#include "ringgate/proxy/h2_connection.h"

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <charconv>
#include <utility>

#include "ringgate/http/error_response.h"
#include "ringgate/proxy/client_connection.h"
#include "ringgate/proxy/request_gate.h"

namespace ringgate::proxy {

namespace {

http::H2Limits limits_of(const ProxyOptions& options) {
  http::H2Limits limits = options.http2;
  limits.request = options.limits;
  return limits;
}

// Fields of an HTTP/1.1 head that HTTP/2 has no place for (RFC 9113 §8.2.2).
bool connection_specific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" || name == "transfer-encoding" ||
         name == "upgrade" || name == "te";
}

// The head the reply wrote as HTTP/1.1 text ("HTTP/1.1 200 OK\r\n" + field lines + a
// blank line, all of it the gateway's own writing): its status and fields, into the first
// `count` entries of `fields` (kept between replies: their strings' room is reused, no
// allocation a reply). Returns the head's length, 0 while it is not whole.
size_t read_reply_head(std::string_view text, int& status, http::Headers& fields, size_t& count) {
  const size_t end = text.find("\r\n\r\n");
  if (end == std::string_view::npos) return 0;
  count = 0;
  const size_t first = text.find("\r\n");
  status = 0;
  if (first >= 12) std::from_chars(text.data() + 9, text.data() + 12, status);
  for (size_t at = first + 2; at < end + 2;) {
    const size_t line_end = text.find("\r\n", at);
    const std::string_view line = text.substr(at, line_end - at);
    at = line_end + 2;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (count == fields.size()) fields.emplace_back();
    http::Header& field = fields[count];
    field.name.clear();
    http::append_lower(field.name, line.data(), colon);
    if (connection_specific(field.name)) continue;
    field.value.assign(http::trim_field_value(line.substr(colon + 1)));
    ++count;
  }
  return end + 4;
}

}  // namespace

// One stream: its framing state (http::H2Stream), its request's Exchange, and the
// ExchangeClient that Exchange writes through.
struct H2Connection::Stream final : ExchangeClient {
  explicit Stream(H2Connection& c) : conn(c), exchange(*c.rt_.exchange_env, *this) {}
  ~Stream() override = default;

  std::string& output() override { return h2.out; }
  void flush() override { conn.reply_ready(*this); }
  void exchange_finished(bool /*keep_alive*/) override {
    h2.answer_ended = true;
    conn.reply_ready(*this);
  }
  void exchange_aborted() override {
    reusable = false;
    conn.reset(*this, NGHTTP2_INTERNAL_ERROR);
  }
  bool frames_body() const override { return true; }

  // Ready for another stream of the connection, its request's and answer's buffers keeping
  // their room (up to kKeptBufferBytes, kKeptOutputBytes), its Exchange's too, as an HTTP/1.1
  // connection's one Exchange keeps them from request to request.
  void renew();

  H2Connection& conn;
  http::H2Stream h2;
  Exchange exchange;
  uint64_t started_ms = 0;
  bool head_only = false;  // a HEAD request: its answer's body is not sent
  bool reusable = true;    // its exchange ended by itself (was never told its client went)
  bool writing = false;    // in the connection's writing_ (until its output all went, or it closed)
};

namespace {
// A spare stream keeps its request's buffer up to this size; a larger one is freed.
constexpr size_t kKeptBufferBytes = 16 * 1024;
// ... and its answer's up to this (the 64 KiB an HTTP/1.1 connection keeps for its
// output): a token stream's answer arrives in reads of tens of KB, and a buffer started
// small again would grow by doubling for every stream, copying itself each time.
constexpr size_t kKeptOutputBytes = 64 * 1024;
// Closed streams the worker's HTTP/2 connections keep for their next ones, together
// (each ~10 KB, its Exchange, and its buffers up to the sizes above): this many, or as
// many as the worker has streams open, so spares never hold more than the open streams
// hold. A fixed 256 was too few for 1,000 streams in flight on ten connections: the
// connections whose answers ended first kept the spares, and the others built each new
// stream's Exchange afresh (6% of the worker's CPU in perf/proxy/h2.sh's wide case).
constexpr size_t kSpareStreamsPerWorker = 256;
}  // namespace

void H2Connection::Stream::renew() {
  http::Request request = std::move(h2.request);
  std::string out = std::move(h2.out);
  h2 = http::H2Stream{};
  request.target.clear();
  request.headers.clear();
  if (request.body.capacity() > kKeptBufferBytes) request.body.release();
  request.body.clear();
  out.clear();
  if (out.capacity() > kKeptOutputBytes) out.shrink_to_fit();
  h2.request.target = std::move(request.target);
  h2.request.headers = std::move(request.headers);
  h2.request.body = std::move(request.body);
  h2.out = std::move(out);
  started_ms = 0;
  head_only = false;
  reusable = true;
}

H2Connection::H2Connection(ClientRuntime& runtime, H2Transport& transport)
    : rt_(runtime),
      transport_(transport),
      session_(limits_of(*runtime.options), *this, transport.h2_output(), runtime.exchange_env->now_ms) {
  session_.gather_into(&transport.h2_gather());
  rt_.counters->http2_connections.add();
}

H2Connection::~H2Connection() {
  // Exchanges still running end as their client went away (the upstream closes).
  for (auto& [id, stream] : streams_) stream->exchange.client_gone();
  rt_.counters->http2_streams_closed.add(streams_.size());
  rt_.counters->http2_connections_closed.add();
  rt_.h2_spare_streams -= spare_.size();
  rt_.h2_open_streams -= streams_.size();
}

H2Connection::Stream& H2Connection::stream_of(http::H2Stream& h2) { return *static_cast<Stream*>(h2.owner); }

bool H2Connection::receive(const char* data, size_t len) {
  const bool ok = session_.receive(data, len);
  publish_counts();
  transport_.h2_flush();
  return ok;
}

bool H2Connection::send(size_t room) {
  recycle_closed();
  std::string& out = transport_.h2_output();
  if (out.size() + transport_.h2_gather().room_taken() >= room) return true;
  reserve_output(out, room);
  const bool ok = session_.send(room);
  publish_counts();
  recycle_closed();
  return ok;
}

// The output the last send took is gone with it (a large one back to the allocator): the
// next grows from small, and each doubling would copy what it holds. Room for the frames
// the streams hold, at once: their heads, and the payloads copied (smaller ones; larger
// ones stay in the streams' buffers, named in the gather).
void H2Connection::reserve_output(std::string& out, size_t room) {
  // No more than that: a reserve past the connection's kept capacity (64 KiB) would send
  // a buffer back to the allocator after every send that growth would have kept.
  constexpr size_t kFrameHead = 9, kMaxFrame = 16384;
  size_t want = out.size();
  std::erase_if(writing_, [&](Stream* stream) {
    const size_t pending = stream->h2.pending();
    if (pending == 0) {
      stream->writing = false;
      return true;
    }
    want += kFrameHead * (pending / kMaxFrame + 1);
    if (pending < http::kMinGatheredPayloadBytes) want += pending;
    return false;
  });
  out.reserve(std::min(want, room + kFrameHead + kMaxFrame));  // DATA stops past `room`
}

void H2Connection::recycle_closed() {
  // Out of writing_ first, in one pass (a send that ends a hundred answers closes a hundred).
  bool listed = false;
  for (std::unique_ptr<Stream>& stream : closed_) listed |= std::exchange(stream->writing, false);
  if (listed) std::erase_if(writing_, [](const Stream* stream) { return !stream->writing; });
  const size_t kept = std::max(kSpareStreamsPerWorker, rt_.h2_open_streams);
  for (std::unique_ptr<Stream>& stream : closed_) {
    if (!stream->reusable || stream->exchange.active() || rt_.h2_spare_streams >= kept) continue;
    stream->renew();
    spare_.push_back(std::move(stream));
    ++rt_.h2_spare_streams;
  }
  closed_.clear();  // the rest
  // Fewer streams open than before: this connection's spares past the bound go too (an idle
  // connection's go with it, at timeouts.clientIdle).
  for (; rt_.h2_spare_streams > kept && !spare_.empty(); --rt_.h2_spare_streams) spare_.pop_back();
}

http::H2Stream* H2Connection::h2_open(int32_t id) {
  std::unique_ptr<Stream> stream;
  if (spare_.empty()) {
    stream = std::make_unique<Stream>(*this);
  } else {
    stream = std::move(spare_.back());
    spare_.pop_back();
    --rt_.h2_spare_streams;
  }
  stream->started_ms = *rt_.exchange_env->now_ms;
  http::H2Stream* h2 = &stream->h2;
  h2->owner = stream.get();
  streams_.emplace(id, std::move(stream));
  ++rt_.h2_open_streams;
  return h2;
}

void H2Connection::h2_request(http::H2Stream& h2) {
  Stream& stream = stream_of(h2);
  rt_.counters->requests.add();
  http::Request& request = h2.request;
  stream.head_only = request.method == HTTP_HEAD;
  if (h2.refused_status) {
    const int status = h2.refused_status;
    const std::string_view code = status == 413   ? "body_too_large"
                                  : status == 431 ? "headers_too_large"
                                  : status == 405 ? "method_not_allowed"
                                                  : "bad_request";
    return answer(stream, status, code, h2.refused_reason, {});
  }
  GateAnswer gate = gate_request(request, *rt_.exchange_env, *rt_.counters);
  if (!gate.proxy && gate.status >= 400) return answer(stream, gate.status, gate.code, gate.message, gate.headers);
  if (!gate.proxy) {  // the model list
    rt_.counters->responses_by_class[2].add();
    http::append_response(h2.out, 200, "application/json", gate.body(), false);
    h2.answer_ended = true;
    return reply_ready(stream);
  }
  stream.exchange.body_arrived(request, /*first=*/true);
  stream.exchange.start(request, /*http11=*/true, /*keep_alive=*/true, stream.started_ms, gate.key);
}

void H2Connection::answer(Stream& stream, int status, std::string_view code, std::string_view message,
                          std::string_view headers) {
  rt_.counters->gateway_errors.add();
  rt_.counters->responses_by_class[status / 100].add();
  http::append_error(stream.h2.out, status, code, message, false, headers);
  stream.h2.answer_ended = true;
  reply_ready(stream);
}

void H2Connection::reply_ready(Stream& stream) {
  http::H2Stream& h2 = stream.h2;
  if (!stream.writing) {
    stream.writing = true;
    writing_.push_back(&stream);
  }
  if (!h2.answer_started) {
    int status = 0;
    size_t fields = 0;
    const size_t head = read_reply_head(std::string_view(h2.out).substr(h2.out_at), status, head_fields_, fields);
    if (head == 0) return;  // (the reply writes its head whole: not reached)
    h2.out_at += head;
    if (stream.head_only) h2.out.resize(h2.out_at);
    session_.submit_head(h2, status, std::span(head_fields_.data(), fields), h2.answer_ended && h2.pending() == 0);
  } else {
    if (stream.head_only) h2.out.resize(h2.out_at);
    session_.resume(h2);
  }
  arm_stall_check();
  transport_.h2_flush();
}

void H2Connection::h2_sent(http::H2Stream& h2) {
  Stream& stream = stream_of(h2);
  if (stream.exchange.active() && h2.pending() <= rt_.options->max_client_buffer_bytes / 2)
    stream.exchange.client_drained();
}

void H2Connection::h2_closed(http::H2Stream& h2, uint32_t error_code) {
  Stream& stream = stream_of(h2);
  // Reset by the client, or by us before the answer ended: the exchange's client is gone,
  // and its server stops generating once its connection goes.
  if (stream.exchange.active()) {
    stream.reusable = false;
    stream.exchange.client_gone();
  }
  (void)error_code;
  auto it = streams_.find(h2.id);
  if (it == streams_.end()) return;
  rt_.counters->http2_streams_closed.add();
  closed_.push_back(std::move(it->second));
  streams_.erase(it);
  --rt_.h2_open_streams;
}

void H2Connection::reset(Stream& stream, uint32_t error_code) { session_.reset(stream.h2, error_code); }

void H2Connection::drain_started() {
  session_.goaway();
  transport_.h2_flush();
}

void H2Connection::idle_timeout() {
  session_.goaway(http::H2GoawayReason::Idle);
  transport_.h2_flush();
}

void H2Connection::cut_at_shutdown() {
  session_.goaway();
  std::vector<Stream*> open;
  for (auto& [id, stream] : streams_) open.push_back(stream.get());
  for (Stream* stream : open) {
    stream->reusable = false;
    if (stream->exchange.active()) stream->exchange.cut_at_shutdown();
  }
  transport_.h2_flush();
}

// A stream whose client takes none of its answer for timeouts.clientWrite (its window
// stays at zero) is reset and its exchange ends, as an HTTP/1.1 client's that stalls.
void H2Connection::on_timer(net::Timer&) {
  const uint64_t now = *rt_.exchange_env->now_ms;
  std::vector<Stream*> stalled;
  for (auto& [id, stream] : streams_) {
    const http::H2Stream& h2 = stream->h2;
    if (h2.answer_started && h2.pending() > 0 && now - h2.sent_at_ms >= rt_.options->client_write_timeout_ms)
      stalled.push_back(stream.get());
  }
  for (Stream* stream : stalled) {
    stream->reusable = false;
    if (stream->exchange.active()) stream->exchange.client_gone();
    reset(*stream, NGHTTP2_CANCEL);
  }
  arm_stall_check();
  transport_.h2_flush();
}

void H2Connection::arm_stall_check() {
  if (stall_timer_.armed()) return;
  for (const Stream* stream : writing_) {
    if (stream->h2.pending() == 0) continue;
    const uint64_t every = std::max<uint64_t>(rt_.options->client_write_timeout_ms / 4, 100);
    rt_.loop->timers().arm(stall_timer_, every, rt_.loop->now_ms());
    return;
  }
}

void H2Connection::publish_counts() {
  WorkerCounters& c = *rt_.counters;
  auto publish = [](Counter& counter, uint64_t now, auto& seen) {
    if (now > seen) counter.add(now - seen);
    seen = now;
  };
  publish(c.http2_streams, session_.streams_opened(), published_streams_);
  publish(c.http2_resets[0], session_.client_resets(), published_client_resets_);
  publish(c.http2_resets[1], session_.gateway_resets(), published_gateway_resets_);
  for (size_t i = 0; i < published_bounds_.size(); ++i)
    publish(c.http2_bounds[i], session_.bounds_hit()[i], published_bounds_[i]);
  for (size_t i = 0; i < published_goaways_.size(); ++i)
    publish(c.http2_goaways[i], session_.goaways()[i], published_goaways_[i]);
}

}  // namespace ringgate::proxy
