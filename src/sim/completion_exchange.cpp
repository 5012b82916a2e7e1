#include "ringgate/sim/completion_exchange.h"

#include "ringgate/sim/monotonic_clock.h"

namespace ringgate::sim {

CompletionExchange::CompletionExchange(HttpSession& session, Engine& engine, CompletionRequest request,
                                       ResponseHead head)
    : session_(session), engine_(engine), request_(std::move(request)), head_(std::move(head)) {}

CompletionExchange::~CompletionExchange() {
  if (sequence_id_ != 0 && !finished_) engine_.cancel(sequence_id_, monotonic_ns());
}

void CompletionExchange::on_token(uint32_t index) {
  if (!request_.stream) return;
  const bool last = index + 1 == output_.tokens.size();
  event_.clear();
  append_token_event(event_, head_, output_.tokens[index], index == 0, last ? &output_.finish : nullptr);
  session_.stream_data(event_);
}

void CompletionExchange::on_finished(const SequenceResult& result) {
  finished_ = true;
  Usage usage{result.prompt_tokens, result.output_tokens, result.cached_tokens};
  if (request_.stream) {
    event_.clear();
    if (request_.include_usage) append_usage_event(event_, head_, usage);
    event_ += kDoneEvent;
    session_.stream_data(event_);
    session_.end_stream();
    return;
  }
  std::string text;
  for (std::string_view t : output_.tokens) text += t;
  std::string body;
  body.reserve(320 + text.size());
  append_full_response(body, head_, text, output_.finish, usage);
  session_.respond(200, "application/json", body);
}

}  // namespace ringgate::sim
