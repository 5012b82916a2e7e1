// The simulator's HTTP API, routed as vLLM's OpenAI server routes it:
// POST /v1/completions, POST /v1/chat/completions, GET /v1/models,
// GET /health, GET|POST /ping, GET /version, POST /tokenize, POST /detokenize,
// GET /metrics; the pooling endpoints (POST /v1/embeddings, /pooling, /classify,
// /v1/score, /score, /v1/rerank, /rerank, /v2/rerank: pooling_api.h) and speech to
// text (POST /v1/audio/transcriptions, /v1/audio/translations: audio_api.h); the
// Responses API (POST /v1/responses, GET /v1/responses/{id}, POST
// /v1/responses/{id}/cancel: responses_api.h); with the fault injections on top.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringgate/sim/audio_api.h"
#include "ringgate/sim/completion_exchange.h"
#include "ringgate/sim/trace_export.h"
#include "ringgate/sim/completion_request.h"
#include "ringgate/sim/data_parallel.h"
#include "ringgate/sim/engine.h"
#include "ringgate/sim/http_session.h"
#include "ringgate/sim/kv_pull_client.h"
#include "ringgate/sim/options.h"
#include "ringgate/sim/pooling_api.h"
#include "ringgate/sim/prompt_tokenizer.h"
#include "ringgate/sim/response_run.h"
#include "ringgate/sim/response_store.h"
#include "ringgate/sim/responses.h"

namespace ringgate::sim {

class SimApi final : public RequestHandler {
 public:
  // `engines[i]` runs data-parallel rank options.local_ranks()[i]: one engine, or every rank of
  // --data-parallel-size behind this port (a request goes to the rank its X-data-parallel-rank
  // names, else to vLLM's balancer's choice).
  SimApi(const SimOptions& options, std::vector<Engine*> engines, KvPullClient& pulls);

  void handle(HttpSession& session, HttpRequest& request) override;

  std::string metrics_text() const;

  // NixlConnector: where a decoder pulls this sim's held blocks (its own HTTP address),
  // named as remote_host / remote_port in the kv_transfer_params it answers.
  void set_kv_transfer_address(std::string host, uint16_t port);
  // NixlConnector's engine id of local engine `index` ("<engine_id>_dp<rank>" with data parallelism).
  const std::string& engine_id(size_t index = 0) const { return engines_[index].kv_id; }
  // A pull this sim started (a do_remote_prefill request) ended.
  void on_pull_done(uint64_t pull, const KvPullOutcome& outcome);

 private:
  class PendingPull;
  void handle_completion(HttpSession& session, HttpRequest& request, Endpoint endpoint);
  // `engine_of[i]`: the local engine sequence i runs on.
  void submit_sequences(HttpSession& session, std::unique_ptr<CompletionExchange> exchange,
                        std::vector<SequenceRequest> sequences, std::vector<uint32_t> engine_of,
                        uint64_t planned_tokens);
  // A pull for local engine `engine` failed (or was never tried): counted; false when the
  // policy is to fail the request.
  bool pull_failed(uint32_t engine, const std::string& why);
  void handle_kv_pull(HttpSession& session, HttpRequest& request);
  void handle_tokenize(HttpSession& session, HttpRequest& request);
  void handle_detokenize(HttpSession& session, HttpRequest& request);
  void handle_pooling(HttpSession& session, HttpRequest& request, PoolingEndpoint endpoint);
  void handle_audio(HttpSession& session, HttpRequest& request, AudioTask task);
  void handle_responses(HttpSession& session, HttpRequest& request);
  // X-data-parallel-rank: the engine it names (none: the balancer picks); false when it was
  // out of range (answered 400, as vLLM's process_inputs).
  bool pinned_engine(HttpSession& session, const HttpRequest& request, std::optional<uint32_t>& pinned);
  void handle_response_get(HttpSession& session, std::string_view id);
  void handle_response_cancel(HttpSession& session, std::string_view id);
  std::string random_hex32();
  const std::string& answer_model(const std::optional<std::string>& model) const;
  bool answer_injected_error(HttpSession& session, const HttpRequest& request);
  uint64_t next_random();
  // --fail-mid-stream-rate: after how many tokens to drop this request's connection (0: not).
  uint64_t mid_stream_drop_after(uint64_t planned_tokens);

  // One data-parallel engine of this process, and what is counted per engine.
  struct LocalEngine {
    Engine* engine;
    uint32_t rank;          // its data-parallel rank
    std::string kv_id;      // --kv-transfer-config engine_id (or a uuid4), vLLM's "_dp<rank>" added
    uint64_t pulls_ok = 0;      // ringgate_sim_kv_transfer_pulls_total
    uint64_t pulls_failed = 0;  // vllm:nixl_num_failed_transfers_total
  };
  // The Responses API: stored responses, the runs under way by id (for cancel), and the
  // background runs (no client holds them), dropped once finished.
  struct ResponsesState {
    ResponseStore store;
    ResponseRun::Registry runs;
    std::vector<std::unique_ptr<ResponseRun>> background;
  };
  // The engine of each of `count` sequences: `pinned`, or vLLM's balancer's picks.
  std::vector<uint32_t> place(std::optional<uint32_t> pinned, uint32_t count);

  const SimOptions& options_;
  std::vector<LocalEngine> engines_;
  DpBalancer balancer_;
  ByteTokenizer tokenizer_;  // the seam a real tokenizer plugs into
  kvevents::VllmBlockHasher hasher_;
  uint64_t created_;  // unix seconds at start, for /v1/models
  uint64_t random_state_;
  // The faults' own draws (--fail-mid-stream-rate), apart from the outputs' and ids'.
  uint64_t fault_random_state_;
  uint64_t mid_stream_drops_ = 0;  // ringgate_sim_mid_stream_drops_total
  std::unordered_map<std::string, int32_t> models_;  // served name -> -1 (base) or adapter index
  std::string models_body_;
  KvPullClient& pulls_;
  std::unique_ptr<SimTraceExporter> tracer_;  // --otlp-traces-endpoint
  std::unordered_map<uint64_t, PendingPull*> pending_pulls_;
  std::string kv_host_ = "127.0.0.1";
  uint16_t kv_port_ = 0;
  ResponsesState responses_;
};

}  // namespace ringgate::sim
