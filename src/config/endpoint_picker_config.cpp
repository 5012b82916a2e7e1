#include "ringgate/config/endpoint_picker_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "ringgate/config/config_loader.h"
#include "ringgate/config/duration.h"
#include "document_readers.h"
#include "yaml_field_reader.h"

namespace ringgate::config {

namespace {

using detail::join_path;
using detail::MapFields;
using detail::YamlFieldReader;
using std::chrono::hours;

// GAIE's plugin types that ringgate has an equivalent for: every scorer of the registry
// (sched::kScorers, by its plugin type) and these.
constexpr std::string_view kMaxScorePicker = "max-score-picker";
constexpr std::string_view kSingleProfileHandler = "single-profile-handler";
constexpr int kDefaultScorerWeight = 1;  // GAIE's DefaultScorerWeight
// llm-d's data producers whose data ringgate makes itself: the in-flight load (requests and
// tokens, sched::InflightCounters) and the approximate prefix index.
constexpr std::string_view kInflightLoadProducer = "inflight-load-producer";
constexpr std::string_view kApproxPrefixProducer = "approx-prefix-cache-producer";

struct Plugin {
  std::string name;  // defaults to the type, as GAIE
  std::string type;
  YAML::Node parameters;
  std::string path;  // "plugins[2]"
};

struct ProfileEntry {
  const Plugin* plugin = nullptr;
  int weight = kDefaultScorerWeight;
};

struct Profile {
  std::string name;
  std::vector<ProfileEntry> entries;
};

class PickerReader {
 public:
  PickerReader(std::string file, PickerConfigResult& out) : r_(std::move(file), out.errors), out_(out) {
    r_.set_context("EndpointPickerConfig: ");
  }

  void read(const YAML::Node& root) {
    auto fields = r_.read_open_map(root, "");
    if (!fields) return;
    check_type(*fields, root);
    for (const detail::MapEntry& e : fields->entries()) {
      static constexpr std::string_view kKnown[] = {"apiVersion", "kind", "metadata", "plugins", "schedulingProfiles",
                                                    "saturationDetector", "featureGates", "data"};
      if (std::find(std::begin(kKnown), std::end(kKnown), e.key) == std::end(kKnown))
        warn(e.key + " is ignored: not a field ringgate knows");
    }
    if (const YAML::Node* v = fields->find("plugins")) read_plugins(*v);
    else warn("no plugins: ringgate's scorer weights stay as they are");
    std::vector<Profile> profiles;
    if (const YAML::Node* v = fields->find("schedulingProfiles")) profiles = read_profiles(*v);
    if (r_.error_count() == 0) apply_profiles(profiles, fields->find("plugins") != nullptr);
    if (const YAML::Node* v = fields->find("saturationDetector")) read_saturation(*v);
    if (const YAML::Node* v = fields->find("featureGates")) read_feature_gates(*v);
    if (fields->find("data") != nullptr)
      warn("data is ignored: ringgate scrapes each endpoint's vLLM /metrics itself (no data-layer plugins)");
    std::sort(sets_.begin(), sets_.end());
    out_.gateway.set_by_file = sets_;
  }

 private:
  void warn(std::string text) { out_.warnings.push_back(std::move(text)); }
  void set(std::string path) { sets_.push_back(std::move(path)); }

  void check_type(const MapFields& fields, const YAML::Node& root) {
    const YAML::Node* version = fields.find("apiVersion");
    const YAML::Node* kind = fields.find("kind");
    if (!version) r_.error(root, "", "missing required field 'apiVersion' (" + std::string(endpoint_picker_api_version) + ")");
    else if (auto v = r_.read_string(*version, "apiVersion");
             v && *v != endpoint_picker_api_version && *v != llm_d_endpoint_picker_api_version)
      r_.error(*version, "apiVersion",
               "expected " + std::string(llm_d_endpoint_picker_api_version) + " or " +
                   std::string(endpoint_picker_api_version) + ", got \"" + *v + "\"");
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
      if (const YAML::Node* v = fields->find("type")) p.type = r_.read_string(*v, join_path(path, "type")).value_or("");
      if (const YAML::Node* v = fields->find("name")) p.name = r_.read_string(*v, join_path(path, "name"), true).value_or("");
      if (const YAML::Node* v = fields->find("parameters")) p.parameters = *v;
      if (p.type.empty()) {
        if (!fields->find("type")) r_.error(node[i], path, "plugin '" + p.name + "' is missing a type");
        continue;
      }
      if (p.name.empty()) p.name = p.type;
      if (find_plugin(p.name) != nullptr) {
        r_.error(node[i], path, "duplicate plugin name '" + p.name + "'");
        continue;
      }
      plugins_.push_back(std::move(p));
    }
  }

  const Plugin* find_plugin(std::string_view name) const {
    for (const Plugin& p : plugins_)
      if (p.name == name) return &p;
    return nullptr;
  }

  std::vector<Profile> read_profiles(const YAML::Node& node) {
    std::vector<Profile> profiles;
    if (!r_.expect_sequence(node, "schedulingProfiles")) return profiles;
    if (node.size() > max_picker_profiles) {
      r_.error(node, "schedulingProfiles", "at most " + std::to_string(max_picker_profiles) + " profiles");
      return profiles;
    }
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
          auto ref = r_.read_map((*refs)[j], ref_path, {"pluginRef", "weight"});
          if (!ref) continue;
          ProfileEntry entry;
          const YAML::Node* name = ref->find("pluginRef");
          if (!name) {
            r_.error((*refs)[j], ref_path, "missing required field 'pluginRef'");
            continue;
          }
          auto plugin_name = r_.read_string(*name, join_path(ref_path, "pluginRef"));
          if (!plugin_name) continue;
          entry.plugin = find_plugin(*plugin_name);
          if (entry.plugin == nullptr) {
            r_.error(*name, join_path(ref_path, "pluginRef"),
                     "plugin '" + *plugin_name + "' referenced in profile '" + profile.name + "' is not in plugins");
            continue;
          }
          if (const YAML::Node* w = ref->find("weight")) {
            // ringgate's weight range (scheduler.scorers).
            auto weight = r_.read_int(*w, join_path(ref_path, "weight"), 0, 1000);
            if (!weight) continue;
            entry.weight = int(*weight);
          }
          profile.entries.push_back(entry);
        }
      }
      profiles.push_back(std::move(profile));
    }
    return profiles;
  }

  // The profile ringgate runs: the only one, else "default", else "decode" (a P/D config's:
  // the one that picks the server answering the client), else the first.
  void apply_profiles(std::vector<Profile>& profiles, bool have_plugins) {
    if (profiles.empty()) {
      if (!have_plugins) return;
      // GAIE's default: one profile with every plugin, scorers at weight 1.
      Profile all{"default", {}};
      for (const Plugin& p : plugins_) all.entries.push_back({&p, kDefaultScorerWeight});
      profiles.push_back(std::move(all));
    }
    size_t chosen = 0;
    for (size_t i = 0; i < profiles.size(); ++i)
      if (profiles[i].name == "decode") chosen = i;
    for (size_t i = 0; i < profiles.size(); ++i)
      if (profiles[i].name == "default") chosen = i;
    if (profiles.size() > 1) {
      std::string others;
      for (size_t i = 0; i < profiles.size(); ++i)
        if (i != chosen) others += (others.empty() ? "'" : ", '") + profiles[i].name + "'";
      warn("schedulingProfiles: ringgate runs one profile, '" + profiles[chosen].name + "'; " + others +
           " ignored (a multi-profile handler such as prefill/decode disaggregation has no equivalent)");
    }
    const Profile& profile = profiles[chosen];
    sched::ScorerWeights weights{};  // a scorer left out of the profile weighs 0
    sched::FilterSwitches filters{};  // a filter left out does not run (not ringgate's default)
    bool filters_used = false;
    for (const ProfileEntry& e : profile.entries) {
      const Plugin& p = *e.plugin;
      if (const auto slot = sched::scorer_slot_by_plugin_type(p.type)) {
        weights[*slot] += e.weight;
        if (*slot == sched::kPrefixScorerSlot) read_prefix_parameters(p);
        else if (*slot == sched::kLatencyScorerSlot)
          read_latency_parameters(p);
        else if (p.type == "token-load-scorer" || p.type == "active-request-scorer" || p.type == "no-hit-lru-scorer")
          read_scorer_parameters(p);
        else no_parameters(p);
      } else if (const auto filter = sched::filter_slot_by_plugin_type(p.type)) {
        filters_used = true;
        filters[*filter] = true;
        out_.gateway.scheduler.prefix_affinity.yields = false;  // llm-d's filter, as llm-d runs it
        read_affinity_parameters(p);
      } else if (p.type == kInflightLoadProducer || p.type == kApproxPrefixProducer) {
        // Listed in a profile or not, what they produce ringgate keeps itself.
      } else if (p.type == kMaxScorePicker) {
        no_parameters(p);  // ringgate's picker: the highest score, ties at random
      } else if (p.type != kSingleProfileHandler) {
        warn("plugin '" + p.name + "' (type " + p.type + ") in profile '" + profile.name +
             "' is ignored: ringgate has no such plugin (its scorers: " + sched::known_scorer_plugin_types() + ")");
      }
    }
    // Profile handlers and data producers are plugins a profile need not list.
    for (const Plugin& p : plugins_) {
      if (p.type == kInflightLoadProducer) read_inflight_load_parameters(p);
      else if (p.type == kApproxPrefixProducer) read_prefix_parameters(p);
    }
    for (const Plugin& p : plugins_)
      if (p.type.ends_with("-profile-handler") && p.type != kSingleProfileHandler)
        warn("plugin '" + p.name + "' (type " + p.type + ") is ignored: ringgate runs one scheduling profile");
    if (std::all_of(weights.begin(), weights.end(), [](double w) { return w == 0; }) && !filters_used) {
      warn("profile '" + profile.name + "' has no scorer ringgate has (" + sched::known_scorer_plugin_types() +
           "): ringgate's scorer weights stay as they are");
      return;
    }
    for (size_t slot = 0; slot < sched::kScorerCount; ++slot) {
      out_.gateway.scheduler.scorers[slot] = std::min(weights[slot], 1000.0);
      set("scheduler.scorers." + std::string(sched::kScorers[slot].name));
    }
    for (size_t slot = 0; slot < sched::kFilterCount; ++slot) {
      out_.gateway.scheduler.filters[slot] = filters[slot];
      set("scheduler.filters." + std::string(sched::kFilters[slot].name));
    }
  }

  // The parameters of llm-d's token-load-scorer, active-request-scorer, no-hit-lru-scorer.
  void read_scorer_parameters(const Plugin& p) {
    if (!p.parameters.IsDefined() || p.parameters.IsNull()) return;
    const std::string path = join_path(p.path, "parameters");
    auto fields = r_.read_open_map(p.parameters, path);
    if (!fields) return;
    sched::SchedulerConfig defaults;
    for (const detail::MapEntry& e : fields->entries()) {
      const std::string at = join_path(path, e.key);
      if (p.type == "token-load-scorer" && e.key == "queueThresholdTokens") {
        // llm-d: 0 or less keeps the default.
        if (auto n = r_.read_int(e.value, at, INT64_MIN, 1'000'000'000'000)) {
          out_.gateway.scheduler.token_load.queue_threshold_tokens =
              *n > 0 ? *n : defaults.token_load.queue_threshold_tokens;
          set("scheduler.scorers.token-load.queueThresholdTokens");
        }
      } else if (p.type == "active-request-scorer" && e.key == "idleThreshold") {
        if (auto n = r_.read_int(e.value, at, INT64_MIN, 1'000'000); n && *n >= 0) {  // llm-d: < 0 keeps 0
          out_.gateway.scheduler.active_request.idle_threshold = *n;
          set("scheduler.scorers.active-request.idleThreshold");
        }
      } else if (p.type == "active-request-scorer" && e.key == "maxBusyScore") {
        if (auto x = r_.read_number(e.value, at, -1e300, 1e300); x && *x >= 0 && *x <= 1) {  // llm-d: else 1.0
          out_.gateway.scheduler.active_request.max_busy_score = *x;
          set("scheduler.scorers.active-request.maxBusyScore");
        }
      } else if (p.type == "active-request-scorer" && e.key == "requestTimeout") {
        warn("plugin '" + p.name + "' (type " + p.type + "): requestTimeout is ignored (deprecated in llm-d too: "
             "requests count until they end)");
      } else if (p.type == "no-hit-lru-scorer" && e.key == "lruSize") {
        if (auto n = r_.read_int(e.value, at, INT64_MIN, 1'000'000); n && *n > 0) {
          out_.gateway.scheduler.no_hit_lru.lru_size = *n;
          set("scheduler.scorers.no-hit-lru.lruSize");
        }
      } else if (p.type == "no-hit-lru-scorer" && (e.key == "prefixPluginType" || e.key == "prefixPluginName")) {
        // ringgate has one prefix match per request (approximate or precise): nothing to name.
      } else {
        r_.error(e.key_node, at, "unknown parameter of " + p.type);
      }
    }
  }

  // llm-d's prefix-cache-affinity-filter (its validation: threshold <= 1, probability in
  // [0, 1], penalty >= 0).
  void read_affinity_parameters(const Plugin& p) {
    if (!p.parameters.IsDefined() || p.parameters.IsNull()) return;
    const std::string path = join_path(p.path, "parameters");
    auto fields = r_.read_open_map(p.parameters, path);
    if (!fields) return;
    sched::PrefixAffinityConfig& c = out_.gateway.scheduler.prefix_affinity;
    const std::string leaf = "scheduler.filters.prefix-cache-affinity.";
    for (const detail::MapEntry& e : fields->entries()) {
      const std::string at = join_path(path, e.key);
      if (e.key == "affinityThreshold") {
        // llm-d: a threshold of 0 or less turns the filter into a no-op.
        if (auto x = r_.read_number(e.value, at, -1e300, 1.0)) {
          c.affinity_threshold = std::max(0.0, *x);
          set(leaf + e.key);
        }
      } else if (e.key == "explorationProbability") {
        if (auto x = r_.read_number(e.value, at, 0.0, 1.0)) {
          c.exploration_probability = *x;
          set(leaf + e.key);
        }
      } else if (e.key == "maxTTFTPenaltyMs") {
        if (auto x = r_.read_number(e.value, at, 0.0, 3'600'000.0)) {
          c.max_ttft_penalty_ms = *x;
          set(leaf + e.key);
        }
      } else {
        r_.error(e.key_node, at,
                 "unknown parameter (prefix-cache-affinity-filter: affinityThreshold, explorationProbability, "
                 "maxTTFTPenaltyMs)");
      }
    }
  }

  // llm-d's inflight-load-producer: no parameters in llm-d's code of May 2026; the output
  // estimate it always adds is ringgate's addEstimatedOutputTokens, which a later
  // producer's parameter of that name sets.
  void read_inflight_load_parameters(const Plugin& p) {
    if (!p.parameters.IsDefined() || p.parameters.IsNull()) return;
    const std::string path = join_path(p.path, "parameters");
    auto fields = r_.read_open_map(p.parameters, path);
    if (!fields) return;
    for (const detail::MapEntry& e : fields->entries()) {
      if (e.key == "addEstimatedOutputTokens") {
        if (auto b = r_.read_bool(e.value, join_path(path, e.key))) {
          out_.gateway.scheduler.token_load.add_estimated_output_tokens = *b;
          set("scheduler.scorers.token-load.addEstimatedOutputTokens");
        }
      } else {
        warn("plugin '" + p.name + "' (type " + p.type + "): " + e.key + " is ignored: not a parameter ringgate knows");
      }
    }
  }

  void no_parameters(const Plugin& p) {
    if (p.parameters.IsDefined() && !p.parameters.IsNull())
      warn("plugin '" + p.name + "' (type " + p.type + "): parameters are ignored");
  }

  void read_prefix_parameters(const Plugin& p) {
    if (!p.parameters.IsDefined() || p.parameters.IsNull()) return;
    const std::string path = join_path(p.path, "parameters");
    auto fields = r_.read_open_map(p.parameters, path);
    if (!fields) return;
    for (const detail::MapEntry& e : fields->entries()) {
      if (e.key == "blockSize") {
        // GAIE: characters per block (64); ringgate: prompt bytes per block, the same cut.
        auto size = r_.read_int(e.value, join_path(path, e.key), 1, 1 << 20);
        if (size) {
          out_.gateway.scheduler.prefix_block_bytes = uint32_t(*size);
          set("scheduler.prefixBlockBytes");
        }
      } else if (e.key == "autoTune" && p.type == kApproxPrefixProducer && e.value.IsScalar() &&
                 e.value.as<std::string>() == "true") {
        // What ringgate does anyway: each server's index share follows its num_gpu_blocks.
      } else if (e.key == "maxPrefixBlocksToMatch" || e.key == "lruCapacityPerServer" || e.key == "autoTune") {
        warn("plugin '" + p.name + "' (type " + p.type + "): " + e.key +
             " is ignored: ringgate matches every block of a prompt and bounds its index by "
             "scheduler.prefixIndexMemoryBytes");
      } else {
        r_.error(e.key_node, join_path(path, e.key), "unknown parameter (prefix-cache-scorer: blockSize, "
                                                     "maxPrefixBlocksToMatch, lruCapacityPerServer, autoTune)");
      }
    }
  }

  // llm-d's latency-scorer: its headroomSelectionStrategy is ringgate's SLO pick's
  // (scheduler.headroomSelectionStrategy); its blending and composite-fallback weights
  // have no counterpart (ringgate's SLO pick compares relative headroom, and without a
  // model the scorers decide).
  void read_latency_parameters(const Plugin& p) {
    if (!p.parameters.IsDefined() || p.parameters.IsNull()) return;
    const std::string path = join_path(p.path, "parameters");
    auto fields = r_.read_open_map(p.parameters, path);
    if (!fields) return;
    for (const detail::MapEntry& e : fields->entries()) {
      if (e.key == "headroomSelectionStrategy") {
        auto strategy = r_.read_string(e.value, join_path(path, e.key));
        if (!strategy) continue;
        if (*strategy == "least" || *strategy == "most") {
          out_.gateway.scheduler.headroom_strategy = *strategy;
          set("scheduler.headroomSelectionStrategy");
        } else if (strategy->starts_with("composite-")) {
          warn("plugin '" + p.name + "' (type " + p.type + "): headroomSelectionStrategy " + *strategy +
               " is ignored: ringgate's SLO pick is least or most headroom (it stays least)");
        } else {
          r_.error(e.value, join_path(path, e.key), "must be least or most");
        }
      } else if (e.key == "ttftWeight" || e.key == "tpotWeight" || e.key == "compositeKVWeight" ||
                 e.key == "compositeQueueWeight" || e.key == "compositePrefixWeight") {
        warn("plugin '" + p.name + "' (type " + p.type + "): " + e.key +
             " is ignored: ringgate's SLO pick compares relative headroom, and its scorers decide while the "
             "latency model is cold");
      } else {
        r_.error(e.key_node, join_path(path, e.key),
                 "unknown parameter (latency-scorer: headroomSelectionStrategy, ttftWeight, tpotWeight, "
                 "compositeKVWeight, compositeQueueWeight, compositePrefixWeight)");
      }
    }
  }

  // GAIE's saturationDetector: a field left out or 0 keeps the default.
  void read_saturation(const YAML::Node& node) {
    const std::string path = "saturationDetector";
    auto fields = r_.read_map(node, path, {"queueDepthThreshold", "kvCacheUtilThreshold", "metricsStalenessThreshold"});
    if (!fields) return;
    SaturationDetectorConfig& d = out_.gateway.saturation_detector;
    if (const YAML::Node* v = fields->find("queueDepthThreshold")) {
      auto n = r_.read_int(*v, join_path(path, "queueDepthThreshold"), 0, 1'000'000);
      if (n && *n > 0) {
        d.queue_depth_threshold = uint32_t(*n);
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
  }

  void read_feature_gates(const YAML::Node& node) {
    if (!r_.expect_sequence(node, "featureGates")) return;
    for (size_t i = 0; i < node.size() && i < max_picker_plugins; ++i) {
      auto gate = r_.read_string(node[i], detail::index_path("featureGates", i));
      if (!gate) continue;
      std::string why = "ringgate has no such feature gate";
      if (*gate == "flowControl") why = "ringgate's flow control is the Gateway config's flowControl (--config)";
      warn("featureGates: " + *gate + " is ignored: " + why);
    }
  }

  YamlFieldReader r_;
  PickerConfigResult& out_;
  std::vector<Plugin> plugins_;
  std::vector<std::string> sets_;
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
    else if (path == "scheduler.headroomSelectionStrategy")
      into.scheduler.headroom_strategy = picker.scheduler.headroom_strategy;
    else if (path == "scheduler.filters.prefix-cache-affinity") {
      into.scheduler.filters[sched::kPrefixAffinityFilterSlot] = picker.scheduler.filters[sched::kPrefixAffinityFilterSlot];
      into.scheduler.prefix_affinity.yields = picker.scheduler.prefix_affinity.yields;
    } else if (path == "scheduler.filters.prefix-cache-affinity.affinityThreshold")
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
    else taken.pop_back();  // nothing else is read from an EndpointPickerConfig
  }
  into.set_by_file.insert(into.set_by_file.end(), taken.begin(), taken.end());
  std::sort(into.set_by_file.begin(), into.set_by_file.end());
}

}  // namespace ringgate::config
