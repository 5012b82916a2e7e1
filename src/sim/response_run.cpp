#include "ringgate/sim/response_run.h"

#include "ringgate/sim/monotonic_clock.h"

namespace ringgate::sim {

ResponseRun::ResponseRun(HttpSession* session, Engine& engine, ResponseStore& store, Registry& registry,
                         ResponseRecord record, std::vector<ChatTurn> messages, bool store_it, bool stream,
                         PlannedOutput output)
    : session_(session),
      engine_(engine),
      store_(store),
      registry_(registry),
      record_(std::move(record)),
      messages_(std::move(messages)),
      store_it_(store_it),
      stream_(stream),
      output_(std::move(output)) {}

ResponseRun::~ResponseRun() {
  if (sequence_id_ != 0 && !finished_) engine_.cancel(sequence_id_, monotonic_ns());
  if (registered_) registry_.erase(record_.id);
}

void ResponseRun::start(uint64_t sequence_id) {
  sequence_id_ = sequence_id;
  registered_ = registry_.emplace(record_.id, this).second;
  if (!stream_ || session_ == nullptr) return;
  session_->begin_stream(200, "text/event-stream; charset=utf-8");
  event_.clear();
  ResponseRecord initial = record_;
  initial.status = ResponseStatus::in_progress;
  append_lifecycle_event(event_, "response.created", event_sequence_++, initial);
  append_lifecycle_event(event_, "response.in_progress", event_sequence_++, initial);
  session_->stream_data(event_);
}

void ResponseRun::cancel() {
  if (finished_) return;
  finished_ = true;
  if (sequence_id_ != 0) engine_.cancel(sequence_id_, monotonic_ns());
  if (ResponseStore::Entry* entry = store_.find(record_.id)) entry->record.status = ResponseStatus::cancelled;
  if (session_ != nullptr && stream_) session_->drop_connection();  // the stream ends unfinished
}

bool ResponseRun::on_token(uint32_t index) {
  if (!stream_ || session_ == nullptr) return true;
  const std::string_view text = index < output_.tokens.size() ? output_.tokens[index] : std::string_view();
  event_.clear();
  if (index == 0) {
    append_item_added_event(event_, event_sequence_++, record_);
    append_part_added_event(event_, event_sequence_++, record_);
    content_index_ = 1;
  }
  append_text_delta_event(event_, event_sequence_++, record_, content_index_++, text);
  session_->stream_data(event_);
  return true;
}

void ResponseRun::on_finished(const SequenceResult& result) {
  if (finished_) return;
  finished_ = true;
  for (std::string_view t : output_.tokens) record_.text += t;
  record_.has_output = !record_.text.empty();
  // vLLM's catch-all status for non-harmony models, whatever the finish reason.
  record_.status = ResponseStatus::completed;
  record_.has_usage = true;
  record_.input_tokens = result.prompt_tokens;
  record_.cached_tokens = result.cached_tokens;
  record_.output_tokens = result.output_tokens;
  if (store_it_) {
    ResponseStore::Entry* entry = store_.find(record_.id);
    // A response cancelled meanwhile keeps saying so (vLLM's responses_full_generator).
    if (entry == nullptr || entry->record.status != ResponseStatus::cancelled) {
      store_.put(record_, std::move(messages_));
    }
  }
  if (session_ == nullptr) return;
  event_.clear();
  if (!stream_) {
    append_response_json(event_, record_);
    session_->respond(200, "application/json", event_);
    return;
  }
  if (record_.has_output) append_text_done_events(event_, event_sequence_, record_, content_index_);
  append_lifecycle_event(event_, "response.completed", event_sequence_++, record_);
  session_->stream_data(event_);
  session_->end_stream();
}

}  // namespace ringgate::sim
