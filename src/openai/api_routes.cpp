#include "ringgate/openai/api_routes.h"

namespace ringgate::openai {

namespace {

constexpr ApiRoute proxied(std::string_view path, TextFields text, Routing routing,
                           BodyFormat body = BodyFormat::Json) {
  return {path, kMethodPost, "POST", RouteHandler::Proxy, body, text, routing};
}

constexpr ApiRoute shaped(ApiRoute route, RouteShape shape) {
  route.shape = shape;
  return route;
}

constexpr ApiRoute kRoutes[] = {
    {"/v1/models", kMethodGet, "GET, HEAD", RouteHandler::ModelList, BodyFormat::None, 0, Routing::Load},
    shaped(proxied("/v1/completions", kPromptField, Routing::PrefixAndLoad), RouteShape::Completion),
    shaped(proxied("/v1/chat/completions", kMessagesField, Routing::PrefixAndLoad), RouteShape::Chat),
    proxied("/v1/embeddings", kInputField | kMessagesField, Routing::PrefixAndLoad),
    proxied("/v1/responses", kInputField, Routing::PrefixAndLoad),
    // vLLM routes GET and POST .../cancel; DELETE is OpenAI's, and goes to the holder too.
    {"/v1/responses/{id}", kMethodGet | kMethodDelete, "GET, DELETE", RouteHandler::Proxy, BodyFormat::None, 0,
     Routing::ResponseHolder},
    {"/v1/responses/{id}/cancel", kMethodPost, "POST", RouteHandler::Proxy, BodyFormat::None, 0,
     Routing::ResponseHolder},
    proxied("/pooling", kInputField | kMessagesField, Routing::PrefixAndLoad),
    proxied("/classify", kInputField | kMessagesField, Routing::PrefixAndLoad),
    proxied("/v1/score", kText1Field | kText2Field, Routing::PrefixAndLoad),
    proxied("/score", kText1Field | kText2Field, Routing::PrefixAndLoad),
    proxied("/v1/rerank", kQueryField | kDocumentsField, Routing::PrefixAndLoad),
    proxied("/rerank", kQueryField | kDocumentsField, Routing::PrefixAndLoad),
    proxied("/v2/rerank", kQueryField | kDocumentsField, Routing::PrefixAndLoad),
    proxied("/tokenize", kPromptField | kMessagesField, Routing::Load),
    proxied("/detokenize", kTokensField, Routing::Load),
    proxied("/v1/audio/transcriptions", 0, Routing::Load, BodyFormat::MultipartForm),
    proxied("/v1/audio/translations", 0, Routing::Load, BodyFormat::MultipartForm),
};

// `path` matches `pattern` segment by segment, {id} standing for one non-empty segment
// (returned in `id`).
bool path_matches(std::string_view pattern, std::string_view path, std::string_view& id) {
  const size_t at = pattern.find(kResponseIdSegment);
  if (at == std::string_view::npos) return pattern == path;
  const std::string_view before = pattern.substr(0, at), after = pattern.substr(at + kResponseIdSegment.size());
  if (path.size() <= before.size() + after.size() || !path.starts_with(before) || !path.ends_with(after)) return false;
  const std::string_view segment = path.substr(before.size(), path.size() - before.size() - after.size());
  if (segment.find('/') != std::string_view::npos) return false;
  id = segment;
  return true;
}

const ApiRoute* match(std::string_view target, std::string_view& id) {
  const std::string_view path = target.substr(0, target.find('?'));
  for (const ApiRoute& route : kRoutes)
    if (path_matches(route.path, path, id)) return &route;
  return nullptr;
}

}  // namespace

std::span<const ApiRoute> api_routes() { return kRoutes; }

const ApiRoute* find_route(std::string_view target) {
  std::string_view id;
  return match(target, id);
}

std::string_view response_id_of(std::string_view target) {
  std::string_view id;
  return match(target, id) != nullptr ? id : std::string_view();
}

const ApiRoute& route_for(std::string_view target) {
  const ApiRoute* route = find_route(target);
  return route != nullptr ? *route : kUnlistedRoute;
}

}  // namespace ringgate::openai
