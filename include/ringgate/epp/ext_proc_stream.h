#pragma once
// One ext-proc stream (one HTTP request through the Gateway), spoken as GAIE's
// Endpoint Picker speaks it (pkg/epp/handlers/server.go):
//   request_headers  → held (FULL_DUPLEX_STREAMED) or answered at once (BUFFERED);
//                      end_of_stream (no body) → any ready endpoint, as GAIE does
//   request_body     → gathered up to the body limit; at end_of_stream the gateway's own
//                      proxy::Exchange decides (rewrite → route → pick, in flight, stats)
//   decision         → x-gateway-destination-endpoint header + dynamic metadata
//                      {"envoy.lb": {"x-gateway-destination-endpoint": "ip:port"}},
//                      the body (model rewritten in place) streamed back in ≤ 62000-byte
//                      chunks (duplex) or as a body mutation (buffered), Content-Length set
//   tracing on       → the Exchange's trace continues the traceparent Envoy sends in the
//                      request headers; each decision is a span of it (ringgate.epp.decision)
//                      and a sampled one's traceparent is set on the request (the attempt's
//                      span as parent, as the gateway sends it), for the model server's spans
//   errors           → ImmediateResponse with the gateway's status and OpenAI JSON body, and
//                      the header lines of its answer (Retry-After, x-llm-d-request-dropped-reason,
//                      x-ratelimit-*): every flow-control refusal names its reason
//   no ready server  → held (ModelHold, as the gateway holds a request): nothing is sent on
//                      the stream until a server appears (the pick, in priority and fairness
//                      order) or noEndpointRequestTTL runs out (503 rejected-no-endpoints; 429
//                      rejected-ttl-expired when servers came but stayed saturated); a stream
//                      the Gateway cancels leaves the hold at once
//   response_*       → observed by the same Exchange (status, usage, TTFT, ITL), echoed
//                      back in duplex mode; the end of the response (or of the stream)
//                      ends the Exchange and releases its in-flight count.
// No gRPC here: messages in, messages out, so tests drive it directly.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "envoy/service/ext_proc/v3/external_processor.pb.h"
#include "ringgate/epp/epp_worker.h"
#include "ringgate/http/request_parser.h"
#include "ringgate/http/response_parser.h"
#include "ringgate/proxy/exchange.h"

namespace ringgate::epp {

namespace extproc = envoy::service::ext_proc::v3;

inline constexpr std::string_view kDestinationEndpointHeader = "x-gateway-destination-endpoint";
inline constexpr std::string_view kPrefillerHeader = "x-prefiller-host-port";  // llm-d routing sidecar
inline constexpr std::string_view kDestinationMetadataNamespace = "envoy.lb";
// GAIE's EPP protocol: the Gateway may restrict the pick to a subset of the pool.
inline constexpr std::string_view kSubsetHintNamespace = "envoy.lb.subset_hint";
inline constexpr std::string_view kSubsetHintKey = "x-gateway-destination-endpoint-subset";
inline constexpr size_t kMaxSubsetEntries = 4096;
// GAIE's bodyByteLimit: Envoy implementations cap a streamed chunk at 64 KiB.
inline constexpr size_t kStreamedChunkBytes = 62000;
// Headers of one request or response message (Envoy's own default is 100).
inline constexpr size_t kMaxHeaderCount = 256;

// How a stream ends (mapped to a gRPC status by the server).
enum class StreamEnd : uint8_t {
  Open,             // still going
  Ok,               // finished cleanly (after an immediate response)
  InvalidArgument,  // messages out of order or malformed
  Unimplemented,    // a processing mode this EPP does not speak (STREAMED request body)
};

// Who sends a stream's messages: told when a held stream has its answer (settle_held).
class StreamOwner {
 public:
  virtual void stream_answered() = 0;

 protected:
  ~StreamOwner() = default;
};

class ExtProcStream final : public proxy::ExchangeClient, public proxy::UpstreamChannel {
 public:
  explicit ExtProcStream(EppWorker& worker, StreamOwner* owner = nullptr);
  ~ExtProcStream() override;
  ExtProcStream(const ExtProcStream&) = delete;
  ExtProcStream& operator=(const ExtProcStream&) = delete;

  // One message from the Gateway; the responses to send go to `out` (in order).
  void on_request(const extproc::ProcessingRequest& request, std::vector<extproc::ProcessingResponse>& out);
  // The Gateway half-closed the stream (its HTTP stream ended): a response whose head was
  // seen is complete (response body mode NONE sends no end of body), anything else is cut.
  // A held stream stays held (its answer is still to come): false; else true.
  bool on_peer_closed();
  // The Gateway reset or cancelled the stream: whatever is running is over.
  void on_peer_gone();

  // Waiting for a server of its model (the hold): no answer sent yet.
  bool held() const { return phase_ == Phase::Held; }
  // After the hold's cycle (EppWorker::settle_resumed): a held stream that was picked for,
  // or ended, gets its answer in answers(), and the owner is told.
  void settle_held();
  // The answers settle_held() made, moved out.
  void take_answers(std::vector<extproc::ProcessingResponse>& out);

  StreamEnd end() const { return end_; }
  std::string_view end_message() const { return end_message_; }
  bool exchange_active() const { return exchange_.active(); }
  // The Gateway's endpoint subset hint ("ip:port" entries), if it sent one: the pick
  // must come from it, and none eligible is a 503.
  bool has_subset() const { return has_subset_; }
  const std::vector<std::string>& subset() const { return subset_; }

  // From EppWorker::open: the Exchange picked `address` and built the request image.
  proxy::UpstreamChannel* opened(const net::Address& address, const proxy::RequestImage& image,
                                 proxy::AttemptListener* listener);

  // ExchangeClient (the Gateway talks to the client: our copy of the bytes is dropped)
  std::string& output() override { return scratch_; }
  void flush() override { scratch_.clear(); }
  // Called inside Exchange::start with an error response in output(): decide() reads it.
  void exchange_finished(bool) override {}
  void exchange_aborted() override {}
  void exchange_resumed() override;

  // UpstreamChannel (the Gateway holds the real upstream connection; what it sees of
  // the response is reported to the Exchange's attempt, listener_)
  bool reused() const override { return false; }
  bool send_in_flight() const override { return false; }
  void release(bool, http::BodyBuffer&) override {
    attempt_open_ = false;
    listener_ = nullptr;
  }
  void pause_reading(bool) override {}
  void set_read_idle_timeout(uint32_t) override {}

 private:
  enum class Phase : uint8_t { Headers, RequestBody, Held, Decided, Response, Done };

  void fail(StreamEnd end, std::string_view message);
  void on_request_headers(const extproc::HttpHeaders& headers, std::vector<extproc::ProcessingResponse>& out);
  void on_request_body(const extproc::HttpBody& body, std::vector<extproc::ProcessingResponse>& out);
  void on_request_trailers(std::vector<extproc::ProcessingResponse>& out);
  void on_response_headers(const extproc::HttpHeaders& headers, std::vector<extproc::ProcessingResponse>& out);
  void on_response_body(const extproc::HttpBody& body, std::vector<extproc::ProcessingResponse>& out);
  void on_response_trailers(std::vector<extproc::ProcessingResponse>& out);
  // The whole body is here: let the Exchange decide, answer with the pick or an error
  // (or nothing yet: held).
  void decide(bool trailers_follow, std::vector<extproc::ProcessingResponse>& out);
  // The Exchange decided (an attempt opened) or ended (its error in scratch_): the answer.
  void answer_decision(std::vector<extproc::ProcessingResponse>& out);
  void answer_pick(std::string_view endpoint, bool body_follows, bool trailers_follow,
                   std::vector<extproc::ProcessingResponse>& out);
  // `head`: an HTTP response head whose header lines (but framing and connection ones) go
  // with the immediate response.
  void immediate(int status, std::string_view json_body, std::vector<extproc::ProcessingResponse>& out,
                 std::string_view head = {});
  void immediate_error(int status, std::string_view code, std::string_view message,
                       std::vector<extproc::ProcessingResponse>& out);
  void end_exchange();
  // The request's answer is made (a pick or an immediate response): its processing time.
  void request_handled();
  // Tracing: the decision's span and the W3C headers the model server gets.
  void record_decision(std::string_view endpoint);
  void set_trace_headers(extproc::HeaderMutation* mutation) const;
  void read_subset_hint(const envoy::config::core::v3::Metadata& metadata);

  EppWorker& worker_;
  StreamOwner* owner_;
  proxy::Exchange exchange_;
  http::Request request_;
  http::ResponseParser response_head_;
  std::string scratch_;        // what the Exchange writes for its client: dropped
  std::string response_text_;  // the response head, rebuilt for response_head_
  std::string picked_;         // "ip:port" of the decision
  int32_t picked_rank_ = -1;   // its data-parallel rank when named by header (RequestImage::data_parallel_rank)
  std::string forward_body_;   // the body as forwarded (model rewritten)
  std::vector<std::string> subset_;  // sorted
  bool has_subset_ = false;
  bool rewritten_ = false;
  bool attempt_open_ = false;
  proxy::AttemptListener* listener_ = nullptr;  // the Exchange's attempt, while attempt_open_
  proxy::RequestTrace* trace_ = nullptr;  // the Exchange's trace when on (set by opened())
  uint64_t decide_ns_ = 0;                // when decide() began (tracing on)
  // llm_d_epp_{request,response}_processing_duration_seconds: when the request headers came
  // (0: observed already), when the response headers came, and the response's handler time.
  uint64_t request_started_ns_ = 0;
  uint64_t response_started_ns_ = 0;
  uint64_t response_handler_ns_ = 0;
  std::string traceparent_, tracestate_;  // the attempt's, for the request headers
  bool duplex_request_ = false;   // FULL_DUPLEX_STREAMED request body
  bool duplex_response_ = false;  // FULL_DUPLEX_STREAMED response body
  bool buffered_request_ = false; // BUFFERED(_PARTIAL): one message holds the whole body
  bool first_message_ = true;
  // What a held stream's answer, made after the hold (settle_held), carries over from
  // before it.
  struct HeldAnswer {
    bool trailers_follow = false;  // decide()'s trailers_follow
    bool trailers_answer = false;  // buffered with trailers: request_trailers answered after the pick
    bool peer_closed = false;      // half-closed while held
    std::vector<extproc::ProcessingResponse> answers;  // settle_held()'s, until taken
  };
  HeldAnswer held_;
  bool observe_only_ = false;     // observability_mode: no responses at all
  Phase phase_ = Phase::Headers;
  StreamEnd end_ = StreamEnd::Open;
  std::string end_message_;
};

}  // namespace ringgate::epp
