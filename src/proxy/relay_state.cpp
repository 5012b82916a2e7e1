#include "ringgate/proxy/relay_state.h"

#include <algorithm>

namespace ringgate::proxy {

using openai::StreamEvent;
using openai::StreamEventKind;

namespace {
void give_back(std::string& s) {
  if (s.capacity() > 2 * kReadBatchBytes) std::string().swap(s);
  else s.clear();
}
}  // namespace

void RelayState::begin(bool keep, uint32_t max_tokens) {
  keep_ = keep;
  max_tokens_ = max_tokens;
  leg_ = 0;
  kept_.clear();
  pending_.clear();
  ready_.clear();
  text_.clear();
  tokens_ = 0;
  leg_start_tokens_ = 0;
  id_.clear();
  created_.clear();
  model_.clear();
  fingerprint_.clear();
  identity_ = false;
  blocker_.reset();
  done_ = false;
  finished_ = false;
}

void RelayState::clear() {
  begin(false, 0);
  give_back(kept_);
  give_back(pending_);
  give_back(ready_);
  give_back(text_);
}

void RelayState::stop_keeping(Reason why) {
  if (!blocker_) blocker_ = why;
  give_back(kept_);
}

std::string_view RelayState::take(std::string_view data, openai::StreamEventReader& reader) {
  if (!keep_) return data;
  if (leg_ > 0) return stitch(data, reader);
  if (blocker_) {
    // No longer kept: relayed as it comes (after any event start still held).
    if (pending_.empty()) return data;
    ready_.assign(pending_).append(data);
    pending_.clear();
    return ready_;
  }
  std::string_view whole;
  if (pending_.empty()) {
    const size_t end = openai::complete_events_end(data);  // nearly always data.size()
    whole = data.substr(0, end);
    if (end < data.size()) pending_.assign(data.substr(end));
  } else if (const size_t cut = openai::complete_events_end(data); cut > 0) {
    // The held start of an event, then this read's whole events: copied once. (An event
    // end inside this read is the last one: one across the two ends within its 3 bytes.)
    ready_.assign(pending_).append(data.substr(0, cut));
    pending_.assign(data.substr(cut));
    whole = ready_;
  } else {
    pending_.append(data);
    const size_t end = openai::complete_events_end(pending_);
    ready_.assign(pending_, 0, end);
    pending_.erase(0, end);
    whole = ready_;
  }
  if (pending_.size() > openai::kMaxStreamEventBytes) {
    // An "event" that never ends is not one a continuation can be built from.
    stop_keeping(Reason::Unreadable);
    if (whole.data() != ready_.data()) ready_.assign(whole);
    ready_.append(pending_);
    pending_.clear();
    return ready_;
  }
  kept_.append(whole);
  if (kept_.size() >= kReadBatchBytes) read_kept(reader);
  return whole;
}

std::string_view RelayState::finish() {
  if (pending_.empty()) return {};
  ready_.swap(pending_);
  pending_.clear();
  return ready_;
}

std::string_view RelayState::stitch(std::string_view data, openai::StreamEventReader& reader) {
  ready_.clear();
  std::string_view rest = data;
  if (!pending_.empty()) {
    pending_.append(data);
    rest = pending_;
  }
  std::string_view event;
  while (openai::next_event(rest, event)) read_event(event, reader, &ready_);
  if (pending_.empty()) pending_.assign(rest);
  else pending_.erase(0, pending_.size() - rest.size());
  if (pending_.size() > openai::kMaxStreamEventBytes) {
    stop_keeping(Reason::Unreadable);
    ready_.append(pending_);  // relayed as it is: it cannot be read, let alone rewritten
    pending_.clear();
  }
  return ready_;
}

void RelayState::read_kept(openai::StreamEventReader& reader) {
  std::string_view rest = kept_;
  std::string_view event;
  while (!blocker_ && openai::next_event(rest, event)) read_event(event, reader, nullptr);
  kept_.clear();
}

void RelayState::read_event(std::string_view event, openai::StreamEventReader& reader, std::string* out) {
  const std::string_view payload = openai::event_payload(event);
  if (payload.empty()) {
    // A comment or keep-alive passes; any other shape cannot be read, so not continued.
    const bool comment = event.front() == ':' || event.front() == '\n' || event.front() == '\r';
    if (!comment) stop_keeping(Reason::Unreadable);
    if (out != nullptr) out->append(event);
    return;
  }
  StreamEvent e;
  reader.read(payload, e, &text_);
  switch (e.kind) {
    case StreamEventKind::Done:
      done_ = true;
      if (out != nullptr) out->append(event);
      return;
    case StreamEventKind::Invalid:
      stop_keeping(Reason::Unreadable);
      [[fallthrough]];
    case StreamEventKind::Other:
      if (out != nullptr) out->append(event);
      return;
    case StreamEventKind::Choice:
    case StreamEventKind::Usage:
      break;
  }
  if (leg_ == 0 && !identity_ && e.id.present()) {
    identity_ = true;
    id_.assign(e.id.in(payload));
    created_.assign(e.created.in(payload));
    model_.assign(e.model.in(payload));
    fingerprint_.assign(e.system_fingerprint.in(payload));
  }
  if (e.kind == StreamEventKind::Choice) {
    if (e.tool_calls) stop_keeping(Reason::ToolCalls);
    if (e.reasoning) stop_keeping(Reason::Reasoning);
    if (e.logprobs) stop_keeping(Reason::Logprobs);
    if (e.other_index || e.choices > 1) stop_keeping(Reason::SeveralChoices);
    finished_ |= e.finished;
    if (e.role_only && leg_ > 0) return;  // the continuation's role chunk: the client had one
    if (!e.role_only) ++tokens_;          // one token per event, as vLLM streams them
    if (tokens_ > max_tokens_ || text_.size() > size_t(max_tokens_) * kMaxTextBytesPerToken)
      stop_keeping(Reason::TooLong);
  }
  if (out == nullptr) return;
  openai::EventRewrite with{id_, created_, model_, fingerprint_, {}};
  if (e.prompt_tokens >= 0) {
    const int64_t carried = int64_t(leg_start_tokens_);
    usage_.clear();
    openai::append_usage_object(usage_, e.prompt_tokens - carried, carried + std::max<int64_t>(0, e.completion_tokens));
    with.usage = usage_;
  }
  openai::rewrite_event(*out, payload, e, with);
}

std::optional<RelayState::Reason> RelayState::prepare_continuation(openai::StreamEventReader& reader) {
  if (!keep_) return Reason::Unsupported;
  if (leg_ == 0 && !blocker_) read_kept(reader);
  pending_.clear();  // a cut event never reached the client: the continuation makes it again
  if (done_) return std::nullopt;
  if (blocker_) return blocker_;
  if (finished_) return Reason::Finished;
  return std::nullopt;
}

void RelayState::start_leg() {
  ++leg_;
  leg_start_tokens_ = tokens_;
  pending_.clear();
}

}  // namespace ringgate::proxy
