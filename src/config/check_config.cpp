#include "ringgate/config/check_config.h"

namespace ringgate::config {

namespace {

std::string plural(size_t n, std::string_view word) {
  std::string suffix = n == 1 ? "" : (word.ends_with('s') ? "es" : "s");
  return std::to_string(n) + " " + std::string(word) + suffix;
}

}  // namespace

int check_config_main(const std::string& path, std::ostream& out, const LoadOptions& options) {
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
      out << plural(c.gateway.pool.static_endpoints.size(), "static endpoint");
    out << ")";
  }
  out << ", " << c.rewrites.size() << " InferenceModelRewrite (" << plural(rules, "rule") << ", "
      << plural(aliases, "alias") << "), " << c.pools.size() << " InferencePool, " << c.objectives.size()
      << " InferenceObjective\n";
  return 0;
}

}  // namespace ringgate::config
