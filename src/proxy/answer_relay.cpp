#include "ringgate/proxy/answer_relay.h"

#include <algorithm>

namespace ringgate::proxy {

void AnswerRelay::start(const http::ResponseParser& head, const Attempt& attempt, const openai::ApiRoute& route,
                        std::string_view extra_headers, uint64_t server) {
  const std::string_view type = http::find_header(head.headers(), "content-type");
  const bool event_stream = identity_.fields.stream || type.find("event-stream") != std::string_view::npos;
  reply_.hold_head(head, event_stream,
                   {identity_.request_id, attempt.destination(), extra_headers, identity_.prefill_endpoint});
  affinity_.answer_started(head.status(), event_stream, server);
  begin(route);
}

// Its events are kept for a continuation when it is a stream of a completion or chat
// completion (theirs are the requests and events openai::build_continuation and RelayState
// know), with migration on.
void AnswerRelay::begin(const openai::ApiRoute& route) {
  const ClientResponse& response = reply_.state();
  const bool keep = env_.options->migration.enabled && response.event_stream && identity_.fields.stream &&
                    response.status == 200 && route.shape != openai::RouteShape::Other;
  relay_.begin(keep, env_.options->migration.max_tokens);
}

void AnswerRelay::start_leg(metrics::MigrationReason why) {
  leg_reason_ = why;
  resume_counted_ = false;
  relay_.start_leg();
}

std::string* AnswerRelay::sink(bool racing) {
  if (!reply_.committed() || relay_.leg() > 0 || racing) return nullptr;
  // A long cut event is completed by RelayState::take instead: copied in front of every
  // read, it would cost quadratic time from a server that sends it a byte at a time.
  if (relay_.held().size() > kHeldInPlaceBytes) return nullptr;
  return reply_.open_in_place(relay_.held());  // a cut event's start: the read's bytes complete it where they land
}

void AnswerRelay::body(Attempt& attempt, std::string_view decoded) {
  if (reply_.in_place_open()) return in_place(attempt, decoded);
  if (!reply_.started() || decoded.empty()) return;
  if (affinity_.answer_bytes(decoded)) env_.counters->responses_learned.add();
  relay(attempt, relay_.take(decoded, env_.stream_events));
}

void AnswerRelay::in_place(Attempt& attempt, std::string_view decoded) {
  if (!decoded.empty() && affinity_.answer_bytes(decoded)) env_.counters->responses_learned.add();
  // Whole events, relayed where they lie; the start of a cut one is held back.
  const std::string_view whole = relay_.take_joined(reply_.in_place_bytes(), env_.stream_events);
  reply_.close_in_place(whole.size());
  if (whole.empty()) return;
  relayed(attempt, whole);
  reply_.end_in_place();
}

void AnswerRelay::resume(Attempt& kept, std::string_view held, const openai::ApiRoute& route) {
  begin(route);
  if (!held.empty()) relay(kept, relay_.take(held, env_.stream_events));
}

void AnswerRelay::end(Attempt& attempt) {
  relay(attempt, relay_.finish(), /*last=*/true);
  count_resumed(/*paused=*/false);  // a continuation that had nothing left to say
}

// Bytes of the answer reach the client's output (the held head first, with the first of
// them or the end of an empty body).
void AnswerRelay::relay(Attempt& attempt, std::string_view data, bool last) {
  if (data.empty() && !last) return;  // an event's start, held until its end arrives
  reply_.append(data);
  if (!data.empty()) relayed(attempt, data);
}

void AnswerRelay::relayed(Attempt& attempt, std::string_view data) {
  if (!attempt.delivered()) {
    attempt.mark_delivered();
    // From its first byte on, a stream that can go on elsewhere waits less for a stalled server.
    if (relay_.keeping())
      attempt.set_read_idle_timeout(
          std::min(env_.options->migration.stall_timeout_ms, env_.options->upstream_read_idle_timeout_ms));
    count_resumed(/*paused=*/true);
  }
  stats_.observe(data);
  if (reply_.buffered() > env_.options->max_client_buffer_bytes) attempt.pause_reading(true);  // backpressure
  reply_.flush();
}

void AnswerRelay::count_resumed(bool paused) {
  if (relay_.leg() == 0 || resume_counted_) return;
  resume_counted_ = true;
  stats_.migration(metrics::MigrationOutcome::Resumed, leg_reason_);
  if (paused) stats_.resumed_after_pause();
}

}  // namespace ringgate::proxy
