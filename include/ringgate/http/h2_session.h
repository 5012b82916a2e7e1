#pragma once
// The server side of one HTTP/2 connection's framing (RFC 9113): libnghttp2 as the frame
// and HPACK engine, fed from the ring (bytes in through receive(), frames out appended to
// the connection's output by send()), never its own I/O. It assembles each stream's
// request into an http::Request under the same limits as HTTP/1.1, keeps the
// connection's bounds (streams, CONTINUATION frames, resets and control frames per
// second, the HPACK table), and writes each stream's answer as HEADERS and DATA frames
// from that stream's own buffer: one stream that reads slowly waits alone.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/http/request_parser.h"

struct nghttp2_session;

namespace ringgate::http {

struct H2Limits {
  uint32_t max_concurrent_streams = 100;
  uint32_t stream_window_bytes = 2u << 20;       // what a client may send on a stream ahead of us
  uint32_t connection_window_bytes = 16u << 20;  // and on the connection
  uint32_t max_resets_per_second = 100;          // RST_STREAM from the client (Rapid Reset)
  uint32_t max_continuation_frames = 32;         // per header block
  uint32_t max_control_frames_per_second = 100;  // SETTINGS + PING from the client
  RequestLimits request;                         // header list (decoded) and body bytes
  // Each stream's request is reported once its head is whole, and its body handed over
  // as it comes (H2Streams::h2_body, h2_body_end), not gathered: gRPC's streams. The
  // owner bounds what it keeps (request.max_body_bytes is not applied).
  bool stream_bodies = false;
};

// The bounds a connection met, one counter each (H2Session::bounds_hit).
enum class H2Bound : uint8_t { Streams, HeaderBytes, BodyBytes, Continuations, Resets, ControlFrames, Count };
inline constexpr std::array<const char*, size_t(H2Bound::Count)> kH2BoundNames = {
    "streams", "header_bytes", "body_bytes", "continuations", "resets", "control_frames"};

// Why a GOAWAY went out.
enum class H2GoawayReason : uint8_t { Drain, Idle, ProtocolError, EnhanceYourCalm, Count };
inline constexpr std::array<const char*, size_t(H2GoawayReason::Count)> kH2GoawayReasonNames = {
    "drain", "idle", "protocol_error", "enhance_your_calm"};

// One stream's two directions as the session reads and writes them: plain data, kept by
// the stream's owner (H2Streams) for as long as the stream lives.
struct H2Stream {
  int32_t id = 0;
  void* owner = nullptr;  // the H2Streams implementation's object for this stream
  // The request, as it arrives.
  Request request;
  size_t header_bytes = 0;
  int refused_status = 0;  // 405, 413 or 431: answered so on this stream, nothing proxied
  std::string_view refused_reason;
  bool request_ended = false;  // END_STREAM from the client
  bool reported = false;       // H2Streams::h2_request was called
  bool has_method = false, has_path = false;
  // The answer: `out` from `out_at` is what the session still has to send as DATA.
  std::string out;
  size_t out_at = 0;
  bool answer_started = false;  // HEADERS submitted
  bool answer_ended = false;    // the body is whole in `out`: END_STREAM after it
  bool deferred = false;        // the session waits for more of `out`
  // Fields sent as trailers after the last DATA (answer_ended): gRPC's status.
  std::span<const Header> trailers;
  uint64_t sent_at_ms = 0;  // the last DATA went out, the answer began, or bytes came after a wait for them
  uint32_t lent = UINT32_MAX;  // during a send(): its `out` is H2Gather::buffers[lent] once the send ends
  size_t pending() const { return out.size() - out_at; }
};

// DATA payloads left where they lie instead of copied after their frame heads into the
// session's output (H2Session::gather_into): the owner writes `out` and these payloads,
// in order, as one gathered send (sendmsg), and the answer's bytes are not copied on
// their way to the socket. At the end of a send() (or when a stream closes during one)
// each stream whose bytes a payload names gives its buffer to `buffers` and takes a
// spare in its place (with the bytes no frame took yet), so that what the stream
// receives next cannot move the bytes on the wire.
// A smaller payload is copied (a stream's first frame; those after it follow it).
inline constexpr size_t kMinGatheredPayloadBytes = 4096;
struct H2Gather {
  struct Payload {
    size_t after;     // the payload follows the output's first `after` bytes
    uint32_t buffer;  // in buffers
    size_t at, len;
  };
  std::vector<Payload> payloads;     // in wire order
  std::vector<std::string> buffers;  // [0, lent): the payloads' bytes; the rest spares
  uint32_t lent = 0;
  size_t payload_bytes = 0;
  // Spares shared with other connections (the worker's), up to pool_limit: a connection
  // that goes idle keeps none of its own (null: spares past release()'s `kept` are freed).
  std::vector<std::string>* pool = nullptr;
  size_t pool_limit = 0;
  bool empty() const { return payloads.empty(); }
  // What the payloads count against H2Session::send()'s room: a quarter of their bytes.
  // They hold no memory of the output's own, and a stream whose frames stop short of its
  // bytes (the room met) lends its buffer all the same and copies the rest into a spare:
  // 16 token streams' reads of tens of KB each fit one send whole.
  size_t room_taken() const { return payload_bytes / 4; }
  // The socket took it all (the owner clears the output with it): the buffers are spares,
  // `kept` of them at most (each up to 64 KiB), the rest to the pool or freed.
  void release(size_t kept);
  // Room for the payloads of one more stream's buffer (a spare: kept, from the pool, or new).
  void add_buffer();
};

// What the session tells the connection's owner, and asks it for.
class H2Streams {
 public:
  virtual ~H2Streams() = default;
  // A stream opens: where its request goes (null: refused, REFUSED_STREAM).
  virtual H2Stream* h2_open(int32_t id) = 0;
  // Its request is complete (or refused: refused_status says so, and why). With
  // H2Limits::stream_bodies: its head is, and the body follows through h2_body.
  virtual void h2_request(H2Stream& stream) = 0;
  // With H2Limits::stream_bodies: bytes of the request's body as they come, then its end.
  virtual void h2_body(H2Stream& /*stream*/, const char* /*data*/, size_t /*len*/) {}
  virtual void h2_body_end(H2Stream& /*stream*/) {}
  // Bytes of its answer went out.
  virtual void h2_sent(H2Stream& stream) = 0;
  // The stream is over: its answer ended and the client's request too (error_code 0), or
  // either side reset it. The H2Stream may go once this returns.
  virtual void h2_closed(H2Stream& stream, uint32_t error_code) = 0;
};

class H2Session {
 public:
  // `out`: the connection's output (frames are appended). `now_ms`: the worker's clock.
  H2Session(const H2Limits& limits, H2Streams& streams, std::string& out, const uint64_t* now_ms);
  ~H2Session();
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Bytes from the client (the connection preface first). false: the connection is
  // over (a connection error: its GOAWAY is queued; send() then close).
  bool receive(const char* data, size_t len);
  // Appends what is ready to go to `out`, DATA while `out` holds less than `room` (one
  // frame may pass it; the rest waits for the next call). false: the session failed
  // (close at once). With a gather (gather_into), DATA payloads go there, and count
  // towards `room` as H2Gather::room_taken() says.
  bool send(size_t room = SIZE_MAX);
  // DATA payloads are left in their streams' buffers and named in `gather` (null: copied
  // into `out`). The owner sends `out` and `gather` together and releases both at once.
  void gather_into(H2Gather* gather) { gather_ = gather; }
  // Neither side has anything left to say: close the connection.
  bool done() const;

  // The head of `stream`'s answer: ":status" then the fields (lower-case names). With
  // `end_stream` the answer has no body.
  void submit_head(H2Stream& stream, int status, std::span<const Header> fields, bool end_stream);
  // More of the stream's answer is in `out` (or answer_ended was set, and with it maybe
  // trailers: their fields must stay put until the stream closes).
  void resume(H2Stream& stream);
  // Resets a stream (the client hears RST_STREAM `error_code`).
  void reset(H2Stream& stream, uint32_t error_code);
  // Graceful shutdown: GOAWAY (NO_ERROR, counted as `why`) with the last stream taken;
  // open streams finish.
  void goaway(H2GoawayReason why = H2GoawayReason::Drain);
  bool going_away() const { return going_away_; }

  size_t streams_opened() const { return streams_opened_; }
  size_t client_resets() const { return client_resets_; }
  size_t gateway_resets() const { return gateway_resets_; }
  size_t open_streams() const { return open_streams_; }
  const std::array<uint64_t, size_t(H2Bound::Count)>& bounds_hit() const { return bounds_hit_; }
  const std::array<uint64_t, size_t(H2GoawayReason::Count)>& goaways() const { return goaways_; }

 private:
  friend struct H2Callbacks;
  // Events per second: true once `limit` is passed within a second of a window's first.
  struct RateWindow {
    uint64_t started_ms = 0;
    uint32_t count = 0;
    bool over(uint64_t now_ms, uint32_t limit);
  };
  void fail_connection(uint32_t error_code, H2Bound bound);
  bool reset_by_us(int32_t id) const;  // among the last streams the gateway reset
  // DATA of `stream` after its frame head: named in the gather, or copied into out_.
  void put_payload(H2Stream& stream, size_t length);
  // A stream whose bytes the gather names gives it its buffer (the send ended, or the stream closed).
  void settle(H2Stream& stream);
  size_t output_size() const { return out_.size() + (gather_ != nullptr ? gather_->room_taken() : 0); }

  H2Limits limits_;
  H2Streams& streams_;
  std::string& out_;
  H2Gather* gather_ = nullptr;
  std::vector<H2Stream*> lenders_;  // during a send(): the streams gather_->buffers[i] is for (null: settled)
  const uint64_t* now_ms_;
  nghttp2_session* session_ = nullptr;
  RateWindow resets_, control_frames_;
  int32_t highest_stream_id_ = 0;  // the highest id the client opened a stream with
  std::array<int32_t, 32> our_resets_{};
  size_t streams_opened_ = 0, client_resets_ = 0, gateway_resets_ = 0, open_streams_ = 0;
  std::array<uint64_t, size_t(H2Bound::Count)> bounds_hit_{};
  std::array<uint64_t, size_t(H2GoawayReason::Count)> goaways_{};
  H2GoawayReason goaway_reason_ = H2GoawayReason::Drain;  // of our NO_ERROR GOAWAY
  size_t send_room_ = SIZE_MAX;                           // send()'s bound on `out_` for DATA
  bool going_away_ = false;
  bool failed_ = false;
};

// The connection preface a client with prior knowledge starts with (RFC 9113 §3.4).
inline constexpr std::string_view kH2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

}  // namespace ringgate::http
