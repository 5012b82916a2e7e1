// The route table: lookups by request target, and the routing rule it states.
#include "ringgate/openai/api_routes.h"

#include <doctest/doctest.h>

#include <set>
#include <string>

using namespace ringgate::openai;

TEST_CASE("a request target finds its route, its query string ignored") {
  REQUIRE(find_route("/v1/chat/completions") != nullptr);
  CHECK(find_route("/v1/chat/completions?x=1") == find_route("/v1/chat/completions"));
  CHECK(find_route("/v1/chat/completions/") == nullptr);
  CHECK(find_route("/V1/models") == nullptr);
  CHECK(find_route("") == nullptr);
  CHECK(find_route("/admin") == nullptr);
  CHECK(&route_for("/admin") == &kUnlistedRoute);
  CHECK(route_for("/admin").routed_text() == 0);
  CHECK(&route_for("/rerank") == find_route("/rerank"));
}

TEST_CASE("every path once; text-bearing paths route by prefix, the rest by load") {
  std::set<std::string_view> paths;
  for (const ApiRoute& route : api_routes()) {
    CAPTURE(route.path);
    CHECK(paths.insert(route.path).second);
    if (route.handler == RouteHandler::ModelList) {
      CHECK(route.methods == kMethodGet);
      continue;
    }
    if (route.routing == Routing::ResponseHolder) {  // the id paths: their own case below
      CHECK(route.body == BodyFormat::None);
      continue;
    }
    CHECK(route.methods == kMethodPost);
    CHECK(route.allow == "POST");
    if (route.body == BodyFormat::MultipartForm) CHECK(route.routing == Routing::Load);
    if (route.routing == Routing::PrefixAndLoad) CHECK(route.text != 0);
    CHECK((route.text & ~TextFields(kPromptField | kMessagesField | kInputField | kText1Field | kText2Field |
                                    kQueryField | kDocumentsField | kTokensField)) == 0);
  }
  for (std::string_view path : {"/v1/completions", "/v1/chat/completions", "/v1/embeddings", "/v1/responses", "/pooling",
                                "/classify", "/v1/score", "/score", "/v1/rerank", "/rerank"})
    CHECK_MESSAGE(find_route(path)->routing == Routing::PrefixAndLoad, path);
  for (std::string_view path : {"/tokenize", "/detokenize", "/v1/audio/transcriptions", "/v1/audio/translations"})
    CHECK_MESSAGE(find_route(path)->routing == Routing::Load, path);
  CHECK(find_route("/v1/score")->text == (kText1Field | kText2Field));
  CHECK(find_route("/v1/rerank")->text == (kQueryField | kDocumentsField));
  CHECK(find_route("/v1/audio/translations")->body == BodyFormat::MultipartForm);
  CHECK(find_route("/v1/models")->handler == RouteHandler::ModelList);
}

TEST_CASE("the Responses API's id paths: one segment, GET/DELETE and POST .../cancel, routed to the holder") {
  const ApiRoute* item = find_route("/v1/responses/resp_1");
  REQUIRE(item != nullptr);
  CHECK(item->routing == Routing::ResponseHolder);
  CHECK(item->methods == (kMethodGet | kMethodDelete));
  CHECK(item->body == BodyFormat::None);
  CHECK(response_id_of("/v1/responses/resp_1?stream=false") == "resp_1");
  const ApiRoute* cancel = find_route("/v1/responses/resp_1/cancel");
  REQUIRE(cancel != nullptr);
  CHECK(cancel->methods == kMethodPost);
  CHECK(cancel->routing == Routing::ResponseHolder);
  CHECK(response_id_of("/v1/responses/resp_1/cancel") == "resp_1");
  CHECK(find_route("/v1/responses/") == nullptr);
  CHECK(find_route("/v1/responses/a/b") == nullptr);
  CHECK(find_route("/v1/responses//cancel") == nullptr);
  CHECK(response_id_of("/v1/responses") == "");
  CHECK(find_route("/v1/responses")->routing == Routing::PrefixAndLoad);
}

TEST_CASE("each path's shape: completions and chats are theirs, every other path is Other") {
  CHECK(find_route("/v1/completions")->shape == RouteShape::Completion);
  CHECK(find_route("/v1/completions?x=1")->shape == RouteShape::Completion);
  CHECK(find_route("/v1/chat/completions")->shape == RouteShape::Chat);
  CHECK(route_for("/v1/not-listed").shape == RouteShape::Other);
  for (const ApiRoute& route : api_routes()) {
    CAPTURE(route.path);
    if (route.path != "/v1/completions" && route.path != "/v1/chat/completions") CHECK(route.shape == RouteShape::Other);
  }
}
