// vLLM's endpoints for pooling models, in vLLM's shapes: /v1/embeddings, /pooling,
// /classify, /v1/score and /score, /v1/rerank, /rerank and /v2/rerank. The simulator
// answers them whatever model it serves, at once (no engine time, no KV cache): the
// vectors, labels and scores are made up from a hash of the text, so the same text
// always gets the same answer; token counts are the sim's (4 bytes a token).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ringgate/sim/api_error.h"

namespace ringgate::sim {

enum class PoolingEndpoint : uint8_t { embeddings, pooling, classify, score, rerank };

struct PoolingRequest {
  PoolingEndpoint endpoint = PoolingEndpoint::embeddings;
  std::optional<std::string> model;
  // embeddings / pooling / classify: the inputs (a chat request's messages render to one).
  std::vector<std::string> inputs;
  // score: text_1 against each text_2 (one text_1 is paired with every text_2);
  // rerank: the query against each document.
  std::vector<std::string> texts_1, texts_2;
  uint32_t top_n = 0;  // rerank: 0 = all
};

using ParsedPooling = std::variant<PoolingRequest, ApiError>;
ParsedPooling parse_pooling_request(PoolingEndpoint endpoint, std::string_view body);

// The whole JSON body. `id_random` makes the response id; `model` is the served name.
std::string pooling_response(const PoolingRequest& request, std::string_view model, uint64_t created,
                             uint64_t id_random);

}  // namespace ringgate::sim
