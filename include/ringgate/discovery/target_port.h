#pragma once
// The port a service's endpoints are reached on: a name ("http") matched
// against EndpointSlice ports[].name, or a number matched against ports[].port.
#include <string>
#include <string_view>

#include "ringgate/discovery/result.h"

namespace ringgate::discovery {

struct TargetPort {
  std::string name;  // set for a named port
  int number = 0;    // set (1..65535) for a numbered port
  bool operator==(const TargetPort&) const = default;
};

// "8000" → number 8000; "http" → name. Names follow IANA_SVC_NAME (≤15 chars,
// lowercase alnum and '-', at least one letter).
Result<TargetPort> parse_target_port(std::string_view text);

}  // namespace ringgate::discovery
