#pragma once
// The proxy side of one HTTP/2 client connection. Each stream is one request: gated as
// an HTTP/1.1 request is (request_gate), then proxied through its own Exchange, with the
// same admission, routing, attempts, migration, P/D, hedging and flow control. Its reply
// is written by the Exchange's ClientReply in the Frames framing into the stream's own
// buffer; this object turns the reply's head into HEADERS and lets http::H2Session send
// the body as DATA as the client's windows allow. A stream reset by the client is a
// client gone (its upstream connection closed, its slot freed). The ClientConnection
// keeps the socket, TLS and the connection's deadlines, and hands this object its bytes.
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringgate/http/h2_session.h"
#include "ringgate/net/timeout_list.h"
#include "ringgate/proxy/exchange.h"

namespace ringgate::proxy {

struct ClientRuntime;

// What the connection lends its HTTP/2 side.
class H2Transport {
 public:
  virtual ~H2Transport() = default;
  virtual std::string& h2_output() = 0;  // bytes queued for the socket
  virtual http::H2Gather& h2_gather() = 0;  // and DATA payloads sent with them (http::H2Session::gather_into)
  virtual void h2_flush() = 0;           // send at this turn's end
};

class H2Connection final : public http::H2Streams, public net::TimerTarget {
 public:
  H2Connection(ClientRuntime& runtime, H2Transport& transport);
  ~H2Connection() override;
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  // Bytes from the client. false: the connection is over (send what is queued, close).
  bool receive(const char* data, size_t len);
  // Frames for what the streams have ready, into the transport's output while it holds
  // less than `room`. false: the session failed (close now).
  bool send(size_t room);
  // Nothing is left to say on either side: close.
  bool done() const { return session_.done(); }
  size_t open_streams() const { return streams_.size(); }

  // The gateway drains: GOAWAY, open streams finish.
  void drain_started();
  // No stream was open for timeouts.clientIdle: GOAWAY, then the connection closes.
  void idle_timeout();
  // The drain deadline passed: every open stream ends visibly now.
  void cut_at_shutdown();

  // http::H2Streams
  http::H2Stream* h2_open(int32_t id) override;
  void h2_request(http::H2Stream& stream) override;
  void h2_sent(http::H2Stream& stream) override;
  void h2_closed(http::H2Stream& stream, uint32_t error_code) override;
  // net::TimerTarget: streams whose client took nothing for timeouts.clientWrite.
  void on_timer(net::Timer& timer) override;

 private:
  struct Stream;
  Stream& stream_of(http::H2Stream& h2);
  // The stream's reply has more in its buffer: its head goes out as HEADERS once whole,
  // its body as DATA.
  void reply_ready(Stream& stream);
  // The gateway's own answer on a stream (a refused request, the model list).
  void answer(Stream& stream, int status, std::string_view code, std::string_view message, std::string_view headers);
  void reset(Stream& stream, uint32_t error_code);
  // Streams closed since the last call: kept as spares when their exchange ended by itself
  // (while the worker keeps fewer than kSpareStreamsPerWorker, or than it has streams open),
  // else freed.
  void recycle_closed();
  // Room in `out` for the frames the streams hold (up to `room` and a frame), at once.
  // Streams whose output all went leave writing_.
  void reserve_output(std::string& out, size_t room);
  void publish_counts();
  void arm_stall_check();

  ClientRuntime& rt_;
  H2Transport& transport_;
  http::H2Session session_;
  std::unordered_map<int32_t, std::unique_ptr<Stream>> streams_;
  std::vector<std::unique_ptr<Stream>> closed_;  // freed (or kept) outside any of their exchanges' calls
  std::vector<std::unique_ptr<Stream>> spare_;   // closed streams kept for the next ones (recycle_closed)
  // The open streams given output since they last had none to send: only they can hold
  // any (a connection's other streams wait for their answers), and they are the ones in
  // cache. With 100 streams a connection, walking them all at each send cost 1% of a worker.
  std::vector<Stream*> writing_;
  http::Headers head_fields_;  // a reply head's fields, as HEADERS takes them (kept: their room is reused)
  net::Timer stall_timer_{this, 0};
  // What the session's counts were when last added to the worker's counters.
  size_t published_streams_ = 0, published_client_resets_ = 0, published_gateway_resets_ = 0;
  std::array<uint64_t, size_t(http::H2Bound::Count)> published_bounds_{};
  std::array<uint64_t, size_t(http::H2GoawayReason::Count)> published_goaways_{};
};

}  // namespace ringgate::proxy
