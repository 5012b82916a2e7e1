#include "ringgate/proxy/request_gate.h"

#include "ringgate/openai/api_routes.h"
#include "ringgate/proxy/hop_count.h"
#include "ringgate/proxy/model_catalog.h"

namespace ringgate::proxy {

namespace {

bool method_allowed(const openai::ApiRoute& route, llhttp_method_t method) {
  if (method == HTTP_GET || method == HTTP_HEAD) return route.methods & openai::kMethodGet;
  if (method == HTTP_DELETE) return route.methods & openai::kMethodDelete;
  return method == HTTP_POST && (route.methods & openai::kMethodPost);
}

GateAnswer refuse(int status, std::string_view code, std::string message, std::string headers = {}) {
  GateAnswer a;
  a.status = status;
  a.code = code;
  a.message = std::move(message);
  a.headers = std::move(headers);
  return a;
}

}  // namespace

GateAnswer gate_request(const http::Request& request, const ExchangeEnv& env, WorkerCounters& counters) {
  const openai::ApiRoute* route = openai::find_route(request.target);
  if (route == nullptr) return refuse(404, "not_found", "unknown path");
  if (!method_allowed(*route, request.method)) {
    return refuse(405, "method_not_allowed",
                  std::string("use ").append(route->allow).append(" for ").append(route->path),
                  std::string("allow: ").append(route->allow).append("\r\n"));
  }
  if (const std::string_view hops_text = request.header(kHopsHeader); !hops_text.empty()) {
    const std::optional<uint32_t> hops = parse_hops(hops_text);
    if (!hops) return refuse(400, "invalid_hops", "x-ringgate-hops must be a number of hops (0 to 1000)");
    const uint32_t max_hops = env.options ? env.options->max_hops : ProxyOptions{}.max_hops;
    if (*hops > max_hops) {
      counters.loops_refused.add();
      return refuse(508, "loop_detected",
                    "the request has passed " + std::to_string(*hops) + " gateways, more than hub.maxHops (" +
                        std::to_string(max_hops) + "): the gateways route in a loop");
    }
  }
  const ApiKey* key = nullptr;
  if (const ApiKeyTable* keys = env.api_keys) {
    const std::string_view presented = presented_api_key(request);
    key = keys->find(presented);
    if (key == nullptr) {
      // 401 as OpenAI answers it; the key is never echoed.
      const std::string kChallenge = "www-authenticate: Bearer realm=\"ringgate\"\r\n";
      const AuthFailure failure = presented.empty() ? AuthFailure::MissingKey : AuthFailure::InvalidKey;
      counters.auth_rejections[size_t(failure)].add();
      if (failure == AuthFailure::MissingKey)
        return refuse(401, "missing_api_key",
                      "an API key is required: send it as Authorization: Bearer KEY (or api-key: KEY)", kChallenge);
      return refuse(401, "invalid_api_key", "the API key is not valid", kChallenge);
    }
  }
  GateAnswer a;
  a.key = key;
  if (route->handler != openai::RouteHandler::ModelList) {
    a.proxy = true;
    return a;
  }
  const ModelCatalog& catalog = *env.catalog;
  a.status = 200;
  if (key != nullptr && !key->all_models())
    a.listed = catalog.render_json([key](std::string_view model) { return key->allows_model(model); });
  a.catalog_list = &catalog.render_json();
  return a;
}

}  // namespace ringgate::proxy
