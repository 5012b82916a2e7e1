#pragma once
// Asks a vLLM server which models it serves (GET /v1/models), blocking with a timeout.
// Used at start-up and by the periodic refresh; never on a worker thread.
#include <optional>
#include <string>
#include <vector>

#include "ringgate/net/address.h"

namespace ringgate::gateway {

// The ids in the answer's "data" list; nullopt when the server could not be asked.
std::optional<std::vector<std::string>> fetch_models(const net::Address& endpoint, int timeout_ms);

}  // namespace ringgate::gateway
