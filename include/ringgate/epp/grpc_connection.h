#pragma once
// One HTTP/2 connection of the EPP's gRPC port, on its thread's ring: the socket, TLS
// when the port has it, http::H2Session's framing with each stream's body handed over as
// it comes, and the gRPC methods on its streams:
//   /envoy.service.ext_proc.v3.ExternalProcessor/Process   one ExtProcStream per stream
//   /grpc.health.v1.Health/Check, /grpc.health.v1.Health/Watch   (HealthBoard)
//   anything else                                          UNIMPLEMENTED
// Every message of a stream is decided on this thread, as it is read: no hand-off.
// A stream's deadline (grpc-timeout) ends it DEADLINE_EXCEEDED; a malformed message ends
// its stream INVALID_ARGUMENT (the connection's other streams go on); a client's
// RST_STREAM ends what its stream held (its Exchange: slots, in-flight counts, the hold).
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <google/protobuf/arena.h>

#include "ringgate/epp/grpc_health.h"
#include "ringgate/http/grpc_frame.h"
#include "ringgate/http/h2_session.h"
#include "ringgate/net/io_handler.h"
#include "ringgate/net/recv_owner.h"
#include "ringgate/net/timeout_list.h"
#include "ringgate/net/tls_session.h"

typedef struct ssl_ctx_st SSL_CTX;

namespace google::protobuf {
class MessageLite;
}

namespace ringgate::net {
class Loop;
}

namespace ringgate::epp {

class EppWorker;
class GrpcConnection;

// What one EPP thread lends its connections.
struct GrpcRuntime {
  GrpcRuntime();
  GrpcRuntime(const GrpcRuntime&) = delete;
  GrpcRuntime& operator=(const GrpcRuntime&) = delete;

  net::Loop* loop = nullptr;
  EppWorker* worker = nullptr;
  const HealthBoard* health = nullptr;
  http::H2Limits limits;
  size_t max_message_bytes = 0;              // one gRPC message, prefix aside
  uint64_t first_stream_timeout_ms = 10000;  // accept → its first stream (TLS handshake included)
  bool draining = false;
  GrpcConnection* all = nullptr;  // every open connection of the thread
  size_t connections = 0;
  uint64_t deadlines_exceeded = 0;  // streams ended DEADLINE_EXCEEDED (for tests and logs)
  // A thread decides one ProcessingRequest at a time: each is parsed on this arena, reset
  // once the message is handled, so that its ~35 sub-messages and strings are not each a
  // heap allocation and a free per call (a tenth of a cold decision's time at 1,000/s).
  // The first block is this struct's own; a larger message's extra blocks go at the reset.
  alignas(16) char parse_block[16384];
  google::protobuf::Arena parse_arena;
};

class GrpcConnection final : public net::IoHandler,
                             public net::RecvOwner,
                             public net::TimerTarget,
                             public http::H2Streams {
 public:
  // `tls`: null for plain text (h2 with prior knowledge).
  GrpcConnection(GrpcRuntime& runtime, int fd, SSL_CTX* tls);
  ~GrpcConnection() override;
  GrpcConnection(const GrpcConnection&) = delete;
  GrpcConnection& operator=(const GrpcConnection&) = delete;

  void start();
  void close();
  // Draining: GOAWAY; open streams finish (Watch streams with their last status).
  void drain_started();
  // From the thread's ~100 ms tick: Watch streams whose status changed are sent it.
  void tick();
  size_t open_streams() const { return calls_.size(); }

  // net::IoHandler
  void on_completion(const net::Completion& completion) override;
  void on_turn_end() override;
  // net::RecvOwner
  void on_recv_data(const char* data, size_t len) override;
  void on_recv_end(int32_t) override { close(); }
  void on_recv_stopped(bool ran_dry) override;
  // net::TimerTarget: the first stream's deadline (TLS handshake and preface included),
  // the streams' deadlines.
  void on_timer(net::Timer& timer) override;
  // http::H2Streams
  http::H2Stream* h2_open(int32_t id) override;
  void h2_request(http::H2Stream& stream) override;
  void h2_body(http::H2Stream& stream, const char* data, size_t len) override;
  void h2_body_end(http::H2Stream& stream) override;
  void h2_sent(http::H2Stream&) override {}
  void h2_closed(http::H2Stream& stream, uint32_t error_code) override;

  GrpcConnection* prev = nullptr;
  GrpcConnection* next = nullptr;

  struct Call;

 private:
  void on_plain(const char* data, size_t len);
  void on_message(Call& call, std::string_view message);
  void push_health(Call& call);
  void write(Call& call, const google::protobuf::MessageLite& message);
  void finish(Call& call, http::GrpcStatus status, std::string_view message);
  void flush();  // send at this turn's end
  void send_output();
  void arm_deadline_check();
  void end_calls();

  GrpcRuntime& rt_;
  int fd_;
  std::unique_ptr<net::TlsSession> tls_;
  std::string out_;      // frames for the socket (plaintext)
  std::string sending_;  // the send in flight (ciphertext with TLS)
  size_t sending_at_ = 0;
  http::H2Session session_;
  std::unordered_map<int32_t, std::unique_ptr<Call>> calls_;
  std::vector<std::unique_ptr<Call>> closed_;  // freed at the turn's end, outside their own calls
  net::Timer first_stream_{this, 0};
  net::Timer deadline_check_{this, 1};
  uint64_t deadline_armed_for_ = 0;  // the deadline deadline_check_ fires at (while armed)
  bool closing_ = false;
  bool closing_after_send_ = false;  // a connection error: its GOAWAY (or TLS alert) goes out, then the close
  bool recv_armed_ = false;
  bool send_in_flight_ = false;
};

}  // namespace ringgate::epp
