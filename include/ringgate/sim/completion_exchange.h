// One completion request while its sequences run (one per prompt and choice:
// vLLM runs a batch of prompts and `n` choices as separate sequences): turns
// the engine's tokens into vLLM's SSE events (streaming) or one JSON body,
// and cancels every sequence if the connection goes away first.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/sim/completion_request.h"
#include "ringgate/sim/engine.h"
#include "ringgate/sim/http_session.h"
#include "ringgate/sim/output_text.h"
#include "ringgate/sim/responses.h"
#include "ringgate/sim/trace_export.h"

namespace ringgate::sim {

class CompletionExchange final : public InFlight {
 public:
  struct Options {
    bool prompt_tokens_details = false;  // --enable-prompt-tokens-details
  };
  // NixlConnector: who a decoder pulls choice 0's held blocks from.
  struct KvTransferSource {
    std::string engine_id;
    std::string host;
    uint16_t port = 0;
    std::string request_id;  // the key the blocks are held under
  };

  CompletionExchange(HttpSession& session, CompletionRequest request, ResponseHead head, Options options);
  ~CompletionExchange() override;

  const CompletionRequest& request() const { return request_; }
  // Adds the next choice (prompt-major: index = prompt * n + k). `output`
  // must point into request().prompts[prompt].echo_text or static storage.
  SequenceObserver& add_choice(uint32_t prompt, uint32_t prompt_tokens, PlannedOutput output);
  const PlannedOutput& output(uint32_t choice) const { return choices_[choice]->output; }
  // The choice runs as sequence `id` of `engine` (each choice may run on a data-parallel rank of its own,
  // as vLLM routes each child request).
  void set_sequence(uint32_t choice, Engine& engine, uint64_t id) {
    choices_[choice]->engine = &engine;
    choices_[choice]->sequence_id = id;
  }
  // --fail-mid-stream-rate: once `tokens` tokens (of all choices) were generated,
  // the connection is dropped with the response unfinished (a stream sent those
  // tokens' events; a plain answer sends nothing), and `drops` counts it. The
  // sequences end there, aborted as on a client's disconnect.
  void drop_connection_after(uint64_t tokens, uint64_t& drops);
  // do_remote_decode: a non-streamed answer carries kv_transfer_params naming choice 0's
  // held blocks (null when none were held, as vLLM's request_finished).
  void set_kv_transfer_source(KvTransferSource source) { kv_source_ = std::move(source); }
  // --otlp-traces-endpoint: the request's span goes to `exporter` when it ends (or is dropped).
  void set_trace(SimTraceExporter* exporter, SimSpan span) {
    tracer_ = exporter;
    span_ = std::move(span);
  }
  // After every choice was submitted: streams start with their head now.
  void start();

 private:
  struct Choice final : SequenceObserver {
    CompletionExchange* owner = nullptr;
    uint32_t index = 0;
    uint32_t prompt = 0;
    uint32_t prompt_tokens = 0;
    PlannedOutput output;
    Engine* engine = nullptr;
    uint64_t sequence_id = 0;
    uint32_t emitted = 0;
    size_t text_offset = 0;  // completions logprobs: text before the next token
    bool finished = false;
    SequenceResult result;
    bool on_token(uint32_t index) override { return owner->on_token(*this, index); }
    void on_finished(const SequenceResult& r) override { owner->on_finished(*this, r); }
  };

  bool on_token(Choice& c, uint32_t token);
  void send_token_event(Choice& c, uint32_t token);
  void on_finished(Choice& c, const SequenceResult& result);
  Usage total_usage() const;
  std::string_view echo_prefix(const Choice& c) const;

  HttpSession& session_;
  CompletionRequest request_;
  ResponseHead head_;
  Options options_;
  SimTraceExporter* tracer_ = nullptr;
  SimSpan span_;
  void record_span(bool error);
  std::vector<std::unique_ptr<Choice>> choices_;
  uint32_t unfinished_ = 0;
  uint64_t tokens_ = 0;           // generated so far, all choices
  uint64_t drop_after_ = 0;       // 0: never
  uint64_t* drops_ = nullptr;
  bool dropped_ = false;
  bool role_sent_ = false;
  std::string event_;  // reused buffer for one SSE event
  std::optional<KvTransferSource> kv_source_;
};

}  // namespace ringgate::sim
