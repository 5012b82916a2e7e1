#pragma once
// What a complete request asks of the gateway before any exchange, whatever protocol
// carried it (HTTP/1.1 or an HTTP/2 stream): a path it does not serve (404), a method
// its path does not take (405), no valid API key (401), the model list (200), or the
// exchange. Counted here; the connection writes the answer in its own framing.
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/http/request_parser.h"
#include "ringgate/proxy/api_key_table.h"
#include "ringgate/proxy/exchange_env.h"
#include "ringgate/proxy/worker_counters.h"

namespace ringgate::proxy {

struct GateAnswer {
  bool proxy = false;           // go on: start the exchange with `key`
  const ApiKey* key = nullptr;  // the key the request presented (auth on)
  int status = 0;               // else answer this: an error (code, message), or 200 with body()
  std::string_view code;
  std::string message;
  std::string headers;                        // whole "name: value\r\n" lines for the answer's head
  const std::string* catalog_list = nullptr;  // the model list as the catalog renders it (no copy)
  std::string listed;                         // the list a key limited to some models sees

  // The model list (application/json).
  std::string_view body() const { return listed.empty() && catalog_list ? *catalog_list : listed; }
};

GateAnswer gate_request(const http::Request& request, const ExchangeEnv& env, WorkerCounters& counters);

}  // namespace ringgate::proxy
