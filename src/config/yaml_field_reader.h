#pragma once
// Internal to the config layer: typed, position-aware reads from yaml-cpp nodes that
// record errors instead of throwing. Every read names the field by its dotted path.

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ringgate/config/config_error.h"
#include "ringgate/config/host_port.h"

namespace ringgate::config::detail {

std::string join_path(std::string_view parent, std::string_view key);
std::string index_path(std::string_view parent, size_t index);

SourcePosition position_of(const YAML::Node& node);

// A map's entries in file order, after type, duplicate-key and unknown-key checks.
struct MapEntry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

class MapFields {
 public:
  MapFields() = default;
  MapFields(YAML::Node node, std::vector<MapEntry> entries) : node_(node), entries_(std::move(entries)) {}

  // The value for `key`, or nullptr when absent.
  const YAML::Node* find(std::string_view key) const;
  const YAML::Node& node() const { return node_; }
  const std::vector<MapEntry>& entries() const { return entries_; }

 private:
  YAML::Node node_;
  std::vector<MapEntry> entries_;
};

class YamlFieldReader {
 public:
  YamlFieldReader(std::string file, std::vector<ConfigError>& errors) : file_(std::move(file)), errors_(errors) {}

  // Prepended to every message, e.g. "Gateway: " or "InferenceModelRewrite my-alias: ".
  void set_context(std::string context) { context_ = std::move(context); }

  void error(const YAML::Node& at, std::string_view path, std::string_view message);
  void error_at(SourcePosition at, std::string_view path, std::string_view message);
  size_t error_count() const { return errors_.size(); }

  // A map whose keys are all in `allowed` (others are reported, and skipped). A null
  // node reads as an empty map. Returns nothing when the node is not a map.
  std::optional<MapFields> read_map(const YAML::Node& node, std::string_view path,
                                    std::span<const std::string_view> allowed);
  std::optional<MapFields> read_map(const YAML::Node& node, std::string_view path,
                                    std::initializer_list<std::string_view> allowed) {
    return read_map(node, path, std::span<const std::string_view>(allowed.begin(), allowed.size()));
  }
  // A map with any string keys (labels, selectors).
  std::optional<MapFields> read_open_map(const YAML::Node& node, std::string_view path);

  // Checks the node is a sequence (null reads as empty). Reports otherwise.
  bool expect_sequence(const YAML::Node& node, std::string_view path);

  std::optional<std::string> read_string(const YAML::Node& node, std::string_view path, bool allow_empty = false);
  std::optional<int64_t> read_int(const YAML::Node& node, std::string_view path, int64_t min, int64_t max);
  std::optional<double> read_number(const YAML::Node& node, std::string_view path, double min, double max);
  std::optional<bool> read_bool(const YAML::Node& node, std::string_view path);
  std::optional<std::chrono::nanoseconds> read_duration(const YAML::Node& node, std::string_view path,
                                                        std::chrono::nanoseconds min, std::chrono::nanoseconds max);
  // Plain integer or with a binary suffix: 65536, 64Ki, 16Mi, 1Gi.
  std::optional<uint64_t> read_byte_size(const YAML::Node& node, std::string_view path, uint64_t min, uint64_t max);
  std::optional<HostPort> read_host_port(const YAML::Node& node, std::string_view path, bool allow_empty_host);

  // Paths of the leaves read successfully, in read order (for "set by file").
  const std::vector<std::string>& leaves_read() const { return leaves_read_; }

  // Every dotted path a read_map call allowed, list indices as "[]" ("kvEvents.endpoints[].address"),
  // in call order with repeats: what the schema check compares with gateway_schema.
  const std::vector<std::string>& keys_allowed() const { return keys_allowed_; }
  // A value read whole by the caller (an empty list) counts as set by the file.
  void note_set(std::string_view path) { note_leaf(path); }

 private:
  std::optional<std::string> read_scalar(const YAML::Node& node, std::string_view path, std::string_view expected);
  void note_leaf(std::string_view path) { leaves_read_.emplace_back(path); }

  std::string file_;
  std::string context_;
  std::vector<ConfigError>& errors_;
  std::vector<std::string> leaves_read_;
  std::vector<std::string> keys_allowed_;
};

}  // namespace ringgate::config::detail
