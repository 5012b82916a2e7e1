#pragma once
// The root string fields of a request body that say where it must or should go, read
// by the body scanner and BodyReader alike:
//   previous_response_id   the Responses API response the request continues: it must go
//                          to the server that holds it (proxy/response_affinity.h);
//   prompt_cache_key, safety_identifier, user
//                          OpenAI's keys for keeping one conversation's requests where its
//                          cache is (session affinity, sched::SessionKeyOrder).
// Bounds: each value is kept up to kMaxRoutingKeyBytes (longer ones are flagged, their
// text not kept); control bytes are flagged. A value that is not a string is not a key
// (the model server judges it).
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "ringgate/openai/api_routes.h"

namespace ringgate::openai {

enum class RoutingKey : uint8_t { PreviousResponseId, PromptCacheKey, SafetyIdentifier, User };
inline constexpr size_t kRoutingKeyCount = 4;
inline constexpr std::string_view kRoutingKeyNames[kRoutingKeyCount] = {"previous_response_id", "prompt_cache_key",
                                                                         "safety_identifier", "user"};
inline constexpr size_t kMaxRoutingKeyBytes = kMaxResponseIdBytes;

// The key a root field name is, or -1.
int routing_key_of(std::string_view field);

struct RoutingKeyValue {
  std::string value;  // the unescaped text, up to kMaxRoutingKeyBytes
  bool present = false;  // a string was given
  bool too_long = false;
  bool control = false;  // a byte below 0x20 or 0x7f
  // A present value within the bounds (too long or with control bytes: not used).
  bool usable() const { return present && !too_long && !control; }
  void clear() {
    value.clear();
    present = too_long = control = false;
  }
  void append(const char* data, size_t n);
};

struct RoutingKeys {
  std::array<RoutingKeyValue, kRoutingKeyCount> values;
  const RoutingKeyValue& operator[](RoutingKey key) const { return values[size_t(key)]; }
  RoutingKeyValue& operator[](RoutingKey key) { return values[size_t(key)]; }
  void clear() {
    for (RoutingKeyValue& v : values) v.clear();
  }
};

}  // namespace ringgate::openai
