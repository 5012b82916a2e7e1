#include "ringgate/sim/completion_exchange.h"

#include <ctime>

#include "ringgate/sim/monotonic_clock.h"
#include "ringgate/util/json_text.h"

namespace ringgate::sim {

CompletionExchange::CompletionExchange(HttpSession& session, CompletionRequest request, ResponseHead head,
                                       Options options)
    : session_(session), request_(std::move(request)), head_(std::move(head)), options_(options) {}

namespace {
uint64_t unix_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
}  // namespace

void CompletionExchange::record_span(bool error) {
  if (tracer_ == nullptr) return;
  SimTraceExporter* tracer = tracer_;
  tracer_ = nullptr;
  const Usage usage = total_usage();
  span_.end_unix_ns = unix_ns();
  span_.prompt_tokens = usage.prompt_tokens;
  span_.completion_tokens = usage.completion_tokens;
  span_.error = error;
  tracer->record(std::move(span_));
}

CompletionExchange::~CompletionExchange() {
  record_span(/*error=*/true);  // the client went away (or the connection was dropped) first
  const uint64_t now = monotonic_ns();
  for (auto& c : choices_)
    if (c->sequence_id != 0 && !c->finished) c->engine->cancel(c->sequence_id, now);
}

SequenceObserver& CompletionExchange::add_choice(uint32_t prompt, uint32_t prompt_tokens, PlannedOutput output) {
  auto c = std::make_unique<Choice>();
  c->owner = this;
  c->index = static_cast<uint32_t>(choices_.size());
  c->prompt = prompt;
  c->prompt_tokens = prompt_tokens;
  c->output = std::move(output);
  c->text_offset = echo_prefix(*c).size();
  choices_.push_back(std::move(c));
  ++unfinished_;
  return *choices_.back();
}

std::string_view CompletionExchange::echo_prefix(const Choice& c) const {
  if (!request_.echo || request_.endpoint != Endpoint::completions) return {};
  return request_.prompts[c.prompt].echo_text;
}

void CompletionExchange::drop_connection_after(uint64_t tokens, uint64_t& drops) {
  drop_after_ = tokens;
  drops_ = &drops;
}

void CompletionExchange::start() {
  if (request_.stream) session_.begin_stream(200, "text/event-stream; charset=utf-8");
}

Usage CompletionExchange::total_usage() const {
  Usage u;
  uint32_t last_prompt = UINT32_MAX;
  uint32_t cached = 0;
  for (const auto& c : choices_) {
    if (c->prompt != last_prompt) {
      // Prompt tokens count once per prompt, whatever n; cached tokens are
      // those of the last prompt's request, as vLLM reports them.
      u.prompt_tokens += c->prompt_tokens;
      cached = c->result.cached_tokens;
      last_prompt = c->prompt;
    }
    u.completion_tokens += c->emitted;
  }
  if (options_.prompt_tokens_details && cached > 0) u.cached_tokens = cached;
  return u;
}

bool CompletionExchange::on_token(Choice& c, uint32_t token) {
  if (tracer_ != nullptr && span_.first_token_unix_ns == 0) span_.first_token_unix_ns = unix_ns();
  if (!dropped_) {
    c.emitted = token + 1;
    const bool drop = ++tokens_ == drop_after_;
    if (request_.stream) send_token_event(c, token);
    if (!drop) return true;
    dropped_ = true;
    ++*drops_;
    session_.drop_connection();
  }
  // Dropped: this sequence (and any other choice's, at its next token) ends now.
  c.sequence_id = 0;
  return false;
}

void CompletionExchange::send_token_event(Choice& c, uint32_t token) {
  const bool chat = request_.endpoint == Endpoint::chat_completions;
  Usage continuous;
  const Usage* usage = nullptr;
  if (request_.include_usage && request_.continuous_usage_stats) {
    continuous.prompt_tokens = c.prompt_tokens;
    usage = &continuous;
  }
  event_.clear();
  if (chat && !role_sent_) {
    // vLLM's first iteration sends every choice's role, with no content yet.
    role_sent_ = true;
    for (const auto& each : choices_) append_chat_role_event(event_, head_, each->index, usage);
  }
  const PlannedOutput& out = c.output;
  const bool last = token + 1 == out.tokens.size();
  std::string first_text;
  ChoiceView view;
  view.index = c.index;
  view.text = out.tokens[token];
  if (token == 0 && !echo_prefix(c).empty()) {
    first_text.assign(echo_prefix(c));
    first_text += out.tokens[token];
    view.text = first_text;
  }
  view.finish = last ? &out.finish : nullptr;
  view.stop_reason = last ? &out.stop_reason : nullptr;
  if (request_.logprobs) {
    view.logprobs = LogprobsView{&out.tokens, token, size_t(token) + 1, *request_.logprobs, c.text_offset};
    c.text_offset += out.tokens[token].size();
  }
  continuous.completion_tokens = c.emitted;
  append_token_event(event_, head_, view, usage);
  session_.stream_data(event_);
}

void CompletionExchange::on_finished(Choice& c, const SequenceResult& result) {
  c.finished = true;
  c.result = result;
  c.emitted = result.output_tokens;
  if (--unfinished_ > 0) return;
  record_span(/*error=*/false);
  const Usage usage = total_usage();
  if (request_.stream) {
    event_.clear();
    if (request_.include_usage) append_usage_event(event_, head_, usage);
    event_ += kDoneEvent;
    session_.stream_data(event_);
    session_.end_stream();
    return;
  }
  std::vector<std::string> texts;
  texts.reserve(choices_.size());
  std::vector<ChoiceView> views;
  views.reserve(choices_.size());
  size_t bytes = 0;
  for (const auto& each : choices_) {
    std::string text(echo_prefix(*each));
    for (std::string_view t : each->output.tokens) text += t;
    bytes += text.size();
    texts.push_back(std::move(text));
    ChoiceView v;
    v.index = each->index;
    v.text = texts.back();
    v.finish = &each->output.finish;
    v.stop_reason = &each->output.stop_reason;
    if (request_.logprobs)
      v.logprobs = LogprobsView{&each->output.tokens, 0, each->output.tokens.size(), *request_.logprobs,
                                echo_prefix(*each).size()};
    views.push_back(v);
  }
  std::string kv_params;
  if (kv_source_ && !choices_.front()->result.held_block_ids.empty()) {
    // vLLM's NixlConnectorScheduler.request_finished, key for key.
    const auto& ids = choices_.front()->result.held_block_ids;
    kv_params = "{\"do_remote_prefill\":true,\"do_remote_decode\":false,\"remote_block_ids\":[";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) kv_params += ',';
      util::append_uint(kv_params, ids[i]);
    }
    kv_params += "],\"remote_engine_id\":";
    util::append_json_string(kv_params, kv_source_->engine_id);
    kv_params += ",\"remote_request_id\":";
    util::append_json_string(kv_params, kv_source_->request_id);
    kv_params += ",\"remote_host\":";
    util::append_json_string(kv_params, kv_source_->host);
    kv_params += ",\"remote_port\":";
    util::append_uint(kv_params, kv_source_->port);
    kv_params += ",\"tp_size\":1}";
  }
  std::string body;
  body.reserve(480 * views.size() + bytes + kv_params.size());
  append_full_response(body, head_, views, usage, kv_params);
  session_.respond(200, "application/json", body);
}

}  // namespace ringgate::sim
