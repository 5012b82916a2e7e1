// One completion request while its sequence runs: turns the engine's tokens
// into vLLM's SSE events (streaming) or one JSON body, and cancels the
// sequence if the connection goes away first.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/sim/completion_request.h"
#include "ringgate/sim/engine.h"
#include "ringgate/sim/http_session.h"
#include "ringgate/sim/output_text.h"
#include "ringgate/sim/responses.h"

namespace ringgate::sim {

class CompletionExchange final : public InFlight, public SequenceObserver {
 public:
  CompletionExchange(HttpSession& session, Engine& engine, CompletionRequest request, ResponseHead head);
  ~CompletionExchange() override;

  CompletionRequest& request() { return request_; }
  // The planned output must point into request().echo_text, so it is set after construction.
  void set_output(PlannedOutput output) { output_ = std::move(output); }
  const PlannedOutput& output() const { return output_; }
  void set_sequence(uint64_t id) { sequence_id_ = id; }

  void on_token(uint32_t index) override;
  void on_finished(const SequenceResult& result) override;

 private:
  HttpSession& session_;
  Engine& engine_;
  CompletionRequest request_;
  ResponseHead head_;
  PlannedOutput output_;
  uint64_t sequence_id_ = 0;
  bool finished_ = false;
  std::string event_;  // reused buffer for one SSE event
};

}  // namespace ringgate::sim
