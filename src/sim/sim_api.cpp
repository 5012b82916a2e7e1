#include "ringgate/sim/sim_api.h"

#include <charconv>
#include <memory>

#include "ringgate/sim/api_error.h"
#include "ringgate/sim/completion_exchange.h"
#include "ringgate/sim/monotonic_clock.h"
#include "ringgate/sim/tokenizer.h"

namespace ringgate::sim {
namespace {

constexpr std::string_view kJson = "application/json";

void respond_error(HttpSession& session, const ApiError& error) {
  session.respond(error.status, kJson, error_body(error));
}

// Routes: path, method, what.
enum class Route { completions, chat_completions, models, health, metrics, none };

Route route_of(std::string_view path) {
  if (path == "/v1/completions") return Route::completions;
  if (path == "/v1/chat/completions") return Route::chat_completions;
  if (path == "/v1/models") return Route::models;
  if (path == "/health") return Route::health;
  if (path == "/metrics") return Route::metrics;
  return Route::none;
}

std::string join_names(const std::vector<uint32_t>& indices, const std::vector<LoraAdapter>& loras) {
  std::string out;
  for (uint32_t i : indices) {
    if (!out.empty()) out += ',';
    out += loras[i].name;
  }
  return out;
}

}  // namespace

SimApi::SimApi(const SimOptions& options, Engine& engine, uint64_t ready_at_ns)
    : options_(options),
      engine_(engine),
      ready_at_ns_(ready_at_ns),
      created_(static_cast<uint64_t>(unix_seconds())),
      random_state_(options.seed ? options.seed : monotonic_ns()) {
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

uint64_t SimApi::next_random() {  // splitmix64
  uint64_t z = (random_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void SimApi::handle(HttpSession& session, HttpRequest& request) {
  const Route route = route_of(request.path);
  const bool is_post_route = route == Route::completions || route == Route::chat_completions;
  if (route == Route::none) {
    respond_error(session, {404, "Not Found", {}});
    return;
  }
  const llhttp_method_t wanted = is_post_route ? HTTP_POST : HTTP_GET;
  if (request.method != wanted) {
    session.respond(405, kJson, error_body({405, "Method Not Allowed", {}}),
                    is_post_route ? "allow: POST\r\n" : "allow: GET\r\n");
    return;
  }
  const bool starting = monotonic_ns() < ready_at_ns_;
  switch (route) {
    case Route::health:
      session.respond(starting ? 503 : 200, kJson, {});
      return;
    case Route::metrics:
      session.respond(200, "text/plain; version=0.0.4; charset=utf-8", metrics_text());
      return;
    case Route::models:
      if (starting) return respond_error(session, {503, "The server is starting up", {}});
      session.respond(200, kJson, models_body_);
      return;
    case Route::completions:
    case Route::chat_completions:
      if (starting) return respond_error(session, {503, "The server is starting up", {}});
      handle_completion(session, request,
                        route == Route::completions ? Endpoint::completions : Endpoint::chat_completions);
      return;
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
  if (options_.fail_rate > 0 && double(next_random() >> 11) * 0x1.0p-53 < options_.fail_rate) {
    respond_error(session, {500, "Simulated failure (--fail-rate)", {}});
    return true;
  }
  return false;
}

void SimApi::handle_completion(HttpSession& session, HttpRequest& request, Endpoint endpoint) {
  if (answer_injected_error(session, request)) return;
  ParsedRequest parsed = parse_completion_request(endpoint, request.body);
  if (auto* error = std::get_if<ApiError>(&parsed)) return respond_error(session, *error);
  CompletionRequest& req = std::get<CompletionRequest>(parsed);

  auto model = models_.find(req.model);
  if (model == models_.end())
    return respond_error(session, {404, "The model `" + req.model + "` does not exist.", "model"});
  const int32_t lora = model->second;

  const uint32_t prompt_tokens = count_tokens(req.prompt_text);
  const uint64_t requested = req.max_tokens ? *req.max_tokens : kDefaultMaxTokens;
  if (prompt_tokens + requested > options_.max_model_len) {
    const char* what = endpoint == Endpoint::chat_completions ? "messages" : "prompt";
    return respond_error(
        session, {400,
                  "This model's maximum context length is " + std::to_string(options_.max_model_len) +
                      " tokens. However, you requested " + std::to_string(prompt_tokens + requested) + " tokens (" +
                      std::to_string(prompt_tokens) + " in the " + what + ", " + std::to_string(requested) +
                      " in the completion). Please reduce the length of the " + what + " or completion.",
                  {}});
  }

  ResponseHead head{endpoint, make_response_id(endpoint, next_random(), next_random()),
                    static_cast<uint64_t>(unix_seconds()), req.model};
  const std::string& cache_key = lora >= 0 ? options_.loras[size_t(lora)].name : options_.model;
  SequenceRequest seq;
  seq.prompt_tokens = prompt_tokens;
  seq.block_hashes = block_hashes(req.prompt_text, cache_key, options_.block_size);
  seq.lora = lora;

  auto exchange = std::make_unique<CompletionExchange>(session, engine_, std::move(req), std::move(head));
  CompletionRequest& owned = exchange->request();
  const uint32_t max_tokens = owned.max_tokens.value_or(0);
  exchange->set_output(plan_output(options_.mode, owned.echo_text, owned.max_tokens ? &max_tokens : nullptr,
                                   owned.ignore_eos, next_random()));
  seq.output_tokens = static_cast<uint32_t>(exchange->output().tokens.size());
  seq.finish_reason = exchange->output().finish;
  seq.observer = exchange.get();

  SubmitResult submitted = engine_.submit(std::move(seq), monotonic_ns());
  if (submitted.status == SubmitStatus::queue_full)
    return respond_error(session, {429,
                                   "The server is overloaded: the waiting queue is full (" +
                                       std::to_string(engine_.waiting()) + " requests). Try again later.",
                                   {}});
  if (submitted.status == SubmitStatus::too_large)
    return respond_error(session, {400, "The request needs more KV-cache blocks than the server has.", {}});
  exchange->set_sequence(submitted.id);
  if (exchange->request().stream) session.begin_stream(200, "text/event-stream; charset=utf-8");
  session.set_in_flight(std::move(exchange));
}

std::string SimApi::metrics_text() const {
  SimGauges g;
  g.model_name = options_.served_model_names.front();
  g.running = engine_.running();
  g.waiting = engine_.waiting();
  g.kv_cache_usage = engine_.kv_cache_usage();
  g.legacy_gpu_cache_metric = options_.legacy_gpu_cache_metric;
  g.block_size = options_.block_size;
  g.num_gpu_blocks = options_.kv_blocks;
  g.lora_enabled = !options_.loras.empty();
  g.max_lora = options_.max_loras;
  g.running_lora_adapters = join_names(engine_.running_loras(), options_.loras);
  g.waiting_lora_adapters = join_names(engine_.waiting_loras(), options_.loras);
  g.unix_time = unix_seconds();
  return render_metrics(engine_.counters(), g);
}

}  // namespace ringgate::sim
