#pragma once
// Parses and validates a config file. Every problem is collected (not just the first),
// each with its line and column; nothing throws.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/config/config_error.h"
#include "ringgate/config/config_set.h"

namespace ringgate::config {

struct LoadOptions {
  // The command line supplies the endpoints (e.g. --endpoints), so a file without a
  // `pool` is fine; rewrite/objective poolRefs may then name `pool_name_from_flags`.
  bool pool_given_by_flags = false;
  std::string pool_name_from_flags = "vllm";
};

struct LoadResult {
  ConfigSet config;                 // meaningful only when ok()
  std::vector<ConfigError> errors;  // sorted by position
  // Every dotted path the Gateway document's reader allowed while reading this file ("[]"
  // for list items, repeats included): the schema check (tests/config/example_schema_test.cpp)
  // holds it to config::gateway_schema, so no map of the reader escapes the schema.
  std::vector<std::string> gateway_keys_allowed;
  // The same for every kind read, by kind ("InferencePool" -> {"spec.selector", ...}): the
  // configuration reference's test holds the GAIE kinds' to config::gaie_schema.
  std::map<std::string, std::set<std::string>> keys_allowed_by_kind;

  bool ok() const { return errors.empty(); }
};

// Files above this size are rejected unread (a config is a few KB).
inline constexpr size_t max_config_file_bytes = 4 * 1024 * 1024;

// `file_name` is only used in error messages.
LoadResult load_config_text(std::string_view text, std::string_view file_name = "<text>",
                            const LoadOptions& options = {});

LoadResult load_config_file(const std::string& path, const LoadOptions& options = {});

}  // namespace ringgate::config
