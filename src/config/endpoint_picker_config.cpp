#include "ringgate/config/endpoint_picker_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <set>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "ringgate/config/config_loader.h"
#include "ringgate/config/duration.h"
#include "ringgate/config/llm_d_compat.h"
#include "document_readers.h"
#include "yaml_field_reader.h"

namespace ringgate::config {

namespace {

using detail::join_path;
using detail::MapFields;
using detail::YamlFieldReader;
using std::chrono::hours;

constexpr int kDefaultScorerWeight = 1;  // GAIE's DefaultScorerWeight
constexpr size_t kMaxParameterDepth = 16;
constexpr std::string_view kCompatDoc = " (docs/reference/llm-d-compatibility.md)";

struct Plugin {
  std::string name;  // defaults to the type, as GAIE
  std::string type;
  const PluginCompat* compat = nullptr;
  YAML::Node node;
  YAML::Node parameters;
  std::string path;  // "plugins[2]"
};

struct ProfileEntry {
  const Plugin* plugin = nullptr;
  double weight = kDefaultScorerWeight;
};

struct Profile {
  std::string name;
  std::vector<ProfileEntry> entries;
};

// A Kubernetes quantity as llm-d's flowControl takes them: "100", "1k", "10Gi", or a number.
std::optional<uint64_t> parse_quantity(std::string_view s) {
  struct Suffix {
    std::string_view name;
    uint64_t value;
  };
  static constexpr Suffix kSuffixes[] = {{"Ki", 1ull << 10}, {"Mi", 1ull << 20},  {"Gi", 1ull << 30},
                                         {"Ti", 1ull << 40}, {"k", 1000},         {"M", 1000000},
                                         {"G", 1000000000},  {"T", 1000000000000}};
  uint64_t multiplier = 1;
  for (const Suffix& sfx : kSuffixes)
    if (s.ends_with(sfx.name)) {
      multiplier = sfx.value;
      s.remove_suffix(sfx.name.size());
      break;
    }
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || value > UINT64_MAX / multiplier)
    return std::nullopt;
  return value * multiplier;
}

class PickerReader {
 public:
  PickerReader(std::string file, PickerConfigResult& out) : r_(std::move(file), out.errors), out_(out) {
    r_.set_context("EndpointPickerConfig: ");
  }

  void read(const YAML::Node& root) {
    auto fields = r_.read_open_map(root, "");
    if (!fields) return;
    check_type(*fields, root);
    for (const detail::MapEntry& e : fields->entries())
      if (e.key != "apiVersion" && e.key != "kind" && e.key != "metadata" && !find_llm_d_section(e.key))
        r_.error(e.key_node, e.key, "unknown field of EndpointPickerConfig" + std::string(kCompatDoc));
    root_ = root;
    if (const YAML::Node* v = fields->find("plugins")) read_plugins(*v);
    note_defined();
    std::vector<Profile> profiles;
    if (const YAML::Node* v = fields->find("schedulingProfiles")) profiles = read_profiles(*v);
    if (const YAML::Node* v = fields->find("featureGates")) read_feature_gates(*v);
    // A scorer's or filter's parameters are read where its profile runs (apply_profiles).
    for (const Plugin& p : plugins_)
      if (p.compat->role != PluginRole::Scorer && p.compat->role != PluginRole::Filter) read_plugin_parameters(p);
    if (r_.error_count() == 0) apply_profiles(profiles);
    if (const YAML::Node* v = fields->find("dataLayer")) read_refs(*v, "dataLayer");
    if (const YAML::Node* v = fields->find("parser")) read_refs(*v, "parser");
    if (const YAML::Node* v = fields->find("requestHandler")) read_refs(*v, "requestHandler");
    if (const YAML::Node* v = fields->find("saturationDetector")) read_saturation(*v, "saturationDetector");
    if (const YAML::Node* v = fields->find("flowControl")) read_flow_control(*v);
    std::sort(sets_.begin(), sets_.end());
    sets_.erase(std::unique(sets_.begin(), sets_.end()), sets_.end());
    out_.gateway.set_by_file = sets_;
  }

 private:
  void set(std::string path) { sets_.push_back(std::move(path)); }

  void check_type(const MapFields& fields, const YAML::Node& root) {
    const YAML::Node* version = fields.find("apiVersion");
    const YAML::Node* kind = fields.find("kind");
    if (!version) r_.error(root, "", "missing required field 'apiVersion' (" + std::string(endpoint_picker_api_version) + ")");
    else if (auto v = r_.read_string(*version, "apiVersion"); v && *v != endpoint_picker_api_version &&
                                                              *v != llm_d_endpoint_picker_api_version &&
                                                              *v != llm_d_v1_endpoint_picker_api_version)
      r_.error(*version, "apiVersion",
               "expected " + std::string(llm_d_v1_endpoint_picker_api_version) + ", " +
                   std::string(llm_d_endpoint_picker_api_version) + " or " + std::string(endpoint_picker_api_version) +
                   ", got \"" + *v + "\"");
    if (!kind) r_.error(root, "", "missing required field 'kind' (" + std::string(endpoint_picker_kind) + ")");
    else if (auto k = r_.read_string(*kind, "kind"); k && *k != endpoint_picker_kind)
      r_.error(*kind, "kind", "expected " + std::string(endpoint_picker_kind) + ", got \"" + *k + "\"");
  }

  void read_plugins(const YAML::Node& node) {
    if (!r_.expect_sequence(node, "plugins")) return;
    if (node.size() > max_picker_plugins)
      return r_.error(node, "plugins", "at most " + std::to_string(max_picker_plugins) + " plugins");
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string path = detail::index_path("plugins", i);
      auto fields = r_.read_map(node[i], path, {"name", "type", "parameters"});
      if (!fields) continue;
      Plugin p;
      p.path = path;
      p.node = node[i];
      const YAML::Node* type = fields->find("type");
      if (type) p.type = r_.read_string(*type, join_path(path, "type")).value_or("");
      if (const YAML::Node* v = fields->find("name")) p.name = r_.read_string(*v, join_path(path, "name"), true).value_or("");
      if (const YAML::Node* v = fields->find("parameters")) p.parameters = *v;
      if (p.type.empty()) {
        if (!type) r_.error(node[i], path, "plugin '" + p.name + "' is missing a type");
        continue;
      }
      if (p.name.empty()) p.name = p.type;
      if (find_plugin(p.name) != nullptr) {
        r_.error(node[i], path, "duplicate plugin name '" + p.name + "'");
        continue;
      }
      p.compat = find_llm_d_plugin(p.type);
      if (p.compat == nullptr || p.compat->status == CompatStatus::Refused) refused_names_.push_back(p.name);
      if (p.compat == nullptr) {
        r_.error(
            *type, join_path(path, "type"),
            "unknown plugin type \"" + p.type + "\": not an llm-d plugin ringgate knows" + std::string(kCompatDoc));
        continue;
      }
      if (p.compat->status == CompatStatus::Refused) {
        r_.error(node[i], path,
                 "plugin '" + p.name + "' (type " + p.type + ") is refused: " + std::string(p.compat->ringgate));
        continue;
      }
      if (p.parameters.IsDefined() && !p.parameters.IsNull()) {
        if (!p.parameters.IsMap())
          r_.error(p.parameters, join_path(path, "parameters"), "expected a map");
        else
          check_tree(p.parameters, join_path(path, "parameters"), "", p.compat->params, p.type, 0);
      }
      plugins_.push_back(std::move(p));
    }
  }

  // Every key below `node` must be a path the table lists (or below one).
  void check_tree(const YAML::Node& node, const std::string& at, const std::string& rel,
                  std::span<const CompatParam> params, std::string_view what, size_t depth) {
    if (depth > kMaxParameterDepth) return r_.error(node, at, "nested too deep");
    if (node.IsMap()) {
      for (const auto& kv : node) {
        const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : std::string("?");
        const std::string below = rel.empty() ? key : rel + "." + key;
        const ParamMatch m = match_param(params, below);
        if (m == ParamMatch::Unknown)
          r_.error(kv.first, join_path(at, key), "unknown parameter of " + std::string(what) + known_list(params));
        else if (m == ParamMatch::Partial)
          check_tree(kv.second, join_path(at, key), below, params, what, depth + 1);
      }
    } else if (node.IsSequence()) {
      for (size_t i = 0; i < node.size(); ++i)
        check_tree(node[i], detail::index_path(at, i), rel + "[]", params, what, depth + 1);
    }
  }

  static std::string known_list(std::span<const CompatParam> params) {
    if (params.empty()) return " (it takes none)";
    std::string out = " (known: ";
    for (size_t i = 0; i < params.size(); ++i) out += (i ? ", " : "") + std::string(params[i].path);
    return out + ")";
  }

  const Plugin* find_plugin(std::string_view name) const {
    for (const Plugin& p : plugins_)
      if (p.name == name) return &p;
    return nullptr;
  }

  // A pluginRef: the plugin, or an error naming the path (nullptr). A plugin refused or of an
  // unknown type was said where it is defined.
  const Plugin* ref(const YAML::Node& node, const std::string& path, std::string_view where) {
    auto name = r_.read_string(node, path);
    if (!name) return nullptr;
    if (const Plugin* p = find_plugin(*name)) return p;
    if (!defined_.contains(*name))
      r_.error(node, path, "plugin '" + *name + "' referenced in " + std::string(where) + " is not in plugins");
    return nullptr;
  }

  std::vector<Profile> read_profiles(const YAML::Node& node) {
    std::vector<Profile> profiles;
    if (!r_.expect_sequence(node, "schedulingProfiles")) return profiles;
    if (node.size() > max_picker_profiles) {
      r_.error(node, "schedulingProfiles", "at most " + std::to_string(max_picker_profiles) + " profiles");
      return profiles;
    }
    note_defined();
    for (size_t i = 0; i < node.size(); ++i) {
      const std::string path = detail::index_path("schedulingProfiles", i);
      auto fields = r_.read_map(node[i], path, {"name", "plugins"});
      if (!fields) continue;
      Profile profile;
      if (const YAML::Node* v = fields->find("name")) profile.name = r_.read_string(*v, join_path(path, "name")).value_or("");
      else r_.error(node[i], path, "missing required field 'name'");
      const YAML::Node* refs = fields->find("plugins");
      const std::string refs_path = join_path(path, "plugins");
      if (refs && r_.expect_sequence(*refs, refs_path)) {
        if (refs->size() > max_picker_plugins) {
          r_.error(*refs, refs_path, "at most " + std::to_string(max_picker_plugins) + " plugins");
          continue;
        }
        for (size_t j = 0; j < refs->size(); ++j) {
          const std::string ref_path = detail::index_path(refs_path, j);
          auto entry_fields = r_.read_map((*refs)[j], ref_path, {"pluginRef", "weight"});
          if (!entry_fields) continue;
          ProfileEntry entry;
          const YAML::Node* name = entry_fields->find("pluginRef");
          if (!name) {
            r_.error((*refs)[j], ref_path, "missing required field 'pluginRef'");
            continue;
          }
          entry.plugin = ref(*name, join_path(ref_path, "pluginRef"), "profile '" + profile.name + "'");
          if (const YAML::Node* w = entry_fields->find("weight")) {
            // ringgate's weight range (scheduler.scorers); llm-d's weights are numbers too ("2.0").
            auto weight = r_.read_number(*w, join_path(ref_path, "weight"), 0, 1000);
            if (!weight) continue;
            entry.weight = *weight;
          }
          if (entry.plugin) profile.entries.push_back(entry);
        }
      }
      profiles.push_back(std::move(profile));
    }
    return profiles;
  }

  // The names of every plugin the file defines, kept or not: a reference to a refused one
  // is not a second error.
  void note_defined() {
    defined_.clear();
    for (const Plugin& p : plugins_) defined_.insert(p.name);
    for (const std::string& n : refused_names_) defined_.insert(n);
  }

  bool has_type(std::string_view type) const {
    return std::any_of(plugins_.begin(), plugins_.end(), [&](const Plugin& p) { return p.type == type; });
  }

  // The profile ringgate runs: the only one, else "default"; with a disaggregation handler,
  // "decode" (the one that picks the server answering the client).
  void apply_profiles(std::vector<Profile>& profiles) {
    if (profiles.empty()) {
      // GAIE's default: one profile with every plugin, scorers at weight 1.
      Profile all{"default", {}};
      for (const Plugin& p : plugins_) all.entries.push_back({&p, kDefaultScorerWeight});
      profiles.push_back(std::move(all));
    }
    const bool disaggregated = has_type("disagg-profile-handler") || has_type("pd-profile-handler");
    std::optional<size_t> chosen;
    for (size_t i = 0; i < profiles.size(); ++i)
      if (profiles[i].name == (disaggregated ? "decode" : "default") || profiles.size() == 1) chosen = i;
    if (!chosen) {
      std::string names;
      for (const Profile& p : profiles) names += (names.empty() ? "'" : ", '") + p.name + "'";
      r_.error(root_, "schedulingProfiles",
               disaggregated ? "a disaggregation handler needs a profile named 'decode' (have " + names + ")"
                             : std::to_string(profiles.size()) + " profiles (" + names +
                                   ") and no profile handler ringgate maps (disagg-profile-handler, "
                                   "pd-profile-handler): ringgate runs one profile, 'default'");
      return;
    }
    if (disaggregated) read_disaggregation(profiles);
    const Profile& profile = profiles[*chosen];
    sched::ScorerWeights weights{};  // a scorer left out of the profile weighs 0
    sched::FilterSwitches filters{};  // a filter left out does not run (not ringgate's default)
    bool filters_used = false;
    for (const ProfileEntry& e : profile.entries) {
      const Plugin& p = *e.plugin;
      if (p.compat->role == PluginRole::Scorer || p.compat->role == PluginRole::Filter) read_plugin_parameters(p);
      if (p.type == "context-length-aware") {
        filters_used |= apply_context_length(p, e.weight, weights, filters);
      } else if (const auto slot = sched::scorer_slot_by_plugin_type(p.type)) {
        weights[*slot] += e.weight;
      } else if (const auto filter = sched::filter_slot_by_plugin_type(p.type)) {
        filters_used = true;
        filters[*filter] = true;
        out_.gateway.scheduler.prefix_affinity.yields = false;  // llm-d's filter, as llm-d runs it
      } else if (p.type == "load-aware-scorer") {
        weights[sched::scorer_slot_by_plugin_type("queue-scorer").value()] += e.weight;
      } else if (p.type == "precise-prefix-cache-scorer") {
        weights[sched::kPrefixScorerSlot] += e.weight;
        out_.gateway.scheduler.prefix.mode = "precise";
        set("scheduler.scorers.prefix.mode");
      } else if (p.type == "session-affinity-scorer" || p.type == "session-affinity-filter") {
        filters_used = true;  // ringgate's session affinity runs before its scorers
        read_session(p);
      }
      // The other roles (pickers, producers, parsers, filters of endpoint roles) are what
      // ringgate does anyway: the table says how.
    }
    // llm-d's context-length pools are prefill pools as often as not: the 'prefill' profile's
    // context-length-aware runs too, on every pick (a server without a range is neutral).
    if (disaggregated)
      for (const Profile& other : profiles)
        if (other.name == "prefill" && &other != &profile)
          for (const ProfileEntry& e : other.entries)
            if (e.plugin->type == "context-length-aware") {
              read_plugin_parameters(*e.plugin);
              filters_used |= apply_context_length(*e.plugin, e.weight, weights, filters);
            }
    if (std::all_of(weights.begin(), weights.end(), [](double w) { return w == 0; })) {
      if (!filters_used) return;                  // no scorer ringgate has: its weights stay (the table's note)
      weights = sched::default_scorer_weights();  // a session-only profile: ringgate's ranking behind it
    }
    for (size_t slot = 0; slot < sched::kScorerCount; ++slot) {
      out_.gateway.scheduler.scorers[slot] = std::min(weights[slot], 1000.0);
      set("scheduler.scorers." + std::string(sched::kScorers[slot].name));
    }
    for (size_t slot = 0; slot < sched::kFilterCount; ++slot) {
      out_.gateway.scheduler.filters[slot] = filters[slot];
      set("scheduler.filters." + std::string(sched::kFilters[slot].name));
    }
    out_.gateway.scheduler.load_signal.noise_band = false;  // llm-d's queue-scorer: plain min-max
    set("scheduler.loadSignal.noiseBand");
    out_.gateway.scheduler.prefix.stand_down_share = 0;  // llm-d's prefix scorers score at any load
    set("scheduler.scorers.prefix.standDownShare");
  }

  // context-length-aware: its score at the profile's weight; with enableFiltering, the
  // filter too (true: a filter runs).
  bool apply_context_length(const Plugin& p, double weight, sched::ScorerWeights& weights,
                            sched::FilterSwitches& filters) {
    weights[*sched::scorer_slot("context-length")] += weight;
    bool filtering = false;
    if (const YAML::Node v = child(p.parameters, "enableFiltering"); v.IsDefined())
      filtering = r_.read_bool(v, join_path(p.path, "parameters.enableFiltering")).value_or(false);
    if (filtering) filters[sched::kContextLengthFilterSlot] = true;
    return filtering;
  }

  // disagg-profile-handler / pd-profile-handler and their decider.
  void read_disaggregation(const std::vector<Profile>& profiles) {
    for (const Profile& p : profiles)
      if (p.name != "decode" && p.name != "prefill")
        return r_.error(root_, "schedulingProfiles",
                        "profile '" + p.name + "': a disaggregation handler runs 'prefill' and 'decode' only");
    DisaggregationConfig& d = out_.gateway.disaggregation;
    d.non_cached_tokens = 0;  // llm-d: without a decider (or nonCachedTokens), never split
    for (const Plugin& p : plugins_) {
      if (p.type == "prefix-based-pd-decider") {
        if (const YAML::Node v = child(p.parameters, "nonCachedTokens"); v.IsDefined())
          if (auto n = r_.read_int(v, join_path(p.path, "parameters.nonCachedTokens"), 0, 1'000'000))
            d.non_cached_tokens = uint32_t(*n);
      } else if (p.type == "always-disagg-pd-decider") {
        d.non_cached_tokens = 1;
      } else if (p.type == "pd-profile-handler") {
        if (const YAML::Node v = child(p.parameters, "threshold"); v.IsDefined())
          if (auto n = r_.read_int(v, join_path(p.path, "parameters.threshold"), 0, 1'000'000))
            d.non_cached_tokens = uint32_t(*n);
      } else if (p.type == "disagg-profile-handler") {
        if (const YAML::Node v = child(child(p.parameters, "deciders"), "encode"); v.IsDefined())
          r_.error(v, join_path(p.path, "parameters.deciders.encode"),
                   who(p) + "refused: ringgate has no encode stage");
      }
    }
    set("disaggregation.nonCachedTokens");
  }

  static std::string who(const Plugin& p) { return "plugin '" + p.name + "' (type " + p.type + "): "; }

  static YAML::Node child(const YAML::Node& node, std::string_view key) {
    if (!node.IsDefined() || !node.IsMap()) return YAML::Node(YAML::NodeType::Undefined);
    for (const auto& kv : node)
      if (kv.first.IsScalar() && kv.first.Scalar() == key) return kv.second;
    return YAML::Node(YAML::NodeType::Undefined);
  }

  // session-affinity-filter / -scorer: strategy session_id with one header source maps onto
  // ringgate's session header; the default strategy (a token ringgate would have to write
  // on responses) and attribute sources are refused.
  void read_session(const Plugin& p) {
    const std::string at = join_path(p.path, "parameters");
    std::string strategy = "encoded_endpoint_header";
    const YAML::Node s = child(p.parameters, "strategy");
    if (s.IsDefined()) strategy = r_.read_string(s, join_path(at, "strategy")).value_or(strategy);
    if (strategy != "session_id") {
      r_.error(s.IsDefined() ? s : p.node, s.IsDefined() ? join_path(at, "strategy") : p.path,
               "plugin '" + p.name + "' (type " + p.type + "): strategy " + strategy +
                   " is refused: ringgate writes no session token on responses; use strategy session_id");
      return;
    }
    std::string header = "x-session-id";
    const YAML::Node sources = child(child(p.parameters, "sessionIdConfig"), "sources");
    if (sources.IsDefined() && sources.IsSequence()) {
      const std::string sp = join_path(at, "sessionIdConfig.sources");
      for (size_t i = 0; i < sources.size(); ++i) {
        const YAML::Node h = child(sources[i], "header");
        const YAML::Node a = child(sources[i], "attribute");
        if (a.IsDefined()) {
          r_.error(a, join_path(detail::index_path(sp, i), "attribute"),
                   "refused: ringgate's session keys are a header or the body's keys, not a request attribute");
        } else if (h.IsDefined() && i == 0) {
          header = r_.read_string(h, join_path(detail::index_path(sp, i), "header")).value_or(header);
        } else if (h.IsDefined()) {
          r_.error(h, join_path(detail::index_path(sp, i), "header"), "refused: ringgate reads one session header");
        }
      }
    }
    out_.gateway.scheduler.session_header = header;
    out_.gateway.scheduler.session_keys = {};
    out_.gateway.scheduler.session_keys.keys[0] = sched::SessionSource::Header;
    out_.gateway.scheduler.session_keys.count = 1;
    set("scheduler.sessionHeader");
    set("scheduler.sessionKeys");
  }

  // llm-d's tier weights, [{name, weight}, ...]: the list is the whole table (llm-d's
  // BackendConfigs replace its defaults), so a tier it leaves out is unknown (scores 0).
  void read_backend_configs(const YAML::Node& v, const std::string& at) {
    if (!v.IsSequence() || v.size() == 0)
      return r_.error(v, at, "must be a list of {name, weight} (the tiers and their weights)");
    sched::TierWeights tiers;
    tiers.tiers.clear();
    bool ok = true;
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string item = detail::index_path(at, i);
      const YAML::Node name_node = child(v[i], "name");
      const YAML::Node weight_node = child(v[i], "weight");
      if (!v[i].IsMap() || !name_node.IsDefined() || !weight_node.IsDefined()) {
        r_.error(v[i], item, "needs a name and a weight");
        ok = false;
        continue;
      }
      auto name = r_.read_string(name_node, join_path(item, "name"));
      auto weight = r_.read_number(weight_node, join_path(item, "weight"), 0.0, 1.0);
      if (!name || !weight) {
        ok = false;
        continue;
      }
      const size_t before = tiers.tiers.size();
      std::string why = tiers.set(*name, *weight);
      if (why.empty() && tiers.tiers.size() == before) why = "names a tier twice";
      if (!why.empty()) {
        r_.error(name_node, join_path(item, "name"), why);
        ok = false;
      }
    }
    if (!ok) return;
    out_.gateway.scheduler.prefix.tier_weights = std::move(tiers);
    set("scheduler.scorers.prefix.tierWeights");
  }

  // The parameters of every plugin the file defines, listed in a profile or not.
  void read_plugin_parameters(const Plugin& p) {
    const std::string at = join_path(p.path, "parameters");
    const YAML::Node& params = p.parameters;
    auto param = [&](std::string_view dotted) {
      YAML::Node n = params;
      size_t from = 0;
      while (n.IsDefined() && from <= dotted.size()) {
        const size_t dot = std::min(dotted.find('.', from), dotted.size());
        n.reset(child(n, dotted.substr(from, dot - from)));  // reset: operator= would write into `params`
        from = dot + 1;
      }
      return n;
    };
    auto path = [&](std::string_view dotted) { return join_path(at, dotted); };
    SchedulerConfig& s = out_.gateway.scheduler;
    const std::string& t = p.type;
    if (t == "prefix-cache-scorer" || t == "approx-prefix-cache-producer") {
      for (std::string_view key : {"blockSize", "hashBlockSize"})
        if (YAML::Node v = param(key); v.IsDefined())
          if (auto n = r_.read_int(v, path(key), 1, 1 << 20)) {
            s.prefix_block_bytes = uint32_t(*n);
            set("scheduler.prefixBlockBytes");
          }
      if (YAML::Node v = param("blockSizeTokens"); v.IsDefined())
        if (auto n = r_.read_int(v, path("blockSizeTokens"), 1, 1 << 18)) {
          s.prefix_block_bytes = uint32_t(*n) * 4;  // llm-d's estimate: 4 characters a token
          set("scheduler.prefixBlockBytes");
        }
      if (YAML::Node v = param("autoTune"); v.IsDefined())
        if (auto b = r_.read_bool(v, path("autoTune")); b && !*b)
          r_.error(v, path("autoTune"),
                   who(p) +
                       "false is refused: ringgate's index share follows each server's "
                       "num_gpu_blocks");
    } else if (t == "latency-scorer") {
      if (YAML::Node v = param("headroomSelectionStrategy"); v.IsDefined()) {
        auto strategy = r_.read_string(v, path("headroomSelectionStrategy"));
        if (strategy && (*strategy == "least" || *strategy == "most")) {
          s.headroom_strategy = *strategy;
          set("scheduler.headroomSelectionStrategy");
        } else if (strategy) {
          r_.error(v, path("headroomSelectionStrategy"),
                   "must be least or most (ringgate's SLO pick has no composite-* strategy)");
        }
      }
    } else if (t == "token-load-scorer") {
      if (YAML::Node v = param("queueThresholdTokens"); v.IsDefined())
        if (auto n = r_.read_int(v, path("queueThresholdTokens"), INT64_MIN, 1'000'000'000'000)) {
          s.token_load.queue_threshold_tokens = *n > 0 ? *n : sched::TokenLoadConfig{}.queue_threshold_tokens;
          set("scheduler.scorers.token-load.queueThresholdTokens");
        }
    } else if (t == "active-request-scorer") {
      if (YAML::Node v = param("idleThreshold"); v.IsDefined())
        if (auto n = r_.read_int(v, path("idleThreshold"), INT64_MIN, 1'000'000); n && *n >= 0) {
          s.active_request.idle_threshold = *n;
          set("scheduler.scorers.active-request.idleThreshold");
        }
      if (YAML::Node v = param("maxBusyScore"); v.IsDefined())
        if (auto x = r_.read_number(v, path("maxBusyScore"), -1e300, 1e300); x && *x >= 0 && *x <= 1) {
          s.active_request.max_busy_score = *x;
          set("scheduler.scorers.active-request.maxBusyScore");
        }
    } else if (t == "no-hit-lru-scorer") {
      if (YAML::Node v = param("lruSize"); v.IsDefined())
        if (auto n = r_.read_int(v, path("lruSize"), INT64_MIN, 1'000'000); n && *n > 0) {
          s.no_hit_lru.lru_size = *n;
          set("scheduler.scorers.no-hit-lru.lruSize");
        }
    } else if (t == "inflight-load-producer") {
      if (YAML::Node v = param("addEstimatedOutputTokens"); v.IsDefined())
        if (auto b = r_.read_bool(v, path("addEstimatedOutputTokens"))) {
          s.token_load.add_estimated_output_tokens = *b;
          set("scheduler.scorers.token-load.addEstimatedOutputTokens");
        }
    } else if (t == "prefix-cache-affinity-filter") {
      read_affinity_parameters(p, param, path);
    } else if (t == "precise-prefix-cache-scorer" || t == "precise-prefix-cache-producer") {
      for (std::string_view key : {"tokenProcessorConfig.blockSize", "tokenProcessorConfig.blockSizeTokens",
                                   "indexerConfig.tokenProcessorConfig.blockSize"})
        if (YAML::Node v = param(key); v.IsDefined())
          if (auto n = r_.read_int(v, path(key), 1, 1 << 16)) {
            s.prefix.block_size = uint32_t(*n);
            set("scheduler.scorers.prefix.blockSize");
          }
      if (YAML::Node v = param("tokenProcessorConfig.hashSeed"); v.IsDefined())
        if (auto seed = r_.read_string(v, path("tokenProcessorConfig.hashSeed"), true); seed && seed->size() <= 256) {
          s.prefix.hash_seed = seed->empty() ? "0" : *seed;
          set("scheduler.scorers.prefix.hashSeed");
        }
      if (YAML::Node v = param("kvEventsConfig.topicFilter"); v.IsDefined())
        if (auto topic = r_.read_string(v, path("kvEventsConfig.topicFilter"), true); topic && topic->size() <= 256) {
          out_.gateway.kv_events.topic = *topic;
          set("kvEvents.topic");
        }
      if (YAML::Node v = param("kvEventsConfig.podDiscoveryConfig.socketPort"); v.IsDefined())
        if (auto n = r_.read_int(v, path("kvEventsConfig.podDiscoveryConfig.socketPort"), 1, 65535)) {
          out_.gateway.kv_events.port = uint16_t(*n);
          set("kvEvents.port");
        }
      if (YAML::Node v = param("kvEventsConfig.podDiscoveryConfig.replaySocketPort"); v.IsDefined())
        if (auto n = r_.read_int(v, path("kvEventsConfig.podDiscoveryConfig.replaySocketPort"), 0, 65535)) {
          out_.gateway.kv_events.replay_port = uint16_t(*n);
          set("kvEvents.replayPort");
        }
      if (YAML::Node v = param("indexerConfig.kvCacheBackendConfigs"); v.IsDefined())
        read_backend_configs(v, path("indexerConfig.kvCacheBackendConfigs"));
      if (t == "precise-prefix-cache-producer") {
        s.prefix.mode = "precise";
        set("scheduler.scorers.prefix.mode");
      }
    } else if (t == "metrics-data-source") {
      if (YAML::Node v = param("scheme"); v.IsDefined())
        if (auto x = r_.read_string(v, path("scheme")); x && *x != "http")
          r_.error(v, path("scheme"), "only http: ringgate scrapes each server's /metrics over plain HTTP");
      if (YAML::Node v = param("path"); v.IsDefined())
        if (auto x = r_.read_string(v, path("path")); x && *x != "/metrics")
          r_.error(v, path("path"), "only /metrics: the path ringgate scrapes");
    } else if (t == "context-length-aware") {
      if (YAML::Node v = param("label"); v.IsDefined())
        if (auto label = r_.read_string(v, path("label"), true); label && *label != sched::kContextLengthLabel)
          r_.error(v, path("label"),
                   who(p) + "only " + std::string(sched::kContextLengthLabel) +
                       ": the label ringgate's discovery reads (a static entry's contextLengthRange)");
    } else if (t == "utilization-detector") {
      read_saturation_fields(p.parameters, at);
    } else if (t == "concurrency-detector") {
      read_concurrency(p, param, path);
    }
  }

  template <typename Param, typename Path>
  void read_affinity_parameters(const Plugin&, Param& param, Path& path) {
    sched::PrefixAffinityConfig& c = out_.gateway.scheduler.prefix_affinity;
    const std::string leaf = "scheduler.filters.prefix-cache-affinity.";
    // llm-d's defaults, not ringgate's own profile's (exploration 0.01, penalty 5000 ms).
    c.exploration_probability = 0;
    c.max_ttft_penalty_ms = 18000;
    set(leaf + "explorationProbability");
    set(leaf + "maxTTFTPenaltyMs");
    if (YAML::Node v = param("affinityThreshold"); v.IsDefined())
      if (auto x = r_.read_number(v, path("affinityThreshold"), -1e300, 1.0)) {  // <= 0: a no-op, as llm-d
        c.affinity_threshold = std::max(0.0, *x);
        set(leaf + "affinityThreshold");
      }
    if (YAML::Node v = param("explorationProbability"); v.IsDefined())
      if (auto x = r_.read_number(v, path("explorationProbability"), 0.0, 1.0)) c.exploration_probability = *x;
    if (YAML::Node v = param("maxTTFTPenaltyMs"); v.IsDefined())
      if (auto x = r_.read_number(v, path("maxTTFTPenaltyMs"), 0.0, 3'600'000.0)) c.max_ttft_penalty_ms = *x;
    if (YAML::Node v = param("ttftSource"); v.IsDefined())
      if (auto x = r_.read_string(v, path("ttftSource")); x && *x != "prefillThroughput" && *x != "latencyPredictor")
        r_.error(v, path("ttftSource"), "must be prefillThroughput or latencyPredictor");
  }

  // concurrency-detector: requests mode onto saturationDetector.maxConcurrency.
  template <typename Param, typename Path>
  void read_concurrency(const Plugin&, Param& param, Path& path) {
    int64_t max = 100;  // llm-d's defaults
    double headroom = 0;
    if (YAML::Node v = param("concurrencyMode"); v.IsDefined())
      if (auto mode = r_.read_string(v, path("concurrencyMode")); mode && *mode != "requests")
        return r_.error(v, path("concurrencyMode"), "only requests: ringgate counts requests in flight, not tokens");
    if (YAML::Node v = param("maxConcurrency"); v.IsDefined())
      if (auto n = r_.read_int(v, path("maxConcurrency"), 1, 1'000'000)) max = *n;
    if (YAML::Node v = param("headroom"); v.IsDefined())
      if (auto x = r_.read_number(v, path("headroom"), 0.0, 100.0)) headroom = *x;
    out_.gateway.saturation_detector.max_concurrency =
        uint32_t(std::min(1e6, std::floor(double(max) * (1 + headroom))));
    set("saturationDetector.maxConcurrency");
  }

  // GAIE's older top-level saturationDetector, or utilization-detector's parameters: a field
  // left out or 0 keeps the default.
  // The table's check_tree said which keys may be here.
  void read_saturation_fields(const YAML::Node& node, const std::string& path) {
    if (!node.IsDefined() || node.IsNull()) return;
    auto fields = r_.read_open_map(node, path);
    if (!fields) return;
    SaturationDetectorConfig& d = out_.gateway.saturation_detector;
    if (const YAML::Node* v = fields->find("queueDepthThreshold")) {
      auto n = r_.read_int(*v, join_path(path, "queueDepthThreshold"), 0, 1'000'000'000'000);
      if (n && *n > 0) {
        d.queue_depth_threshold = uint32_t(std::min<int64_t>(*n, UINT32_MAX));
        set("saturationDetector.queueDepthThreshold");
      }
    }
    if (const YAML::Node* v = fields->find("kvCacheUtilThreshold")) {
      auto kv = r_.read_number(*v, join_path(path, "kvCacheUtilThreshold"), 0.0, 1.0);
      if (kv && *kv > 0) {
        d.kv_cache_util_threshold = *kv;
        set("saturationDetector.kvCacheUtilThreshold");
      }
    }
    if (const YAML::Node* v = fields->find("metricsStalenessThreshold")) {
      auto t = r_.read_duration(*v, join_path(path, "metricsStalenessThreshold"), std::chrono::nanoseconds(0), hours(1));
      if (t && t->count() > 0) {
        d.metrics_staleness_threshold = *t;
        set("saturationDetector.metricsStalenessThreshold");
      }
    }
    if (const YAML::Node* v = fields->find("headroom"))
      if (auto x = r_.read_number(*v, join_path(path, "headroom"), 0.0, 100.0); x && *x > 0)
        r_.error(*v, join_path(path, "headroom"), "refused above 0: ringgate's detector has no burst allowance");
  }

  void read_saturation(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) return r_.error(node, path, "expected a map");
    check_tree(node, path, "", find_llm_d_section("saturationDetector")->fields, path, 0);
    if (const YAML::Node v = child(node, "pluginRef"); v.IsDefined())
      check_role(ref(v, join_path(path, "pluginRef"), path), v, join_path(path, "pluginRef"),
                 {PluginRole::SaturationDetector});
    read_saturation_fields(node, path);
  }

  void check_role(const Plugin* p, const YAML::Node& at, const std::string& path,
                  std::initializer_list<PluginRole> roles) {
    if (p == nullptr) return;
    if (std::find(roles.begin(), roles.end(), p->compat->role) == roles.end())
      r_.error(at, path,
               "plugin '" + p->name + "' (type " + p->type + ") is a " + std::string(to_string(p->compat->role)) +
                   ", not a " + std::string(to_string(*roles.begin())));
  }

  // dataLayer, parser, requestHandler: every field known, every pluginRef a plugin of its role.
  void read_refs(const YAML::Node& node, const std::string& section) {
    if (!node.IsMap()) return r_.error(node, section, "expected a map");
    check_tree(node, section, "", find_llm_d_section(section)->fields, section, 0);
    walk_refs(node, section, section, 0);
  }

  void walk_refs(const YAML::Node& node, const std::string& at, const std::string& section, size_t depth) {
    if (depth > kMaxParameterDepth) return;
    if (node.IsMap()) {
      for (const auto& kv : node) {
        if (!kv.first.IsScalar()) continue;
        const std::string key = kv.first.Scalar();
        const std::string path = join_path(at, key);
        if (key != "pluginRef") {
          walk_refs(kv.second, path, section, depth + 1);
          continue;
        }
        const Plugin* p = ref(kv.second, path, section);
        if (section == "parser" || section == "requestHandler")
          check_role(p, kv.second, path, {PluginRole::Parser});
        else if (at.ends_with("discovery"))
          check_role(p, kv.second, path, {PluginRole::Discovery});
        else if (at.find("extractors") != std::string::npos)  // llm-d's KV-event producers extract too
          check_role(p, kv.second, path, {PluginRole::Extractor, PluginRole::Producer, PluginRole::Scorer});
        else
          check_role(p, kv.second, path, {PluginRole::DataSource, PluginRole::Harness});
      }
    } else if (node.IsSequence()) {
      for (size_t i = 0; i < node.size(); ++i) walk_refs(node[i], detail::index_path(at, i), section, depth + 1);
    }
  }

  void read_feature_gates(const YAML::Node& node) {
    if (!r_.expect_sequence(node, "featureGates")) return;
    for (size_t i = 0; i < node.size() && i < max_picker_plugins; ++i) {
      const std::string path = detail::index_path("featureGates", i);
      auto gate = r_.read_string(node[i], path);
      if (!gate) continue;
      if (*gate == "flowControl")
        flow_control_gate_ = true;
      else if (*gate != "dataLayer" && *gate != "enableLegacyMetrics")
        r_.error(node[i], path,
                 "unknown feature gate \"" + *gate +
                     "\" (ringgate knows flowControl, dataLayer, "
                     "enableLegacyMetrics)");
    }
  }

  // llm-d's flowControl onto ringgate's, with llm-d's defaults (TTL 60s, 5000 requests a band).
  void read_flow_control(const YAML::Node& node) {
    const std::string path = "flowControl";
    if (!node.IsMap()) return r_.error(node, path, "expected a map");
    check_tree(node, path, "", find_llm_d_section("flowControl")->fields, path, 0);
    FlowControlConfig fc;
    fc.default_request_ttl = std::chrono::seconds(60);
    fc.default_band.max_requests = 5000;
    auto quantity = [&](const YAML::Node& v, const std::string& at) -> std::optional<uint64_t> {
      if (!v.IsScalar()) {
        r_.error(v, at, "expected a quantity such as 100, 1k or 10Gi");
        return std::nullopt;
      }
      auto q = parse_quantity(v.Scalar());
      if (!q) r_.error(v, at, "expected a quantity such as 100, 1k or 10Gi, got \"" + v.Scalar() + "\"");
      return q;
    };
    auto band = [&](const YAML::Node& b, const std::string& at, PriorityBandConfig& out) {
      if (const YAML::Node v = child(b, "priority"); v.IsDefined())
        if (auto n = r_.read_int(v, join_path(at, "priority"), INT32_MIN, INT32_MAX)) out.priority = int32_t(*n);
      if (const YAML::Node v = child(b, "maxBytes"); v.IsDefined())
        if (auto q = quantity(v, join_path(at, "maxBytes")); q && *q > 0) out.max_bytes = *q;
      if (const YAML::Node v = child(b, "maxRequests"); v.IsDefined())
        if (auto q = quantity(v, join_path(at, "maxRequests")); q && *q > 0) out.max_requests = *q;
      for (std::string_view key : {"fairnessPolicyRef", "orderingPolicyRef"})
        if (const YAML::Node v = child(b, key); v.IsDefined())
          check_role(ref(v, join_path(at, key), path), v, join_path(at, key),
                     {key == "fairnessPolicyRef" ? PluginRole::FairnessPolicy : PluginRole::OrderingPolicy});
    };
    if (const YAML::Node v = child(node, "maxBytes"); v.IsDefined())
      if (auto q = quantity(v, "flowControl.maxBytes")) fc.max_bytes = *q;
    if (const YAML::Node v = child(node, "maxRequests"); v.IsDefined())
      if (auto q = quantity(v, "flowControl.maxRequests")) fc.max_requests = *q;
    if (const YAML::Node v = child(node, "defaultRequestTTL"); v.IsDefined())
      if (auto t = r_.read_duration(v, "flowControl.defaultRequestTTL", std::chrono::milliseconds(1), hours(1)))
        fc.default_request_ttl = *t;
    if (const YAML::Node v = child(node, "noEndpointRequestTTL"); v.IsDefined())
      if (auto t = r_.read_duration(v, "flowControl.noEndpointRequestTTL", std::chrono::milliseconds(1), hours(1));
          t && *t != fc.default_request_ttl)
        r_.error(v, "flowControl.noEndpointRequestTTL",
                 "refused unless equal to defaultRequestTTL: ringgate has one "
                 "queue TTL");
    if (const YAML::Node v = child(node, "defaultPriorityBand"); v.IsDefined())
      band(v, "flowControl.defaultPriorityBand", fc.default_band);
    if (const YAML::Node v = child(node, "priorityBands"); v.IsDefined() && v.IsSequence())
      for (size_t i = 0; i < v.size() && i < max_picker_profiles; ++i) {
        PriorityBandConfig b;
        b.max_requests = 5000;
        band(v[i], detail::index_path("flowControl.priorityBands", i), b);
        fc.priority_bands.push_back(b);
      }
    if (const YAML::Node v = child(node, "usageLimitPolicyPluginRef"); v.IsDefined())
      check_role(ref(v, "flowControl.usageLimitPolicyPluginRef", path), v, "flowControl.usageLimitPolicyPluginRef",
                 {PluginRole::UsageLimitPolicy});
    if (const YAML::Node v = child(node, "saturationDetector"); v.IsDefined())
      read_saturation(v, "flowControl.saturationDetector");
    if (const YAML::Node v = child(node, "enableEviction"); v.IsDefined())
      if (auto b = r_.read_bool(v, "flowControl.enableEviction"); b && *b)
        r_.error(v, "flowControl.enableEviction", "true is refused: ringgate does not evict queued requests");
    fc.enabled = flow_control_gate_;  // llm-d reads the section only with the flowControl gate
    out_.gateway.flow_control = fc;
    set("flowControl");
  }

  YamlFieldReader r_;
  PickerConfigResult& out_;
  YAML::Node root_;
  std::vector<Plugin> plugins_;
  std::vector<std::string> refused_names_;
  std::set<std::string> defined_;
  std::vector<std::string> sets_;
  bool flow_control_gate_ = false;
};

}  // namespace

PickerConfigResult load_picker_config_text(std::string_view text, std::string_view file_name) {
  PickerConfigResult result;
  const std::string file(file_name);
  std::optional<YAML::Node> document = detail::load_one_document(text, file, "EndpointPickerConfig", result.errors);
  if (!document) return result;
  const YAML::Node root = *document;
  try {
    PickerReader(file, result).read(root);
  } catch (const std::exception& e) {
    result.errors.push_back(ConfigError{file, {}, std::string("internal error while reading the config: ") + e.what()});
  }
  sort_by_position(result.errors);
  return result;
}

PickerConfigResult load_picker_config_file(const std::string& path) {
  PickerConfigResult result;
  std::optional<std::string> text = detail::read_config_text(path, max_config_file_bytes, result.errors);
  if (!text) return result;
  return load_picker_config_text(*text, path);
}

namespace {

// "scheduler.scorers.<name>" -> the scorer's slot.
std::optional<size_t> scorer_slot_of_path(std::string_view path) {
  constexpr std::string_view kPrefix = "scheduler.scorers.";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  return sched::scorer_slot(path.substr(kPrefix.size()));
}

}  // namespace

void apply_picker_config(const GatewayConfig& picker, GatewayConfig& into) {
  std::vector<std::string> taken;
  for (const std::string& path : picker.set_by_file) {
    if (into.file_sets(path)) continue;
    taken.push_back(path);
    if (const auto slot = scorer_slot_of_path(path)) into.scheduler.scorers[*slot] = picker.scheduler.scorers[*slot];
    else if (path == "scheduler.prefixBlockBytes") into.scheduler.prefix_block_bytes = picker.scheduler.prefix_block_bytes;
    else if (path == "scheduler.loadSignal.noiseBand")
      into.scheduler.load_signal.noise_band = picker.scheduler.load_signal.noise_band;
    else if (path == "scheduler.headroomSelectionStrategy")
      into.scheduler.headroom_strategy = picker.scheduler.headroom_strategy;
    else if (path == "scheduler.filters.prefix-cache-affinity") {
      into.scheduler.filters[sched::kPrefixAffinityFilterSlot] = picker.scheduler.filters[sched::kPrefixAffinityFilterSlot];
      into.scheduler.prefix_affinity.yields = picker.scheduler.prefix_affinity.yields;
    } else if (path == "scheduler.filters.context-length")
      into.scheduler.filters[sched::kContextLengthFilterSlot] =
          picker.scheduler.filters[sched::kContextLengthFilterSlot];
    else if (path == "scheduler.filters.prefix-cache-affinity.affinityThreshold")
      into.scheduler.prefix_affinity.affinity_threshold = picker.scheduler.prefix_affinity.affinity_threshold;
    else if (path == "scheduler.filters.prefix-cache-affinity.explorationProbability")
      into.scheduler.prefix_affinity.exploration_probability = picker.scheduler.prefix_affinity.exploration_probability;
    else if (path == "scheduler.filters.prefix-cache-affinity.maxTTFTPenaltyMs")
      into.scheduler.prefix_affinity.max_ttft_penalty_ms = picker.scheduler.prefix_affinity.max_ttft_penalty_ms;
    else if (path == "scheduler.scorers.token-load.queueThresholdTokens")
      into.scheduler.token_load.queue_threshold_tokens = picker.scheduler.token_load.queue_threshold_tokens;
    else if (path == "scheduler.scorers.token-load.addEstimatedOutputTokens")
      into.scheduler.token_load.add_estimated_output_tokens = picker.scheduler.token_load.add_estimated_output_tokens;
    else if (path == "scheduler.scorers.active-request.idleThreshold")
      into.scheduler.active_request.idle_threshold = picker.scheduler.active_request.idle_threshold;
    else if (path == "scheduler.scorers.active-request.maxBusyScore")
      into.scheduler.active_request.max_busy_score = picker.scheduler.active_request.max_busy_score;
    else if (path == "scheduler.scorers.no-hit-lru.lruSize")
      into.scheduler.no_hit_lru.lru_size = picker.scheduler.no_hit_lru.lru_size;
    else if (path == "saturationDetector.queueDepthThreshold")
      into.saturation_detector.queue_depth_threshold = picker.saturation_detector.queue_depth_threshold;
    else if (path == "saturationDetector.kvCacheUtilThreshold")
      into.saturation_detector.kv_cache_util_threshold = picker.saturation_detector.kv_cache_util_threshold;
    else if (path == "saturationDetector.metricsStalenessThreshold")
      into.saturation_detector.metrics_staleness_threshold = picker.saturation_detector.metrics_staleness_threshold;
    else if (path == "saturationDetector.maxConcurrency")
      into.saturation_detector.max_concurrency = picker.saturation_detector.max_concurrency;
    else if (path == "disaggregation.nonCachedTokens")
      into.disaggregation.non_cached_tokens = picker.disaggregation.non_cached_tokens;
    else if (path == "scheduler.sessionHeader")
      into.scheduler.session_header = picker.scheduler.session_header;
    else if (path == "scheduler.sessionKeys")
      into.scheduler.session_keys = picker.scheduler.session_keys;
    else if (path == "scheduler.scorers.prefix.mode")
      into.scheduler.prefix.mode = picker.scheduler.prefix.mode;
    else if (path == "scheduler.scorers.prefix.blockSize")
      into.scheduler.prefix.block_size = picker.scheduler.prefix.block_size;
    else if (path == "scheduler.scorers.prefix.hashSeed")
      into.scheduler.prefix.hash_seed = picker.scheduler.prefix.hash_seed;
    else if (path == "scheduler.scorers.prefix.tierWeights")
      into.scheduler.prefix.tier_weights = picker.scheduler.prefix.tier_weights;
    else if (path == "scheduler.scorers.prefix.standDownShare")
      into.scheduler.prefix.stand_down_share = picker.scheduler.prefix.stand_down_share;
    else if (path == "kvEvents.topic")
      into.kv_events.topic = picker.kv_events.topic;
    else if (path == "kvEvents.port")
      into.kv_events.port = picker.kv_events.port;
    else if (path == "kvEvents.replayPort")
      into.kv_events.replay_port = picker.kv_events.replay_port;
    else if (path == "flowControl")
      into.flow_control = picker.flow_control;
    else taken.pop_back();  // nothing else is read from an EndpointPickerConfig
  }
  into.set_by_file.insert(into.set_by_file.end(), taken.begin(), taken.end());
  std::sort(into.set_by_file.begin(), into.set_by_file.end());
}

}  // namespace ringgate::config
