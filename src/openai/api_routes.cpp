#include "ringgate/openai/api_routes.h"

namespace ringgate::openai {

namespace {

constexpr ApiRoute proxied(std::string_view path, TextFields text, Routing routing,
                           BodyFormat body = BodyFormat::Json) {
  return {path, kMethodPost, "POST", RouteHandler::Proxy, body, text, routing};
}

constexpr ApiRoute kRoutes[] = {
    {"/v1/models", kMethodGet, "GET, HEAD", RouteHandler::ModelList, BodyFormat::None, 0, Routing::Load},
    proxied("/v1/completions", kPromptField, Routing::PrefixAndLoad),
    proxied("/v1/chat/completions", kMessagesField, Routing::PrefixAndLoad),
    proxied("/v1/embeddings", kInputField | kMessagesField, Routing::PrefixAndLoad),
    proxied("/v1/responses", kInputField, Routing::PrefixAndLoad),
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

}  // namespace

std::span<const ApiRoute> api_routes() { return kRoutes; }

const ApiRoute* find_route(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  for (const ApiRoute& route : kRoutes)
    if (route.path == path) return &route;
  return nullptr;
}

const ApiRoute& route_for(std::string_view target) {
  const ApiRoute* route = find_route(target);
  return route != nullptr ? *route : kUnlistedRoute;
}

}  // namespace ringgate::openai
