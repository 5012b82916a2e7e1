// libFuzzer target: any /v1/models body a model server sends must parse or be refused
// cleanly, and what parses stays inside the bounds the pool relies on.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/control/endpoint_pool.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ringgate::control;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> models, adapters;
  std::string why;
  if (!parse_model_list(body, models, adapters, &why)) {
    if (why.empty() || !models.empty() || !adapters.empty()) __builtin_trap();
    return 0;
  }
  if (models.size() + adapters.size() > kMaxModelsPerEndpoint) __builtin_trap();
  for (const auto* list : {&models, &adapters})
    for (const std::string& name : *list)
      if (name.empty() || name.size() > kMaxModelNameBytes) __builtin_trap();
  return 0;
}
