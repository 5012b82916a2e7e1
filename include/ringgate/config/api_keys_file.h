#pragma once
// The API keys file (auth.apiKeysFile): who may call the gateway, as whom, for which
// models. Only each key's SHA-256 is stored, so the file (a Kubernetes Secret, a
// config-management template) never holds a usable key:
//
//   apiVersion: ringgate.io/v1
//   kind: ApiKeys
//   keys:
//   - sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  # printf %s "$KEY" | sha256sum
//     tenant: team-a              # rate limits and fairness count by it
//     models: ["llama-*", "qwen2.5-7b"]   # globs (* and ?) over the model the client names; absent: all
//     tokensPerMinute: 200000     # optional: this key's budgets, in place of rateLimits'
//     requestsPerMinute: 600
//     admin: true                 # optional: may use the admin port when admin.auth is on
//
// Hostile or mistaken files are bounded: the file's size, the number of keys, the
// globs per key and every string's length (a tenant is a fairness id: 128 bytes, no
// control bytes). A duplicate hash is an error (two tenants for one key).
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/config/config_error.h"

namespace ringgate::config {

inline constexpr std::string_view api_keys_kind = "ApiKeys";

struct ApiKeysLimits {
  size_t max_file_bytes = 16u << 20;
  size_t max_keys = 100'000;
  size_t max_models_per_key = 64;
  size_t max_glob_bytes = 256;
  size_t max_tenant_bytes = 128;
};

struct ApiKeyEntry {
  std::array<uint8_t, 32> sha256{};
  std::string tenant;
  std::vector<std::string> models;  // globs; empty: every model
  uint64_t tokens_per_minute = 0;    // 0: rateLimits' budget
  uint64_t requests_per_minute = 0;  // 0: rateLimits' budget
  bool admin = false;
};

struct ApiKeysResult {
  std::vector<ApiKeyEntry> keys;    // meaningful only when ok()
  std::vector<ConfigError> errors;  // sorted by position
  bool ok() const { return errors.empty(); }
};

// `file_name` is only used in messages.
ApiKeysResult load_api_keys_text(std::string_view text, std::string_view file_name = "<text>",
                                 const ApiKeysLimits& limits = {});
ApiKeysResult load_api_keys_file(const std::string& path, const ApiKeysLimits& limits = {});

}  // namespace ringgate::config
