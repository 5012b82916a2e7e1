#include "ringgate/sim/sim_api.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <memory>
#include <random>
#include <strings.h>

#include "ringgate/sim/api_error.h"
#include "ringgate/sim/completion_exchange.h"
#include "ringgate/sim/monotonic_clock.h"
#include "ringgate/sim/model_tokenizer.h"
#include "ringgate/sim/tokenizer.h"
#include "ringgate/util/json_text.h"

namespace ringgate::sim {
namespace {

constexpr std::string_view kJson = "application/json";

void respond_error(HttpSession& session, const ApiError& error) {
  session.respond(error.status, kJson, error_body(error));
}

enum class Route {
  completions, chat_completions, models, health, ping, version, tokenize, detokenize, metrics,
  embeddings, pooling, classify, score, rerank, transcriptions, translations, nixl_pull, responses, response_item,
  response_cancel, none
};

constexpr std::string_view kResponsesPrefix = "/v1/responses/";
constexpr std::string_view kCancelSuffix = "/cancel";

// /v1/responses/{id} or /v1/responses/{id}/cancel: the id (a path segment: no '/'); empty if neither.
std::string_view response_path_id(std::string_view path, bool& cancel) {
  if (!path.starts_with(kResponsesPrefix)) return {};
  std::string_view rest = path.substr(kResponsesPrefix.size());
  cancel = rest.ends_with(kCancelSuffix);
  if (cancel) rest.remove_suffix(kCancelSuffix.size());
  if (rest.empty() || rest.find('/') != std::string_view::npos) return {};
  return rest;
}

Route route_of(std::string_view path) {
  if (path == "/v1/completions") return Route::completions;
  if (path == "/v1/chat/completions") return Route::chat_completions;
  if (path == "/v1/embeddings") return Route::embeddings;
  if (path == "/pooling") return Route::pooling;
  if (path == "/classify") return Route::classify;
  if (path == "/v1/score" || path == "/score") return Route::score;
  if (path == "/v1/rerank" || path == "/rerank" || path == "/v2/rerank") return Route::rerank;
  if (path == "/v1/audio/transcriptions") return Route::transcriptions;
  if (path == "/v1/audio/translations") return Route::translations;
  if (path == "/v1/models") return Route::models;
  if (path == "/health") return Route::health;
  if (path == "/ping") return Route::ping;
  if (path == "/version") return Route::version;
  if (path == "/tokenize") return Route::tokenize;
  if (path == "/detokenize") return Route::detokenize;
  if (path == "/metrics") return Route::metrics;
  if (path == "/nixl/pull") return Route::nixl_pull;
  if (path == "/v1/responses") return Route::responses;
  bool cancel = false;
  if (!response_path_id(path, cancel).empty()) return cancel ? Route::response_cancel : Route::response_item;
  return Route::none;
}

// The methods FastAPI routes each path for in vLLM's api_server.
bool method_allowed(Route route, llhttp_method_t m, const char*& allow) {
  switch (route) {
    case Route::completions:
    case Route::chat_completions:
    case Route::tokenize:
    case Route::detokenize:
    case Route::embeddings:
    case Route::pooling:
    case Route::classify:
    case Route::score:
    case Route::rerank:
    case Route::transcriptions:
    case Route::translations:
    case Route::nixl_pull:
    case Route::responses:
    case Route::response_cancel:
      allow = "allow: POST\r\n";
      return m == HTTP_POST;
    case Route::ping:
      allow = "allow: GET, POST\r\n";
      return m == HTTP_GET || m == HTTP_POST;
    default:
      allow = "allow: GET\r\n";
      return m == HTTP_GET;
  }
}

// The POST routes vLLM guards with validate_json_request (all but the audio uploads and /ping).
bool takes_json(Route route) {
  switch (route) {
    case Route::completions:
    case Route::chat_completions:
    case Route::tokenize:
    case Route::detokenize:
    case Route::embeddings:
    case Route::pooling:
    case Route::classify:
    case Route::score:
    case Route::rerank:
    case Route::nixl_pull:
    case Route::responses:
      return true;
    default:
      return false;
  }
}

// vLLM's validate_json_request: the media type must be application/json.
bool is_json_media_type(std::string_view content_type) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  constexpr std::string_view kWanted = "application/json";
  return media.size() == kWanted.size() && strncasecmp(media.data(), kWanted.data(), media.size()) == 0;
}

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double unit_interval(uint64_t random) { return double(random >> 11) * 0x1.0p-53; }  // [0, 1)

kvevents::BlockDigest random_digest() {
  std::random_device device;
  kvevents::BlockDigest d;
  for (auto& b : d) b = uint8_t(device());
  return d;
}

std::string join_names(const std::vector<uint32_t>& indices, const std::vector<LoraAdapter>& loras) {
  std::string out;
  for (uint32_t i : indices) {
    if (!out.empty()) out += ',';
    out += loras[i].name;
  }
  return out;
}

// vLLM's default engine_id: str(uuid.uuid4()).
std::string random_uuid4() {
  std::random_device device;
  uint8_t b[16];
  for (auto& x : b) x = uint8_t(device());
  b[6] = uint8_t((b[6] & 0x0f) | 0x40);
  b[8] = uint8_t((b[8] & 0x3f) | 0x80);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

}  // namespace

// A do_remote_prefill request while its pull is under way: owns the request's
// exchange and sequences until the pull ends; dropped (the pull forgotten) if the
// client goes first.
class SimApi::PendingPull final : public InFlight {
 public:
  PendingPull(SimApi& api, HttpSession& session) : api_(api), session_(session) {}
  ~PendingPull() override {
    if (pull_ == 0) return;
    api_.pulls_.cancel(pull_);
    api_.pending_pulls_.erase(pull_);
  }
  SimApi& api_;
  HttpSession& session_;
  uint64_t pull_ = 0;
  std::unique_ptr<CompletionExchange> exchange;
  std::vector<SequenceRequest> sequences;
  std::vector<uint32_t> engine_of;
  uint64_t planned_tokens = 0;
  uint32_t remote_tokens = 0;  // prompt 0's tokens, the KV the prefill engine computed
};

SimApi::SimApi(const SimOptions& options, std::vector<Engine*> engines, KvPullClient& pulls)
    : options_(options),
      balancer_(uint32_t(engines.size()), static_cast<uint64_t>(options.data_parallel_stats_interval_ms * 1e6)),
      hasher_(options.python_hash_seed ? kvevents::VllmBlockHasher(*options.python_hash_seed)
                                       : kvevents::VllmBlockHasher(random_digest())),
      created_(static_cast<uint64_t>(unix_seconds())),
      random_state_(options.seed ? *options.seed : monotonic_ns()),
      fault_random_state_(options.fault_seed ? *options.fault_seed : ~random_state_),
      pulls_(pulls),
      responses_{ResponseStore(options.responses_store_max_entries, options.responses_store_max_bytes), {}, {}} {
  if (!options.otlp_traces_endpoint.empty())
    tracer_ = std::make_unique<SimTraceExporter>(options.otlp_traces_endpoint, "vllm");
  // vLLM appends the rank to the engine id of each data-parallel engine (EngineCoreProc.run_engine_core).
  const std::string base_id = options.kv_transfer.engine_id.empty() ? random_uuid4() : options.kv_transfer.engine_id;
  const std::vector<uint32_t> ranks = options.local_ranks();
  for (size_t i = 0; i < engines.size(); ++i)
    engines_.push_back({engines[i], ranks[i], data_parallel_engine_id(base_id, ranks[i], options.data_parallel_size)});
  std::vector<ModelEntry> entries;
  for (const auto& name : options.served_model_names) {
    models_.emplace(name, -1);
    entries.push_back({name, options.model, {}});
  }
  for (size_t i = 0; i < options.loras.size(); ++i) {
    models_.emplace(options.loras[i].name, int32_t(i));
    entries.push_back({options.loras[i].name, options.loras[i].path, options.served_model_names.front()});
  }
  models_body_ = models_body(entries, created_, options.max_model_len);
}

uint64_t SimApi::next_random() { return splitmix64(random_state_); }

uint64_t SimApi::mid_stream_drop_after(uint64_t planned_tokens) {
  const double rate = options_.fail_mid_stream_rate;
  if (rate <= 0 || unit_interval(splitmix64(fault_random_state_)) >= rate) return 0;
  // 1 <= k < planned: at least one token goes out, and the output is never whole.
  if (planned_tokens < 2) return 0;
  return 1 + splitmix64(fault_random_state_) % (planned_tokens - 1);
}

void SimApi::handle(HttpSession& session, HttpRequest& request) {
  Route route = route_of(request.path);
  if (route == Route::nixl_pull && !options_.kv_transfer.enabled()) route = Route::none;
  if (route == Route::none) {
    respond_error(session, {404, "Not Found", {}, "Not Found"});
    return;
  }
  const char* allow = "";
  if (!method_allowed(route, request.method, allow)) {
    session.respond(405, kJson, error_body({405, "Method Not Allowed", {}, "Method Not Allowed"}), allow);
    return;
  }
  if (takes_json(route) && !is_json_media_type(request.content_type)) {
    respond_error(session, validation_error("Unsupported Media Type: Only 'application/json' is allowed"));
    return;
  }
  switch (route) {
    case Route::health:
    case Route::ping:
      session.respond(200, kJson, {});
      return;
    case Route::version:
      session.respond(200, kJson, "{\"version\":\"" + options_.vllm_version + "\"}");
      return;
    case Route::metrics:
      session.respond(200, "text/plain; version=0.0.4; charset=utf-8", metrics_text());
      return;
    case Route::models:
      session.respond(200, kJson, models_body_);
      return;
    case Route::tokenize:
      handle_tokenize(session, request);
      return;
    case Route::detokenize:
      handle_detokenize(session, request);
      return;
    case Route::completions:
    case Route::chat_completions:
      handle_completion(session, request,
                        route == Route::completions ? Endpoint::completions : Endpoint::chat_completions);
      return;
    case Route::embeddings: return handle_pooling(session, request, PoolingEndpoint::embeddings);
    case Route::pooling: return handle_pooling(session, request, PoolingEndpoint::pooling);
    case Route::classify: return handle_pooling(session, request, PoolingEndpoint::classify);
    case Route::score: return handle_pooling(session, request, PoolingEndpoint::score);
    case Route::rerank: return handle_pooling(session, request, PoolingEndpoint::rerank);
    case Route::transcriptions: return handle_audio(session, request, AudioTask::transcription);
    case Route::translations: return handle_audio(session, request, AudioTask::translation);
    case Route::nixl_pull: return handle_kv_pull(session, request);
    case Route::responses: return handle_responses(session, request);
    case Route::response_item:
    case Route::response_cancel: {
      bool cancel = false;
      const std::string_view id = response_path_id(request.path, cancel);
      return cancel ? handle_response_cancel(session, id) : handle_response_get(session, id);
    }
    case Route::none:
      return;
  }
}

bool SimApi::answer_injected_error(HttpSession& session, const HttpRequest& request) {
  if (!request.return_error.empty()) {
    int status = 0;
    const auto& v = request.return_error;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), status);
    if (ec != std::errc() || end != v.data() + v.size() || status < 400 || status > 599) {
      respond_error(session, {400, "X-Return-Error must be an HTTP error status 400-599, got '" + v + "'", {}});
      return true;
    }
    respond_error(session, {status, "Simulated error (X-Return-Error: " + v + ")", {}});
    return true;
  }
  if (options_.fail_rate > 0 && unit_interval(next_random()) < options_.fail_rate) {
    respond_error(session, {500, "Simulated failure (--fail-rate)", {}});
    return true;
  }
  return false;
}

void SimApi::handle_tokenize(HttpSession& session, HttpRequest& request) {
  // vLLM takes {"prompt": str} or a chat {"messages": [...]} here.
  const Endpoint shape =
      request.body.find("\"messages\"") != std::string::npos ? Endpoint::chat_completions : Endpoint::completions;
  ParsedRequest parsed = parse_completion_request(shape, request.body, options_.media_tokens);
  if (auto* error = std::get_if<ApiError>(&parsed)) return respond_error(session, *error);
  const CompletionRequest& req = std::get<CompletionRequest>(parsed);
  if (req.model && !models_.contains(*req.model))
    return respond_error(session, {404, "The model `" + *req.model + "` does not exist.", "model"});
  // Counted as a completion of the same prompt or messages would be (--tokenizer: the model's ids).
  std::vector<uint32_t> ids;
  if (options_.tokenizer) {
    auto model_ids = options_.tokenizer->encode(req.prompts.front(), shape, req.rendering);
    if (!model_ids) return respond_error(session, {400, model_ids.error().message, {}});
    ids = std::move(model_ids.value());
  } else {
    ids = token_ids(req.prompts.front().text);
  }
  std::string body = "{\"count\":";
  util::append_uint(body, ids.size());
  body += ",\"max_model_len\":";
  util::append_uint(body, options_.max_model_len);
  body += ",\"tokens\":[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) body += ',';
    util::append_uint(body, ids[i]);
  }
  body += "],\"token_strs\":null}";
  session.respond(200, kJson, body);
}

void SimApi::handle_detokenize(HttpSession& session, HttpRequest& request) {
  ParsedDetokenize parsed = parse_detokenize_request(request.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return respond_error(session, *error);
  const DetokenizeRequest& req = std::get<DetokenizeRequest>(parsed);
  if (req.model && !models_.contains(*req.model))
    return respond_error(session, {404, "The model `" + *req.model + "` does not exist.", "model"});
  std::string text;
  text.reserve(req.tokens.size() * kBytesPerToken);
  for (uint32_t id : req.tokens) append_token_text(text, id);
  std::string body = "{\"prompt\":";
  util::append_json_string(body, text);
  body += '}';
  session.respond(200, kJson, body);
}

// The name a response carries for `model`: the first served name, or the adapter.
const std::string& SimApi::answer_model(const std::optional<std::string>& model) const {
  const auto found = model ? models_.find(*model) : models_.end();
  if (found == models_.end() || found->second < 0) return options_.served_model_names.front();
  return options_.loras[size_t(found->second)].name;
}

void SimApi::handle_pooling(HttpSession& session, HttpRequest& request, PoolingEndpoint endpoint) {
  if (answer_injected_error(session, request)) return;
  ParsedPooling parsed = parse_pooling_request(endpoint, request.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return respond_error(session, *error);
  const PoolingRequest& req = std::get<PoolingRequest>(parsed);
  if (req.model && !models_.contains(*req.model))
    return respond_error(session, {404, "The model `" + *req.model + "` does not exist.", "model"});
  session.respond(200, kJson,
                  pooling_response(req, answer_model(req.model), uint64_t(unix_seconds()), next_random()));
}

void SimApi::handle_audio(HttpSession& session, HttpRequest& request, AudioTask task) {
  if (answer_injected_error(session, request)) return;
  ParsedAudio parsed = parse_audio_request(task, request.content_type, request.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return respond_error(session, *error);
  const AudioRequest& req = std::get<AudioRequest>(parsed);
  if (req.model && !models_.contains(*req.model))
    return respond_error(session, {404, "The model `" + *req.model + "` does not exist.", "model"});
  if (req.stream) {
    session.begin_stream(200, "text/event-stream");
    session.stream_data(audio_events(req, answer_model(req.model), uint64_t(unix_seconds()), next_random()));
    session.end_stream();
    return;
  }
  if (req.text_format) return session.respond(200, "text/plain; charset=utf-8", audio_text(req));
  session.respond(200, kJson, audio_response(req));
}

void SimApi::handle_completion(HttpSession& session, HttpRequest& request, Endpoint endpoint) {
  if (answer_injected_error(session, request)) return;
  ParsedRequest parsed = parse_completion_request(endpoint, request.body, options_.media_tokens);
  if (auto* error = std::get_if<ApiError>(&parsed)) return respond_error(session, *error);
  CompletionRequest& req = std::get<CompletionRequest>(parsed);

  // No model: the base model, as vLLM serves it.
  int32_t lora = -1;
  if (req.model) {
    auto model = models_.find(*req.model);
    if (model == models_.end())
      return respond_error(session, {404, "The model `" + *req.model + "` does not exist.", "model"});
    lora = model->second;
  }
  const bool chat = endpoint == Endpoint::chat_completions;
  // Chat: max_completion_tokens wins over max_tokens; neither means "up to
  // max_model_len". Completions: max_tokens defaults to 16.
  std::optional<uint32_t> asked = chat && req.max_completion_tokens ? req.max_completion_tokens : req.max_tokens;
  if (!chat && !asked) asked = kDefaultMaxTokens;
  const uint32_t max_len = options_.max_model_len;
  std::vector<uint32_t> prompt_tokens;
  prompt_tokens.reserve(req.prompts.size());
  // With --tokenizer: the model's token ids (counted and hashed as vLLM does).
  std::vector<std::vector<uint32_t>> model_ids;
  for (const PromptInput& p : req.prompts) {
    uint32_t tokens = 0;
    if (options_.tokenizer) {
      auto ids = options_.tokenizer->encode(p, endpoint, req.rendering);
      if (!ids) return respond_error(session, {400, ids.error().message, {}});
      tokens = static_cast<uint32_t>(std::min<size_t>(ids.value().size(), UINT32_MAX));
      model_ids.push_back(std::move(ids.value()));
    } else {
      tokens = count_tokens(p.text);
    }
    prompt_tokens.push_back(tokens);
    if (!asked && tokens >= max_len)
      return respond_error(session, {400,
                                     "This model's maximum context length is " + std::to_string(max_len) +
                                         " tokens. However, you requested " + std::to_string(tokens) +
                                         " tokens in the messages, Please reduce the length of the messages.",
                                     {}});
    if (asked && uint64_t(tokens) + *asked > max_len)
      return respond_error(session, {400,
                                     "This model's maximum context length is " + std::to_string(max_len) +
                                         " tokens. However, you requested " +
                                         std::to_string(uint64_t(tokens) + *asked) + " tokens (" +
                                         std::to_string(tokens) + " in the messages, " + std::to_string(*asked) +
                                         " in the completion). Please reduce the length of the messages or "
                                         "completion.",
                                     {}});
  }

  // X-data-parallel-rank, checked where vLLM's process_inputs checks it (after the prompt's).
  // With --data-parallel-rank this process's one engine serves any rank in range (vLLM's
  // external-LB client has one engine and ignores the request's rank).
  std::optional<uint32_t> pinned;
  if (!pinned_engine(session, request, pinned)) return;

  // The response names the first served name (or the adapter), whatever alias was asked for.
  const std::string& model_name = lora >= 0 ? options_.loras[size_t(lora)].name : options_.served_model_names.front();
  std::string id = request.request_id.empty()
                       ? make_response_id(endpoint, next_random(), next_random())
                       : std::string(chat ? "chatcmpl-" : "cmpl-") + request.request_id;
  const std::string response_id = id;
  ResponseHead head{endpoint, std::move(id), static_cast<uint64_t>(unix_seconds()), model_name,
                    !options_.vllm_version.starts_with("0.10")};
  if (!req.stream) req.include_usage = false;
  else if (!req.has_stream_options) req.include_usage = options_.enable_force_include_usage;
  else req.include_usage = req.include_usage || options_.enable_force_include_usage;
  if (!req.include_usage) req.continuous_usage_stats = false;

  auto exchange = std::make_unique<CompletionExchange>(
      session, std::move(req), std::move(head), CompletionExchange::Options{options_.enable_prompt_tokens_details});
  if (tracer_) {
    // vLLM continues a traceparent it receives (a malformed one: a trace of its own).
    SimSpan span;
    span.has_parent = util::parse_traceparent(request.traceparent, span.parent);
    span.request_id = response_id;
    span.model = model_name;
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    span.start_unix_ns = uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
    exchange->set_trace(tracer_.get(), std::move(span));
  }
  const CompletionRequest& owned = exchange->request();
  // vLLM's extra_keys: the adapter's name for a LoRA request, none for the base model.
  const std::string lora_name = lora >= 0 ? options_.loras[size_t(lora)].name : std::string();
  std::vector<SequenceRequest> sequences;
  // --seed N: every request's outputs follow from N and the text alone, so another sim
  // with the same N continues this one's output token for token.
  const uint64_t seed = options_.seed ? *options_.seed : next_random();
  uint64_t planned_tokens = 0;
  for (uint32_t p = 0; p < owned.prompts.size(); ++p) {
    const PromptInput& prompt = owned.prompts[p];
    const uint32_t limit = asked ? *asked : max_len - prompt_tokens[p];
    const std::vector<uint32_t> ids = options_.tokenizer ? std::move(model_ids[p]) : tokenizer_.encode(prompt.text);
    // A model's tokenizer has no placeholder runs of the sim's: its media parts are text.
    PromptBlocks blocks =
        prompt_blocks(ids, hasher_, lora_name, options_.block_size,
                      options_.tokenizer ? std::span<const kvevents::MediaPlaceholder>() : prompt.media);
    for (uint32_t k = 0; k < owned.n; ++k) {
      OutputSpec spec;
      spec.mode = options_.mode;
      spec.echo_text = prompt.echo_text;
      spec.context = prompt.text;
      spec.seed = choice_seed(seed, k);
      spec.limit = limit;
      spec.limit_given = asked.has_value() && (chat ? (owned.max_tokens || owned.max_completion_tokens)
                                                   : owned.max_tokens.has_value());
      spec.ignore_eos = owned.ignore_eos;
      spec.stop = &owned.stop;
      spec.include_stop_str_in_output = owned.include_stop_str_in_output;
      SequenceObserver& observer = exchange->add_choice(p, prompt_tokens[p], plan_output(spec));
      const PlannedOutput& out = exchange->output(uint32_t(sequences.size()));
      planned_tokens += out.tokens.size();
      SequenceRequest seq;
      seq.prompt_tokens = prompt_tokens[p];
      seq.block_hashes = blocks.hashes;
      if (options_.kv_events.publishing()) {
        seq.block_tokens = blocks.tokens;
        seq.block_extra_keys = blocks.extra_keys;
      }
      seq.lora = lora;
      seq.output_tokens = std::max<uint32_t>(1, static_cast<uint32_t>(out.tokens.size()));
      seq.finish_reason = out.finish;
      seq.observer = &observer;
      if (k == 0) {
        seq.n_param = owned.n;
        seq.max_tokens_param = limit;
      }
      sequences.push_back(std::move(seq));
    }
  }
  // Each sequence's engine, picked on arrival as vLLM's API server picks one per child request.
  std::vector<uint32_t> engine_of = place(pinned, uint32_t(sequences.size()));
  const KvTransferParams& kv = owned.kv_transfer;
  if (options_.kv_transfer.enabled() && kv.present) {
    if (kv.do_remote_decode) {
      // A prefill for a remote decoder (only choice 0 of prompt 0: one set of blocks to name),
      // held by the engine that runs it, named by that engine's id.
      sequences.front().hold_for_transfer = response_id;
      exchange->set_kv_transfer_source({engines_[engine_of.front()].kv_id, kv_host_, kv_port_, response_id});
    } else if (kv.do_remote_prefill && !kv.remote_block_ids.empty() && kv.remote_engine_id &&
               kv.remote_request_id && kv.remote_host && kv.remote_port) {
      // vLLM takes do_remote_prefill without every remote_* field as no transfer at all
      // (a warning, a local prefill); with them it pulls before the request can run.
      std::string error;
      uint64_t pull = 0;
      if (options_.fail_kv_pulls) {
        error = "--fail-kv-pulls";
      } else {
        KvPullRequest pr{*kv.remote_engine_id, *kv.remote_request_id, kv.remote_block_ids};
        pull = pulls_.start(*kv.remote_host, *kv.remote_port, pr, monotonic_ns(), error);
      }
      if (pull == 0) {
        if (!pull_failed(engine_of.front(), error))
          return respond_error(session, {500, "KV transfer from the prefill engine failed: " + error, {}});
      } else {
        auto pending = std::make_unique<PendingPull>(*this, session);
        pending->pull_ = pull;
        pending->exchange = std::move(exchange);
        pending->sequences = std::move(sequences);
        pending->engine_of = std::move(engine_of);
        pending->planned_tokens = planned_tokens;
        pending->remote_tokens = prompt_tokens.front();
        pending_pulls_[pull] = pending.get();
        session.set_in_flight(std::move(pending));
        return;
      }
    }
  }
  submit_sequences(session, std::move(exchange), std::move(sequences), std::move(engine_of), planned_tokens);
}

bool SimApi::pull_failed(uint32_t engine, const std::string& why) {
  ++engines_[engine].pulls_failed;
  std::fprintf(stderr, "ringgate-sim: KV pull failed (%s); %s\n", why.c_str(),
               options_.kv_transfer.kv_load_failure_policy == "fail" ? "failing the request"
                                                                     : "prefilling locally (recompute)");
  return options_.kv_transfer.kv_load_failure_policy != "fail";
}

void SimApi::on_pull_done(uint64_t pull, const KvPullOutcome& outcome) {
  auto it = pending_pulls_.find(pull);
  if (it == pending_pulls_.end()) return;
  PendingPull& pending = *it->second;
  pending_pulls_.erase(it);
  pending.pull_ = 0;
  HttpSession& session = pending.session_;
  std::unique_ptr<CompletionExchange> exchange = std::move(pending.exchange);
  std::vector<SequenceRequest> sequences = std::move(pending.sequences);
  std::vector<uint32_t> engine_of = std::move(pending.engine_of);
  const uint64_t planned_tokens = pending.planned_tokens;
  const uint32_t remote_tokens = pending.remote_tokens;
  if (outcome.ok) {
    ++engines_[engine_of.front()].pulls_ok;
    // The prompt's KV is here now: prompt 0's sequences start from it (the engine caps
    // it below the last token and counts the blocks it did not already hold).
    for (auto& seq : sequences)
      if (seq.prompt_tokens == remote_tokens) seq.remote_tokens = remote_tokens;
  } else if (!pull_failed(engine_of.front(), outcome.error)) {
    return respond_error(session, {500, "KV transfer from the prefill engine failed: " + outcome.error, {}});
  }
  // ends `pending`
  submit_sequences(session, std::move(exchange), std::move(sequences), std::move(engine_of), planned_tokens);
}

void SimApi::submit_sequences(HttpSession& session, std::unique_ptr<CompletionExchange> exchange,
                              std::vector<SequenceRequest> sequences, std::vector<uint32_t> engine_of,
                              uint64_t planned_tokens) {
  const uint64_t now = monotonic_ns();
  std::string served;  // the sim's x-sim-engine: the ranks that run the request, in choice order
  for (uint32_t i = 0; i < sequences.size(); ++i) {
    Engine& engine = *engines_[engine_of[i]].engine;
    SubmitResult submitted = engine.submit(std::move(sequences[i]), now);
    if (submitted.status == SubmitStatus::queue_full)
      return respond_error(session, {429,
                                     "The server is overloaded: the waiting queue is full (" +
                                         std::to_string(engine.waiting()) + " requests). Try again later.",
                                     {}});
    if (submitted.status == SubmitStatus::too_large)
      return respond_error(session, {400, "The request needs more KV-cache blocks than the server has.", {}});
    exchange->set_sequence(i, engine, submitted.id);
    const std::string rank = std::to_string(engines_[engine_of[i]].rank);
    if (served.empty())
      served = rank;
    else if (("," + served + ",").find("," + rank + ",") == std::string::npos)
      served += "," + rank;
  }
  session.add_response_header("x-sim-engine: " + served + "\r\n");
  if (const uint64_t k = mid_stream_drop_after(planned_tokens)) exchange->drop_connection_after(k, mid_stream_drops_);
  exchange->start();
  session.set_in_flight(std::move(exchange));
}

void SimApi::handle_kv_pull(HttpSession& session, HttpRequest& request) {
  ParsedKvPull parsed = parse_kv_pull_request(request.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return respond_error(session, *error);
  const KvPullRequest& pull = std::get<KvPullRequest>(parsed);
  // The engine id names the data-parallel rank holding the blocks (its "_dp<rank>" suffix).
  size_t engine = 0;
  while (engine < engines_.size() && engines_[engine].kv_id != pull.remote_engine_id) ++engine;
  if (engine == engines_.size()) {
    std::string ours;
    for (const LocalEngine& e : engines_) ours += (ours.empty() ? "'" : ", '") + e.kv_id + "'";
    return respond_error(
        session, {404, "remote_engine_id '" + pull.remote_engine_id + "' is not this engine (" + ours + ")", {}});
  }
  const std::optional<uint32_t> blocks = engines_[engine].engine->release_transfer(pull.remote_request_id, monotonic_ns());
  if (!blocks)
    return respond_error(session, {404,
                                   "no KV blocks held for request '" + pull.remote_request_id +
                                       "' (never held, already pulled, expired or released)",
                                   {}});
  std::string body = "{\"remote_request_id\":";
  util::append_json_string(body, pull.remote_request_id);
  body += ",\"num_blocks\":";
  util::append_uint(body, *blocks);
  body += '}';
  session.respond(200, kJson, body);
}

void SimApi::set_kv_transfer_address(std::string host, uint16_t port) {
  kv_host_ = std::move(host);
  kv_port_ = port;
}

std::string SimApi::metrics_text() const {
  SimGauges g;
  g.model_name = options_.served_model_names.front();
  g.version = options_.vllm_version.starts_with("0.10") ? MetricsVersion::v0_10 : MetricsVersion::v0_12;
  g.legacy_gpu_cache_metric = options_.legacy_gpu_cache_metric;
  g.block_size = options_.block_size;
  g.num_gpu_blocks = options_.kv_blocks;
  g.num_cpu_blocks = options_.kv_transfer.num_cpu_blocks;
  g.lora_enabled = !options_.loras.empty();
  g.max_lora = options_.max_loras;
  g.kv_transfer.enabled = options_.kv_transfer.enabled();
  const double unix_now = unix_seconds();
  const uint64_t mono_now = monotonic_ns();
  std::vector<EngineMetrics> engines;
  std::unordered_map<std::string, size_t> lora_index;  // "running\nwaiting" -> its series in g.lora_series
  for (size_t i = 0; i < engines_.size(); ++i) {
    const Engine& engine = *engines_[i].engine;
    EngineMetrics m;
    m.rank = engines_[i].rank;
    m.counters = &engine.counters();
    m.running = engine.running();
    m.waiting = engine.waiting();
    m.kv_cache_usage = engine.kv_cache_usage();
    m.kv_transfer.enabled = g.kv_transfer.enabled;
    m.kv_transfer.pulls = engines_[i].pulls_ok;
    m.kv_transfer.failed_transfers = engines_[i].pulls_failed;
    m.kv_transfer.held = engine.held_transfers();
    engines.push_back(m);
    // vllm:lora_requests_info has no engine label: every engine's steps set the same series, the
    // latest update of a (running, waiting) pair wins.
    for (const LoraStepState& s : engine.lora_series()) {
      const double age = mono_now > s.updated_ns ? double(mono_now - s.updated_ns) / 1e9 : 0.0;
      LoraInfoSeries series{join_names(s.running, options_.loras), join_names(s.waiting, options_.loras),
                            unix_now - age};
      auto [at, added] = lora_index.try_emplace(series.running_lora_adapters + '\n' + series.waiting_lora_adapters,
                                                g.lora_series.size());
      if (added)
        g.lora_series.push_back(std::move(series));
      else
        g.lora_series[at->second].unix_time = std::max(g.lora_series[at->second].unix_time, series.unix_time);
    }
  }
  std::string text = render_metrics(engines, g);
  if (options_.fail_mid_stream_rate > 0) {  // the sim's own, apart from vLLM's set
    text += "# HELP ringgate_sim_mid_stream_drops_total Connections dropped mid-response by --fail-mid-stream-rate.\n"
            "# TYPE ringgate_sim_mid_stream_drops_total counter\n"
            "ringgate_sim_mid_stream_drops_total ";
    util::append_uint(text, mid_stream_drops_);
    text += '\n';
  }
  return text;
}

// vLLM's random_uuid(): uuid4().hex. From the OS, not from --seed: sims that share a seed
// (to continue each other's output) must still name their responses apart.
std::string SimApi::random_hex32() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::string out;
  out.reserve(32);
  for (int word = 0; word < 2; ++word) {
    const uint64_t r = (uint64_t(device()) << 32) ^ device();
    for (int i = 60; i >= 0; i -= 4) out += kHex[(r >> i) & 15];
  }
  return out;
}

// vLLM's create_responses (serving_responses.py), for a non-harmony model: no tools.
std::vector<uint32_t> SimApi::place(std::optional<uint32_t> pinned, uint32_t count) {
  if (pinned || engines_.size() == 1) return std::vector<uint32_t>(count, pinned.value_or(0));
  std::vector<EngineLoad> live;
  for (const LocalEngine& e : engines_) live.push_back({e.engine->waiting(), e.engine->running()});
  return balancer_.pick(monotonic_ns(), live, count);
}

bool SimApi::pinned_engine(HttpSession& session, const HttpRequest& request, std::optional<uint32_t>& pinned) {
  if (request.data_parallel_rank.empty()) return true;
  RankHeader rank = parse_rank_header(request.data_parallel_rank, options_.data_parallel_size);
  if (rank.kind == RankHeader::Kind::out_of_range) {
    respond_error(session, {400, rank.message, {}});
    return false;
  }
  if (rank.kind == RankHeader::Kind::rank) pinned = options_.data_parallel_rank ? 0 : rank.rank;
  return true;
}

void SimApi::handle_responses(HttpSession& session, HttpRequest& request) {
  // Background runs that ended are dropped here, outside any engine callback.
  std::erase_if(responses_.background, [](const std::unique_ptr<ResponseRun>& run) { return run->finished(); });
  if (answer_injected_error(session, request)) return;
  ParsedResponses parsed = parse_responses_request(request.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return respond_error(session, *error);
  ResponsesRequest& req = std::get<ResponsesRequest>(parsed);
  int32_t lora = -1;
  if (req.model) {
    auto model = models_.find(*req.model);
    if (model == models_.end())
      return respond_error(session, {404, "The model `" + *req.model + "` does not exist.", "model"});
    lora = model->second;
  }
  if (req.store && !options_.enable_responses_store) {
    if (req.background)
      return respond_error(session, {400,
                                     "This vLLM engine does not support `store=True` and therefore does not support "
                                     "the background mode. To enable these features, set the environment variable "
                                     "`VLLM_ENABLE_RESPONSES_API_STORE=1` when launching the vLLM server.",
                                     "background", "invalid_request_error"});
    req.store = false;  // silently, as vLLM
  }
  const ResponseStore::Entry* previous = nullptr;
  if (req.previous_response_id) {
    previous = responses_.store.find(*req.previous_response_id);
    if (previous == nullptr) return respond_error(session, response_not_found(*req.previous_response_id));
  }
  // _construct_input_messages: instructions, the previous messages and output, the input.
  std::vector<ChatTurn> messages;
  if (req.instructions && !req.instructions->empty()) messages.push_back({"system", *req.instructions});
  if (previous != nullptr) {
    messages.insert(messages.end(), previous->messages.begin(), previous->messages.end());
    if (previous->record.has_output) messages.push_back({"assistant", previous->record.text});
  }
  for (ChatTurn& turn : req.input) messages.push_back(std::move(turn));
  std::string prompt;
  for (const ChatTurn& turn : messages) {
    prompt += turn.role;
    prompt += ": ";
    prompt += turn.text;
    prompt += '\n';
  }
  prompt += kGenerationPrompt;
  const uint32_t tokens = count_tokens(prompt);
  const uint32_t max_len = options_.max_model_len;
  if (tokens >= max_len)
    return respond_error(session, {400,
                                   "The engine prompt length " + std::to_string(tokens) + " exceeds the max_model_len " +
                                       std::to_string(max_len) + ". Please reduce prompt.",
                                   "input", "invalid_request_error"});
  const uint32_t room = max_len - tokens;
  const uint32_t limit = req.max_output_tokens ? std::min(*req.max_output_tokens, room) : room;

  ResponseRecord record;
  record.id = "resp_" + random_hex32();
  // --response-id-bytes: longer, the rest from the cheap generator (the head is unique already).
  for (uint64_t r = 0; record.id.size() < options_.response_id_bytes; r >>= 4) {
    if ((record.id.size() & 15) == 5) r = next_random();
    record.id += "0123456789abcdef"[r & 15];
  }
  record.created_at = uint64_t(unix_seconds());
  record.model = lora >= 0 ? options_.loras[size_t(lora)].name : options_.served_model_names.front();
  record.instructions = req.instructions;
  record.previous_response_id = req.previous_response_id;
  record.max_output_tokens = req.max_output_tokens;
  record.background = req.background;
  record.item_id = "msg_" + random_hex32();

  OutputSpec spec;
  spec.mode = options_.mode;
  spec.echo_text = messages.empty() ? std::string_view() : std::string_view(messages.back().text);
  spec.context = prompt;
  spec.seed = options_.seed ? *options_.seed : next_random();
  spec.limit = limit;
  spec.limit_given = req.max_output_tokens.has_value();
  PlannedOutput output = plan_output(spec);  // views into `messages`' last text: kept alive by the run
  if (req.background) {
    record.status = ResponseStatus::queued;
    responses_.store.put(record, messages);
  }
  // One engine of this server's (its one store holds the response, as vLLM's API server's).
  std::optional<uint32_t> pinned;
  if (!pinned_engine(session, request, pinned)) return;
  Engine& engine = *engines_[place(pinned, 1).front()].engine;
  HttpSession* client = req.background && !req.stream ? nullptr : &session;
  const std::string lora_name = lora >= 0 ? options_.loras[size_t(lora)].name : std::string();
  PromptBlocks blocks = prompt_blocks(tokenizer_.encode(prompt), hasher_, lora_name, options_.block_size);
  ResponseRecord answer = record;  // a background request's answer: the queued response
  auto run = std::make_unique<ResponseRun>(client, engine, responses_.store, responses_.runs, std::move(record),
                                           std::move(messages), req.store, req.stream, std::move(output));
  SequenceRequest seq;
  seq.prompt_tokens = tokens;
  seq.block_hashes = std::move(blocks.hashes);
  if (options_.kv_events.publishing()) {
    seq.block_tokens = std::move(blocks.tokens);
    seq.block_extra_keys = std::move(blocks.extra_keys);
  }
  seq.lora = lora;
  seq.output_tokens = std::max<uint32_t>(1, static_cast<uint32_t>(run->output().tokens.size()));
  seq.finish_reason = run->output().finish;
  seq.observer = run.get();
  seq.n_param = 1;
  seq.max_tokens_param = limit;
  const SubmitResult submitted = engine.submit(std::move(seq), monotonic_ns());
  if (submitted.status == SubmitStatus::queue_full)
    return respond_error(session, {429,
                                   "The server is overloaded: the waiting queue is full (" +
                                       std::to_string(engine.waiting()) + " requests). Try again later.",
                                   {}});
  if (submitted.status == SubmitStatus::too_large)
    return respond_error(session, {400, "The request needs more KV-cache blocks than the server has.", {}});
  run->start(submitted.id);
  if (client == nullptr) {
    responses_.background.push_back(std::move(run));
    std::string body;
    append_response_json(body, answer);
    return session.respond(200, kJson, body);
  }
  session.set_in_flight(std::move(run));
}

// retrieve_responses (stream=false).
void SimApi::handle_response_get(HttpSession& session, std::string_view id) {
  const ResponseStore::Entry* entry = responses_.store.find(id);
  if (entry == nullptr) return respond_error(session, response_not_found(id));
  std::string body;
  append_response_json(body, entry->record);
  session.respond(200, kJson, body);
}

// cancel_responses: a queued or running (background) response only.
void SimApi::handle_response_cancel(HttpSession& session, std::string_view id) {
  ResponseStore::Entry* entry = responses_.store.find(id);
  if (entry == nullptr) return respond_error(session, response_not_found(id));
  const ResponseStatus status = entry->record.status;
  if (status != ResponseStatus::queued && status != ResponseStatus::in_progress)
    return respond_error(session, {400, "Cannot cancel a synchronous response.", {}, "invalid_request_error"});
  entry->record.status = ResponseStatus::cancelled;
  if (auto run = responses_.runs.find(std::string(id)); run != responses_.runs.end()) run->second->cancel();
  std::string body;
  append_response_json(body, entry->record);
  session.respond(200, kJson, body);
}

}  // namespace ringgate::sim
