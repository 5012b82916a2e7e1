#include "ringgate/proxy/relay_state.h"

#include <algorithm>
#include <utility>

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
  if (pending_.empty()) return take_whole(data, reader);
  if (blocker_) {
    ready_.assign(pending_).append(data);
    pending_.clear();
    return ready_;
  }
  // The held start of an event grows by this read. It holds no event end, so only the new
  // bytes are searched (with the 2 before them, for a blank line across the two): an event
  // a hostile server sends a byte at a time costs linear time, not quadratic.
  const size_t from = pending_.size() >= 2 ? pending_.size() - 2 : 0;
  pending_.append(data);
  size_t end = openai::complete_events_end(std::string_view(pending_).substr(from));
  if (end > 0) end += from;
  ready_.assign(pending_, 0, end);
  pending_.erase(0, end);
  if (too_long_held()) return ready_.append(std::exchange(pending_, {}));
  keep_events(ready_, reader);
  return ready_;
}

std::string_view RelayState::take_joined(std::string_view joined, openai::StreamEventReader& reader) {
  if (!keep_) return joined;
  pending_.clear();  // it begins `joined`
  return take_whole(joined, reader);
}

std::string_view RelayState::take_whole(std::string_view data, openai::StreamEventReader& reader) {
  if (blocker_) return data;                             // no longer kept: relayed as it comes
  const size_t end = openai::complete_events_end(data);  // nearly always data.size()
  if (end < data.size()) pending_.assign(data.substr(end));
  if (too_long_held()) {
    pending_.clear();
    return data;
  }
  keep_events(data.substr(0, end), reader);
  return data.substr(0, end);
}

bool RelayState::too_long_held() {
  if (pending_.size() <= openai::kMaxStreamEventBytes) return false;
  // An "event" that never ends is not one a continuation can be built from.
  stop_keeping(Reason::Unreadable);
  return true;
}

void RelayState::keep_events(std::string_view whole, openai::StreamEventReader& reader) {
  kept_.append(whole);
  if (kept_.size() >= kReadBatchBytes) read_kept(reader);
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
