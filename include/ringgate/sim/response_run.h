// One Responses API request while its sequence runs: the SSE events of a stream, or one
// JSON answer, or (background) nothing to a client: its stored response goes from
// "queued" to "completed" when it ends, or to "cancelled" when cancel() came first, as
// vLLM's _run_background_request. Registered by id while it runs, so that
// POST /v1/responses/{id}/cancel finds it; destroying it unfinished cancels its sequence.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "ringgate/sim/engine.h"
#include "ringgate/sim/http_session.h"
#include "ringgate/sim/output_text.h"
#include "ringgate/sim/response_store.h"

namespace ringgate::sim {

class ResponseRun final : public InFlight, public SequenceObserver {
 public:
  using Registry = std::unordered_map<std::string, ResponseRun*>;

  // `session`: null for a background request (its client had its answer). `store`:
  // whether the finished response is stored (store=true and the store enabled).
  ResponseRun(HttpSession* session, Engine& engine, ResponseStore& store, Registry& registry, ResponseRecord record,
              std::vector<ChatTurn> messages, bool store_it, bool stream, PlannedOutput output);
  ~ResponseRun() override;

  const PlannedOutput& output() const { return output_; }
  // After the engine accepted its sequence: a stream starts with its head and first events.
  void start(uint64_t sequence_id);
  // Cancels the sequence; the stored response says "cancelled".
  void cancel();
  bool finished() const { return finished_; }

  bool on_token(uint32_t index) override;
  void on_finished(const SequenceResult& result) override;

 private:
  HttpSession* session_;
  Engine& engine_;
  ResponseStore& store_;
  Registry& registry_;
  ResponseRecord record_;
  std::vector<ChatTurn> messages_;
  bool store_it_;
  bool stream_;
  PlannedOutput output_;
  uint64_t sequence_id_ = 0;
  uint64_t event_sequence_ = 0;
  uint32_t content_index_ = 0;  // vLLM counts one per delta
  bool finished_ = false;
  bool registered_ = false;
  std::string event_;
};

}  // namespace ringgate::sim
