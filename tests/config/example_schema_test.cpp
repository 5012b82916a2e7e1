// deploy/examples/ringgate.yaml is "a commented example of every field" (issue 34): every
// field of the Gateway document's schema (config::gateway_schema, the key lists the reader
// itself takes) is in the example as YAML, not in a comment, and the example is valid
// config (what `ringgate --check-config` runs).
//
// Fields that exclude each other (pool.discovery.static / kubernetes, kubernetes.service /
// inferencePool) cannot all be set in one document. The example shows the others as
// alternatives: a comment line "# instead of KEY: ..." and, under it at the same
// indentation, the block that replaces KEY, commented out ("# " before each line). Each
// alternative counts only as config: the example with KEY replaced by its block must load.
#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "ringgate/config/config_loader.h"
#include "ringgate/config/gateway_schema.h"

using namespace ringgate::config;

namespace {

const std::string kExample = RINGGATE_SOURCE_DIR "/deploy/examples/ringgate.yaml";

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string join(const std::string& parent, const std::string& key) { return parent.empty() ? key : parent + "." + key; }

std::string listing(const std::set<std::string>& paths) {
  std::string out;
  for (const std::string& p : paths) out += "  " + p + "\n";
  return out;
}

std::string errors_of(const LoadResult& r) {
  std::string out;
  for (const ConfigError& e : r.errors) out += format_error(e) + "\n";
  return out;
}

// Every dotted path of the schema: "listen", "listen.api", "kvEvents.endpoints[].address", ...
std::set<std::string> schema_paths() {
  std::set<std::string> out;
  for (const gateway_schema::Map& map : gateway_schema::kMaps)
    for (std::string_view key : map.keys) out.insert(join(std::string(map.path), std::string(key)));
  return out;
}

// The same for a YAML tree; `metadata` is Kubernetes' object metadata, a leaf to the schema.
void collect(const YAML::Node& node, const std::string& path, std::set<std::string>& out) {
  if (node.IsMap()) {
    for (auto it = node.begin(); it != node.end(); ++it) {
      const std::string p = join(path, it->first.Scalar());
      out.insert(p);
      if (p != "metadata") collect(it->second, p, out);
    }
  } else if (node.IsSequence()) {
    for (const YAML::Node& item : node) collect(item, path + "[]", out);
  }
}

YAML::Node gateway_of(const std::vector<YAML::Node>& documents) {
  for (const YAML::Node& d : documents)
    if (d.IsMap() && d["kind"] && d["kind"].Scalar() == "Gateway") return d;
  FAIL("no Gateway document");
  return {};
}

struct Alternative {
  int line = 0;                     // of the marker, 1-based
  std::vector<std::string> parent;  // the map holding `replaces`
  std::string replaces;
  std::string yaml;                 // the block, uncommented
};

// The "# instead of KEY:" blocks of the example, with the map each one sits in, found by
// indentation (block-style YAML, as the example is written).
std::vector<Alternative> alternatives(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  static const std::regex marker(R"(^( *)# instead of ([A-Za-z][-A-Za-z0-9]*):.*$)");
  static const std::regex key_line(R"(^( *)(- )?([A-Za-z][-A-Za-z0-9]*):( |$).*)");
  std::vector<std::pair<size_t, std::string>> stack;  // (indent, path component) of the live lines above
  std::vector<Alternative> out;
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    if (line.starts_with("---")) {
      stack.clear();
      continue;
    }
    const size_t indent = line.find_first_not_of(' ');
    if (indent == std::string::npos) continue;
    std::smatch m;
    if (line[indent] == '#') {
      if (!std::regex_match(line, m, marker)) continue;
      while (!stack.empty() && stack.back().first >= indent) stack.pop_back();
      Alternative a;
      a.line = int(i) + 1;
      for (const auto& [unused, component] : stack) a.parent.push_back(component);
      a.replaces = m[2];
      const std::string prefix = std::string(indent, ' ') + "# ";
      for (size_t j = i + 1; j < lines.size() && lines[j].starts_with(prefix) && !std::regex_match(lines[j], marker); ++j) {
        a.yaml += lines[j].substr(prefix.size()) + "\n";
        i = j;
      }
      out.push_back(std::move(a));
      continue;
    }
    if (!std::regex_match(line, m, key_line)) continue;
    if (m[2].matched) {  // "- key:": a list item
      while (!stack.empty() && stack.back().first > indent) stack.pop_back();
      stack.emplace_back(indent + 1, "[]");
      stack.emplace_back(indent + 2, m[3]);
    } else {
      while (!stack.empty() && stack.back().first >= indent) stack.pop_back();
      stack.emplace_back(indent, m[3]);
    }
  }
  return out;
}

struct Variant {
  LoadResult loaded;
  std::set<std::string> paths;  // of its Gateway document
};

// The example with `a.replaces` replaced by `a`'s block, loaded as config.
Variant with_alternative(const std::string& text, const Alternative& a) {
  std::vector<YAML::Node> documents = YAML::LoadAll(text);
  YAML::Node parent = gateway_of(documents);
  for (const std::string& component : a.parent) {
    REQUIRE_MESSAGE(component != "[]", "line " << a.line << ": an alternative inside a list");
    REQUIRE_MESSAGE(static_cast<const YAML::Node&>(parent)[component].IsMap(), "line " << a.line << ": no map " << component);
    parent.reset(parent[component]);  // rebind: `=` would overwrite the node
  }
  REQUIRE_MESSAGE(static_cast<const YAML::Node&>(parent)[a.replaces].IsDefined(),
                  "line " << a.line << ": the alternative replaces '" << a.replaces << "', which is not set there");
  parent.remove(a.replaces);
  YAML::Node block = YAML::Load(a.yaml);
  REQUIRE_MESSAGE(block.IsMap(), "line " << a.line << ": the commented-out block is not a YAML map:\n" << a.yaml);
  for (auto it = block.begin(); it != block.end(); ++it) parent[it->first.Scalar()] = it->second;
  std::string variant;
  for (const YAML::Node& d : documents) variant += YAML::Dump(d) + "\n---\n";
  Variant v;
  v.loaded = load_config_text(variant, kExample + " (the alternative at line " + std::to_string(a.line) + ")");
  collect(gateway_of(documents), "", v.paths);
  return v;
}

}  // namespace

TEST_CASE("the example is valid config, and every field it sets is in the schema") {
  const LoadResult loaded = load_config_file(kExample);
  REQUIRE_MESSAGE(loaded.ok(), errors_of(loaded));
  const std::set<std::string> schema = schema_paths();
  std::set<std::string> shown;
  collect(gateway_of(YAML::LoadAll(read_text(kExample))), "", shown);
  std::set<std::string> unknown;
  for (const std::string& p : shown)
    if (!schema.contains(p)) unknown.insert(p);
  CHECK_MESSAGE(unknown.empty(), "set in the example, not in config::gateway_schema:\n" << listing(unknown));
}

TEST_CASE("every alternative shown commented out is valid config in place of the field it names") {
  const std::string text = read_text(kExample);
  const std::vector<Alternative> found = alternatives(text);
  CHECK(found.size() >= 2);  // pool.discovery.kubernetes: with a Service, with an InferencePool
  for (const Alternative& a : found) {
    CAPTURE(a.line);
    const Variant v = with_alternative(text, a);
    CHECK_MESSAGE(v.loaded.ok(), errors_of(v.loaded));
  }
}

TEST_CASE("the reader allows exactly the schema's keys") {
  // What the reader allowed while reading the example and its alternatives (which between
  // them visit every map) is the schema: a map read with keys of its own would show here.
  const std::string text = read_text(kExample);
  std::set<std::string> allowed;
  const LoadResult loaded = load_config_file(kExample);
  allowed.insert(loaded.gateway_keys_allowed.begin(), loaded.gateway_keys_allowed.end());
  for (const Alternative& a : alternatives(text)) {
    const Variant v = with_alternative(text, a);
    allowed.insert(v.loaded.gateway_keys_allowed.begin(), v.loaded.gateway_keys_allowed.end());
  }
  const std::set<std::string> schema = schema_paths();
  std::set<std::string> outside, unused;
  for (const std::string& p : allowed)  // metadata: Kubernetes' ObjectMeta, read as in every GAIE object
    if (!schema.contains(p) && !p.starts_with("metadata.")) outside.insert(p);
  for (const std::string& p : schema)
    if (!allowed.contains(p)) unused.insert(p);
  CHECK_MESSAGE(outside.empty(), "allowed by the reader, not in config::gateway_schema:\n" << listing(outside));
  CHECK_MESSAGE(unused.empty(), "in config::gateway_schema, never allowed by the reader:\n" << listing(unused));
}

TEST_CASE("deploy/examples/ringgate.yaml shows every field of the schema") {
  const std::string text = read_text(kExample);
  std::set<std::string> shown;
  collect(gateway_of(YAML::LoadAll(text)), "", shown);
  for (const Alternative& a : alternatives(text)) {
    const Variant v = with_alternative(text, a);
    if (v.loaded.ok()) shown.insert(v.paths.begin(), v.paths.end());
  }
  std::set<std::string> missing;
  for (const std::string& p : schema_paths())
    if (!shown.contains(p)) missing.insert(p);
  CHECK_MESSAGE(missing.empty(), "fields of config::gateway_schema that " << kExample
                                                                          << " does not show (add each, with a comment "
                                                                             "that says what it does):\n"
                                                                          << listing(missing));
}
