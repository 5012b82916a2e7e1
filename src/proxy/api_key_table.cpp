#include "ringgate/proxy/api_key_table.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace ringgate::proxy {

namespace {

// Fetched once: EVP_Digest with a name looks the algorithm up on every call.
const EVP_MD* sha256() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool glob_match(std::string_view glob, std::string_view text) {
  // Greedy with one backtrack point: the last `*` seen, and where in `text` it resumes.
  size_t g = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (g < glob.size() && (glob[g] == '?' || glob[g] == text[t])) {
      ++g;
      ++t;
    } else if (g < glob.size() && glob[g] == '*') {
      star = g++;
      resume = t;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool ApiKey::allows_model(std::string_view model) const {
  if (models.empty()) return true;
  return std::any_of(models.begin(), models.end(), [&](const std::string& glob) { return glob_match(glob, model); });
}

std::string_view presented_api_key(const http::Request& request) {
  std::string_view authorization = trim(request.header("authorization"));
  if (!authorization.empty()) {
    constexpr std::string_view kBearer = "bearer";
    if (authorization.size() > kBearer.size() && http::iequals(authorization.substr(0, kBearer.size()), kBearer) &&
        (authorization[kBearer.size()] == ' ' || authorization[kBearer.size()] == '\t'))
      return trim(authorization.substr(kBearer.size()));
    return authorization;  // another scheme: presented, and wrong
  }
  return trim(request.header("api-key"));
}

size_t ApiKeyTable::DigestHash::operator()(const Digest& digest) const noexcept {
  size_t h = 0;
  std::memcpy(&h, digest.data(), sizeof h);
  return h;
}

ApiKeyTable::ApiKeyTable(const std::vector<config::ApiKeyEntry>& entries) {
  by_digest_.reserve(entries.size());
  for (const config::ApiKeyEntry& e : entries) {
    ApiKey key;
    key.tenant = e.tenant;
    key.models = e.models;
    key.limits = {e.tokens_per_minute, e.requests_per_minute};
    key.admin = e.admin;
    any_admin_ |= e.admin;
    by_digest_.emplace(e.sha256, std::move(key));
  }
}

const ApiKey* ApiKeyTable::find(std::string_view presented) const {
  if (presented.empty() || presented.size() > kMaxApiKeyBytes) return nullptr;
  Digest digest;
  unsigned int length = 0;
  if (EVP_Digest(presented.data(), presented.size(), digest.data(), &length, sha256(), nullptr) != 1 ||
      length != digest.size())
    return nullptr;
  auto it = by_digest_.find(digest);
  return it == by_digest_.end() ? nullptr : &it->second;
}

}  // namespace ringgate::proxy
