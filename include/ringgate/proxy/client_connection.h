#pragma once
// The server side of one HTTP/1.1 client connection: reads and parses requests
// (pipelined ones wait their turn), answers 100-continue, keeps the head / body / idle
// deadlines and the write-stall deadline, queues the output (one send in flight),
// handles half-close, and owns the Exchange of the request being proxied. A connection
// that opens with HTTP/2's preface (or chose h2 by ALPN) hands its bytes to an
// H2Connection instead, which owns one Exchange per stream; the socket, TLS and the
// idle and write deadlines stay here.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <sys/socket.h>
#include <sys/uio.h>

#include "ringgate/http/request_parser.h"
#include "ringgate/net/loop.h"
#include "ringgate/net/recv_owner.h"
#include "ringgate/net/tls_session.h"
#include "ringgate/proxy/exchange.h"
#include "ringgate/proxy/h2_connection.h"
#include "ringgate/proxy/model_catalog.h"
#include "ringgate/proxy/proxy_options.h"
#include "ringgate/proxy/worker_counters.h"

namespace ringgate::proxy {

class ClientConnection;

// What every client connection of a worker shares.
struct ClientRuntime {
  net::Loop* loop = nullptr;
  const ProxyOptions* options = nullptr;
  WorkerCounters* counters = nullptr;
  ExchangeEnv* exchange_env = nullptr;
  bool draining = false;
  size_t clients = 0;
  ClientConnection* all = nullptr;    // every open connection (walked only when draining)
  size_t buffered_request_bytes = 0;  // unfinished request bytes held, all connections
  // Room promised to direct body receives in flight (the kernel may fill it before any
  // completion is seen): with buffered_request_bytes, kept under the buffered-bytes cap.
  size_t direct_receiving_bytes = 0;
  size_t h2_spare_streams = 0;  // closed HTTP/2 streams kept for reuse, all connections (H2Connection)
  size_t h2_open_streams = 0;   // open HTTP/2 streams, all connections: as many spares may be kept
  std::vector<std::string> h2_spare_buffers;  // for HTTP/2 streams to swap with what they lend a send (H2Gather)
};

class ClientConnection final : public net::IoHandler,
                               public net::RecvOwner,
                               public net::TimerTarget,
                               public ExchangeClient,
                               public H2Transport {
 public:
  // `tls`: the listener's TLS context (null: plain HTTP).
  ClientConnection(ClientRuntime& runtime, int fd, SSL_CTX* tls = nullptr);
  ~ClientConnection() override;

  void start();
  // Cancels everything on the socket; freed after the last completion.
  void close();
  bool closing() const { return closing_; }

  // The gateway began draining.
  void drain_started();
  // The drain deadline passed: end what is running visibly (queued behind any send in
  // flight; the worker gives those sends a short grace) and close.
  void cut_at_shutdown();

  // ExchangeClient
  std::string& output() override { return out_; }
  // Sent at the end of this turn (net::Loop::at_turn_end): the relayed bytes of every
  // receive the turn brought go in one send.
  void flush() override { rt_.loop->at_turn_end(this); }
  void exchange_finished(bool keep_alive) override;
  void exchange_aborted() override;

  // H2Transport
  std::string& h2_output() override { return out_; }
  http::H2Gather& h2_gather() override { return h2_gather_; }
  void h2_flush() override { rt_.loop->at_turn_end(this); }

  void on_completion(const net::Completion& c) override;
  // The next pipelined request starts here (request_done), then what is queued goes out.
  void on_turn_end() override;
  void on_timer(net::Timer& timer) override;

  ClientConnection* prev = nullptr;
  ClientConnection* next = nullptr;

 private:
  // Sends what out_ holds now, unless a send is in flight (its completion sends the rest).
  void send_output();
  enum class Phase : uint8_t { Reading, Proxying, Closing };
  enum class Deadline : uint8_t { None, Idle, Header, Body, Linger, Handshake };

  // net::RecvOwner
  void on_recv_data(const char* data, size_t len) override {
    if (tls_) return on_tls_data(data, len);
    on_data(data, len);
  }
  // A FIN may be a half-close after a complete request (on_eof); a socket error (the
  // client reset its connection) is the client gone, whatever the phase.
  void on_recv_end(int32_t res) override { res < 0 ? close() : on_eof(); }
  void on_recv_stopped(bool ran_dry) override;
  void on_data(const char* data, size_t len);
  // The connection's first bytes: HTTP/2's preface (prior knowledge) turns it into an
  // HTTP/2 connection. true: they were taken (as HTTP/2, or kept until the preface is whole).
  bool took_as_h2(const char* data, size_t len);
  void start_h2();
  void on_h2_data(const char* data, size_t len);
  // TLS: ciphertext in; the handshake advances, plaintext goes on to on_data().
  void on_tls_data(const char* data, size_t len);
  void tls_failed(TlsHandshakeFailure why);
  // The bytes for the socket into sending_: out_ itself, or (TLS) its records. HTTP/2's
  // payloads in h2_gather_ go beside sending_ as the iovecs of one sendmsg (plain), or
  // into its records in their place (TLS).
  void take_output();
  void gather_iovecs();
  size_t kept_h2_spares() const;
  void on_eof();
  void process_input();
  size_t parse_span(const char* data, size_t len);
  void handle_request();
  void respond_error(int status, std::string_view code, std::string_view message, bool close,
                     std::string_view extra_headers = {});
  // Refuses a request before all of it arrived: the answer, then a lingering close.
  void refuse_unfinished(int status, std::string_view code, std::string_view message,
                         std::string_view extra_headers = {});
  // The answer is out and the connection ends: closes it, or lingers first (see linger_).
  void finish();
  void request_done();
  void submit_send();
  void on_sent(int32_t res);
  // Arms the receive the connection wants now: the multishot into provided buffers, or,
  // once a large body's head is in, one receive straight into the body's spare room.
  void arm_recv();
  bool wants_direct() const;
  size_t direct_room() const;  // under the worker's buffered-bytes cap
  void arm_direct();
  void on_direct_done(int32_t res);
  void pause_recv();
  void resume_recv();
  void set_deadline(Deadline kind);
  uint64_t idle_duration() const;
  // Bytes of unfinished requests this connection holds, for the worker-wide cap.
  void account_buffered();
  void release_memory();

  ClientRuntime& rt_;
  int fd_;
  Phase phase_ = Phase::Reading;
  http::RequestParser parser_;
  Exchange exchange_;
  std::unique_ptr<H2Connection> h2_;      // this connection speaks HTTP/2 (null: HTTP/1.1)
  bool h2_possible_ = false;              // no byte read yet that HTTP/2's preface would not start with
  std::unique_ptr<net::TlsSession> tls_;  // TLS listener: the transport seam (null: plain)
  bool close_notify_sent_ = false;
  std::string in_;       // received, not yet parsed (pipelined requests wait here)
  size_t in_pos_ = 0;
  std::string out_;      // queued for the client while `sending_` is on the wire
  std::string sending_;
  size_t sending_offset_ = 0;
  http::H2Gather h2_gather_;   // HTTP/2 DATA payloads named in their streams' buffers, sent with sending_
  std::vector<iovec> iovecs_;  // sending_ and h2_gather_'s payloads, in order, from iovec_at_ on
  size_t iovec_at_ = 0;
  msghdr msg_{};
  net::Timer deadline_{this, 0};
  net::Timer write_timer_{this, 1};
  Deadline deadline_kind_ = Deadline::None;
  uint64_t deadline_duration_ = 0;
  uint64_t request_started_ms_ = 0;
  size_t accounted_ = 0;
  bool keep_alive_ = true;
  bool http11_ = true;
  bool continue_sent_ = false;
  bool body_digest_started_ = false;  // the exchange is reading this request's body as it arrives
  bool parsing_ = false;       // inside parse_span: it loops on by itself
  bool parse_at_turn_end_ = false;  // request_done() left the next request for on_turn_end()
  bool peer_closed_ = false;   // the client half-closed: answer what it asked, then close
  // A request was refused before its last byte came: the client may still be sending.
  // Closing a socket with unread bytes resets it, and the reset can destroy the answer
  // before the client reads it; so the connection half-closes after the answer and
  // reads and drops what comes until the client closes or kLingerMs pass (lingering_).
  bool linger_ = false;
  bool lingering_ = false;
  bool recv_armed_ = false;      // the multishot receive is in flight
  bool multishot_stopping_ = false;  // cancelled by us to switch to the direct receive
  bool multishot_ahead_ = false;     // the multishot is delivering bytes already queued
  // A receive straight into the request body's spare room is in flight (the body's bytes
  // land once, no copy out of a receive buffer). While it is, the body's block must not
  // move or be freed: nothing appends to the body (the parser is only fed from the
  // receive's own completion), release_memory() keeps the block, and the connection
  // (which owns parser_ and the body) is deleted only after the receive's final
  // completion (Loop's deferred deletion).
  bool direct_armed_ = false;
  char* direct_at_ = nullptr;   // where it writes: the body's spare() when armed
  size_t direct_len_ = 0;       // how much it may write (counted in direct_receiving_bytes)
  bool direct_parse_ = false;   // parse_span is reading bytes that landed in the body's room
  bool recv_wanted_ = true;
  bool send_in_flight_ = false;
  bool closing_ = false;
};

}  // namespace ringgate::proxy
