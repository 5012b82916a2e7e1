#include "ringgate/config/check_config.h"

#include <fstream>
#include <iterator>

#include "ringgate/config/duration.h"
#include "ringgate/config/endpoint_picker_config.h"

namespace ringgate::config {

namespace {

std::string plural(size_t n, std::string_view word) {
  std::string suffix = n == 1 ? "" : (word.ends_with('s') ? "es" : "s");
  return std::to_string(n) + " " + std::string(word) + suffix;
}

// ": 1 prefill, 2 decode, 1 both" when any endpoint has a role other than both, else "".
std::string roles(const std::vector<StaticEndpoint>& endpoints) {
  size_t count[3] = {0, 0, 0};
  for (const StaticEndpoint& e : endpoints) ++count[size_t(e.role)];
  if (count[size_t(sched::EndpointRole::Both)] == endpoints.size()) return {};
  std::string out;
  for (sched::EndpointRole role :
       {sched::EndpointRole::Prefill, sched::EndpointRole::Decode, sched::EndpointRole::Both})
    if (count[size_t(role)])
      out += (out.empty() ? ": " : ", ") + std::to_string(count[size_t(role)]) + " " + to_string(role);
  return out;
}

// Whether the file's document says `kind: EndpointPickerConfig` (a line of its own, at the
// top level): such a file is the Go EPP's --config-file, not a ringgate config.
bool is_picker_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string line;
  for (size_t lines = 0; lines < 10000 && std::getline(in, line); ++lines) {
    if (!line.starts_with("kind:")) continue;
    std::string_view value = std::string_view(line).substr(5);
    while (!value.empty() && (value.front() == ' ' || value.front() == '"' || value.front() == '\''))
      value.remove_prefix(1);
    while (!value.empty() &&
           (value.back() == ' ' || value.back() == '"' || value.back() == '\'' || value.back() == '\r'))
      value.remove_suffix(1);
    return value == endpoint_picker_kind;
  }
  return false;
}

// An EndpointPickerConfig: its errors, else what ringgate does not honor (one warning a
// line) and a summary.
int check_picker_config(const std::string& path, std::ostream& out) {
  PickerConfigResult result = load_picker_config_file(path);
  if (!result.ok()) {
    for (const ConfigError& error : result.errors) out << format_error(error) << '\n';
    out << path << ": " << plural(result.errors.size(), "error") << '\n';
    return 1;
  }
  for (const std::string& warning : result.warnings) out << path << ": warning: " << warning << '\n';
  out << path << ": OK: EndpointPickerConfig (" << plural(result.warnings.size(), "warning") << ")\n";
  return 0;
}

}  // namespace

int check_config_main(const std::string& path, std::ostream& out, const LoadOptions& options) {
  if (is_picker_config(path)) return check_picker_config(path, out);
  LoadResult result = load_config_file(path, options);
  if (!result.ok()) {
    for (const ConfigError& error : result.errors) out << format_error(error) << '\n';
    out << path << ": " << plural(result.errors.size(), "error") << '\n';
    return 1;
  }
  const ConfigSet& c = result.config;
  size_t rules = 0, aliases = 0;
  for (const ModelRewrite& rewrite : c.rewrites) {
    rules += rewrite.rules.size();
    for (const RewriteRule& rule : rewrite.rules) aliases += rule.exact_models.size();
  }
  out << path << ": OK: " << (c.has_gateway_document ? "1 Gateway" : "no Gateway (defaults)");
  if (c.has_pool) {
    out << " (pool " << c.gateway.pool.name << ", ";
    if (c.gateway.pool.kubernetes && !c.gateway.pool.kubernetes->inference_pool.empty())
      out << "kubernetes InferencePool " << c.gateway.pool.kubernetes->inference_pool;
    else if (c.gateway.pool.kubernetes)
      out << "kubernetes service " << c.gateway.pool.kubernetes->service;
    else
      out << plural(c.gateway.pool.static_endpoints.size(), "static endpoint")
          << roles(c.gateway.pool.static_endpoints);
    out << ")";
  }
  if (c.gateway.file_sets("disaggregation")) {
    const DisaggregationConfig& d = c.gateway.disaggregation;
    const char* enabled = !d.enabled ? "auto" : (*d.enabled ? "on" : "off");
    out << ", disaggregation " << enabled << " (nonCachedTokens " << d.non_cached_tokens << ", prefillTimeout "
        << format_duration(d.prefill_timeout) << ")";
  }
  out << ", " << c.rewrites.size() << " InferenceModelRewrite (" << plural(rules, "rule") << ", "
      << plural(aliases, "alias") << "), " << c.pools.size() << " InferencePool, " << c.objectives.size()
      << " InferenceObjective\n";
  return 0;
}

}  // namespace ringgate::config
