#pragma once
// The client's side of one exchange: the reply one request gets, in the client's framing.
// It holds a model server's response head until the first body byte (the commit: from
// then on a failure is visible), frames the body (chunked, Content-Length or
// close-delimited), takes the body by either relay path (decoded in place into the
// client's output, or appended), and ends the reply in one of its three ways: complete,
// with an error (a JSON error before the commit; after it, an SSE error event and the
// body's end for a chunked stream), or cut (any other body: it must look cut). The
// Exchange decides what happens; this writes it. A second framing (HTTP/2 DATA frames)
// is another writer behind this same interface.
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/http/response_parser.h"
#include "ringgate/proxy/client_response.h"
#include "ringgate/proxy/forward_head.h"
#include "ringgate/proxy/worker_counters.h"

namespace ringgate::proxy {

class ExchangeClient;
struct RaceSide;

// What the client's head carries besides the model server's fields.
struct ReplyHeadExtras {
  std::string_view request_id;
  std::string_view destination;       // x-gateway-destination-endpoint
  std::string_view headers;           // whole "name: value\r\n" lines (admission's)
  std::string_view prefill_endpoint;  // x-gateway-prefill-endpoint, when not empty
};

// How an ended reply leaves the connection.
enum class ReplyEnd {
  Complete,  // the reply is whole in the output: the connection may go on if keep_alive()
  Cut,       // the body cannot be completed: send what is queued, then cut the connection
};

class ClientReply {
 public:
  ClientReply(ExchangeClient& client, WorkerCounters& counters) : client_(client), counters_(counters) {}
  ClientReply(const ClientReply&) = delete;
  ClientReply& operator=(const ClientReply&) = delete;

  // A new request on the connection.
  void begin(bool http11, bool keep_alive);

  const ClientResponse& state() const { return response_; }
  bool started() const { return response_.started; }
  bool committed() const { return response_.committed; }
  bool keep_alive() const { return keep_alive_; }
  // The reply says `connection: close` (when its head is still to be built) and the
  // connection ends after it.
  void close_after() { keep_alive_ = false; }

  // A model server's head: the client's is built now and held until the first body byte.
  void hold_head(const http::ResponseParser& head, bool event_stream, const ReplyHeadExtras& extras);
  // Nothing of the answer whose head is held reached the client: it is dropped.
  void drop_head();
  // A racing answer's head goes aside with its side; resume() makes a side's the client's.
  void park(RaceSide& side);
  void resume(RaceSide& side);

  // Body bytes appended in the client's framing (the held head goes out first). With
  // `data` empty: only the commit (the end of an empty body).
  void append(std::string_view data);
  // The in-place path: the answer's next bytes are decoded straight into the returned
  // output, after `held` (a cut event's start, completed by them where they land).
  std::string* open_in_place(std::string_view held);
  bool in_place_open() const { return in_place_.is_open(); }
  // The bytes in place so far (held ones first).
  std::string_view in_place_bytes() const;
  // Keeps the first `kept` of them, framed; the rest is cut (held back by the caller).
  // Views of the kept bytes stay valid until end_in_place().
  void close_in_place(size_t kept);
  void end_in_place();
  // The body is complete: its terminating chunk, when chunked.
  void end_body();

  // The reply ends with an error: a JSON error `status` when nothing was committed, else an
  // SSE error event and the body's end for a chunked stream, else a cut body. `headers`:
  // whole lines for the JSON error's head.
  ReplyEnd fail(int status, std::string_view code, std::string_view message, std::string_view headers);

  size_t buffered() const;
  void flush();
  // The exchange runs again from a queue it waited in (ExchangeClient::exchange_resumed).
  void resumed();
  // The reply is over: the connection goes on or closes (Complete), or is cut (Cut).
  void finished(ReplyEnd how);

 private:
  void commit();
  void frame(std::string_view data);  // in the client's framing
  void note_tail(std::string_view data);

  ExchangeClient& client_;
  WorkerCounters& counters_;
  ClientResponse response_;
  bool http11_ = true;
  bool keep_alive_ = true;
  std::string head_;     // the client's head, held until committed
  OutputSlot in_place_;  // open from open_in_place() to close_in_place()
};

}  // namespace ringgate::proxy
