#pragma once
// Who one request is, as the model servers, the access log and routing see it: what its
// body says (the OpenAI fields), the model it goes to once aliases are applied (and the
// body's model token spliced in for them), its request id, and a split request's prefill
// pod. Set afresh per request; the strings keep their capacity from request to request.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/openai/request_body.h"

namespace ringgate::proxy {

// The longest x-request-id a client may name its request with (a longer one is replaced).
inline constexpr size_t kMaxClientRequestIdBytes = 200;

struct RequestIdentity {
  openai::RequestFields fields;
  bool digested = false;     // fields (and the prefix chain) come from the PromptDigest, else from BodyReader
  std::string target_model;  // what routing sees (after model rewrites)
  // The JSON string token (quotes included) the forwarded body gets in place of
  // fields.model_offset/model_length; empty: the client's model goes as it is.
  std::string model_token;
  std::string request_id;
  bool gateway_request_id = false;  // request_id is the gateway's (else the client's)
  // The prefill pod of a split request ("host:port"): in gateway mode once its leg
  // succeeded, in EPP mode once picked; else empty.
  std::string prefill_endpoint;

  // The client's x-request-id (`client_id`) when it gave one of at most
  // kMaxClientRequestIdBytes, else the gateway's own, "rg-<worker>-<now_ms hex>-<serial hex>",
  // numbered by the worker's `serial` (counted up for it).
  void assign_request_id(std::string_view client_id, int worker, uint64_t now_ms, uint64_t& serial);
};

}  // namespace ringgate::proxy
