#pragma once
// The generated references of docs/reference/: configuration.md from the Gateway
// document's schema (config::gateway_schema), the GAIE documents ringgate reads
// (config::gaie_schema) and the ringgate flag tables (gateway::gateway_flags, epp_flags);
// metrics.md from the metric families ringgate renders on :9090/metrics, rendered here by
// the same functions the control plane calls, with every feature's families on.
//
// Written by `ninja -C build reference-docs` (reference_docs_gen); checked by
// reference_docs_test (suite unit).
#include <map>
#include <set>
#include <string>
#include <vector>

namespace ringgate::docs {

struct MetricFamily {
  std::string name, type, help;
  std::set<std::string> labels;  // of its samples ("le" and "quantile" left out)
  bool has_samples = false;
};

// The text of :9090/metrics with every family present, and its families by name.
std::string render_all_metrics();
std::map<std::string, MetricFamily> parse_families(const std::string& exposition);

std::string configuration_reference();
std::string metrics_reference();
// llm-d-compatibility.md from config::llm_d_plugins() / llm_d_sections(), the table the
// EndpointPickerConfig loader decides by.
std::string llm_d_compatibility_reference();

// The names a reference page lists: the first cell of every table row, between
// backticks ("| `listen.api` | ..."), with the section's prefix for the GAIE documents.
std::set<std::string> entries_of(const std::string& page);

}  // namespace ringgate::docs
