#pragma once
// The API keys the gateway accepts (auth.apiKeysFile, config/api_keys_file.h), looked up
// by the SHA-256 of the key a request presents. Immutable; the keys file's watcher
// publishes a new table through ApiKeysPublisher when the file changes, and a request
// copies what it needs of its key (tenant, budgets) before the worker's next refresh.
//
// A request presents its key as OpenAI clients do (`Authorization: Bearer KEY`) or as
// Azure OpenAI clients do (`api-key: KEY`). Keys are bounded (kMaxApiKeyBytes) and never
// leave this file: errors name no key, and the table holds only digests.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ringgate/config/api_keys_file.h"
#include "ringgate/http/request_parser.h"
#include "ringgate/proxy/rate_limiter.h"
#include "ringgate/util/snapshot_publisher.h"

namespace ringgate::proxy {

inline constexpr size_t kMaxApiKeyBytes = 1024;

struct ApiKey {
  std::string tenant;
  std::vector<std::string> models;  // globs (* and ?); empty: every model
  RateLimitPolicy limits;           // inactive: the gateway's rateLimits
  bool admin = false;               // may use the admin port (admin.auth)

  bool allows_model(std::string_view model) const;
  bool all_models() const { return models.empty(); }
};

// `*` matches any run of bytes, `?` one byte, everything else itself. Linear in
// glob × text at worst (no recursion).
bool glob_match(std::string_view glob, std::string_view text);

// The key a request presents: `Authorization: Bearer KEY` (scheme case-insensitive),
// else `api-key: KEY`; empty when it presents none.
std::string_view presented_api_key(const http::Request& request);

class ApiKeyTable {
 public:
  explicit ApiKeyTable(const std::vector<config::ApiKeyEntry>& entries);
  ApiKeyTable(const ApiKeyTable&) = delete;
  ApiKeyTable& operator=(const ApiKeyTable&) = delete;

  // The key `presented` names (hashed here), or null: unknown, empty or longer than kMaxApiKeyBytes.
  const ApiKey* find(std::string_view presented) const;
  size_t size() const { return by_digest_.size(); }
  bool any_admin() const { return any_admin_; }

 private:
  using Digest = std::array<uint8_t, 32>;  // SHA-256
  struct DigestHash {
    size_t operator()(const Digest& digest) const noexcept;  // its first 8 bytes
  };
  std::unordered_map<Digest, ApiKey, DigestHash> by_digest_;
  bool any_admin_ = false;
};

using ApiKeysPublisher = util::SnapshotPublisher<ApiKeyTable>;

}  // namespace ringgate::proxy
