#include "yaml_field_reader.h"

#include <charconv>
#include <cmath>

#include "ringgate/config/duration.h"

namespace ringgate::config::detail {

namespace {

std::string_view type_name(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a scalar";
    case YAML::NodeType::Null:
      return "nothing (null)";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

// Quoted scalars carry the non-specific tag "!"; plain ones "?".
bool is_quoted(const YAML::Node& node) { return node.Tag() == "!"; }

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) out += (c == '\n' ? ' ' : c);
  if (s.size() > 80) out += "...";
  return out + "\"";
}

std::string allowed_list(std::span<const std::string_view> allowed) {
  std::string out;
  for (std::string_view key : allowed) {
    if (!out.empty()) out += ", ";
    out += key;
  }
  return out;
}

}  // namespace

std::string join_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out(parent);
  out += '.';
  out += key;
  return out;
}

std::string index_path(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

SourcePosition position_of(const YAML::Node& node) {
  if (!node.IsDefined()) return {};
  YAML::Mark mark = node.Mark();
  if (mark.is_null() || mark.line < 0) return {};
  return {mark.line + 1, mark.column + 1};
}

const YAML::Node* MapFields::find(std::string_view key) const {
  for (const MapEntry& entry : entries_)
    if (entry.key == key) return &entry.value;
  return nullptr;
}

void YamlFieldReader::error(const YAML::Node& at, std::string_view path, std::string_view message) {
  error_at(position_of(at), path, message);
}

void YamlFieldReader::error_at(SourcePosition at, std::string_view path, std::string_view message) {
  std::string text = context_;
  if (!path.empty()) text += std::string(path) + ": ";
  text += message;
  errors_.push_back(ConfigError{file_, at, std::move(text)});
}

namespace {

// "a.b[3].c" → "a.b[].c"
std::string without_indices(std::string_view path) {
  std::string out;
  for (size_t i = 0; i < path.size(); ++i) {
    out += path[i];
    if (path[i] == '[') {
      while (i + 1 < path.size() && path[i + 1] != ']') ++i;
    }
  }
  return out;
}

}  // namespace

std::optional<MapFields> YamlFieldReader::read_map(const YAML::Node& node, std::string_view path,
                                                   std::span<const std::string_view> allowed) {
  const std::string schema_path = without_indices(path);
  for (std::string_view key : allowed) keys_allowed_.push_back(join_path(schema_path, key));
  auto fields = read_open_map(node, path);
  if (!fields) return std::nullopt;
  std::vector<MapEntry> known;
  for (const MapEntry& entry : fields->entries()) {
    bool ok = false;
    for (std::string_view key : allowed) ok = ok || key == entry.key;
    if (ok) {
      known.push_back(entry);
    } else {
      error(entry.key_node, join_path(path, entry.key),
            "unknown field" + std::string(path.empty() ? "" : " in " + std::string(path)) +
                " (allowed: " + allowed_list(allowed) + ")");
    }
  }
  return MapFields(node, std::move(known));
}

std::optional<MapFields> YamlFieldReader::read_open_map(const YAML::Node& node, std::string_view path) {
  if (node.IsNull()) return MapFields(node, {});
  if (!node.IsMap()) {
    error(node, path, "expected a map, got " + std::string(type_name(node)));
    return std::nullopt;
  }
  std::vector<MapEntry> entries;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error(key, path, "map keys must be plain strings");
      continue;
    }
    std::string name = key.Scalar();
    bool duplicate = false;
    for (const MapEntry& seen : entries) {
      if (seen.key == name) {
        SourcePosition first = position_of(seen.key_node);
        error(key, join_path(path, name), "duplicate key (first at line " + std::to_string(first.line) + ")");
        duplicate = true;
        break;
      }
    }
    if (!duplicate) entries.push_back(MapEntry{std::move(name), key, it->second});
  }
  return MapFields(node, std::move(entries));
}

bool YamlFieldReader::expect_sequence(const YAML::Node& node, std::string_view path) {
  if (node.IsNull() || node.IsSequence()) return true;
  error(node, path, "expected a list, got " + std::string(type_name(node)));
  return false;
}

std::optional<std::string> YamlFieldReader::read_scalar(const YAML::Node& node, std::string_view path,
                                                        std::string_view expected) {
  if (!node.IsScalar()) {
    error(node, path, "expected " + std::string(expected) + ", got " + std::string(type_name(node)));
    return std::nullopt;
  }
  return node.Scalar();
}

std::optional<std::string> YamlFieldReader::read_string(const YAML::Node& node, std::string_view path,
                                                        bool allow_empty) {
  auto text = read_scalar(node, path, "a string");
  if (!text) return std::nullopt;
  if (!allow_empty && text->empty()) {
    error(node, path, "must not be empty");
    return std::nullopt;
  }
  note_leaf(path);
  return text;
}

std::optional<int64_t> YamlFieldReader::read_int(const YAML::Node& node, std::string_view path, int64_t min,
                                                 int64_t max) {
  auto text = read_scalar(node, path, "an integer");
  if (!text) return std::nullopt;
  if (is_quoted(node)) {
    error(node, path, "expected an integer, got the string " + quote(*text));
    return std::nullopt;
  }
  std::string_view digits = *text;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  int64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec == std::errc::invalid_argument || end != digits.data() + digits.size()) {
    error(node, path, "expected an integer, got " + quote(*text));
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range || value < min || value > max) {
    error(node, path,
          "value " + *text + " is out of range (" + std::to_string(min) + " to " + std::to_string(max) + ")");
    return std::nullopt;
  }
  note_leaf(path);
  return value;
}

std::optional<double> YamlFieldReader::read_number(const YAML::Node& node, std::string_view path, double min,
                                                   double max) {
  auto text = read_scalar(node, path, "a number");
  if (!text) return std::nullopt;
  if (is_quoted(node)) {
    error(node, path, "expected a number, got the string " + quote(*text));
    return std::nullopt;
  }
  std::string_view digits = *text;
  if (!digits.empty() && digits[0] == '+') digits.remove_prefix(1);
  double value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || !std::isfinite(value)) {
    error(node, path, "expected a number, got " + quote(*text));
    return std::nullopt;
  }
  if (value < min || value > max) {
    auto show = [](double d) {
      std::string s = std::to_string(d);
      while (s.find('.') != std::string::npos && (s.back() == '0' || s.back() == '.')) {
        bool dot = s.back() == '.';
        s.pop_back();
        if (dot) break;
      }
      return s;
    };
    error(node, path, "value " + *text + " is out of range (" + show(min) + " to " + show(max) + ")");
    return std::nullopt;
  }
  note_leaf(path);
  return value;
}

std::optional<bool> YamlFieldReader::read_bool(const YAML::Node& node, std::string_view path) {
  auto text = read_scalar(node, path, "true or false");
  if (!text) return std::nullopt;
  if (!is_quoted(node)) {
    if (*text == "true" || *text == "True" || *text == "TRUE") {
      note_leaf(path);
      return true;
    }
    if (*text == "false" || *text == "False" || *text == "FALSE") {
      note_leaf(path);
      return false;
    }
  }
  error(node, path, "expected true or false, got " + quote(*text));
  return std::nullopt;
}

std::optional<std::chrono::nanoseconds> YamlFieldReader::read_duration(const YAML::Node& node, std::string_view path,
                                                                       std::chrono::nanoseconds min,
                                                                       std::chrono::nanoseconds max) {
  auto text = read_scalar(node, path, "a duration string such as \"5s\"");
  if (!text) return std::nullopt;
  DurationParseResult parsed = parse_duration(*text);
  if (!parsed.value) {
    error(node, path, parsed.error);
    return std::nullopt;
  }
  if (*parsed.value < min || *parsed.value > max) {
    error(node, path,
          "duration " + *text + " is out of range (" + format_duration(min) + " to " + format_duration(max) + ")");
    return std::nullopt;
  }
  note_leaf(path);
  return parsed.value;
}

std::optional<uint64_t> YamlFieldReader::read_byte_size(const YAML::Node& node, std::string_view path, uint64_t min,
                                                        uint64_t max) {
  auto text = read_scalar(node, path, "a byte size such as 65536 or \"64Ki\"");
  if (!text) return std::nullopt;
  std::string_view s = *text;
  uint64_t multiplier = 1;
  struct Suffix {
    std::string_view name;
    uint64_t value;
  };
  for (Suffix sfx : {Suffix{"Ki", 1ull << 10}, Suffix{"Mi", 1ull << 20}, Suffix{"Gi", 1ull << 30}}) {
    if (s.ends_with(sfx.name)) {
      multiplier = sfx.value;
      s.remove_suffix(2);
      break;
    }
  }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec == std::errc::invalid_argument || end != s.data() + s.size()) {
    error(node, path, "expected a byte size such as 65536, 64Ki, 16Mi or 1Gi, got " + quote(*text));
    return std::nullopt;
  }
  bool overflow = ec == std::errc::result_out_of_range || value > UINT64_MAX / multiplier;
  if (overflow || value * multiplier < min || value * multiplier > max) {
    error(node, path,
          "size " + *text + " is out of range (" + std::to_string(min) + " to " + std::to_string(max) + " bytes)");
    return std::nullopt;
  }
  note_leaf(path);
  return value * multiplier;
}

std::optional<HostPort> YamlFieldReader::read_host_port(const YAML::Node& node, std::string_view path,
                                                        bool allow_empty_host) {
  auto text = read_scalar(node, path, allow_empty_host ? "an address such as \":8080\"" : "host:port");
  if (!text) return std::nullopt;
  HostPortParseResult parsed = parse_host_port(*text, allow_empty_host);
  if (!parsed.value) {
    error(node, path, parsed.error);
    return std::nullopt;
  }
  note_leaf(path);
  return parsed.value;
}

}  // namespace ringgate::config::detail
