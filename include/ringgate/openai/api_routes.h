#pragma once
// THE table of the API paths the gateway serves (vLLM's OpenAI server's paths): for
// each one its methods, how its body is read, which fields of it carry the request's
// text (or tokens), and how it is routed. Every reader of "the prompt" takes its
// fields from here: the body scanner, BodyReader, the prompt tokenizers; the client
// connection (404 / 405) and the dry-run pick take the paths from here.
//
// Routing: a path whose text fills a model server's KV cache (generation, pooling,
// scoring) is routed by prefix and load; the others by load only: /tokenize and
// /detokenize run no model (a prefix recorded for them would be one no server holds),
// audio's text comes out of the model, not into it.
#include <cstdint>
#include <span>
#include <string_view>

namespace ringgate::openai {

// Root fields of a JSON body that carry its text or tokens; a set of them is an OR of bits.
using TextFields = uint16_t;
inline constexpr TextFields kPromptField = 1 << 0;     // "prompt": string | [string] | [ids] | [[ids]]
inline constexpr TextFields kMessagesField = 1 << 1;   // "messages": [{role, content: string | [{text}, ...]}]
inline constexpr TextFields kInputField = 1 << 2;      // "input": string | [string] | [ids] | [items]
inline constexpr TextFields kText1Field = 1 << 3;      // "text_1" (score): string | [string]
inline constexpr TextFields kText2Field = 1 << 4;      // "text_2" (score): string | [string]
inline constexpr TextFields kQueryField = 1 << 5;      // "query" (rerank): string
inline constexpr TextFields kDocumentsField = 1 << 6;  // "documents" (rerank): [string] | multimodal
inline constexpr TextFields kTokensField = 1 << 7;     // "tokens" (detokenize): [ids], no text

struct TextFieldKey {
  TextFields field;
  std::string_view key;
};
// Each field's JSON key. Routing reads "prompt" strictly (a value that is neither a
// string nor an array is a 400), "messages" as chat messages (role, then the text of
// the content), and the others loosely: the strings at their top level or in their top
// array, in order; any other value is left to the model server.
inline constexpr TextFieldKey kTextFieldKeys[] = {
    {kPromptField, "prompt"}, {kMessagesField, "messages"}, {kInputField, "input"},
    {kText1Field, "text_1"},  {kText2Field, "text_2"},      {kQueryField, "query"},
    {kDocumentsField, "documents"}, {kTokensField, "tokens"},
};

enum class BodyFormat : uint8_t {
  None,           // no body is read (GET)
  Json,           // a JSON object: "model", "stream" and the text fields
  MultipartForm,  // multipart/form-data: the "model" and "stream" form fields (audio uploads)
};

enum class Routing : uint8_t {
  PrefixAndLoad,  // the text's prefix blocks and the servers' load
  Load,           // the servers' load only
  // The server that holds the response the path names (/v1/responses/{id}...): vLLM
  // keeps stored responses in the memory of the API server that made them.
  ResponseHolder,
};

enum class RouteHandler : uint8_t {
  Proxy,      // sent to a model server of the pool that serves its model
  ModelList,  // answered by the gateway: every model of the pool (/v1/models)
};

// Methods, as a set of bits.
inline constexpr uint8_t kMethodGet = 1;   // GET and HEAD
inline constexpr uint8_t kMethodPost = 2;
inline constexpr uint8_t kMethodDelete = 4;

// A path segment that stands for a response id: "/v1/responses/{id}" matches any one
// non-empty segment there (response_id_of() gives it).
inline constexpr std::string_view kResponseIdSegment = "{id}";
// Longest response id a path or a body may name (bytes). vLLM's are "resp_" + 32 hex
// digits; OpenAI's about 50 characters. A longer one is refused (400), never looked up.
inline constexpr size_t kMaxResponseIdBytes = 256;

// The shape of a path's request and answer where code is written for some only (a split
// into prefill and decode legs, the continuation of a broken stream): a completion's, a
// chat completion's, or another.
enum class RouteShape : uint8_t { Other, Completion, Chat };

struct ApiRoute {
  std::string_view path;
  uint8_t methods = kMethodPost;
  std::string_view allow;  // the methods as an Allow header lists them
  RouteHandler handler = RouteHandler::Proxy;
  BodyFormat body = BodyFormat::Json;
  TextFields text = 0;     // where the body's text (or tokens) is
  Routing routing = Routing::Load;
  RouteShape shape = RouteShape::Other;

  // The fields whose text routing reads (the prefix chain, precise tokenization).
  constexpr TextFields routed_text() const { return routing == Routing::PrefixAndLoad ? text : 0; }
};

// Every path, in the order the README lists them.
std::span<const ApiRoute> api_routes();

// The route of a request target (its query string ignored); null for a path not in the table.
const ApiRoute* find_route(std::string_view target);

// The {id} segment of a target whose route has one (as sent: not percent-decoded); empty if none.
std::string_view response_id_of(std::string_view target);

// EPP mode: the Gateway decides which paths reach the picker, so a path the table does
// not name is still picked for: a JSON body routed by its model and load.
inline constexpr ApiRoute kUnlistedRoute{"", kMethodPost, "POST", RouteHandler::Proxy, BodyFormat::Json, 0,
                                         Routing::Load};

// find_route(), or kUnlistedRoute.
const ApiRoute& route_for(std::string_view target);

}  // namespace ringgate::openai
