#pragma once
// llm-d's EndpointPickerConfig, plugin type by plugin type and section by section: what
// ringgate does with each (issue 69). The loader (endpoint_picker_config.cpp) decides from
// this table: a type it lacks is a config error naming it (a typo is refused, never
// ignored); a refused type is an error naming the plugin and the reason; a parameter not
// listed under its type (or a field not listed under its section) is an error naming its
// path. docs/reference/llm-d-compatibility.md is generated from it.
//
// Status:
//   Same    ringgate has the plugin, same behaviour (its parameters read as llm-d reads them);
//   Mapped  an equivalent ringgate mechanism does the job (`ringgate` says which, and how
//           each parameter lands);
//   Refused loading fails with `ringgate` as the reason.
//
// A parameter's `path` is dotted, a list's items as "[]"; a listed path accepts what is
// below it. Its `ringgate` says what ringgate does with it.

#include <cstdint>
#include <span>
#include <string_view>

namespace ringgate::config {

enum class CompatStatus : uint8_t { Same, Mapped, Refused };
std::string_view to_string(CompatStatus status);

struct CompatParam {
  std::string_view path;
  std::string_view llm_d_default;  // "" = none / required
  std::string_view ringgate;
};

// What a plugin is to llm-d (and so where a config may reference it).
enum class PluginRole : uint8_t {
  Scorer,
  Filter,
  Picker,
  ProfileHandler,
  Decider,
  HeadersHandler,
  Producer,
  DataSource,
  Extractor,
  Discovery,
  Parser,
  SaturationDetector,
  FairnessPolicy,
  OrderingPolicy,
  UsageLimitPolicy,
  Admitter,
  RequestControl,
  Harness
};
std::string_view to_string(PluginRole role);

struct PluginCompat {
  std::string_view type;
  PluginRole role;
  CompatStatus status;
  std::string_view ringgate;  // what ringgate does with it; for Refused, the reason
  std::span<const CompatParam> params;
};

struct SectionCompat {
  std::string_view name;
  CompatStatus status;
  std::string_view ringgate;
  std::span<const CompatParam> fields;
};

std::span<const PluginCompat> llm_d_plugins();
std::span<const SectionCompat> llm_d_sections();
const PluginCompat* find_llm_d_plugin(std::string_view type);
const SectionCompat* find_llm_d_section(std::string_view name);

// Whether `path` (dotted, "[]" for list items) is allowed by `params`: a listed path or
// something below one (true), a prefix of a listed path (descend: `partial`), or neither.
enum class ParamMatch : uint8_t { Unknown, Partial, Accepted };
ParamMatch match_param(std::span<const CompatParam> params, std::string_view path);

// The upstream commits the table was written from.
inline constexpr std::string_view kLlmDSnapshot =
    "llm-d/llm-d-router ebab687927f5 (2026-08-22), llm-d/llm-d 48fa8c0a7601 (2026-08-18), "
    "llm-d/llm-d-inference-scheduler 520af47896e5 (2026-05-17)";

}  // namespace ringgate::config
