#include "ringgate/config/api_keys_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <optional>

#include "ringgate/config/gateway_config.h"
#include "document_readers.h"
#include "yaml_field_reader.h"

namespace ringgate::config {

namespace {

using detail::index_path;
using detail::join_path;
using detail::YamlFieldReader;

constexpr std::string_view kRootKeys[] = {"apiVersion", "kind", "keys"};
constexpr std::string_view kKeyFields[] = {"sha256", "tenant", "models", "tokensPerMinute", "requestsPerMinute", "admin"};

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::optional<std::array<uint8_t, 32>> parse_sha256(std::string_view hex) {
  if (hex.size() != 64) return std::nullopt;
  std::array<uint8_t, 32> out{};
  for (size_t i = 0; i < 32; ++i) {
    const int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = uint8_t(hi << 4 | lo);
  }
  return out;
}

bool has_control_bytes(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) { return (unsigned char)ch < 0x20 || ch == 0x7f; });
}

class KeysReader {
 public:
  KeysReader(std::string file, const ApiKeysLimits& limits, ApiKeysResult& out)
      : r_(std::move(file), out.errors), limits_(limits), out_(out) {
    r_.set_context("ApiKeys: ");
  }

  void read(const YAML::Node& root) {
    auto fields = r_.read_map(root, "", kRootKeys);
    if (!fields) return;
    expect_string(*fields, root, "apiVersion", gateway_api_version);
    expect_string(*fields, root, "kind", api_keys_kind);
    const YAML::Node* keys = fields->find("keys");
    if (keys == nullptr) return r_.error(root, "keys", "required: the list of keys");
    if (!r_.expect_sequence(*keys, "keys")) return;
    if (keys->size() > limits_.max_keys) return r_.error(*keys, "keys", "at most " + std::to_string(limits_.max_keys) + " keys");
    out_.keys.reserve(keys->size());
    for (size_t i = 0; i < keys->size(); ++i) read_key((*keys)[i], index_path("keys", i));
  }

 private:
  void expect_string(const detail::MapFields& fields, const YAML::Node& root, std::string_view key,
                     std::string_view expected) {
    const YAML::Node* node = fields.find(key);
    if (node == nullptr) return r_.error(root, key, "required: " + std::string(expected));
    auto value = r_.read_string(*node, key);
    if (value && *value != expected) r_.error(*node, key, "must be " + std::string(expected) + ", not " + *value);
  }

  void read_key(const YAML::Node& node, const std::string& path) {
    auto fields = r_.read_map(node, path, kKeyFields);
    if (!fields) return;
    ApiKeyEntry key;
    bool whole = true;
    if (const YAML::Node* v = fields->find("sha256")) {
      auto hex = r_.read_string(*v, join_path(path, "sha256"));
      auto digest = hex ? parse_sha256(*hex) : std::nullopt;
      if (hex && !digest)
        r_.error(*v, join_path(path, "sha256"), "64 hex digits (the key's SHA-256: printf %s \"$KEY\" | sha256sum)");
      if (digest) key.sha256 = *digest;
      whole &= digest.has_value();
    } else {
      r_.error(node, join_path(path, "sha256"), "required: the key's SHA-256, 64 hex digits");
      whole = false;
    }
    if (const YAML::Node* v = fields->find("tenant")) {
      const std::string p = join_path(path, "tenant");
      auto tenant = r_.read_string(*v, p);
      if (tenant && (tenant->size() > limits_.max_tenant_bytes || has_control_bytes(*tenant))) {
        r_.error(*v, p, "at most " + std::to_string(limits_.max_tenant_bytes) + " bytes, no control bytes");
        tenant.reset();
      }
      if (tenant) key.tenant = std::move(*tenant);
      whole &= !key.tenant.empty();
    } else {
      r_.error(node, join_path(path, "tenant"), "required: whom the key's requests count for");
      whole = false;
    }
    if (const YAML::Node* v = fields->find("models")) whole &= read_models(*v, join_path(path, "models"), key.models);
    if (const YAML::Node* v = fields->find("tokensPerMinute")) {
      auto n = r_.read_int(*v, join_path(path, "tokensPerMinute"), 0, int64_t(1) << 50);
      if (n) key.tokens_per_minute = uint64_t(*n);
      whole &= n.has_value();
    }
    if (const YAML::Node* v = fields->find("requestsPerMinute")) {
      auto n = r_.read_int(*v, join_path(path, "requestsPerMinute"), 0, int64_t(1) << 40);
      if (n) key.requests_per_minute = uint64_t(*n);
      whole &= n.has_value();
    }
    if (const YAML::Node* v = fields->find("admin")) {
      auto b = r_.read_bool(*v, join_path(path, "admin"));
      if (b) key.admin = *b;
      whole &= b.has_value();
    }
    if (!whole) return;
    const std::string digest(key.sha256.begin(), key.sha256.end());
    auto [it, fresh] = seen_.emplace(digest, path);
    if (!fresh) return r_.error(node, join_path(path, "sha256"), "the same key as " + it->second);
    out_.keys.push_back(std::move(key));
  }

  bool read_models(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
    if (!r_.expect_sequence(node, path)) return false;
    if (node.size() == 0) {
      r_.error(node, path, "at least one model glob (leave models out for every model)");
      return false;
    }
    if (node.size() > limits_.max_models_per_key) {
      r_.error(node, path, "at most " + std::to_string(limits_.max_models_per_key) + " globs");
      return false;
    }
    bool ok = true;
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string p = index_path(path, i);
      auto glob = r_.read_string(node[i], p);
      if (glob && (glob->size() > limits_.max_glob_bytes || has_control_bytes(*glob))) {
        r_.error(node[i], p, "at most " + std::to_string(limits_.max_glob_bytes) + " bytes, no control bytes");
        glob.reset();
      }
      if (glob) out.push_back(std::move(*glob));
      ok &= glob.has_value();
    }
    return ok;
  }

  YamlFieldReader r_;
  const ApiKeysLimits& limits_;
  ApiKeysResult& out_;
  std::map<std::string, std::string> seen_;  // digest -> the path that named it first
};

}  // namespace

ApiKeysResult load_api_keys_text(std::string_view text, std::string_view file_name, const ApiKeysLimits& limits) {
  ApiKeysResult result;
  const std::string file(file_name);
  if (text.size() > limits.max_file_bytes) {
    result.errors.push_back(ConfigError{file, {}, "file is larger than " + std::to_string(limits.max_file_bytes) + " bytes"});
    return result;
  }
  std::optional<YAML::Node> root = detail::load_one_document(text, file, api_keys_kind, result.errors);
  if (!root) return result;
  try {
    KeysReader(file, limits, result).read(*root);
  } catch (const std::exception& e) {
    result.errors.push_back(ConfigError{file, {}, std::string("internal error while reading the keys: ") + e.what()});
  }
  if (!result.ok()) result.keys.clear();
  sort_by_position(result.errors);
  return result;
}

ApiKeysResult load_api_keys_file(const std::string& path, const ApiKeysLimits& limits) {
  ApiKeysResult result;
  std::optional<std::string> text = detail::read_config_text(path, limits.max_file_bytes, result.errors);
  if (!text) return result;
  return load_api_keys_text(*text, path, limits);
}

}  // namespace ringgate::config
