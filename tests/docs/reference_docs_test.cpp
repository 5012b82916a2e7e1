// docs/reference/ is generated from the code (reference_docs.cpp): the Gateway document's
// schema, the GAIE documents, the flag tables and the metric families ringgate renders.
// These tests fail when the committed pages are stale (an entry missing, or one naming a
// field, flag or family that no longer exists), when a schema field has no description,
// when a field names a flag ringgate does not have, when a metric family has no HELP, and
// when the source names a family the generator does not render.
// Regenerate with: ninja -C build reference-docs
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "reference_docs.h"
#include "ringgate/config/llm_d_compat.h"
#include "ringgate/sched/filter_registry.h"
#include "ringgate/sched/scorer_registry.h"
#include "ringgate/config/config_loader.h"
#include "ringgate/config/gaie_schema.h"
#include "ringgate/config/gateway_schema.h"
#include "ringgate/gateway/options.h"

using namespace ringgate;

namespace {

const std::string kSource = RINGGATE_SOURCE_DIR;
const std::string kRegenerate = "regenerate with: ninja -C build reference-docs (and commit docs/reference/)";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string listing(const std::set<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += "  " + n + "\n";
  return out;
}

// The committed page against the generated one: entries missing, entries stale, then any
// other difference (a description, default or HELP changed).
void check_page(const std::string& name, const std::string& generated) {
  const std::string committed = read_text(kSource + "/docs/reference/" + name);
  const std::set<std::string> want = docs::entries_of(generated), have = docs::entries_of(committed);
  std::set<std::string> missing, stale;
  for (const std::string& e : want)
    if (!have.contains(e)) missing.insert(e);
  for (const std::string& e : have)
    if (!want.contains(e)) stale.insert(e);
  CHECK_MESSAGE(missing.empty(), "docs/reference/" << name << " has no entry for:\n" << listing(missing) << kRegenerate);
  CHECK_MESSAGE(stale.empty(),
                "docs/reference/" << name << " has entries for what no longer exists:\n" << listing(stale) << kRegenerate);
  // The first line that differs, rather than both pages.
  std::istringstream a(committed), b(generated);
  std::string la, lb;
  int line = 0;
  bool more_a = true, more_b = true;
  while (true) {
    ++line;
    more_a = bool(std::getline(a, la));
    more_b = bool(std::getline(b, lb));
    if (!more_a || !more_b || la != lb) break;
  }
  const bool same = !more_a && !more_b;
  CHECK_MESSAGE(same, "docs/reference/" << name << " is not what the code generates; first difference at line " << line
                                        << ":\n  committed: " << (more_a ? la : "(end)")
                                        << "\n  generated: " << (more_b ? lb : "(end)") << "\n"
                                        << kRegenerate);
}

}  // namespace

TEST_CASE("every field of the Gateway document's schema has a type and a description") {
  std::set<std::string> undescribed;
  for (const config::gateway_schema::Map& map : config::gateway_schema::kMaps) {
    CHECK_MESSAGE(map.fields.size() == map.keys.size(),
                  "the map '" << map.path << "' of config::gateway_schema::kMaps lists keys without their Field lines "
                              << "(declare its keys as Fields and pass names_of(...) and the Fields)");
    for (size_t i = 0; i < std::min(map.fields.size(), map.keys.size()); ++i) {
      const config::gateway_schema::Field& f = map.fields[i];
      CHECK(f.name == map.keys[i]);
      if (f.description.empty() || f.type.empty())
        undescribed.insert(std::string(map.path) + (map.path.empty() ? "" : ".") + std::string(f.name));
    }
  }
  CHECK_MESSAGE(undescribed.empty(), "fields of config::gateway_schema without a type or description (add them where "
                                     "the field is declared, include/ringgate/config/gateway_schema.h):\n"
                                         << listing(undescribed));
  for (const config::gaie_schema::Document& d : config::gaie_schema::kDocuments)
    for (const config::gaie_schema::Field& f : d.fields) {
      CAPTURE(f.path);
      CHECK(!f.description.empty());
    }
}

TEST_CASE("a schema field's flag is a flag of ringgate") {
  std::set<std::string> flags;
  for (const util::FlagSpec& f : gateway::gateway_flags()) flags.insert(std::string(f.name));
  for (const util::FlagSpec& f : gateway::epp_flags()) flags.insert(std::string(f.name));
  static const std::regex flag_name("--[a-z][-a-z]*");
  std::set<std::string> unknown;
  for (const config::gateway_schema::Map& map : config::gateway_schema::kMaps)
    for (const config::gateway_schema::Field& f : map.fields) {
      const std::string text(f.flag);
      for (auto it = std::sregex_iterator(text.begin(), text.end(), flag_name); it != std::sregex_iterator(); ++it)
        if (!flags.contains(it->str())) unknown.insert(std::string(map.path) + "." + std::string(f.name) + ": " + it->str());
    }
  CHECK_MESSAGE(unknown.empty(), "schema fields naming flags ringgate does not have:\n" << listing(unknown));
}

TEST_CASE("every metric family ringgate renders has HELP, a type and samples") {
  const auto families = docs::parse_families(docs::render_all_metrics());
  CHECK(families.size() > 100);
  std::set<std::string> bad;
  for (const auto& [name, f] : families) {
    if (f.help.empty()) bad.insert(name + ": no HELP");
    if (f.type.empty()) bad.insert(name + ": no TYPE");
    // A family without a sample would show no labels in the reference, whatever it has.
    if (!f.has_samples) bad.insert(name + ": no sample rendered (its labels are unknown)");
    if (!name.starts_with("ringgate_") && !name.starts_with("inference_") && !name.starts_with("llm_d_"))
      bad.insert(name + ": not a ringgate_, inference_ or llm_d_ name");
  }
  CHECK_MESSAGE(bad.empty(), listing(bad));
}

TEST_CASE("every metric family the source names is rendered by the generator") {
  // A family added to the code but not rendered by docs::render_all_metrics (a new
  // source of families, or a feature it does not switch on) would be missing from the
  // reference: give render_all_metrics what makes it appear.
  const auto families = docs::parse_families(docs::render_all_metrics());
  std::set<std::string> labels;  // a label name (inference_pool) is no family
  for (const auto& [name, f] : families) labels.insert(f.labels.begin(), f.labels.end());
  static const std::regex literal(R"re(("|# (?:HELP|TYPE) )((?:ringgate|inference|llm_d)_[a-z0-9_]*[a-z0-9])[" ])re");
  std::set<std::string> missing;
  for (const char* dir : {"src/control", "src/proxy", "src/epp", "src/metrics", "src/gateway", "include/ringgate"}) {
    for (const auto& entry : std::filesystem::recursive_directory_iterator(kSource + "/" + dir)) {
      const std::string path = entry.path().string();
      if (!path.ends_with(".cpp") && !path.ends_with(".h")) continue;
      const std::string text = read_text(path);
      for (auto it = std::sregex_iterator(text.begin(), text.end(), literal); it != std::sregex_iterator(); ++it) {
        const std::string name = (*it)[2];
        if (!families.contains(name) && !labels.contains(name)) missing.insert(name + " (" + path.substr(kSource.size() + 1) + ")");
      }
    }
  }
  CHECK_MESSAGE(missing.empty(), "families named in the source that tests/docs/reference_docs.cpp does not render:\n"
                                     << listing(missing));
}

TEST_CASE("docs/reference/configuration.md is generated from the schema and the flag tables") {
  check_page("configuration.md", docs::configuration_reference());
}

TEST_CASE("docs/reference/metrics.md is generated from the families ringgate renders") {
  check_page("metrics.md", docs::metrics_reference());
}

TEST_CASE("docs/reference/llm-d-compatibility.md is generated from the loader's table") {
  check_page("llm-d-compatibility.md", docs::llm_d_compatibility_reference());
}

TEST_CASE("the llm-d table holds every plugin type the loader knows, once") {
  // The scheduler's registries name llm-d plugin types (kScorers, kFilters): each must have
  // its row, or the loader would refuse a type ringgate runs.
  std::set<std::string> missing, twice, seen;
  for (const sched::Scorer& s : sched::kScorers)
    if (!config::find_llm_d_plugin(s.plugin_type)) missing.insert(std::string(s.plugin_type));
  for (const sched::Filter& f : sched::kFilters)
    if (!config::find_llm_d_plugin(f.plugin_type)) missing.insert(std::string(f.plugin_type));
  for (const config::PluginCompat& p : config::llm_d_plugins())
    if (!seen.insert(std::string(p.type)).second) twice.insert(std::string(p.type));
  CHECK_MESSAGE(missing.empty(), "plugin types the scheduler knows that the llm-d table lacks:\n" << listing(missing));
  CHECK_MESSAGE(twice.empty(), "plugin types listed twice:\n" << listing(twice));
}

TEST_CASE("config::gaie_schema lists exactly the GAIE documents' fields the reader takes") {
  // One document of each kind the config loader reads, every map of it present, so the
  // reader allows every key it knows (EndpointPickerConfig has its own reader and is not
  // held to the list here).
  const char* kDocuments = R"(apiVersion: inference.networking.k8s.io/v1
kind: InferencePool
metadata: {name: pool}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPorts: [{number: 8000}]
  endpointPickerRef: {group: "", kind: Service, name: epp, port: {number: 9002}, failureMode: FailClose}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferencePool
metadata: {name: pool-old}
spec:
  selector: {matchLabels: {app: vllm}}
  targetPortNumber: 8000
  extensionRef: {group: "", kind: Service, name: epp, portNumber: 9002, failureMode: FailOpen}
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceModelRewrite
metadata: {name: alias}
spec:
  poolRef: {group: inference.networking.k8s.io, kind: InferencePool, name: vllm}
  rules:
  - matches: [{model: {type: Exact, value: a}}]
    targets: [{modelRewrite: b, weight: 1}]
---
apiVersion: inference.networking.x-k8s.io/v1alpha2
kind: InferenceObjective
metadata: {name: batch}
spec: {priority: -1, poolRef: {group: inference.networking.k8s.io, kind: InferencePool, name: vllm}}
)";
  const config::LoadResult loaded = config::load_config_text(kDocuments, "gaie documents");
  for (const config::gaie_schema::Document& d : config::gaie_schema::kDocuments) {
    if (d.kind == "EndpointPickerConfig") continue;
    CAPTURE(d.kind);
    const auto it = loaded.keys_allowed_by_kind.find(std::string(d.kind));
    REQUIRE(it != loaded.keys_allowed_by_kind.end());
    std::set<std::string> listed;
    for (const config::gaie_schema::Field& f : d.fields) listed.insert(std::string(f.path));
    auto covered = [&](const std::string& p) {
      for (const std::string& l : listed)
        if (l == p || l.starts_with(p + ".") || l.starts_with(p + "[]") || p.starts_with(l + ".")) return true;
      return false;
    };
    std::set<std::string> unlisted, stale;
    for (const std::string& p : it->second) {
      if (p == "apiVersion" || p == "kind" || p == "status" || p == "metadata" || p.starts_with("metadata.")) continue;
      if (!covered(p)) unlisted.insert(p);
    }
    for (const std::string& l : listed)
      if (!it->second.contains(l)) stale.insert(l);
    CHECK_MESSAGE(unlisted.empty(), d.kind << " fields the reader takes that include/ringgate/config/gaie_schema.h does "
                                              "not list:\n" << listing(unlisted));
    CHECK_MESSAGE(stale.empty(), d.kind << " fields gaie_schema.h lists that the reader does not take:\n" << listing(stale));
  }
}
