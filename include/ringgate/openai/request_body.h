#pragma once
// The fields of an OpenAI request body that routing needs, read with simdjson
// on-demand straight from the receive buffer: model, stream, and the text of the
// route's text fields (api_routes.h; completions: prompt string(s); chat: each
// message's role then content, in order). A multipart/form-data body (audio) is read
// by form_body.h: its model and stream form fields.
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/openai/api_routes.h"
#include "ringgate/openai/media_part.h"
#include "ringgate/openai/routing_keys.h"

namespace ringgate::openai {

// The body must sit in a buffer with this many readable bytes after it
// (simdjson::SIMDJSON_PADDING; checked in request_body.cpp).
constexpr size_t kPadding = 64;

// Longest model name accepted (bytes, after unescaping). Longer names are refused
// with 400: a model name is a label in /metrics and in logs, and no served model's
// name comes near it (Hugging Face repo ids are at most 96 characters).
constexpr size_t kMaxModelBytes = 256;

struct RequestFields {
  std::string model;          // unescaped
  size_t model_offset = 0;    // byte offset of the model's JSON string token (quotes included) in the body
  size_t model_length = 0;    // length of that token: splice a rewrite in with an iovec
  // The model is a form field's raw value (multipart/form-data), not a JSON string
  // token: a rewrite splices in the bare name, no quotes, no escapes.
  bool model_in_form = false;
  bool stream = false;
  // Text the prompt is made of, in order. Views into the parser's string buffer:
  // valid until the next parse with the same BodyReader. A media content part is a
  // view of its record (media_part.h) in media_records.
  std::vector<std::string_view> prompt_parts;
  std::deque<MediaRecord> media_records;  // a deque: the views stay where they are
  MediaPartCounts media;                  // the body's content parts, by outcome
  // previous_response_id, prompt_cache_key, safety_identifier, user (routing_keys.h).
  RoutingKeys keys;
};

struct BodyError {
  int status = 0;  // 0 = no error; else 400
  std::string_view code;
  std::string_view message;
};

// One per worker: owns simdjson's parser and its buffers, reused across requests.
// simdjson stays out of this header: request_body.cpp is built with its own SIMD
// flags, so simdjson's inline types must not appear in other translation units.
class BodyReader {
 public:
  BodyReader();
  ~BodyReader();
  BodyReader(const BodyReader&) = delete;
  BodyReader& operator=(const BodyReader&) = delete;

  // The body of a request to `route`. A JSON body must have kPadding bytes of capacity
  // past its size (see pad()); `content_type` (the request's Content-Type) is read for a
  // multipart/form-data body's boundary.
  BodyError read(const ApiRoute& route, std::string_view content_type, std::string_view body, size_t capacity,
                 RequestFields& out);

  // Where the media parts of the bodies it reads are counted (the worker's; null: not
  // counted). A request read again for a retry (its scanner gave up) is counted again.
  void count_media_into(MediaPartCounters* counters) { media_counters_ = counters; }

  // Makes sure a std::string can be read in place.
  static void pad(std::string& body) { body.reserve(body.size() + kPadding); }
  template <class Body>  // http::BodyBuffer (openai sits above http but needs only reserve/size)
  static void pad(Body& body) { body.reserve(body.size() + kPadding); }

 private:
  struct Parser;
  std::unique_ptr<Parser> parser_;
  MediaPartCounters* media_counters_ = nullptr;
};

}  // namespace ringgate::openai
