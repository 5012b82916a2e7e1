#pragma once
// Per-connection state of a worker: what each socket has in flight on the ring and
// where its request/response stands. Owned by one worker; freed only after the last
// CQE naming it has arrived (pending == 0 after a cancel-by-fd).
#include <sys/uio.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <vector>

#include "ringgate/http/request_parser.h"
#include "ringgate/http/response_parser.h"
#include "ringgate/net/address.h"
#include "ringgate/metrics/gateway_stats.h"
#include "ringgate/openai/request_body.h"
#include "ringgate/openai/first_token_scanner.h"
#include "ringgate/openai/usage_scanner.h"
#include "ringgate/proxy/forward_head.h"

namespace ringgate::proxy {

// 16-aligned so the low 4 bits of a pointer can carry the operation in user_data.
struct alignas(16) Socket {
  enum class Kind : uint8_t { Client, Upstream };
  explicit Socket(Kind k) : kind(k) {}

  Kind kind;
  int fd = -1;
  int pending = 0;          // submitted ops whose final CQE has not arrived yet
  bool closing = false;
  bool recv_armed = false;  // a multishot recv is outstanding
  bool recv_wanted = true;  // re-arm it when it ends (false while paused for backpressure)
  bool send_in_flight = false;  // at most one: two could complete out of order
  uint64_t deadline_ms = 0;     // 0 = none; checked by the worker's 100 ms tick
  Socket* prev = nullptr;   // the worker's list of all its sockets
  Socket* next = nullptr;
};

struct Upstream;

struct Client : Socket {
  enum class Phase : uint8_t { Reading, Proxying, Closing };
  explicit Client(const http::RequestLimits& limits) : Socket(Kind::Client), parser(limits) {}

  Phase phase = Phase::Reading;
  http::RequestParser parser;
  std::string in;            // received, not yet parsed (pipelined requests wait here)
  size_t in_pos = 0;
  std::string out;           // queued for the client while `sending` is on the wire
  std::string sending;
  size_t sending_offset = 0;
  bool keep_alive = true;
  bool http11 = true;
  bool continue_sent = false;
  bool in_process_input = false;
  uint64_t request_started_ms = 0;
  uint64_t body_started_ms = 0;

  // The request being proxied.
  openai::RequestFields fields;
  std::string target_model;  // after rewrite: what routing sees
  std::string model_token;   // non-empty: JSON token spliced over the body's model value
  std::string request_id;
  bool add_request_id = false;
  std::string upstream_head;
  uint32_t endpoint_id = 0;
  net::Address endpoint_address;
  std::string destination;   // "host:port" of the endpoint serving it (response header)
  bool holds_in_flight = false;
  uint32_t attempts = 0;
  std::vector<uint32_t> tried;
  bool fresh_retry_used = false;
  bool last_failure_timeout = false;
  Upstream* upstream = nullptr;

  // Statistics of the request (inference_objective_*, llm_d_epp_request_*); null until
  // its model is known.
  metrics::ObjectiveStats* objective = nullptr;
  uint64_t started_ns = 0;
  uint64_t first_byte_ns = 0;   // response head relayed
  uint64_t first_token_ns = 0;  // first generated token relayed (TTFT)
  uint64_t last_chunk_ns = 0;   // previous body chunk of a stream (inter-token latency)
  uint64_t response_bytes = 0;  // body bytes relayed (response_sizes)
  int status = 0;            // status of the response sent (relayed or the gateway's own)
  bool from_model_server = false;  // status is the model server's answer, relayed
  openai::UsageScanner usage;
  openai::FirstTokenScanner first_token;

  // The response being relayed.
  bool response_started = false;
  ClientFraming framing = ClientFraming::ContentLength;
};

struct Upstream : Socket {
  Upstream() : Socket(Kind::Upstream) {}

  uint32_t endpoint_id = 0;
  net::Address address;
  Client* owner = nullptr;  // null while idle in the pool
  bool connecting = false;
  bool reused = false;
  http::ResponseParser parser;
  msghdr msg{};             // must outlive the sendmsg op
  iovec iov[4]{};           // head, body before model, model token, body after
  size_t iov_count = 0;
  size_t iov_first = 0;
  uint64_t idle_since_ms = 0;
};

}  // namespace ringgate::proxy
