#include "ringgate/openai/routing_keys.h"

namespace ringgate::openai {

int routing_key_of(std::string_view field) {
  for (size_t i = 0; i < kRoutingKeyCount; ++i)
    if (field == kRoutingKeyNames[i]) return int(i);
  return -1;
}

void RoutingKeyValue::append(const char* data, size_t n) {
  present = true;
  for (size_t i = 0; i < n; ++i)
    if (static_cast<unsigned char>(data[i]) < 0x20 || data[i] == 0x7f) control = true;
  if (too_long) return;
  if (value.size() + n > kMaxRoutingKeyBytes) {
    too_long = true;
    value.clear();
    return;
  }
  value.append(data, n);
}

}  // namespace ringgate::openai
